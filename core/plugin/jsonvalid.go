package plugin

import "unicode/utf8"

// validJSON reports whether b is exactly one well-formed JSON value
// (RFC 8259, UTF-8), nested at most maxJSONDepth deep. It is the host's
// check of every tap output and is several times faster than
// encoding/json.Valid, which matters at 8 KB per call.
func validJSON(b []byte) bool {
	v := jsonValidator{b: b}
	v.ws()
	if !v.value(0) {
		return false
	}
	v.ws()
	return v.i == len(b)
}

const maxJSONDepth = 512

type jsonValidator struct {
	b []byte
	i int
}

func (v *jsonValidator) ws() {
	for v.i < len(v.b) {
		switch v.b[v.i] {
		case ' ', '\t', '\n', '\r':
			v.i++
		default:
			return
		}
	}
}

func (v *jsonValidator) value(depth int) bool {
	if v.i >= len(v.b) || depth > maxJSONDepth {
		return false
	}
	switch c := v.b[v.i]; c {
	case '{':
		v.i++
		v.ws()
		if v.i < len(v.b) && v.b[v.i] == '}' {
			v.i++
			return true
		}
		for {
			v.ws()
			if v.i >= len(v.b) || v.b[v.i] != '"' || !v.str() {
				return false
			}
			v.ws()
			if v.i >= len(v.b) || v.b[v.i] != ':' {
				return false
			}
			v.i++
			v.ws()
			if !v.value(depth + 1) {
				return false
			}
			v.ws()
			if v.i >= len(v.b) {
				return false
			}
			if v.b[v.i] == '}' {
				v.i++
				return true
			}
			if v.b[v.i] != ',' {
				return false
			}
			v.i++
		}
	case '[':
		v.i++
		v.ws()
		if v.i < len(v.b) && v.b[v.i] == ']' {
			v.i++
			return true
		}
		for {
			v.ws()
			if !v.value(depth + 1) {
				return false
			}
			v.ws()
			if v.i >= len(v.b) {
				return false
			}
			if v.b[v.i] == ']' {
				v.i++
				return true
			}
			if v.b[v.i] != ',' {
				return false
			}
			v.i++
		}
	case '"':
		return v.str()
	case 't':
		return v.lit("true")
	case 'f':
		return v.lit("false")
	case 'n':
		return v.lit("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return v.num()
		}
		return false
	}
}

func (v *jsonValidator) lit(s string) bool {
	if len(v.b)-v.i < len(s) || string(v.b[v.i:v.i+len(s)]) != s {
		return false
	}
	v.i += len(s)
	return true
}

func (v *jsonValidator) digits() int {
	n := 0
	for v.i < len(v.b) && v.b[v.i] >= '0' && v.b[v.i] <= '9' {
		v.i++
		n++
	}
	return n
}

func (v *jsonValidator) num() bool {
	if v.b[v.i] == '-' {
		v.i++
	}
	if v.i >= len(v.b) {
		return false
	}
	if v.b[v.i] == '0' {
		v.i++
	} else if v.digits() == 0 {
		return false
	}
	if v.i < len(v.b) && v.b[v.i] == '.' {
		v.i++
		if v.digits() == 0 {
			return false
		}
	}
	if v.i < len(v.b) && (v.b[v.i] == 'e' || v.b[v.i] == 'E') {
		v.i++
		if v.i < len(v.b) && (v.b[v.i] == '+' || v.b[v.i] == '-') {
			v.i++
		}
		if v.digits() == 0 {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// str validates a string starting at the opening quote.
func (v *jsonValidator) str() bool {
	v.i++
	for v.i < len(v.b) {
		c := v.b[v.i]
		switch {
		case c == '"':
			v.i++
			return true
		case c == '\\':
			if v.i+1 >= len(v.b) {
				return false
			}
			switch v.b[v.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				v.i += 2
			case 'u':
				if v.i+6 > len(v.b) || !isHex(v.b[v.i+2]) || !isHex(v.b[v.i+3]) || !isHex(v.b[v.i+4]) || !isHex(v.b[v.i+5]) {
					return false
				}
				v.i += 6
			default:
				return false
			}
		case c < 0x20:
			return false
		case c < utf8.RuneSelf:
			v.i++
		default:
			r, size := utf8.DecodeRune(v.b[v.i:])
			if r == utf8.RuneError && size == 1 {
				return false
			}
			v.i += size
		}
	}
	return false
}
