package core

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDiffFields(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want string // JSON of the changes
	}{
		{"Equal", `{"a":1,"b":[1,2]}`, `{"b":[1,2],"a":1}`, `null`},
		{"NumbersCompareByValue", `{"a":1.50}`, `{"a":1.5}`, `null`},
		{"Scalar", `{"rating":3}`, `{"rating":4}`, `[{"path":"fields.rating","old":3,"new":4}]`},
		{"AddedAndRemoved", `{"a":"x"}`, `{"b":"y"}`, `[{"path":"fields.a","old":"x"},{"path":"fields.b","new":"y"}]`},
		{"ListElement", `{"tags":[{"id":"1"},{"id":"2"},{"id":"3"}]}`, `{"tags":[{"id":"1"},{"id":"2"},{"id":"4"}]}`, `[{"path":"fields.tags[2].id","old":"3","new":"4"}]`},
		{"ListGrew", `{"tags":["a"]}`, `{"tags":["a","b"]}`, `[{"path":"fields.tags[1]","new":"b"}]`},
		{"ListShrank", `{"tags":["a","b"]}`, `{"tags":["a"]}`, `[{"path":"fields.tags[1]","old":"b"}]`},
		{"TypeChanged", `{"a":"1"}`, `{"a":[1]}`, `[{"path":"fields.a","old":"1","new":[1]}]`},
		{"NestedObject", `{"image":{"id":"x","alt":"old"}}`, `{"image":{"id":"x","alt":"new"}}`, `[{"path":"fields.image.alt","old":"old","new":"new"}]`},
		{"FromEmpty", ``, `{"a":1}`, `[{"path":"fields","new":{"a":1}}]`},
		{"NullVsMissing", `{"a":null}`, `{}`, `[{"path":"fields.a","old":null}]`},
		{"OddKey", `{"a b":1}`, `{"a b":2}`, `[{"path":"fields[\"a b\"]","old":1,"new":2}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(DiffFields(json.RawMessage(tt.a), json.RawMessage(tt.b)))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestDiffFieldsSymmetric(t *testing.T) {
	a := json.RawMessage(`{"a":1,"b":{"c":[1,2,3]},"d":"x"}`)
	b := json.RawMessage(`{"a":2,"b":{"c":[1,5]},"e":true}`)
	ab, ba := DiffFields(a, b), DiffFields(b, a)
	if len(ab) != len(ba) || len(ab) != 5 {
		t.Fatalf("got %d and %d changes, want 5: %+v", len(ab), len(ba), ab)
	}
	for i := range ab {
		if ab[i].Path != ba[i].Path || string(ab[i].Old) != string(ba[i].New) || string(ab[i].New) != string(ba[i].Old) {
			t.Errorf("change %d not mirrored: %+v vs %+v", i, ab[i], ba[i])
		}
	}
}

func TestFormatDiff(t *testing.T) {
	oldBody := "# Title\n\nline 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\nline 9\nline 10\n"
	newBody := strings.Replace(strings.Replace(oldBody, "line 2\n", "line two\n", 1), "line 9\n", "", 1)
	a, _ := json.Marshal(map[string]any{"body": oldBody, "rating": 3, "gone": "x"})
	b, _ := json.Marshal(map[string]any{"body": newBody, "rating": 4, "new": []string{"t"}})
	got := FormatDiff(DiffFields(a, b))
	want := `~ fields.body:
--- fields.body (old)
+++ fields.body (new)
@@ -1,12 +1,11 @@
 # Title
 
 line 1
-line 2
+line two
 line 3
 line 4
 line 5
 line 6
 line 7
 line 8
-line 9
 line 10
- fields.gone: "x"
+ fields.new: ["t"]
~ fields.rating: 3 -> 4
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestUnifiedDiff(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want string
	}{
		{"Equal", "x\n", "x\n", ""},
		{"AllNew", "", "a\nb\n", "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"AllGone", "a\n", "", "--- a\n+++ b\n@@ -1 +0,0 @@\n-a\n"},
		{"SeparateHunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "1\nX\n3\n4\n5\n6\n7\n8\n9\n10\n11\nY\n",
			"--- a\n+++ b\n@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+Y\n"},
		{"MergedHunks", "1\n2\n3\n4\n5\n", "1\nX\n3\nY\n5\n", "--- a\n+++ b\n@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n-4\n+Y\n 5\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := UnifiedDiff("a", "b", tt.a, tt.b, 3); got != tt.want {
				t.Errorf("got:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

func TestUnifiedDiffLargeInputStaysBounded(t *testing.T) {
	var a, b strings.Builder
	for i := range 5000 {
		a.WriteString("a line " + string(rune('a'+i%26)) + "\n")
		b.WriteString("b line " + string(rune('a'+i%26)) + "\n")
	}
	d := UnifiedDiff("a", "b", a.String(), b.String(), 3)
	if strings.Count(d, "\n-") != 5000 || strings.Count(d, "\n+") != 5001 { // +1 for the "+++" header
		t.Errorf("unexpected diff size: %d bytes", len(d))
	}
}

func BenchmarkDiffFields8KB(b *testing.B) {
	body := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n", 140)
	x, _ := json.Marshal(map[string]any{"body": body, "rating": 3, "tags": []map[string]string{{"id": "a"}, {"id": "b"}}})
	y, _ := json.Marshal(map[string]any{"body": strings.Replace(body, "elit", "ELIT", 3), "rating": 4, "tags": []map[string]string{{"id": "a"}}})
	for b.Loop() {
		FormatDiff(DiffFields(x, y))
	}
}
