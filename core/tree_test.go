package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func treeText(s string) Node { return Node{Type: ElemText, Text: s} }

func treeNest(depth int) Node {
	n := treeText("leaf")
	for i := 1; i < depth; i++ {
		n = Node{Type: ElemContainer, Children: []Node{n}}
	}
	return n
}

func TestValidateTree(t *testing.T) {
	article := Node{Type: ElemContainer, Tag: "article", Attrs: map[string]string{"class": "item item--article", "data-id": "7", "aria-label": "Post"}, Children: []Node{
		{Type: ElemHeading, Level: 2, Children: []Node{{Type: ElemLink, Href: "/blog/hello", Text: "Hello"}}},
		{Type: ElemParagraph, Children: []Node{treeText("By "), {Type: ElemTime, Datetime: "2026-05-01T10:00:00Z", Text: "1 May"}}},
		{Type: ElemFigure, Caption: "A cat", Children: []Node{{Type: ElemImage, Src: "/files/abc/cat.jpg", Alt: "A cat", Width: 640, Height: 480}}},
		{Type: ElemText, Format: "markdown", Text: "**hi**\n\nthere"},
		{Type: ElemList, Ordered: true, Items: []Node{treeText("one"), {Type: ElemLink, Href: "mailto:a@example.com", Text: "mail"}}},
		{Type: ElemTable, Caption: "Prices", Head: []Row{{Cells: []Cell{{Header: true, Scope: "col", Text: "Plan"}}}}, Body: []Row{{Cells: []Cell{{Children: []Node{treeText("Basic")}}}}}},
		{Type: ElemDetails, Summary: "More", Open: true, Children: []Node{{Type: ElemBlockquote, Text: "quote", Cite: "https://example.com/q"}}},
		{Type: ElemCode, Language: "go", Text: "package main\n"},
		{Type: ElemIsland, Name: "comment-form", Href: "/comment/reply/7", Text: "Add a comment"},
		{Type: ElemLink, Href: "tel:+3312345678", Text: "call", Attrs: map[string]string{"rel": "nofollow ugc"}},
		{Type: ElemImage, Src: "data:image/png;base64,iVBORw0KGgo=", Alt: ""},
	}}
	form := Node{Type: ElemForm, Action: "/search", Method: "get", Children: []Node{
		{Type: ElemFieldset, Label: "Search", Children: []Node{
			{Type: ElemInput, InputType: "search", Name: "keys", Label: "Keywords", Required: true},
			{Type: ElemSelect, Name: "type", Label: "Type", Options: []Option{{Value: "a", Label: "Article", Selected: true}}},
			{Type: ElemCheckbox, Name: "exact", Label: "Exact", Checked: true},
			{Type: ElemTextarea, Name: "body", Label: "Body", Rows: 5},
			{Type: ElemHidden, Name: "form_id", Value: "search"},
			{Type: ElemButton, Text: "Search"},
		}},
	}}

	tests := []struct {
		name string
		tree Node
		opts TreeOptions
		// want lists "path: message substring" for each expected error;
		// empty means the tree is valid.
		want []string
	}{
		{name: "OK article", tree: article},
		{name: "OK form for kernel", tree: form, opts: TreeOptions{AllowForms: true}},
		{name: "OK full_html for kernel", tree: Node{Type: ElemText, Format: FormatFullHTML, Text: "<b>x</b>"}, opts: TreeOptions{AllowFullHTML: true}},
		{name: "OK max depth", tree: treeNest(DefaultMaxTreeDepth)},
		{name: "ErrForm from plugin", tree: form, want: []string{"type: form element \"form\" may only be added"}},
		{name: "ErrFullHTML from plugin", tree: Node{Type: ElemText, Format: FormatFullHTML, Text: "x"}, want: []string{"format: full_html is only accepted"}},
		{name: "ErrMissingType", tree: Node{}, want: []string{"type: is required"}},
		{name: "ErrUnknownType", tree: Node{Type: "script"}, want: []string{"type: unknown element type \"script\""}},
		{name: "ErrJavascriptHref nested", tree: Node{Type: ElemContainer, Children: []Node{treeText("a"), treeText("b"), {Type: ElemParagraph, Children: []Node{{Type: ElemLink, Href: "javascript:alert(1)", Text: "x"}}}}},
			want: []string{"children[2].children[0].href: URL scheme \"javascript\" is not allowed"}},
		{name: "ErrMixedCaseScheme", tree: Node{Type: ElemLink, Href: "JaVaScRiPt:alert(1)", Text: "x"}, want: []string{"href: URL scheme \"javascript\""}},
		{name: "ErrTabInScheme", tree: Node{Type: ElemLink, Href: "java\tscript:alert(1)", Text: "x"}, want: []string{"href: URL contains a control character"}},
		{name: "ErrLeadingSpace", tree: Node{Type: ElemLink, Href: " javascript:alert(1)", Text: "x"}, want: []string{"href: URL has surrounding whitespace"}},
		{name: "ErrVbscript", tree: Node{Type: ElemLink, Href: "vbscript:msgbox", Text: "x"}, want: []string{"href: URL scheme \"vbscript\""}},
		{name: "ErrDataHref", tree: Node{Type: ElemLink, Href: "data:text/html;base64,PHNjcmlwdD4=", Text: "x"}, want: []string{"href: URL scheme \"data\""}},
		{name: "ErrSvgDataImage", tree: Node{Type: ElemImage, Src: "data:image/svg+xml;base64,PHN2Zz4=", Alt: "x"}, want: []string{"src: data URLs must be base64"}},
		{name: "ErrOnclick", tree: Node{Type: ElemParagraph, Text: "x", Attrs: map[string]string{"onclick": "alert(1)", "style": "color:red"}},
			want: []string{"attrs.onclick: attribute is not allowed", "attrs.style: attribute is not allowed"}},
		{name: "ErrBadDataAttrName", tree: Node{Type: ElemParagraph, Text: "x", Attrs: map[string]string{"data-X": "1", "href": "/x"}},
			want: []string{"attrs.data-X: attribute is not allowed", "attrs.href: attribute is not allowed"}},
		{name: "ErrRelOnParagraph", tree: Node{Type: ElemParagraph, Text: "x", Attrs: map[string]string{"rel": "nofollow"}}, want: []string{"attrs.rel: attribute is not allowed"}},
		{name: "ErrRelToken", tree: Node{Type: ElemLink, Href: "/", Text: "x", Attrs: map[string]string{"rel": "stylesheet"}}, want: []string{"attrs.rel: link type \"stylesheet\""}},
		{name: "ErrClassToken", tree: Node{Type: ElemParagraph, Text: "x", Attrs: map[string]string{"class": "a \"b"}}, want: []string{"attrs.class: class name"}},
		{name: "ErrIDValue", tree: Node{Type: ElemParagraph, Text: "x", Attrs: map[string]string{"id": "1x"}}, want: []string{"attrs.id: must start with a letter"}},
		{name: "ErrFieldNotForType", tree: Node{Type: ElemParagraph, Text: "x", Href: "/x", Level: 2}, want: []string{"level: not allowed on a paragraph", "href: not allowed on a paragraph"}},
		{name: "ErrHeadingLevel", tree: Node{Type: ElemHeading, Level: 7, Text: "x"}, want: []string{"level: must be between 1 and 6"}},
		{name: "ErrBlockInParagraph", tree: Node{Type: ElemParagraph, Children: []Node{{Type: ElemText, Format: "markdown", Text: "x"}}}, want: []string{"children[0].type: a markdown text element cannot appear here"}},
		{name: "ErrLinkInLink", tree: Node{Type: ElemLink, Href: "/", Children: []Node{{Type: ElemLink, Href: "/", Text: "x"}}}, want: []string{"children[0].type: a link cannot contain a link"}},
		{name: "ErrTextAndChildren", tree: Node{Type: ElemHeading, Level: 1, Text: "x", Children: []Node{treeText("y")}}, want: []string{"text: use either text or children"}},
		{name: "ErrControlChar", tree: Node{Type: ElemHeading, Level: 1, Text: "a\x00b"}, want: []string{"text: contains a control character"}},
		{name: "ErrInvalidUTF8", tree: Node{Type: ElemText, Text: "a\xffb"}, want: []string{"text: is not valid UTF-8"}},
		{name: "ErrTooDeep", tree: treeNest(DefaultMaxTreeDepth + 1), want: []string{".children[0]: tree is deeper than 32 levels"}},
		{name: "ErrLowerDepth", tree: treeNest(4), opts: TreeOptions{MaxDepth: 3}, want: []string{"children[0].children[0].children[0]: tree is deeper than 3 levels"}},
		{name: "ErrTooManyNodes", tree: Node{Type: ElemContainer, Children: slices.Repeat([]Node{treeText("x")}, 20)}, opts: TreeOptions{MaxNodes: 10}, want: []string{"children[9]: tree has more than 10 nodes"}},
		{name: "ErrListItems", tree: Node{Type: ElemList, Items: []Node{treeText("ok"), {Type: ElemImage, Alt: "x"}}}, want: []string{"items[1].src: is required"}},
		{name: "ErrTableCell", tree: Node{Type: ElemTable, Body: []Row{{Cells: []Cell{{Text: "x", Scope: "col"}}}, {}}}, want: []string{"body[0].cells[0].scope: only header cells", "body[1].cells: a row needs"}},
		{name: "ErrTableCellChild", tree: Node{Type: ElemTable, Body: []Row{{Cells: []Cell{{Children: []Node{{Type: ElemLink, Href: "javascript:x", Text: "x"}}}}}}},
			want: []string{"body[0].cells[0].children[0].href: URL scheme"}},
		{name: "ErrTime", tree: Node{Type: ElemTime, Datetime: "yesterday", Text: "x"}, want: []string{"datetime: must be a date"}},
		{name: "ErrIslandName", tree: Node{Type: ElemIsland, Name: "Bad Name", Href: "/x", Text: "x"}, want: []string{"name: must be lowercase"}},
		{name: "ErrCodeLanguage", tree: Node{Type: ElemCode, Text: "x", Language: "go\"><script>"}, want: []string{"language: must be a short language name"}},
		{name: "OK id prefix", tree: Node{Type: ElemText, Format: "markdown", IDPrefix: "item-7-", Text: "# x"}},
		{name: "ErrIDPrefix", tree: Node{Type: ElemText, Format: "markdown", IDPrefix: "7 x", Text: "# x"}, want: []string{"id_prefix: must be a lowercase letter"}},
		{name: "ErrIDPrefixOnParagraph", tree: Node{Type: ElemParagraph, IDPrefix: "a", Text: "x"}, want: []string{"id_prefix: not allowed on a paragraph"}},
		{name: "ErrSuggestion", tree: Node{Type: ElemContainer, Suggestions: []string{"item--article", "../etc/passwd"}}, want: []string{"suggestions[1]: must look like"}},
		{name: "ErrInputNoLabel", tree: Node{Type: ElemInput, Name: "x", InputType: "file"}, opts: TreeOptions{AllowForms: true},
			want: []string{"label: is required", "input_type: must be one of"}},
		{name: "ErrNestedForm", tree: Node{Type: ElemForm, Children: []Node{{Type: ElemList, Items: []Node{{Type: ElemForm, Children: []Node{treeText("x")}}}}}}, opts: TreeOptions{AllowForms: true},
			want: []string{"children[0].items[0].type: a form cannot contain another form"}},
		{name: "OK sibling forms", tree: Node{Type: ElemContainer, Children: []Node{{Type: ElemForm, Children: []Node{treeText("x")}}, {Type: ElemForm, Children: []Node{treeText("y")}}}}, opts: TreeOptions{AllowForms: true}},
		{name: "ErrFormAction", tree: Node{Type: ElemForm, Action: "javascript:x", Method: "put"}, opts: TreeOptions{AllowForms: true},
			want: []string{"action: URL scheme", "method: must be one of get, post"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateTree(tt.tree, tt.opts)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("ValidateTree: %v", err)
				}
				return
			}
			if ErrorCode(err) != EInvalid {
				t.Fatalf("ValidateTree error = %v (code %q), want %s", err, ErrorCode(err), EInvalid)
			}
			fields := ErrorFields(err)
			for _, w := range tt.want {
				if !hasField(fields, w) {
					t.Errorf("missing error %q in %v", w, fields)
				}
			}
			if len(fields) != len(tt.want) {
				t.Errorf("got %d errors %v, want %d", len(fields), fields, len(tt.want))
			}
		})
	}
}

