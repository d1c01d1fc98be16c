package core

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func mustItemType(tb testing.TB, file string) *ItemType {
	tb.Helper()
	docs := mustParseConfigFile(tb, filepath.Join("testdata", file))
	t, err := ItemTypeFromConfig(docs[0], 1)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func mustTypeFromJSON(tb testing.TB, body string) *ItemType {
	tb.Helper()
	t, err := ParseItemType(json.RawMessage(body))
	if err != nil {
		tb.Fatalf("ParseItemType: %v", err)
	}
	return t
}

// fakeRefs is an in-memory RefChecker that counts its calls.
type fakeRefs struct {
	items map[ID]string
	terms map[ID]string
	files map[ID]FileInfo
	calls map[string]int
	err   error
}

func (f *fakeRefs) ItemTypesOf(_ context.Context, ids []ID) (map[ID]string, error) {
	f.calls["items"]++
	return pick(f.items, ids), f.err
}

func (f *fakeRefs) TermVocabularies(_ context.Context, ids []ID) (map[ID]string, error) {
	f.calls["terms"]++
	return pick(f.terms, ids), f.err
}

func (f *fakeRefs) FilesExist(_ context.Context, ids []ID) (map[ID]FileInfo, error) {
	f.calls["files"]++
	return pick(f.files, ids), f.err
}

func pick[V any](m map[ID]V, ids []ID) map[ID]V {
	out := map[ID]V{}
	for _, id := range ids {
		if v, ok := m[id]; ok {
			out[id] = v
		}
	}
	return out
}

var (
	idPage     = MustParseTestID("01900000-0000-7000-8000-000000000001")
	idArticle  = MustParseTestID("01900000-0000-7000-8000-000000000002")
	idMissing  = MustParseTestID("01900000-0000-7000-8000-0000000000ff")
	idTag      = MustParseTestID("01900000-0000-7000-8000-000000000010")
	idCategory = MustParseTestID("01900000-0000-7000-8000-000000000011")
	idPDF      = MustParseTestID("01900000-0000-7000-8000-000000000020")
	idPNG      = MustParseTestID("01900000-0000-7000-8000-000000000021")
	idBigPDF   = MustParseTestID("01900000-0000-7000-8000-000000000022")
)

func MustParseTestID(s string) ID {
	id, err := ParseID(s)
	if err != nil {
		panic(err)
	}
	return id
}

func newFakeRefs() *fakeRefs {
	return &fakeRefs{
		items: map[ID]string{idPage: "page", idArticle: "article"},
		terms: map[ID]string{idTag: "tags", idCategory: "categories"},
		files: map[ID]FileInfo{
			idPDF:    {MIME: "application/pdf", Size: 500},
			idPNG:    {MIME: "image/png", Size: 2000},
			idBigPDF: {MIME: "application/pdf", Size: 5000},
		},
		calls: map[string]int{},
	}
}

// TestValidateFieldsEveryType checks each field type of testdata/everything.yaml
// with valid and invalid values; every invalid value must be reported at
// its path with a message containing want.
func TestValidateFieldsEveryType(t *testing.T) {
	typ := mustItemType(t, "everything.yaml")
	const base = `"contact": "a@example.org"`
	tests := []struct {
		name   string
		fields string // without the braces; base is added
		path   string // "" for valid
		want   string // substring of the message, or of the normalized output when valid
	}{
		// text
		{"TextOK", `"summary": "short"`, "", `"summary":"short"`},
		{"TextNotAllowed", `"summary": "medium"`, "fields.summary", `must be one of "short", "long", "mixed case"`},
		{"TextTooLong", `"summary": "` + strings.Repeat("é", 21) + `"`, "fields.summary", "must be at most 20 characters (got 21)"},
		{"TextNewline", `"summary": "a\nb"`, "fields.summary", "one line"},
		{"TextNumber", `"summary": 5`, "fields.summary", "must be a string, not a number"},
		{"TextList", `"summary": ["short"]`, "fields.summary", "must be a single value, not a list"},
		// long_text
		{"LongTextOK", `"notes": "line 1\r\nline 2\ttab"`, "", `"notes":"line 1\nline 2\ttab"`},
		{"LongTextTooLong", `"notes": "` + strings.Repeat("x", 51) + `"`, "fields.notes", "at most 50 characters"},
		{"LongTextControl", `"notes": "bell\u0007"`, "fields.notes", "control characters"},
		{"LongTextObject", `"notes": {"value": "x"}`, "fields.notes", "must be a string, not an object"},
		// integer
		{"IntegerOK", `"count": -10`, "", `"count":-10`},
		{"IntegerTooBig", `"count": 11`, "fields.count", "must be at most 10"},
		{"IntegerTooSmall", `"count": -11`, "fields.count", "must be at least -10"},
		{"IntegerFraction", `"count": 1.5`, "fields.count", "must be a whole number"},
		{"IntegerExponent", `"count": 1e1`, "fields.count", "must be a whole number"},
		{"IntegerString", `"count": "3"`, "fields.count", "must be an integer, not a string"},
		{"IntegerOverflow", `"codes": [99999999999999999999]`, "fields.codes[0]", "must be between"},
		{"IntegerAllowed", `"codes": [1, 3]`, "", `"codes":[1,3]`},
		{"IntegerNotAllowed", `"codes": [1, 4]`, "fields.codes[1]", "must be one of 1, 2, 3"},
		{"CardinalityExceeded", `"codes": [1, 2, 3, 1]`, "fields.codes", "has 4 values; at most 3 allowed"},
		{"MultiNotList", `"codes": 1`, "fields.codes", "must be a list (cardinality 3), not a number"},
		{"MultiNullElement", `"codes": [1, null]`, "fields.codes[1]", "must not be null"},
		// decimal
		{"DecimalString", `"amount": "12.5"`, "", `"amount":"12.50"`},
		{"DecimalNumberExact", `"amount": 999.99`, "", `"amount":"999.99"`},
		{"DecimalExponent", `"amount": 1.5e2`, "", `"amount":"150.00"`},
		{"DecimalScale", `"amount": "1.005"`, "fields.amount", "at most 2 digits after the decimal point (got 3)"},
		{"DecimalMin", `"amount": "0.00"`, "fields.amount", "must be at least 0.01"},
		{"DecimalMax", `"amount": "1000.01"`, "fields.amount", "must be at most 1000"},
		{"DecimalGarbage", `"amount": "12,50"`, "fields.amount", "must be a decimal number"},
		{"DecimalBool", `"amount": true`, "fields.amount", "must be a decimal number"},
		// boolean
		{"BooleanOK", `"flag": false`, "", `"flag":false`},
		{"BooleanString", `"flag": "true"`, "fields.flag", "must be true or false, not a string"},
		// date
		{"DateOK", `"day": "2024-02-29"`, "", `"day":"2024-02-29"`},
		{"DateInvalidDay", `"day": "2023-02-29"`, "fields.day", "must be a date as YYYY-MM-DD"},
		{"DateWithTime", `"day": "2024-02-01T00:00:00Z"`, "fields.day", "must be a date as YYYY-MM-DD"},
		{"DateShort", `"day": "2024-2-1"`, "fields.day", "must be a date"},
		// datetime
		{"DateTimeOK", `"moment": "2024-05-01T14:30:00+02:00"`, "", `"moment":"2024-05-01T14:30:00+02:00"`},
		{"DateTimeFraction", `"moment": "2024-05-01T14:30:00.500Z"`, "", `"moment":"2024-05-01T14:30:00.5Z"`},
		{"DateTimeNoZone", `"moment": "2024-05-01T14:30:00"`, "fields.moment", "RFC 3339"},
		{"DateTimeNumber", `"moment": 1714573800`, "fields.moment", "must be a date-time string"},
		// email
		{"EmailDisplayName", `"contact": "Ann <a@example.org>"`, "fields.contact", "must be an email address"},
		{"EmailNoDomain", `"contact": "a@localhost"`, "fields.contact", "needs a domain name"},
		{"EmailGarbage", `"contact": "not an email"`, "fields.contact", "must be an email address"},
		// link
		{"LinkOK", `"site": {"url": "https://example.org/x?y=1", "title": "Example"}`, "", `"site":{"title":"Example","url":"https://example.org/x?y=1"}`},
		{"LinkRelative", `"links": [{"url": "/about"}, {"url": "#top"}]`, "", `"links":[{"url":"/about"},{"url":"#top"}]`},
		{"LinkQueryAndFragment", `"links": [{"url": "?q=a:b"}, {"url": "#x:y"}]`, "", `"links":[{"url":"?q=a:b"},{"url":"#x:y"}]`},
		{"LinkRelativePath", `"site": {"url": "docs/a:b"}`, "", `"site":{"url":"docs/a:b"}`},
		{"LinkMailto", `"site": {"url": "mailto:a@example.org"}`, "", `"url":"mailto:a@example.org"`},
		{"LinkJavascript", `"site": {"url": "javascript:alert(1)"}`, "fields.site.url", `scheme "javascript" is not allowed`},
		{"LinkData", `"site": {"url": "data:text/html,x"}`, "fields.site.url", `scheme "data" is not allowed`},
		{"LinkProtocolRelative", `"site": {"url": "//evil.example"}`, "fields.site.url", "protocol-relative"},
		{"LinkNoHost", `"site": {"url": "https:///x"}`, "fields.site.url", "needs a host"},
		{"LinkSpace", `"site": {"url": "https://a.org/a b"}`, "fields.site.url", "spaces"},
		{"LinkMissingURL", `"site": {"title": "x"}`, "fields.site.url", "is required"},
		{"LinkUnknownKey", `"site": {"url": "/x", "target": "_blank"}`, "fields.site.target", "unknown key"},
		{"LinkString", `"site": "https://example.org"`, "fields.site", "must be an object"},
		{"LinkSecondBad", `"links": [{"url": "/ok"}, {"url": "ftp://x.org"}]`, "fields.links[1].url", `scheme "ftp"`},
		// item_ref
		{"ItemRefOK", `"parent": {"id": "01900000-0000-7000-8000-000000000001"}`, "", `"parent":{"id":"01900000-0000-7000-8000-000000000001"}`},
		{"ItemRefUppercaseNormalized", `"parent": {"id": "01900000-0000-7000-8000-00000000000A"}`, "fields.parent.id", "does not exist"},
		{"ItemRefWrongType", `"parent": {"id": "01900000-0000-7000-8000-000000000002"}`, "fields.parent.id", "is of type article; allowed: page"},
		{"ItemRefMissing", `"parent": {"id": "01900000-0000-7000-8000-0000000000ff"}`, "fields.parent.id", "item 01900000-0000-7000-8000-0000000000ff does not exist"},
		{"ItemRefBadID", `"parent": {"id": "nope"}`, "fields.parent.id", `"nope" is not a valid id`},
		{"ItemRefBareString", `"parent": "01900000-0000-7000-8000-000000000001"`, "fields.parent", `must be an object {"id": ...}`},
		// term_ref
		{"TermRefOK", `"topic": {"id": "01900000-0000-7000-8000-000000000010"}`, "", `"topic":{"id":`},
		{"TermRefOtherVocabulary", `"topic": {"id": "01900000-0000-7000-8000-000000000011"}`, "fields.topic.id", "belongs to vocabulary categories, not tags"},
		{"TermRefMissing", `"topic": {"id": "01900000-0000-7000-8000-0000000000ff"}`, "fields.topic.id", "term 01900000-0000-7000-8000-0000000000ff does not exist"},
		// file
		{"FileOK", `"attachment": {"id": "01900000-0000-7000-8000-000000000020"}`, "", `"attachment":{"id":`},
		{"FileMIME", `"attachment": {"id": "01900000-0000-7000-8000-000000000021"}`, "fields.attachment.id", "is image/png; allowed: application/pdf"},
		{"FileTooBig", `"attachment": {"id": "01900000-0000-7000-8000-000000000022"}`, "fields.attachment.id", "is 5000 bytes; at most 1000 allowed"},
		{"FileMissing", `"attachment": {"id": "01900000-0000-7000-8000-0000000000ff"}`, "fields.attachment.id", "does not exist"},
		// image
		{"ImageOK", `"photo": {"id": "01900000-0000-7000-8000-000000000021", "alt": "A cat"}`, "", `"photo":{"alt":"A cat","id":"01900000-0000-7000-8000-000000000021"}`},
		{"ImageDecorative", `"photo": {"id": "01900000-0000-7000-8000-000000000021", "decorative": true}`, "", `"photo":{"decorative":true,"id":`},
		{"ImageNoAlt", `"photo": {"id": "01900000-0000-7000-8000-000000000021"}`, "fields.photo.alt", "is required"},
		{"ImageBlankAlt", `"photo": {"id": "01900000-0000-7000-8000-000000000021", "alt": "  "}`, "fields.photo.alt", "is required"},
		{"ImageNotImage", `"photo": {"id": "01900000-0000-7000-8000-000000000020", "alt": "x"}`, "fields.photo.id", "is application/pdf, not an image"},
		{"ImageDecorativeString", `"photo": {"id": "01900000-0000-7000-8000-000000000021", "alt": "x", "decorative": "yes"}`, "fields.photo.decorative", "must be true or false"},
		// item level
		{"RequiredMissing", `"contact": null`, "fields.contact", "is required"},
		{"RequiredEmptyString", `"contact": ""`, "fields.contact", "is required"},
		{"UnknownField", `"colour": "red"`, "fields.colour", `unknown field (item type everything has no field "colour")`},
		{"DefaultsApplied", ``, "", `"count":3`},
		{"ExplicitNullNoDefault", `"count": null`, "", `{"contact":"a@example.org","notes":"none yet"}`},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := "{" + base
			if tt.fields != "" {
				if strings.HasPrefix(tt.fields, `"contact"`) {
					body = "{" + tt.fields
				} else {
					body += ", " + tt.fields
				}
			}
			body += "}"
			out, err := typ.ValidateFields(ctx, json.RawMessage(body), newFakeRefs())
			if tt.path == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if !strings.Contains(string(out), tt.want) {
					t.Errorf("normalized %s\ndoes not contain %s", out, tt.want)
				}
				return
			}
			if ErrorCode(err) != EInvalid {
				t.Fatalf("got %v (code %q), want %s", err, ErrorCode(err), EInvalid)
			}
			fields := ErrorFields(err)
			if len(fields) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(fields), err)
			}
			if fields[0].Path != tt.path || !strings.Contains(fields[0].Message, tt.want) {
				t.Errorf("got %s: %s\nwant %s: ...%s...", fields[0].Path, fields[0].Message, tt.path, tt.want)
			}
		})
	}
}

