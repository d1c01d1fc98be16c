package core

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func mustReadFile(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func mustParseConfigFile(tb testing.TB, path string) []ConfigDoc {
	tb.Helper()
	docs, err := ParseConfigFile(filepath.Base(path), mustReadFile(tb, path))
	if err != nil {
		tb.Fatalf("ParseConfigFile(%s): %v", path, err)
	}
	return docs
}

func TestParseConfigFileFixtures(t *testing.T) {
	tests := []struct {
		file  string
		kinds []string
		names []string
	}{
		{"article.yaml", []string{"item_type"}, []string{"article"}},
		{"page.yaml", []string{"item_type"}, []string{"page"}},
		{"everything.yaml", []string{"item_type"}, []string{"everything"}},
		{"site.yaml", []string{"site", "vocabulary", "vocabulary", "menu", "alias_pattern"}, []string{"site", "tags", "categories", "main", "article"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			docs := mustParseConfigFile(t, filepath.Join("testdata", tt.file))
			if len(docs) != len(tt.kinds) {
				t.Fatalf("got %d documents, want %d", len(docs), len(tt.kinds))
			}
			for i, d := range docs {
				if d.Kind != tt.kinds[i] || d.Name != tt.names[i] {
					t.Errorf("doc %d = %s/%s, want %s/%s", i, d.Kind, d.Name, tt.kinds[i], tt.names[i])
				}
				var body map[string]any
				if err := json.Unmarshal(d.Body, &body); err != nil {
					t.Fatalf("body is not JSON: %v", err)
				}
				if body["kind"] != d.Kind || body["name"] != d.Name {
					t.Errorf("body kind/name = %v/%v", body["kind"], body["name"])
				}
				if !bytes.Equal(canonicalJSON(json.RawMessage(d.Body)), d.Body) {
					t.Errorf("body is not canonical: %s", d.Body)
				}
			}
		})
	}
}

func TestParseConfigFileJSONAndYAMLAgree(t *testing.T) {
	y := "kind: menu\nname: footer\nlabel: Footer links # comment\ndescription: \"<b>&</b>\"\n"
	j := `{"kind": "menu", "name": "footer", "label": "Footer links", "description": "<b>&</b>"}`
	arr := `[` + j + `, {"kind": "vocabulary", "name": "tags", "label": "Tags"}]`
	dy, err := ParseConfigFile("m.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	dj, err := ParseConfigFile("m.json", []byte(j))
	if err != nil {
		t.Fatal(err)
	}
	da, err := ParseConfigFile("m.json", []byte(arr))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"description":"<b>&</b>","kind":"menu","label":"Footer links","name":"footer"}`
	for name, docs := range map[string][]ConfigDoc{"yaml": dy, "json": dj, "json array": da} {
		if string(docs[0].Body) != want {
			t.Errorf("%s: body %s, want %s", name, docs[0].Body, want)
		}
	}
	if len(da) != 2 || da[1].Kind != "vocabulary" {
		t.Errorf("json array: got %+v", da)
	}
}

func TestParseConfigFileYAMLFeatures(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"Anchors", "kind: item_type\nname: t\nlabel: T\nfields:\n  - &f {name: a, type: text, max_length: 10}\n  - {<<: *f, name: b}\n",
			`{"fields":[{"max_length":10,"name":"a","type":"text"},{"max_length":10,"name":"b","type":"text"}],"kind":"item_type","label":"T","name":"t"}`},
		{"NumbersKeptExact", "kind: item_type\nname: t\nlabel: T\nfields:\n  - {name: d, type: decimal, min: 0.10, max: 1_000.50}\n",
			`{"fields":[{"max":1000.50,"min":0.10,"name":"d","type":"decimal"}],"kind":"item_type","label":"T","name":"t"}`},
		{"BlockScalar", "kind: menu\nname: m\nlabel: M\ndescription: |\n  line one\n  line two\n",
			`{"description":"line one\nline two\n","kind":"menu","label":"M","name":"m"}`},
		{"YAMLHexInteger", "kind: vocabulary\nname: v\nlabel: V\nweight: 0x1F\n", `{"kind":"vocabulary","label":"V","name":"v","weight":31}`},
		{"YAMLUnderscoreInteger", "kind: vocabulary\nname: v\nlabel: V\nweight: +1_000\n", `{"kind":"vocabulary","label":"V","name":"v","weight":1000}`},
		{"Directive", "%YAML 1.2\n---\nkind: menu\nname: m\nlabel: M\n", `{"kind":"menu","label":"M","name":"m"}`},
		{"CRLF", "kind: menu\r\nname: m\r\nlabel: M\r\n", `{"kind":"menu","label":"M","name":"m"}`},
		{"DocumentEndMarker", "kind: menu\nname: m\nlabel: M\n...\n", `{"kind":"menu","label":"M","name":"m"}`},
		{"MarkerInsideBlockScalar", "kind: menu\nname: m\nlabel: M\ndescription: |\n  ---\n  x\n", `{"description":"---\nx\n","kind":"menu","label":"M","name":"m"}`},
		{"BOMAndEmptyDocuments", "\ufeff---\n---\nkind: menu\nname: m\nlabel: M\n---\n",
			`{"kind":"menu","label":"M","name":"m"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := ParseConfigFile("x.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != 1 || string(docs[0].Body) != tt.want {
				t.Fatalf("got %+v\nwant %s", docs, tt.want)
			}
		})
	}
}

func TestParseConfigFileErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		data string
		want []string // substrings of Error(), each one a separate problem
	}{
		{"UnknownKind", "x.yaml", "kind: gizmo\nname: x\n", []string{"x.yaml:1:1: kind: unknown kind \"gizmo\""}},
		{"MissingKind", "x.yaml", "name: x\n", []string{"x.yaml:1:1: kind: is required"}},
		{"NotAMapping", "x.yaml", "- a\n- b\n", []string{"x.yaml:1:1: a document must be a mapping"}},
		{"UnknownKey", "x.yaml", "kind: menu\nname: x\nlabel: X\ncolour: red\n", []string{"x.yaml:4:1: colour: unknown key"}},
		{"MissingRequired", "x.yaml", "kind: menu\nname: x\n", []string{"x.yaml:1:1: label: is required"}},
		{"BadName", "x.yaml", "kind: menu\nname: Main Menu\nlabel: X\n", []string{"x.yaml:2:1: name: \"Main Menu\" does not match"}},
		{"NameTooLong", "x.yaml", "kind: menu\nname: " + strings.Repeat("a", 65) + "\nlabel: X\n", []string{"x.yaml:2:1: name:"}},
		{"WrongType", "x.yaml", "kind: menu\nname: x\nlabel: [a]\n", []string{"x.yaml:3:1: label: must be a string, not a list"}},
		{"SecondDocument", "x.yaml", "kind: menu\nname: x\nlabel: X\n---\nkind: vocabulary\nname: v\nlabel: V\nhierarchy: deep\n",
			[]string{"x.yaml:8:1: hierarchy: must be one of \"single\", \"multiple\""}},
		{"SyntaxError", "x.yaml", "kind: menu\nname: x\n label: y\n", []string{"x.yaml:2:7: invalid YAML"}},
		{"DuplicateKey", "x.yaml", "kind: menu\nname: x\nlabel: X\nlabel: Y\n", []string{"x.yaml:4:1: invalid YAML: mapping key \"label\" already defined at [3:1]"}},
		{"InvalidUTF8", "x.yaml", "kind: menu\nname: x\nlabel: \xff\xfe\n", []string{"x.yaml:3:8: invalid UTF-8"}},
		{"DuplicateDocument", "x.yaml", "kind: menu\nname: x\nlabel: X\n---\nkind: menu\nname: x\nlabel: Y\n", []string{"x.yaml:6:1: name: menu \"x\" is defined twice in this file (first at line 1)"}},
		{"EmptyDocumentBetween", "x.yaml", "kind: menu\nname: a\nlabel: A\n---\n---\nkind: menu\nname: b\ncolour: red\n", []string{"x.yaml:6:1: label: is required", "x.yaml:8:1: colour: unknown key"}},
		{"SelfAlias", "x.yaml", "kind: menu\nname: x\nlabel: X\ndescription: &d [*d]\n", []string{"x.yaml:4:18: description[0]: unknown alias *d"}},
		{"AliasBomb", "x.yaml", "kind: menu\nname: x\nlabel: X\n" + aliasBomb(), []string{"aliases expand too much"}},
		{"Empty", "x.yaml", "# nothing\n", []string{"x.yaml:1:1: no config documents"}},
		{"JSONSyntax", "x.json", "{\"kind\": \"menu\",\n \"name\": \"x\" \"label\": 1}", []string{"x.json:2:14: invalid JSON"}},
		{"JSONUnknownKey", "x.json", "{\"kind\": \"menu\",\n \"name\": \"x\", \"label\": \"X\",\n  \"extra\": 1}", []string{"x.json:3:3: extra: unknown key"}},
		{"JSONDuplicateKey", "x.json", "{\"kind\": \"menu\", \"name\": \"x\", \"label\": \"X\", \"label\": \"Y\"}", []string{"x.json:1:45: label: duplicate key"}},
		{"JSONTrailingData", "x.json", "{\"kind\": \"menu\", \"name\": \"x\", \"label\": \"X\"} {}", []string{"x.json:1:"}},
		{"ItemTypeSemantics", "t.yaml", "kind: item_type\nname: t\nlabel: T\nfields:\n  - {name: title, type: text}\n  - {name: n, type: integer, min: 5, max: 1}\n  - {name: n, type: text, format: markdown}\n",
			[]string{
				"t.yaml:5:6: fields[0].name: \"title\" is reserved",
				"t.yaml:6:30: fields[1].min: must not be greater than max (5 > 1)",
				"t.yaml:7:6: fields[2].name: duplicate field name \"n\" (also fields[1])",
				"t.yaml:7:27: fields[2].format: does not apply to text fields",
			}},
		{"SiteTimezone", "s.yaml", "kind: site\nname: site\nsite_name: S\ntimezone: Mars/Olympus\n", []string{"s.yaml:4:1: timezone: unknown time zone"}},
		{"SiteName", "s.yaml", "kind: site\nname: other\nsite_name: S\n", []string{"s.yaml:2:1: name: must be \"site\""}},
		{"AliasPatternToken", "a.yaml", "kind: alias_pattern\nname: a\nitem_type: article\npattern: \"[type]/[slug]\"\n", []string{"a.yaml:4:1: pattern: unknown token [slug]"}},
		{"AliasPatternSlash", "a.yaml", "kind: alias_pattern\nname: a\nitem_type: article\npattern: /[title]\n", []string{"pattern: must not start with /"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := ParseConfigFile(tt.file, []byte(tt.data))
			if err == nil {
				t.Fatalf("no error; docs %+v", docs)
			}
			if ErrorCode(err) != EInvalid {
				t.Errorf("code %q, want %q", ErrorCode(err), EInvalid)
			}
			fields := ErrorFields(err)
			if len(fields) != len(tt.want) {
				t.Errorf("got %d problems, want %d: %v", len(fields), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

// aliasBomb returns YAML whose aliases expand to 10^9 values.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("description:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("  a" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + strconv.Itoa(i-1))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestParseConfigFileTooLarge(t *testing.T) {
	_, err := ParseConfigFile("big.yaml", make([]byte, MaxConfigFileSize+1))
	if ErrorCode(err) != ETooLarge {
		t.Fatalf("got %v, want %s", err, ETooLarge)
	}
}

func TestValidateConfigDoc(t *testing.T) {
	tests := []struct {
		name     string
		kind     string
		body     string
		wantCode string
		wantPath string
	}{
		{"OK", "menu", `{"kind":"menu","name":"main","label":"Main"}`, "", ""},
		{"OKItemType", "item_type", `{"kind":"item_type","name":"t","label":"T","fields":[{"name":"a","type":"text"}]}`, "", ""},
		{"UnknownKind", "gizmo", `{"kind":"gizmo","name":"x"}`, ENotFound, ""},
		{"KindMismatch", "menu", `{"kind":"vocabulary","name":"x","label":"X"}`, EInvalid, "kind"},
		{"NotObject", "menu", `[1]`, EInvalid, "(document)"},
		{"BadJSON", "menu", `{"kind":`, EInvalid, "(document)"},
		{"UnknownKey", "menu", `{"kind":"menu","name":"main","label":"Main","x":1}`, EInvalid, "x"},
		{"NestedPath", "item_type", `{"kind":"item_type","name":"t","label":"T","fields":[{"name":"a","type":"text"},{"name":"b","type":"blob"}]}`, EInvalid, "fields[1].type"},
		{"InvalidUTF8", "menu", "{\"kind\":\"menu\",\"name\":\"main\",\"label\":\"\xff\"}", EInvalid, "label"},
		{"LoneSurrogate", "menu", `{"kind":"menu","name":"main","label":"\ud800"}`, EInvalid, "label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateConfigDoc(tt.kind, json.RawMessage(tt.body))
			if got := ErrorCode(err); got != tt.wantCode {
				t.Fatalf("code %q, want %q (%v)", got, tt.wantCode, err)
			}
			if tt.wantPath != "" {
				fields := ErrorFields(err)
				if len(fields) == 0 || fields[0].Path != tt.wantPath {
					t.Errorf("fields %+v, want path %q", fields, tt.wantPath)
				}
			}
		})
	}
}

func TestConfigExportRoundTrip(t *testing.T) {
	var docs []ConfigDoc
	for _, f := range []string{"article.yaml", "page.yaml", "everything.yaml", "site.yaml"} {
		docs = append(docs, mustParseConfigFile(t, filepath.Join("testdata", f))...)
	}
	// A document with awkward strings must survive too.
	awkward, err := ParseConfigDoc("menu", json.RawMessage(`{"kind":"menu","name":"odd","label":"yes","description":"line 1\n  indented: value # not a comment\n\ttab\n\nlast \"quoted\" line\n"}`))
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, awkward)
	for _, d := range docs {
		t.Run(ConfigExportPath(d), func(t *testing.T) {
			y1, err := MarshalConfigYAML(d)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseConfigFile(ConfigExportPath(d), y1)
			if err != nil {
				t.Fatalf("re-import: %v\n%s", err, y1)
			}
			if len(back) != 1 || !bytes.Equal(back[0].Body, d.Body) {
				t.Fatalf("body changed:\n%s\n%s\nyaml:\n%s", d.Body, back[0].Body, y1)
			}
			y2, err := MarshalConfigYAML(back[0])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(y1, y2) {
				t.Fatalf("export not stable:\n%s\n---\n%s", y1, y2)
			}
			if !bytes.HasPrefix(y1, []byte("kind: "+d.Kind+"\nname: "+d.Name+"\n")) {
				t.Errorf("export does not start with kind and name:\n%s", y1)
			}
		})
	}
}

func TestMarshalConfigYAMLStrings(t *testing.T) {
	strs := []string{
		"", " ", "plain", "Two words", "yes", "No", "null", "~", "true", "123", "1.5", "0x10", "1e3",
		"-dash", "- item", "a: b", "a:b", "x #y", "#x", "@at", "`tick", "'single'", "\"double\"",
		"[list]", "{map}", "*alias", "&anchor", "!tag", "%pct", "|pipe", ">fold", "?q", "a,b",
		"trailing ", " leading", "2024-05-01", "2024-05-01T10:00:00Z", "é accent", "日本語",
		"line\n", "line\nline2", "line\nline2\n", "line\n\n", "\n", "\nstart", "  indented\nblock",
		"tab\there", "cr\r\nlf", "ctrl\x01", "nel\u0085", "ls\u2028", "<html> & \"stuff\"",
		"/path/to", "image/*", "a\\b", "end.", "Hello, world!", "=", "a=b", ".inf", ".nan", "NaN",
	}
	for _, s := range strs {
		body := canonicalJSON(map[string]any{"kind": "menu", "name": "m", "label": "L", "description": s})
		y, err := MarshalConfigYAML(ConfigDoc{Kind: "menu", Name: "m", Body: body})
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		docs, err := ParseConfigFile("m.yaml", y)
		if err != nil {
			t.Errorf("%q: re-import failed: %v\n%s", s, err, y)
			continue
		}
		if !bytes.Equal(docs[0].Body, body) {
			t.Errorf("%q: round trip gave %s\n%s", s, docs[0].Body, y)
		}
	}
}

func TestConfigKindsAndSchemas(t *testing.T) {
	want := []string{"alias_pattern", "deploy_target", "gather", "item_type", "menu", "search", "site", "tile", "vocabulary"}
	if got := ConfigKinds(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("ConfigKinds() = %v, want %v", got, want)
	}
	for _, k := range want {
		s, err := ConfigSchema(k)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(s, &v); err != nil {
			t.Fatalf("%s schema: %v", k, err)
		}
		if v["additionalProperties"] != false {
			t.Errorf("%s schema allows unknown keys", k)
		}
	}
	if _, err := ConfigSchema("nope"); ErrorCode(err) != ENotFound {
		t.Errorf("ConfigSchema(nope) = %v", err)
	}
}

func TestParseConfigFileJSONArrayPositions(t *testing.T) {
	data := "[\n  {\"kind\": \"menu\", \"name\": \"a\", \"label\": \"A\"},\n  {\"kind\": \"menu\", \"name\": \"b\",\n   \"label\": 5}\n]"
	_, err := ParseConfigFile("menus.json", []byte(data))
	want := "menus.json:4:4: label: must be a string, not a number"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want ...%s...", err, want)
	}
}

func TestCanonicalJSONStrings(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`q"b\s`, `"q\"b\\s"`},
		{"<a href='x'>&</a>", `"<a href='x'>&</a>"`},
		{"nl\ncr\rtab\tnul\x00del\x7f", `"nl\ncr\rtab\tnul\u0000del` + "\x7f" + `"`},
		{"é日本\u2028\u2029", `"é日本\u2028\u2029"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
	}
	for _, tt := range tests {
		got := string(canonicalJSON(tt.in))
		if got != tt.want {
			t.Errorf("canonicalJSON(%q) = %s, want %s", tt.in, got, tt.want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%s is not valid JSON: %v", got, err)
		} else if strings.ToValidUTF8(tt.in, "\ufffd") != back {
			t.Errorf("%s decodes to %q, want %q", got, back, tt.in)
		}
	}
}
