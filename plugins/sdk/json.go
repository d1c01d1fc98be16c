package sdk

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Kind is the kind of a JSON value.
type Kind int

// Kinds.
const (
	Invalid Kind = iota
	Null
	Bool
	Number
	String
	Array
	Object
)

// Value is one raw JSON value. Values decoded from a tap's input point
// into the input buffer and are valid until the tap returns; the accessor
// methods copy what they return. A missing value is empty (Exists false).
type Value []byte

var errSyntax = errors.New("sdk: invalid JSON")

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipValue returns the offset just after the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return 0, errSyntax
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{' || c == '[':
		// Strings are the only place brackets may hide.
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				j, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = j
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errSyntax
	case c == 't':
		return lit(b, i, "true")
	case c == 'f':
		return lit(b, i, "false")
	case c == 'n':
		return lit(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		j := i + 1
		for j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] == '.' || b[j] == 'e' || b[j] == 'E' || b[j] == '+' || b[j] == '-') {
			j++
		}
		return j, nil
	}
	return 0, errSyntax
}

func lit(b []byte, i int, s string) (int, error) {
	if len(b)-i < len(s) || string(b[i:i+len(s)]) != s {
		return 0, errSyntax
	}
	return i + len(s), nil
}

func skipString(b []byte, i int) (int, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, errSyntax
		}
		j += k
		// The quote ends the string unless an odd number of
		// backslashes precedes it.
		n := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return j + 1, nil
		}
		j++
	}
}

// membersAt walks the object starting at b[i] in one pass: fn gets each
// key and the offset of its value and returns the offset just after the
// value (parsing it, or skipping it with skipValue). It returns the offset
// after the object.
func membersAt(b []byte, i int, fn func(key string, i int) (int, error)) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '{' {
		return 0, errors.New("sdk: not a JSON object")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return 0, errSyntax
		}
		ke, err := skipString(b, i)
		if err != nil {
			return 0, err
		}
		key := unquote(b[i:ke])
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return 0, errSyntax
		}
		if i, err = fn(key, skipSpace(b, i+1)); err != nil {
			return 0, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return 0, errSyntax
		}
		if b[i] == '}' {
			return i + 1, nil
		}
		if b[i] != ',' {
			return 0, errSyntax
		}
		i++
	}
}

// valueAt returns the value starting at b[i] and the offset after it.
func valueAt(b []byte, i int) (Value, int, error) {
	end, err := skipValue(b, i)
	if err != nil {
		return nil, 0, err
	}
	return Value(b[i:end]), end, nil
}

// trim returns v without surrounding white space.
func (v Value) trim() Value {
	i := skipSpace(v, 0)
	j := len(v)
	for j > i && isSpace(v[j-1]) {
		j--
	}
	return v[i:j]
}

// Exists reports whether the value is present.
func (v Value) Exists() bool { return len(v.trim()) > 0 }

// Kind returns the value's kind by its first byte.
func (v Value) Kind() Kind {
	t := v.trim()
	if len(t) == 0 {
		return Invalid
	}
	switch c := t[0]; {
	case c == 'n':
		return Null
	case c == 't' || c == 'f':
		return Bool
	case c == '"':
		return String
	case c == '[':
		return Array
	case c == '{':
		return Object
	case c == '-' || c >= '0' && c <= '9':
		return Number
	}
	return Invalid
}

// Members calls fn for each member of an object, in order, until fn
// returns false. The key is unescaped only if it needs to be.
func (v Value) Members(fn func(key string, val Value) bool) error {
	b := v.trim()
	if len(b) == 0 || b[0] != '{' {
		return errors.New("sdk: not a JSON object")
	}
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return errSyntax
		}
		ke, err := skipString(b, i)
		if err != nil {
			return err
		}
		key := unquote(b[i:ke])
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return errSyntax
		}
		vs := skipSpace(b, i+1)
		ve, err := skipValue(b, vs)
		if err != nil {
			return err
		}
		if !fn(key, Value(b[vs:ve])) {
			return nil
		}
		i = skipSpace(b, ve)
		if i >= len(b) {
			return errSyntax
		}
		if b[i] == '}' {
			return nil
		}
		if b[i] != ',' {
			return errSyntax
		}
		i++
	}
}

// Elements calls fn for each element of an array until fn returns false.
func (v Value) Elements(fn func(i int, val Value) bool) error {
	b := v.trim()
	if len(b) == 0 || b[0] != '[' {
		return errors.New("sdk: not a JSON array")
	}
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == ']' {
		return nil
	}
	for n := 0; ; n++ {
		vs := skipSpace(b, i)
		ve, err := skipValue(b, vs)
		if err != nil {
			return err
		}
		if !fn(n, Value(b[vs:ve])) {
			return nil
		}
		i = skipSpace(b, ve)
		if i >= len(b) {
			return errSyntax
		}
		if b[i] == ']' {
			return nil
		}
		if b[i] != ',' {
			return errSyntax
		}
		i++
	}
}

// Get returns the member key of an object, or an empty Value.
func (v Value) Get(key string) Value {
	var out Value
	v.Members(func(k string, val Value) bool {
		if k == key {
			out = val
			return false
		}
		return true
	})
	return out
}