func TestValidateFieldsReportsEveryPath(t *testing.T) {
	typ := mustItemType(t, "article.yaml")
	refs := newFakeRefs()
	body := `{
		"rating": 7,
		"related": [{"id": "01900000-0000-7000-8000-000000000001"}, {"id": "01900000-0000-7000-8000-0000000000ff"}, {"id": "01900000-0000-7000-8000-000000000001"}],
		"tags": [{"id": "01900000-0000-7000-8000-000000000011"}, {"id": "01900000-0000-7000-8000-000000000010"}],
		"image": {"id": "01900000-0000-7000-8000-000000000020"},
		"bogus": 1
	}`
	_, err := typ.ValidateFields(context.Background(), json.RawMessage(body), refs)
	want := map[string]string{
		"fields.bogus":         "unknown field",
		"fields.rating":        "must be at most 5",
		"fields.related[2].id": "duplicate reference (also at index 0)",
		"fields.related[1].id": "item 01900000-0000-7000-8000-0000000000ff does not exist",
		"fields.tags[0].id":    "belongs to vocabulary categories, not tags",
		"fields.image.alt":     "is required",
		"fields.image.id":      "not an image",
	}
	got := map[string]string{}
	for _, f := range ErrorFields(err) {
		if _, dup := got[f.Path]; dup {
			t.Errorf("path %s reported twice", f.Path)
		}
		got[f.Path] = f.Message
	}
	for p, msg := range want {
		if !strings.Contains(got[p], msg) {
			t.Errorf("%s: got %q, want ...%s...", p, got[p], msg)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d: %v", len(got), len(want), err)
	}
	for kind, n := range refs.calls {
		if n != 1 {
			t.Errorf("%s looked up %d times, want one batch", kind, n)
		}
	}
	if refs.calls["items"] != 1 || refs.calls["terms"] != 1 || refs.calls["files"] != 1 {
		t.Errorf("lookups %v, want one per kind", refs.calls)
	}
}

func TestValidateFieldsBadInput(t *testing.T) {
	typ := mustItemType(t, "article.yaml")
	tests := []struct {
		name string
		body string
		path string
		want string
	}{
		{"NotJSON", `{"body": `, "fields", "invalid JSON"},
		{"TrailingData", `{} {}`, "fields", "invalid JSON"},
		{"NotObject", `["body"]`, "fields", "must be an object, not a list"},
		{"InvalidUTF8", "{\"body\": \"ok \xff\"}", "fields.body", "not valid UTF-8"},
		{"InvalidUTF8Key", "{\"b\xffdy\": \"x\"}", "", "not valid UTF-8"},
		{"LoneSurrogate", `{"body": "\udc00"}`, "fields.body", "not valid UTF-8"},
		{"DuplicateKey", `{"body": "a", "body": "b"}`, "fields.body", `duplicate key "body"`},
		{"OverLongText", `{"body": "` + strings.Repeat("a", 100001) + `"}`, "fields.body", "must be at most 100000 characters (got 100001)"},
		{"WrongJSONType", `{"rating": "5"}`, "fields.rating", "must be an integer, not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := typ.ValidateFields(context.Background(), json.RawMessage(tt.body), nil)
			if ErrorCode(err) != EInvalid {
				t.Fatalf("got %v, want %s", err, EInvalid)
			}
			fields := ErrorFields(err)
			if len(fields) == 0 || (tt.path != "" && fields[0].Path != tt.path) || !strings.Contains(fields[0].Message, tt.want) {
				t.Errorf("got %+v, want %s: ...%s...", fields, tt.path, tt.want)
			}
		})
	}
}

