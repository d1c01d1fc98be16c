package core

import "strings"

// Hand-written checks of the short names render trees carry (ids, class
// names, attribute names, languages, suggestions, URL schemes). They ran
// as regular expressions before and cost about 5% of an uncached page;
// TestTreeNameChecks holds each to the expression it replaces.

// asciiSet is a set of ASCII bytes.
type asciiSet [2]uint64

// newASCIISet builds a set from characters and ranges such as "a-z0-9_-"
// (a '-' first or last is itself).
func newASCIISet(spec string) asciiSet {
	var s asciiSet
	for i := 0; i < len(spec); i++ {
		lo, hi := spec[i], spec[i]
		if i+2 < len(spec) && spec[i+1] == '-' {
			hi = spec[i+2]
			i += 2
		}
		for c := lo; c <= hi && c < 128; c++ {
			s[c/64] |= 1 << (c % 64)
		}
	}
	return s
}

func (s *asciiSet) has(c byte) bool { return c < 128 && s[c/64]&(1<<(c%64)) != 0 }

// all reports whether every byte of str is in s.
func (s *asciiSet) all(str string) bool {
	for i := 0; i < len(str); i++ {
		if !s.has(str[i]) {
			return false
		}
	}
	return true
}

// matchName reports whether str is one byte of first, then bytes of rest, in
// all between min and max bytes long.
func matchName(str string, first, rest *asciiSet, min, max int) bool {
	return len(str) >= min && len(str) <= max && len(str) > 0 && first.has(str[0]) && rest.all(str[1:])
}

var (
	setLower      = newASCIISet("a-z")
	setAlpha      = newASCIISet("A-Za-z")
	setAlnum      = newASCIISet("A-Za-z0-9")
	setLowerDigit = newASCIISet("a-z0-9")
	setIDPrefix   = newASCIISet("a-z0-9-")
	setLanguage   = newASCIISet("A-Za-z0-9_+#.-")
	setIsland     = newASCIISet("a-z0-9_-")
	setCtrlFirst  = newASCIISet("A-Za-z0-9_")
	setCtrlRest   = newASCIISet("A-Za-z0-9_.[]-")
	setTreeID     = newASCIISet("A-Za-z0-9_:.-")
	setClass      = newASCIISet("A-Za-z0-9_-")
	setRole       = newASCIISet("a-z-")
	setWord       = newASCIISet("a-z0-9_")
	setSimpleKey  = newASCIISet("A-Za-z0-9_:-")
	setSchemeRest = newASCIISet("A-Za-z0-9+.-")
	setBase64     = newASCIISet("A-Za-z0-9+/")
)

// ValidIDPrefix: ^[a-z][a-z0-9\-]{0,31}$ (a text element's id_prefix).
func ValidIDPrefix(s string) bool { return matchName(s, &setLower, &setIDPrefix, 1, 32) }

// validLanguage: ^[A-Za-z0-9][A-Za-z0-9_+#.\-]{0,31}$ (a code element's language).
func validLanguage(s string) bool { return matchName(s, &setAlnum, &setLanguage, 1, 32) }

// validIslandName: ^[a-z0-9][a-z0-9_\-]{0,63}$.
func validIslandName(s string) bool { return matchName(s, &setLowerDigit, &setIsland, 1, 64) }

// validControlName: ^[A-Za-z0-9_][A-Za-z0-9_.\-\[\]]{0,127}$.
func validControlName(s string) bool { return matchName(s, &setCtrlFirst, &setCtrlRest, 1, 128) }

// validTreeID: ^[A-Za-z][A-Za-z0-9_:.\-]{0,127}$ (an id attribute).
func validTreeID(s string) bool { return matchName(s, &setAlpha, &setTreeID, 1, 128) }

// ValidClassName: ^[A-Za-z0-9_\-]{1,64}$ (one class name).
func ValidClassName(s string) bool { return len(s) >= 1 && len(s) <= 64 && setClass.all(s) }

// ValidLangTag: ^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$ (a BCP 47 shaped tag).
func ValidLangTag(s string) bool {
	for i := 0; ; i++ {
		part, rest, more := strings.Cut(s, "-")
		if len(part) < 1 || len(part) > 8 {
			return false
		}
		if i == 0 && !setAlpha.all(part) || i > 0 && !setAlnum.all(part) {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

// validDataAttr: ^data-[a-z][a-z0-9\-]{0,62}$.
func validDataAttr(s string) bool {
	rest, ok := strings.CutPrefix(s, "data-")
	return ok && matchName(rest, &setLower, &setIDPrefix, 1, 63)
}

// validAriaAttr: ^aria-[a-z]{2,32}$.
func validAriaAttr(s string) bool {
	rest, ok := strings.CutPrefix(s, "aria-")
	return ok && len(rest) >= 2 && len(rest) <= 32 && setLower.all(rest)
}

// validRole: ^[a-z\-]{1,32}( [a-z\-]{1,32}){0,3}$.
func validRole(s string) bool {
	for i := 0; i < 4; i++ {
		part, rest, more := strings.Cut(s, " ")
		if len(part) < 1 || len(part) > 32 || !setRole.all(part) {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
	return false
}

// validWords: ^[a-z0-9_]+(-[a-z0-9_]+)*$.
func validWords(s string) bool {
	for {
		part, rest, more := strings.Cut(s, "-")
		if part == "" || !setWord.all(part) {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

// validSuggestion: ^WORDS(--WORDS)+$ with WORDS as in validWords.
func validSuggestion(s string) bool {
	n := 0
	for {
		part, rest, more := strings.Cut(s, "--")
		if !validWords(part) {
			return false
		}
		n++
		if !more {
			return n >= 2
		}
		s = rest
	}
}

// validSimpleKey: ^[A-Za-z0-9_:\-]{1,64}$.
func validSimpleKey(s string) bool { return len(s) >= 1 && len(s) <= 64 && setSimpleKey.all(s) }

// urlScheme returns the scheme of ^([A-Za-z][A-Za-z0-9+.\-]*): and
// whether u has one.
func urlScheme(u string) (string, bool) {
	if len(u) == 0 || !setAlpha.has(u[0]) {
		return "", false
	}
	for i := 1; i < len(u); i++ {
		switch c := u[i]; {
		case c == ':':
			return u[:i], true
		case !setSchemeRest.has(c):
			return "", false
		}
	}
	return "", false
}

// validDataImage:
// ^data:image/(png|jpeg|gif|webp|avif);base64,[A-Za-z0-9+/]+={0,2}$.
func validDataImage(u string) bool {
	rest, ok := strings.CutPrefix(u, "data:image/")
	if !ok {
		return false
	}
	typ, payload, ok := strings.Cut(rest, ";base64,")
	if !ok {
		return false
	}
	switch typ {
	case "png", "jpeg", "gif", "webp", "avif":
	default:
		return false
	}
	body := strings.TrimRight(payload, "=")
	return len(payload)-len(body) <= 2 && body != "" && setBase64.all(body)
}
