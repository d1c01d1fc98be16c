package plugin

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"Object", `{"a":1,"b":[true,false,null],"c":{"d":"e\u00e9\n"}}`},
		{"Numbers", `[0,-0,1.5,-2e10,3E-2,12345678901234567890]`},
		{"Whitespace", " \t\n{ \"a\" : [ ] }\r\n"},
		{"EmptyString", `""`},
		{"UTF8", `"héllo ☃"`},
		{"BadUTF8", "\"\xff\""},
		{"LeadingZero", `01`},
		{"TrailingComma", `[1,]`},
		{"TrailingData", `{} {}`},
		{"Unterminated", `{"a":"b`},
		{"ControlChar", "\"a\x01\""},
		{"BadEscape", `"\x"`},
		{"ShortUnicode", `"\u12"`},
		{"BareWord", `nul`},
		{"Empty", ``},
		{"DotNoDigits", `1.`},
		{"ExpNoDigits", `1e+`},
		{"MissingColon", `{"a" 1}`},
		{"Deep", strings.Repeat("[", 600) + strings.Repeat("]", 600)},
		{"Item", string(testItem(8 << 10))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Stricter than encoding/json: invalid UTF-8 and nesting
			// beyond maxJSONDepth are refused.
			want := json.Valid([]byte(tc.in)) && tc.name != "Deep" && tc.name != "BadUTF8"
			if got := validJSON([]byte(tc.in)); got != want {
				t.Fatalf("validJSON(%.40q) = %v, want %v", tc.in, got, want)
			}
		})
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `"\u00e9"`, `-1.5e3`, `[`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if utf8.Valid(b) && validJSON(b) != json.Valid(b) && !strings.Contains(string(b), strings.Repeat("[", maxJSONDepth)) && !strings.Contains(string(b), strings.Repeat("{", 100)) {
			t.Fatalf("validJSON(%q) = %v, encoding/json says %v", b, validJSON(b), json.Valid(b))
		}
	})
}
