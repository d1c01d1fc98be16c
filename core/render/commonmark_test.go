package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

var updateCommonMark = flag.Bool("update-commonmark", false, "rewrite testdata/commonmark-expected-failures.json from the current differences")

const expectedFailuresFile = "testdata/commonmark-expected-failures.json"

type specExample struct {
	Markdown string `json:"markdown"`
	HTML     string `json:"html"`
	Example  int    `json:"example"`
	Section  string `json:"section"`
}

type expectedFailure struct {
	Example int    `json:"example"`
	Section string `json:"section"`
	Reason  string `json:"reason"`
}

// TestCommonMark runs every example of CommonMark 0.31.2 through goldmark
// with only CommonMark core enabled, then through the markdown format's
// sanitizer, and compares normalised HTML (normaliseHTML) with the
// spec's. An example that differs must be listed, with its reason, in
// testdata/commonmark-expected-failures.json; a listed example that
// passes fails the test too, so the list stays honest.
func TestCommonMark(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/commonmark/spec-0.31.2.json")
	if err != nil {
		t.Fatal(err)
	}
	var examples []specExample
	if err := json.Unmarshal(data, &examples); err != nil {
		t.Fatal(err)
	}
	if len(examples) != 652 {
		t.Fatalf("spec has %d examples, want 652", len(examples))
	}
	expected := map[int]expectedFailure{}
	if data, err := os.ReadFile(expectedFailuresFile); err == nil {
		var list []expectedFailure
		if err := json.Unmarshal(data, &list); err != nil {
			t.Fatalf("%s: %v", expectedFailuresFile, err)
		}
		for _, f := range list {
			if f.Reason == "" {
				t.Errorf("%s: example %d has no reason", expectedFailuresFile, f.Example)
			}
			expected[f.Example] = f
		}
	} else if !*updateCommonMark {
		t.Fatal(err)
	}

	md := newMarkdown(true)
	policy := newFilteredPolicy()
	passed := 0
	var failures []expectedFailure
	for _, ex := range examples {
		var raw bytes.Buffer
		if err := md.Convert([]byte(ex.Markdown), &raw); err != nil {
			t.Errorf("example %d: %v", ex.Example, err)
			continue
		}
		got := policy.Sanitize(raw.String())
		want := normaliseHTML(ex.HTML)
		if normaliseHTML(got) == want {
			passed++
			if _, listed := expected[ex.Example]; listed && !*updateCommonMark {
				t.Errorf("example %d (%s) passes now: remove it from %s", ex.Example, ex.Section, expectedFailuresFile)
			}
			continue
		}
		reason := classifyDifference(ex, raw.String(), got)
		failures = append(failures, expectedFailure{Example: ex.Example, Section: ex.Section, Reason: reason})
		if _, listed := expected[ex.Example]; !listed && !*updateCommonMark {
			t.Errorf("example %d (%s) differs and is not listed in %s\nmarkdown: %q\nwant: %q\ngot:  %q\nraw:  %q",
				ex.Example, ex.Section, expectedFailuresFile, ex.Markdown, ex.HTML, got, raw.String())
		}
	}
	if *updateCommonMark {
		out, _ := json.MarshalIndent(failures, "", "  ")
		if err := os.WriteFile(expectedFailuresFile, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reasons := map[string]int{}
	for _, f := range failures {
		reasons[f.Reason]++
	}
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Logf("  %3d  %s", reasons[k], k)
	}
	t.Logf("CommonMark 0.31.2: %d of %d examples pass with the sanitizer (%d expected differences)", passed, len(examples), len(failures))
	fmt.Printf("CommonMark 0.31.2 conformance: %d/%d examples pass\n", passed, len(examples))
}

var (
	reRawHTML     = regexp.MustCompile(`<[A-Za-z][A-Za-z0-9-]*[\s/>]|</[A-Za-z]|<!--|<\?|<![A-Z]|<!\[CDATA\[`)
	reURLAttr     = regexp.MustCompile(`(?i)(href|src)="([^"]*)"`)
	reLangClass   = regexp.MustCompile(`class="language-([^"]*)"`)
	reSchemeOf    = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.\-]*):`)
	allowedScheme = map[string]bool{"http": true, "https": true, "mailto": true, "tel": true}
)

// classifyDifference names why the sanitized output differs from the
// spec. It compares goldmark's own output with the spec first: if goldmark
// matches, the sanitizer made the difference.
func classifyDifference(ex specExample, raw, sanitized string) string {
	if normaliseHTML(raw) != normaliseHTML(ex.HTML) {
		return "goldmark's output differs from the spec"
	}
	if m := reLangClass.FindStringSubmatch(ex.HTML); m != nil && !reContentClass.MatchString("language-"+html.UnescapeString(m[1])) {
		return "code language class outside the class allow-list (ASCII letters, digits, _+#.-) dropped"
	}
	if reRawHTML.MatchString(ex.Markdown) {
		return "raw HTML the sanitizer removes (tags, attributes, comments, processing instructions) or re-encodes"
	}
	for _, m := range reURLAttr.FindAllStringSubmatch(ex.HTML, -1) {
		u := html.UnescapeString(m[2])
		switch sm := reSchemeOf.FindStringSubmatch(u); {
		case u == "":
			return "empty href removed by the sanitizer"
		case sm != nil && !allowedScheme[strings.ToLower(sm[1])]:
			return "URL scheme outside the allow-list (http, https, mailto, tel, relative) removed by the sanitizer"
		case sm != nil && sm[1] != strings.ToLower(sm[1]):
			return "the sanitizer lowercases the URL scheme"
		}
	}
	return "URL Go's net/url cannot parse, removed by the sanitizer"
}

// normaliseHTML puts HTML in a canonical form for comparison, in the
// spirit of the CommonMark spec's own normaliser: it parses the HTML
// (so entities, quoting and void-element slashes stop mattering),
// sorts attributes, drops the rel="nofollow noreferrer" the sanitizer adds
// to external links, collapses whitespace runs outside <pre> into one
// space, and drops whitespace at the start and end of block elements and
// between them.
func normaliseHTML(s string) string {
	ctx := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(s), ctx)
	if err != nil {
		return "unparseable: " + s
	}
	var b strings.Builder
	for _, n := range nodes {
		writeNormalised(&b, n, false)
	}
	return strings.TrimSpace(b.String())
}

var blockElements = map[string]bool{
	"p": true, "div": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"ul": true, "ol": true, "li": true, "blockquote": true, "pre": true, "hr": true, "table": true,
	"thead": true, "tbody": true, "tr": true, "th": true, "td": true, "dl": true, "dt": true, "dd": true,
	"figure": true, "figcaption": true, "details": true, "summary": true, "section": true,
}

var reSpaces = regexp.MustCompile(`\s+`)

func writeNormalised(b *strings.Builder, n *html.Node, inPre bool) {
	switch n.Type {
	case html.TextNode:
		t := n.Data
		if !inPre {
			t = reSpaces.ReplaceAllString(t, " ")
			prevBlock := n.PrevSibling == nil && n.Parent != nil && blockElements[n.Parent.Data] ||
				n.PrevSibling != nil && n.PrevSibling.Type == html.ElementNode && (blockElements[n.PrevSibling.Data] || n.PrevSibling.Data == "br")
			nextBlock := n.NextSibling == nil && n.Parent != nil && blockElements[n.Parent.Data] ||
				n.NextSibling != nil && n.NextSibling.Type == html.ElementNode && (blockElements[n.NextSibling.Data] || n.NextSibling.Data == "br")
			if n.Parent == nil && n.PrevSibling == nil {
				prevBlock = true
			}
			if n.Parent == nil && n.NextSibling == nil {
				nextBlock = true
			}
			if prevBlock {
				t = strings.TrimLeft(t, " ")
			}
			if nextBlock {
				t = strings.TrimRight(t, " ")
			}
		}
		b.WriteString(html.EscapeString(t))
	case html.ElementNode:
		b.WriteString("<" + n.Data)
		attrs := slices.Clone(n.Attr)
		slices.SortFunc(attrs, func(a, b html.Attribute) int { return strings.Compare(a.Key, b.Key) })
		for _, a := range attrs {
			if a.Key == "rel" && n.Data == "a" && strings.Trim(strings.ReplaceAll(strings.ReplaceAll(a.Val, "nofollow", ""), "noreferrer", ""), " ") == "" {
				continue
			}
			b.WriteString(" " + a.Key + `="` + html.EscapeString(a.Val) + `"`)
		}
		b.WriteString(">")
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			writeNormalised(b, c, inPre || n.Data == "pre")
		}
		switch n.Data {
		case "br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr":
		default:
			b.WriteString("</" + n.Data + ">")
		}
	case html.CommentNode:
		b.WriteString("<!--" + n.Data + "-->")
	}
}