func TestValidateFieldsEmptyAndNull(t *testing.T) {
	typ := mustItemType(t, "page.yaml")
	for _, body := range []string{"", "null", "{}", " "} {
		out, err := typ.ValidateFields(context.Background(), json.RawMessage(body), nil)
		if err != nil || string(out) != "{}" {
			t.Errorf("%q: got %s, %v; want {}", body, out, err)
		}
	}
}

func TestValidateFieldsCanonicalOutput(t *testing.T) {
	typ := mustItemType(t, "article.yaml")
	a, err := typ.ValidateFields(context.Background(), json.RawMessage(`{"rating": 5, "body": "<b>x</b> & y", "price": 3}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := typ.ValidateFields(context.Background(), json.RawMessage(`{ "price":"3.00","body":"<b>x</b> & y","rating":5 }`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"body":"<b>x</b> & y","price":"3.00","rating":5}`
	if string(a) != want || string(b) != want {
		t.Errorf("got %s and %s, want %s", a, b, want)
	}
}

func TestValidateFieldsLookupError(t *testing.T) {
	typ := mustItemType(t, "article.yaml")
	refs := newFakeRefs()
	refs.err = errors.New("connection reset")
	_, err := typ.ValidateFields(context.Background(), json.RawMessage(`{"related": [{"id": "01900000-0000-7000-8000-000000000001"}]}`), refs)
	if err == nil || ErrorCode(err) != EInternal || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("got %v, want a wrapped internal error", err)
	}
}

func TestValidateTitle(t *testing.T) {
	tests := []struct {
		name  string
		title string
		want  string
	}{
		{"OK", "Hello, world", ""},
		{"OKMaxLength", strings.Repeat("é", 255), ""},
		{"Empty", "", "is required"},
		{"Blank", "   ", "is required"},
		{"TooLong", strings.Repeat("a", 256), "at most 255 characters (got 256)"},
		{"Newline", "a\nb", "control characters"},
		{"Control", "a\x00b", "control characters"},
		{"InvalidUTF8", "a\xffb", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateTitle(tt.title)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			f := ErrorFields(err)
			if len(f) != 1 || f[0].Path != "title" || !strings.Contains(f[0].Message, tt.want) {
				t.Errorf("got %v, want title: ...%s...", err, tt.want)
			}
		})
	}
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"12.50", "12.50", true},
		{"-0.5", "-0.5", true},
		{"+3", "3", true},
		{"007", "7", true},
		{"1e3", "1000", true},
		{"1.25e-3", "0.00125", true},
		{"-0.00", "0.00", true},
		{".5", "0.5", true},
		{"5.", "5", true},
		{"", "", false},
		{"1,5", "", false},
		{"abc", "", false},
		{"1e999", "", false},
		{strings.Repeat("9", 41), "", false},
	}
	for _, tt := range tests {
		got, _, ok := parseDecimal(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseDecimal(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func BenchmarkValidateFields8KB(b *testing.B) {
	typ := mustItemType(b, "article.yaml")
	body, _ := json.Marshal(map[string]any{
		"body":    strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n", 140),
		"rating":  4,
		"price":   "12.50",
		"related": []map[string]string{{"id": idPage.String()}, {"id": idArticle.String()}},
		"tags":    []map[string]string{{"id": idTag.String()}},
		"image":   map[string]string{"id": idPNG.String(), "alt": "A cat"},
	})
	refs := newFakeRefs()
	ctx := context.Background()
	for b.Loop() {
		if _, err := typ.ValidateFields(ctx, body, refs); err != nil {
			b.Fatal(err)
		}
	}
}