func hasField(fields []FieldError, want string) bool {
	for _, f := range fields {
		if strings.HasPrefix(f.Path+": "+f.Message, want) || strings.HasPrefix(want, ".") && strings.Contains(f.Path+": "+f.Message, want) {
			return true
		}
	}
	return false
}

func TestValidateTreeCapsErrors(t *testing.T) {
	n := Node{Type: ElemContainer}
	for range 200 {
		n.Children = append(n.Children, Node{Type: "bad"})
	}
	fields := ErrorFields(ValidateTree(n, TreeOptions{}))
	if len(fields) != maxTreeErrors+1 {
		t.Fatalf("got %d errors, want %d", len(fields), maxTreeErrors+1)
	}
	if !strings.Contains(fields[len(fields)-1].Message, "too many errors") {
		t.Fatalf("last error = %v", fields[len(fields)-1])
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		name  string
		url   string
		image bool
		ok    bool
	}{
		{"OK relative", "/a/b?c=d#e", false, true},
		{"OK protocol relative", "//example.com/x", false, true},
		{"OK fragment", "#top", false, true},
		{"OK https", "https://example.com/", false, true},
		{"OK upper HTTP", "HTTP://example.com/", false, true},
		{"OK mailto", "mailto:a@example.com", false, true},
		{"OK tel", "tel:+331234", false, true},
		{"OK colon in path", "/a:b", false, true},
		{"OK data png image", "data:image/png;base64,AAAA", true, true},
		{"ErrDataPngHref", "data:image/png;base64,AAAA", false, false},
		{"ErrDataSvg", "data:image/svg+xml;base64,AAAA", true, false},
		{"ErrDataNotBase64", "data:image/png,<svg>", true, false},
		{"ErrJavascript", "javascript:alert(1)", false, false},
		{"ErrJavascriptImage", "javascript:alert(1)", true, false},
		{"ErrVbscript", "VBScript:x", false, false},
		{"ErrNewline", "java\nscript:x", false, false},
		{"ErrNUL", "java\x00script:x", false, false},
		{"ErrBackslash", "/\\evil.com", false, false},
		{"ErrFile", "file:///etc/passwd", false, false},
		{"ErrEmpty", "", false, false},
		{"ErrLong", "/" + strings.Repeat("a", MaxTreeURLBytes), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckURL(tt.url, tt.image)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckURL(%q, %v) = %v, want ok=%v", tt.url, tt.image, err, tt.ok)
			}
		})
	}
}