// Index returns element i of an array, or an empty Value.
func (v Value) Index(i int) Value {
	var out Value
	v.Elements(func(n int, val Value) bool {
		if n == i {
			out = val
			return false
		}
		return true
	})
	return out
}

// Len returns the number of elements of an array or members of an object.
func (v Value) Len() int {
	n := 0
	switch v.Kind() {
	case Array:
		v.Elements(func(int, Value) bool { n++; return true })
	case Object:
		v.Members(func(string, Value) bool { n++; return true })
	}
	return n
}

// String returns a string value unescaped, or "" for other kinds.
func (v Value) String() string {
	t := v.trim()
	if len(t) < 2 || t[0] != '"' {
		return ""
	}
	return unquote(t)
}

// Int returns a number value as an int64 (0 if it is not an integer).
func (v Value) Int() int64 {
	t := v.trim()
	n, err := strconv.ParseInt(string(t), 10, 64)
	if err != nil {
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil || f != math.Trunc(f) {
			return 0
		}
		return int64(f)
	}
	return n
}

// Float returns a number value as a float64.
func (v Value) Float() float64 {
	f, _ := strconv.ParseFloat(string(v.trim()), 64)
	return f
}

// Bool returns true only for the literal true.
func (v Value) Bool() bool { return string(v.trim()) == "true" }

// IsNull reports whether the value is null.
func (v Value) IsNull() bool { return v.Kind() == Null }

// Clone copies the value out of the input buffer, to keep it after the
// tap returns or across host calls.
func (v Value) Clone() Value { return append(Value(nil), v...) }

// Strings returns an array of strings.
func (v Value) Strings() []string {
	var out []string
	v.Elements(func(_ int, e Value) bool {
		out = append(out, e.String())
		return true
	})
	return out
}

// Valid reports whether b is one well-formed JSON value. It checks
// structure strictly (the host validates outputs again).
func Valid(b []byte) bool {
	i, err := validValue(b, skipSpace(b, 0), 0)
	return err == nil && skipSpace(b, i) == len(b)
}

func validValue(b []byte, i, depth int) (int, error) {
	if depth > 512 {
		return 0, errSyntax
	}
	i = skipSpace(b, i)
	if i >= len(b) {
		return 0, errSyntax
	}
	switch b[i] {
	case '{':
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, nil
		}
		for {
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != '"' {
				return 0, errSyntax
			}
			j, err := validString(b, i)
			if err != nil {
				return 0, err
			}
			i = skipSpace(b, j)
			if i >= len(b) || b[i] != ':' {
				return 0, errSyntax
			}
			if i, err = validValue(b, i+1, depth+1); err != nil {
				return 0, err
			}
			i = skipSpace(b, i)
			if i < len(b) && b[i] == '}' {
				return i + 1, nil
			}
			if i >= len(b) || b[i] != ',' {
				return 0, errSyntax
			}
			i++
		}
	case '[':
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = validValue(b, i, depth+1); err != nil {
				return 0, err
			}
			i = skipSpace(b, i)
			if i < len(b) && b[i] == ']' {
				return i + 1, nil
			}
			if i >= len(b) || b[i] != ',' {
				return 0, errSyntax
			}
			i++
		}
	case '"':
		return validString(b, i)
	case 't':
		return lit(b, i, "true")
	case 'f':
		return lit(b, i, "false")
	case 'n':
		return lit(b, i, "null")
	}
	j, err := skipValue(b, i)
	if err != nil {
		return 0, err
	}
	if _, err := strconv.ParseFloat(string(b[i:j]), 64); err != nil {
		return 0, errSyntax
	}
	return j, nil
}

func validString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '\\':
			j++
			if j >= len(b) {
				return 0, errSyntax
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) {
					return 0, errSyntax
				}
				if _, err := strconv.ParseUint(string(b[j+1:j+5]), 16, 16); err != nil {
					return 0, errSyntax
				}
				j += 4
			default:
				return 0, errSyntax
			}
		case c == '"':
			if !utf8.Valid(b[i+1 : j]) {
				return 0, errSyntax
			}
			return j + 1, nil
		case c < 0x20:
			return 0, errSyntax
		}
	}
	return 0, errSyntax
}

// unquote decodes a quoted JSON string (including the quotes).
func unquote(q []byte) string {
	s := q[1 : len(q)-1]
	if bytes.IndexByte(s, '\\') < 0 {
		// Under WebAssembly a string inside the tap's input needs no
		// copy: the input stays put until the tap returns, and the
		// instance's memory is restored after the call.
		if str, ok := inputString(s); ok {
			return str
		}
		return string(s)
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			out = append(out, c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'u':
			if i+4 >= len(s) {
				return string(out)
			}
			r1, _ := strconv.ParseUint(string(s[i+1:i+5]), 16, 16)
			i += 4
			r := rune(r1)
			if utf16.IsSurrogate(r) && i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				r2, _ := strconv.ParseUint(string(s[i+3:i+7]), 16, 16)
				if dec := utf16.DecodeRune(r, rune(r2)); dec != utf8.RuneError {
					r = dec
					i += 6
				}
			}
			out = utf8.AppendRune(out, r)
		default: // " \ /
			out = append(out, s[i])
		}
	}
	return string(out)
}

