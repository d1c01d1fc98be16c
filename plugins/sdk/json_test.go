package sdk

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValueAccessors(t *testing.T) {
	v := Value(` {"s":"a\"b\\u00e9\n","n":-12,"f":1.5,"b":true,"z":null,"arr":[1,"two",{"k":[]}],"o":{"x":{"y":"deep"}}} `)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"String", v.Get("s").String(), "a\"b\\u00e9\n"},
		{"Int", v.Get("n").Int(), int64(-12)},
		{"Float", v.Get("f").Float(), 1.5},
		{"Bool", v.Get("b").Bool(), true},
		{"Null", v.Get("z").IsNull(), true},
		{"Missing", v.Get("nope").Exists(), false},
		{"Index", v.Get("arr").Index(1).String(), "two"},
		{"Len", v.Get("arr").Len(), 3},
		{"Nested", v.Get("o").Get("x").Get("y").String(), "deep"},
		{"KindObject", v.Get("o").Kind(), Object},
		{"KindArray", v.Get("arr").Kind(), Array},
		{"IntOfFloat", Value(`3.0`).Int(), int64(3)},
		{"Unicode", Value(`"\u00e9\ud83d\ude00"`).String(), "é😀"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %#v, want %#v", tc.got, tc.want)
			}
		})
	}
}

func TestMalformedValuesDoNotPanic(t *testing.T) {
	for _, s := range []string{`{`, `{"a"`, `{"a":`, `{"a":1,`, `[1,`, `"abc`, `{"a":tru}`, `[}`, `{"a":"\"}`} {
		v := Value(s)
		v.Get("a")
		v.Index(0)
		v.Len()
		if Valid([]byte(s)) {
			t.Errorf("Valid(%q) = true", s)
		}
		if _, err := ParseItem(v); err == nil && strings.HasPrefix(s, "{") {
			t.Errorf("ParseItem(%q) accepted", s)
		}
	}
}

func TestWriterEscapes(t *testing.T) {
	w := NewWriter(nil)
	w.BeginObject()
	w.Key("html")
	w.String("<script>&\"\\\n\x01\u2028")
	w.Key("bad")
	w.String("a\xffb")
	w.Key("list")
	w.Any([]string{"x", "y"})
	w.Key("map")
	w.Any(map[string]any{"b": 2, "a": nil, "c": Value(`{"raw":true}`)})
	w.Key("nan")
	w.Float(0)
	w.EndObject()
	want := `{"html":"\u003cscript\u003e\u0026\"\\\n\u0001\u2028","bad":"a\ufffdb","list":["x","y"],"map":{"a":null,"b":2,"c":{"raw":true}},"nan":0}`
	if got := string(w.Bytes()); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if !Valid(w.Bytes()) {
		t.Fatal("writer output is not valid JSON")
	}
}

func TestNodeRoundTrip(t *testing.T) {
	n := Container(
		Heading(2, "Title <b>"),
		Paragraph(Text("By "), Link("/u/1", "Ann"), Time("2026-01-01", "1 Jan")).WithClass("byline").WithWeight(-5),
		List(true, Text("one"), Text("two")),
		Island("comments", "/comment/1", "Comments"),
		Node{Type: "table", Caption: "T", Head: []Row{{Cells: []Cell{{Header: true, Scope: "col", Text: "h"}}}}, Body: []Row{{Cells: []Cell{{Text: "c", Colspan: 2}}}}},
	).WithTag("article")
	w := NewWriter(nil)
	n.WriteJSON(w)
	back, err := ParseNode(Value(w.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	w2 := NewWriter(nil)
	back.WriteJSON(w2)
	if string(w.Bytes()) != string(w2.Bytes()) {
		t.Fatalf("round trip differs:\n%s\n%s", w.Bytes(), w2.Bytes())
	}
	if _, err := ParseNode(Value(`{"type":"text","html":"<b>"}`)); err == nil {
		t.Fatal("unknown key accepted")
	}
}

func TestCallUnregisteredTap(t *testing.T) {
	_, err := Call("gather_extend", []byte(`{}`))
	if ErrorCode(err) != ENotImpl {
		t.Fatalf("err = %v", err)
	}
	if _, err := CurrentUser(); ErrorCode(err) != EUnavailable {
		t.Fatalf("host call without a fake: %v", err)
	}
}

// TestAppendQuotedWords checks the eight-bytes-at-a-time path: for every
// byte value at every position of a 17-byte string the output decodes to
// the string (invalid UTF-8 replaced) and holds no raw control byte, <, >
// or &.
func TestAppendQuotedWords(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 17; pos++ {
			b := []byte("abcdefghijklmnopq")
			b[pos] = byte(c)
			s := string(b)
			got := appendQuoted(nil, s)
			var back string
			if err := json.Unmarshal(got, &back); err != nil || back != strings.ToValidUTF8(s, "\ufffd") {
				t.Fatalf("byte %#x at %d: %s decodes to %q (%v)", c, pos, got, back, err)
			}
			for _, x := range got {
				if x < 0x20 || x == '<' || x == '>' || x == '&' {
					t.Fatalf("byte %#x at %d: raw %#x in %s", c, pos, x, got)
				}
			}
		}
	}
}