func TestDecodeTree(t *testing.T) {
	deep := `{"type":"text","text":"x"}`
	for range DefaultMaxTreeDepth {
		deep = `{"type":"container","children":[` + deep + `]}`
	}
	tests := []struct {
		name string
		json string
		opts TreeOptions
		code string
		want string // substring of the error, or of "path: message"
	}{
		{name: "OK", json: `{"type":"paragraph","weight":-3,"attrs":{"class":"lead"},"children":[{"type":"text","text":"hi"}]}`},
		{name: "OK table", json: `{"type":"table","head":[{"cells":[{"header":true,"text":"a"}]}],"body":[{"cells":[{"children":[{"type":"text","text":"b"}]}]}]}`},
		{name: "ErrUnknownField", json: `{"type":"container","children":[{"type":"link","href":"/","text":"x","onclick":"y"}]}`, code: EInvalid, want: "children[0].onclick: unknown field"},
		{name: "ErrMisCasedField", json: `{"type":"link","HREF":"/","text":"x"}`, code: EInvalid, want: "HREF: unknown field"},
		{name: "ErrUnknownCellField", json: `{"type":"table","body":[{"cells":[{"html":"<b>"}]}]}`, code: EInvalid, want: "body[0].cells[0].html: unknown field"},
		{name: "ErrInvalidUTF8", json: "{\"type\":\"text\",\"text\":\"\xff\"}", code: EInvalid, want: "not valid UTF-8"},
		{name: "ErrTrailing", json: `{"type":"text","text":"x"} {"type":"text"}`, code: EInvalid, want: "data after the root node"},
		{name: "ErrSyntax", json: `{"type":"text",`, code: EInvalid, want: "not valid JSON"},
		{name: "ErrWrongType", json: `{"type":"heading","level":"2","text":"x"}`, code: EInvalid, want: "level: must be an integer"},
		{name: "ErrTooDeep", json: deep, code: EInvalid, want: "tree is deeper than 32 levels"},
		{name: "ErrNestedScalar", json: `{"type":"text","text":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`, code: EInvalid, want: "text: must be a string, not an array"},
		{name: "ErrTooLarge", json: `{"type":"text","text":"` + strings.Repeat("a", MaxTreeBytes) + `"}`, code: ETooLarge, want: "larger than"},
		{name: "OK nulls are zero values", json: `{"type":"paragraph","text":"x","children":null,"attrs":null,"weight":null}`},
		{name: "OK escapes", json: `{"type":"text","text":"a\"b\\c\/d\n\r\t\u00e9\ud83d\ude00"}`},
		{name: "ErrFloatWeight", json: `{"type":"text","text":"x","weight":1.5}`, code: EInvalid, want: "weight: must be an integer"},
		{name: "ErrBadEscape", json: `{"type":"text","text":"\x"}`, code: EInvalid, want: "invalid escape"},
		{name: "ErrControlInString", json: "{\"type\":\"text\",\"text\":\"a\u0001b\"}", code: EInvalid, want: "control character"},
		{name: "ErrRowNotObject", json: `{"type":"table","body":[1]}`, code: EInvalid, want: "body[0]: must be an object, not a number"},
		{name: "ErrValidation", json: `{"type":"link","href":"javascript:alert(1)","text":"x"}`, code: EInvalid, want: "href: URL scheme"},
		{name: "ErrFormFromPlugin", json: `{"type":"hidden","name":"a","value":"b"}`, code: EInvalid, want: "may only be added by kernel forms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := DecodeTree([]byte(tt.json), tt.opts)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("DecodeTree: %v", err)
				}
				back, _ := json.Marshal(n)
				if _, err := DecodeTree(back, tt.opts); err != nil {
					t.Fatalf("re-decoding %s: %v", back, err)
				}
				return
			}
			if ErrorCode(err) != tt.code {
				t.Fatalf("error %v has code %q, want %q", err, ErrorCode(err), tt.code)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestSortedNodes(t *testing.T) {
	in := []Node{{Type: "a", Weight: 5}, {Type: "b"}, {Type: "c", Weight: -1}, {Type: "d", Weight: 5}, {Type: "e"}}
	got := SortedNodes(in)
	var order string
	for _, n := range got {
		order += n.Type
	}
	if order != "cbead" {
		t.Fatalf("order = %s, want cbead", order)
	}
	if in[0].Type != "a" {
		t.Fatal("SortedNodes modified its input")
	}
}

func BenchmarkDecodeTree(b *testing.B) {
	n := Node{Type: ElemContainer}
	for i := range 200 {
		n.Children = append(n.Children, Node{Type: ElemParagraph, Weight: i % 7, Attrs: map[string]string{"class": "p"}, Children: []Node{
			treeText(fmt.Sprintf("paragraph %d ", i)), {Type: ElemLink, Href: "/item/" + fmt.Sprint(i), Text: "more"}}})
	}
	data, _ := json.Marshal(n)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := DecodeTree(data, TreeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchTree() Node {
	n := Node{Type: ElemContainer}
	for i := range 200 {
		n.Children = append(n.Children, Node{Type: ElemParagraph, Weight: i % 7, Attrs: map[string]string{"class": "p"}, Children: []Node{
			treeText(fmt.Sprintf("paragraph %d ", i)), {Type: ElemLink, Href: "/item/" + fmt.Sprint(i), Text: "more"}}})
	}
	return n
}

func BenchmarkValidateTree(b *testing.B) {
	n := benchTree()
	for b.Loop() {
		if err := ValidateTree(n, TreeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalTree(b *testing.B) {
	data, _ := json.Marshal(benchTree())
	for b.Loop() {
		var n Node
		if err := json.Unmarshal(data, &n); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecodeTree checks that no input panics the decoder and that every
// accepted tree validates, re-encodes and decodes again.
func FuzzDecodeTree(f *testing.F) {
	for _, seed := range []string{
		`{"type":"paragraph","weight":-3,"attrs":{"class":"lead"},"children":[{"type":"text","text":"hi"}]}`,
		`{"type":"table","caption":"c","head":[{"cells":[{"header":true,"scope":"col","text":"a"}]}],"body":[{"cells":[{"colspan":2,"children":[{"type":"link","href":"/x","text":"b"}]}]}]}`,
		`{"type":"list","ordered":true,"items":[{"type":"image","src":"data:image/png;base64,AAAA","alt":""},{"type":"time","datetime":"2026-01-01","text":"x"}]}`,
		`{"type":"form","action":"/s","method":"get","children":[{"type":"select","name":"a","label":"A","options":[{"value":"1","label":"one","selected":true}]}]}`,
		` { "type" : "text" , "text" : "a\"b\\u00e9" } `,
		`{"type":"container","children":[{"type":"island","name":"x","href":"/","text":"t"}],"suggestions":["item--article"]}`,
		`[1,2]`, `"x"`, `null`, `{"type":{"a":[1,{"b":2}]}}`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, forms bool) {
		opts := TreeOptions{AllowForms: forms}
		n, err := DecodeTree(data, opts)
		if err != nil {
			if c := ErrorCode(err); c != EInvalid && c != ETooLarge {
				t.Fatalf("error code %q: %v", c, err)
			}
			return
		}
		if err := ValidateTree(n, opts); err != nil {
			t.Fatalf("decoded tree does not validate: %v", err)
		}
		again, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeTree(again, opts); err != nil {
			t.Fatalf("re-encoded tree %s does not decode: %v", again, err)
		}
	})
}

// smallTree is about what an item_view tap returns: an article of twenty
// fields, about 2 KB of JSON.
func smallTree() Node {
	n := Node{Type: ElemContainer, Tag: "article", Attrs: map[string]string{"class": "item item--article"}}
	n.Children = append(n.Children, Node{Type: ElemHeading, Level: 2, Text: "A test item"})
	for i := range 19 {
		n.Children = append(n.Children, Node{Type: ElemParagraph, Weight: i, Children: []Node{
			{Type: ElemText, Text: fmt.Sprintf("Field %d: ", i)}, {Type: ElemLink, Href: fmt.Sprintf("/tags/%d", i), Text: "value"}}})
	}
	return n
}

func BenchmarkDecodeTreeSmall(b *testing.B) {
	data, _ := json.Marshal(smallTree())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeTree(data, TreeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecodeNode holds the hand-written decoder to encoding/json: what it
// accepts, encoding/json (refusing unknown fields) accepts with the same
// result; what encoding/json refuses, it refuses.
func FuzzDecodeNode(f *testing.F) {
	for _, seed := range []string{
		`{"type":"paragraph","weight":-3,"attrs":{"class":"lead","a":null},"children":[{"type":"text","text":"hi"}]}`,
		`{"type":"table","head":[{"cells":[{"header":true,"text":"a"}]}],"body":[{"cells":[{"colspan":2,"children":[]}]},null]}`,
		`{"type":"select","options":[{"value":"1","label":"one","selected":true},null],"suggestions":["a",null]}`,
		`{"type":"text","text":"\ud800\u0041\ud83d\ude00\"\\"}`, `{"type":"text","weight":1e2}`, `{"weight":-0}`,
		`{"type":"a","type":"b","attrs":{"x":"1"},"attrs":{"y":"2"},"children":[{}],"children":[{},{}]}`,
		`null`, `{}`, ` {"open":true,"inline":false} `, `{"level":9223372036854775808}`, `{"text":"a"}x`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return
		}
		got, err := decodeNode(data, 1<<20)
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var want Node
		stdErr := dec.Decode(&want)
		if stdErr == nil {
			if _, e := dec.Token(); e != io.EOF {
				stdErr = errors.New("trailing data")
			}
		}
		switch {
		case err == nil && stdErr != nil:
			t.Fatalf("decodeNode accepted what encoding/json refuses (%v): %q", stdErr, data)
		case err == nil && !reflect.DeepEqual(got, want):
			t.Fatalf("decodeNode and encoding/json differ on %q:\n%#v\n%#v", data, got, want)
		case err != nil && stdErr == nil && !strings.Contains(err.Error(), "unknown field"):
			// encoding/json matches keys regardless of case; nothing else may differ.
			t.Fatalf("decodeNode refused what encoding/json accepts: %v: %q", err, data)
		}
	})
}