// Writer appends JSON to a buffer without reflection. Keys and values are
// written in order; commas are inserted automatically.
type Writer struct {
	buf   []byte
	comma bool
}

// NewWriter returns a writer appending to buf[:0].
func NewWriter(buf []byte) *Writer { return &Writer{buf: buf[:0]} }

// Bytes returns the JSON written so far.
func (w *Writer) Bytes() []byte { return w.buf }

// Reset empties the writer, keeping its buffer.
func (w *Writer) Reset() { w.buf, w.comma = w.buf[:0], false }

func (w *Writer) sep() {
	if w.comma {
		w.buf = append(w.buf, ',')
	}
	w.comma = true
}

// BeginObject starts an object value.
func (w *Writer) BeginObject() { w.sep(); w.buf = append(w.buf, '{'); w.comma = false }

// EndObject ends an object.
func (w *Writer) EndObject() { w.buf = append(w.buf, '}'); w.comma = true }

// BeginArray starts an array value.
func (w *Writer) BeginArray() { w.sep(); w.buf = append(w.buf, '['); w.comma = false }

// EndArray ends an array.
func (w *Writer) EndArray() { w.buf = append(w.buf, ']'); w.comma = true }

// Key writes an object key; the next call writes its value.
func (w *Writer) Key(k string) {
	w.sep()
	w.buf = appendQuoted(w.buf, k)
	w.buf = append(w.buf, ':')
	w.comma = false
}

// rawKey writes a key already quoted, with its colon.
func (w *Writer) rawKey(qk string) {
	w.sep()
	w.buf = append(w.buf, qk...)
	w.comma = false
}

// String writes a string value.
func (w *Writer) String(s string) { w.sep(); w.buf = appendQuoted(w.buf, s) }

// Int writes an integer value.
func (w *Writer) Int(n int64) { w.sep(); w.buf = strconv.AppendInt(w.buf, n, 10) }

// Float writes a number value (NaN and infinities as null).
func (w *Writer) Float(f float64) {
	w.sep()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		w.buf = append(w.buf, "null"...)
		return
	}
	w.buf = strconv.AppendFloat(w.buf, f, 'g', -1, 64)
}

// Bool writes true or false.
func (w *Writer) Bool(b bool) { w.sep(); w.buf = strconv.AppendBool(w.buf, b) }

// Null writes null.
func (w *Writer) Null() { w.sep(); w.buf = append(w.buf, "null"...) }

// Raw writes an already encoded JSON value (null if empty).
func (w *Writer) Raw(v []byte) {
	w.sep()
	if len(Value(v).trim()) == 0 {
		w.buf = append(w.buf, "null"...)
		return
	}
	w.buf = append(w.buf, v...)
}

// Any writes string, bool, integer and float values, []string, Value,
// nil, and map[string]any, []any and []map[string]any of those; other
// types are written as null.
func (w *Writer) Any(v any) {
	switch x := v.(type) {
	case nil:
		w.Null()
	case string:
		w.String(x)
	case bool:
		w.Bool(x)
	case int:
		w.Int(int64(x))
	case int32:
		w.Int(int64(x))
	case int64:
		w.Int(x)
	case uint32:
		w.Int(int64(x))
	case float64:
		w.Float(x)
	case float32:
		w.Float(float64(x))
	case Value:
		w.Raw(x)
	case []string:
		w.BeginArray()
		for _, s := range x {
			w.String(s)
		}
		w.EndArray()
	case map[string]any:
		w.BeginObject()
		for _, k := range sortedKeys(x) {
			w.Key(k)
			w.Any(x[k])
		}
		w.EndObject()
	case []any:
		w.BeginArray()
		for _, e := range x {
			w.Any(e)
		}
		w.EndArray()
	case []map[string]any:
		w.BeginArray()
		for _, e := range x {
			w.Any(e)
		}
		w.EndArray()
	default:
		w.Null()
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

const hexDigits = "0123456789abcdef"

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plainWord reports whether none of the 8 bytes of x needs escaping: no
// byte below 0x20 or from 0x80 up, none of " \ < > &.
func plainWord(x uint64) bool {
	zero := func(v uint64) uint64 { return (v - lsb) &^ v & msb }
	bad := x&msb | (x-0x20*lsb)&^x&msb |
		zero(x^('"'*lsb)) | zero(x^('\\'*lsb)) | zero(x^('<'*lsb)) | zero(x^('>'*lsb)) | zero(x^('&'*lsb))
	return bad == 0
}

// plainByte marks the bytes appendQuoted copies as they are: ASCII other
// than control characters, the quote, the backslash and <, >, &.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendQuoted appends s as a JSON string, escaping what JSON requires and
// <, >, & (so output is safe to embed), and replacing invalid UTF-8.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs escaping.
		for i+8 <= len(s) && plainWord(*(*uint64)(unsafe.Pointer(unsafe.StringData(s[i:])))) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if plainByte[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
