package render

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

type xssVector struct {
	Source string `json:"source"`
	Vector string `json:"vector"`
	Title  string `json:"title"`
}

func loadXSSVectors(tb testing.TB) []xssVector {
	tb.Helper()
	data, err := os.ReadFile("testdata/xss/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var vs []xssVector
	if err := json.Unmarshal(data, &vs); err != nil {
		tb.Fatal(err)
	}
	return vs
}

// xssEntry is one way content reaches a page. It returns the HTML of a
// fragment, or of a whole page when page is true; ok false means the
// input was refused (which is a safe outcome).
type xssEntry struct {
	name string
	page bool
	run  func(r *Renderer, v string) (out string, ok bool)
	// build is the tree of node entries, for TestNativeMatchesTemplates.
	build func(v string) core.Node
}

// xssNode returns the tree the named node entry builds from v, or nil.
func xssNode(name, v string) *core.Node {
	for _, e := range xssEntries {
		if e.name == name && e.build != nil {
			n := e.build(v)
			return &n
		}
	}
	return nil
}

// unvalidated renders a node through the templates without validating
// it first, to test the templates' own escaping and allow-lists (defence
// in depth behind the validator).
func unvalidated(r *Renderer, n core.Node) (string, bool) {
	h, err := r.node(&n)
	if err != nil {
		return "", false
	}
	return string(h), true
}

// validated renders through RenderNode, which refuses invalid trees.
func validated(r *Renderer, n core.Node) (string, bool) {
	var buf bytes.Buffer
	if err := r.RenderNode(context.Background(), &buf, n); err != nil {
		return "", false
	}
	return buf.String(), true
}

func format(f string, trusted bool) func(r *Renderer, v string) (string, bool) {
	return func(r *Renderer, v string) (string, bool) {
		h, err := r.FormatText(v, f, trusted)
		return string(h), err == nil
	}
}

func nodeRun(build func(v string) core.Node) func(r *Renderer, v string) (string, bool) {
	return func(r *Renderer, v string) (string, bool) {
		n := build(v)
		out1, _ := unvalidated(r, n)
		out2, _ := validated(r, n)
		return out1 + out2, true
	}
}

var xssEntries = []xssEntry{
	{name: "markdown body", run: format(FormatMarkdown, false)},
	{name: "filtered_html body", run: format(FormatFilteredHTML, false)},
	{name: "full_html body (trusted)", run: format(FormatFullHTML, true)},
	{name: "plain text body", run: format(FormatPlain, false)},
	{name: "tree text node", build: (func(v string) core.Node { return core.Node{Type: core.ElemText, Text: v} })},
	{name: "tree markdown text node", build: (func(v string) core.Node { return core.Node{Type: core.ElemText, Format: FormatMarkdown, Text: v} })},
	{name: "tree paragraph and heading text", build: (func(v string) core.Node {
		return core.Node{Type: core.ElemContainer, Children: []core.Node{{Type: core.ElemParagraph, Text: v}, {Type: core.ElemHeading, Level: 2, Text: v}}}
	})},
	{name: "link href", build: (func(v string) core.Node { return core.Node{Type: core.ElemLink, Href: v, Text: v} })},
	{name: "image src and alt", build: (func(v string) core.Node { return core.Node{Type: core.ElemImage, Src: v, Alt: v} })},
	{name: "blockquote cite, island href", build: (func(v string) core.Node {
		return core.Node{Type: core.ElemContainer, Children: []core.Node{{Type: core.ElemBlockquote, Cite: v, Text: v}, {Type: core.ElemIsland, Name: v, Href: v, Text: v}}}
	})},
	{name: "attribute values", build: (func(v string) core.Node {
		return core.Node{Type: core.ElemParagraph, Text: "x", Attrs: map[string]string{"title": v, "class": v, "id": v, "data-x": v, "aria-label": v, "lang": v, "dir": v, "role": v}}
	})},
	{name: "attribute names", build: (func(v string) core.Node {
		return core.Node{Type: core.ElemLink, Href: "/", Text: "x", Attrs: map[string]string{v: "javascript:alert(1)", "rel": v}}
	})},
	{name: "figure, details, table, code, time", build: (func(v string) core.Node {
		return core.Node{Type: core.ElemContainer, Tag: v, Suggestions: []string{v}, Children: []core.Node{
			{Type: core.ElemFigure, Caption: v, Children: []core.Node{{Type: core.ElemText, Text: v}}},
			{Type: core.ElemDetails, Summary: v, Children: []core.Node{{Type: core.ElemText, Text: v}}},
			{Type: core.ElemTable, Caption: v, Head: []core.Row{{Cells: []core.Cell{{Text: v, Scope: v}}}}, Body: []core.Row{{Cells: []core.Cell{{Text: v}}}}},
			{Type: core.ElemCode, Text: v, Language: v},
			{Type: core.ElemCode, Text: v, Inline: true},
			{Type: core.ElemTime, Datetime: v, Text: v},
		}}
	})},
	{name: "form controls", build: (func(v string) core.Node {
		return core.Node{Type: core.ElemForm, Action: v, Method: v, Children: []core.Node{
			{Type: core.ElemInput, Name: v, Label: v, Value: v, Placeholder: v, InputType: v, Description: v, Error: v},
			{Type: core.ElemTextarea, Name: v, Label: v, Value: v},
			{Type: core.ElemSelect, Name: v, Label: v, Options: []core.Option{{Value: v, Label: v}}},
			{Type: core.ElemCheckbox, Name: v, Label: v, Value: v},
			{Type: core.ElemButton, Text: v, Name: v, Value: v, ButtonType: v},
			{Type: core.ElemFieldset, Label: v, Description: v, Children: []core.Node{{Type: core.ElemHidden, Name: v, Value: v}}},
		}}
	})},
	{name: "page title and head", page: true, run: func(r *Renderer, v string) (string, bool) {
		var buf bytes.Buffer
		err := r.RenderPage(context.Background(), &buf, xssPage(v))
		return buf.String(), err == nil
	}},
}

// xssPage puts v in every field of a page.
func xssPage(v string) Page {
	return Page{
		Title: v, SiteName: v, Lang: v, Dir: v, Description: v, CanonicalURL: v, ImageURL: v, Kind: v,
		Feeds:       []FeedLink{{Title: v, Href: v, Type: "application/rss+xml"}},
		BodyClasses: []string{v}, Suggestions: []string{v}, Styles: []string{v}, Scripts: []string{v},
		Preview: &Preview{Stage: v, ExitURL: v},
		Regions: map[string][]core.Node{"content": {{Type: core.ElemText, Text: v}}, v: {{Type: core.ElemText, Text: v}}},
	}
}

// TestXSSVectors renders every vector of testdata/xss/vectors.json through
// every entry point and checks the parsed output (checkSafeHTML).
func TestXSSVectors(t *testing.T) {
	t.Parallel()
	vectors := loadXSSVectors(t)
	r := MustRenderer(t)
	baseline := pageBaseline(t, r)
	start := time.Now()
	for _, e := range xssEntries {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			run := e.run
			if run == nil {
				run = nodeRun(e.build)
			}
			failures := 0
			for i, v := range vectors {
				out, ok := run(r, v.Vector)
				if !ok {
					continue
				}
				var problems []string
				if e.page {
					problems = checkSafePage(out, baseline)
				} else {
					problems = checkSafeFragment(out)
				}
				if len(problems) > 0 {
					failures++
					if failures <= 10 {
						t.Errorf("vector %d (%s %q): %s\ninput: %q\noutput: %q", i, v.Source, v.Title, strings.Join(problems, "; "), v.Vector, out)
					}
				}
			}
			if failures > 10 {
				t.Errorf("%d vectors failed in all", failures)
			}
		})
	}
	t.Cleanup(func() {
		t.Logf("%d vectors × %d entry points checked in %v", len(vectors), len(xssEntries), time.Since(start).Round(time.Millisecond))
	})
}

// forbidden elements may never come from content.
var forbiddenElements = map[string]bool{
	"script": true, "iframe": true, "object": true, "embed": true, "base": true, "meta": true,
	"link": true, "style": true, "frame": true, "frameset": true, "applet": true,
}

var urlAttrs = map[string]bool{
	"href": true, "src": true, "action": true, "formaction": true, "xlink:href": true, "poster": true,
	"data": true, "background": true, "cite": true, "dynsrc": true, "lowsrc": true, "srcset": true, "ping": true,
}

// dangerousURL reports whether a URL attribute value would run script or
// carry an unwanted data: document, as a browser would read it: ASCII
// whitespace and control characters anywhere are ignored, case too.
func dangerousURL(elem, attr, v string) bool {
	var b strings.Builder
	for _, r := range v {
		if r > 0x20 && r != 0x7f {
			b.WriteRune(r)
		}
	}
	u := strings.ToLower(b.String())
	switch {
	case strings.HasPrefix(u, "javascript:"), strings.HasPrefix(u, "vbscript:"), strings.HasPrefix(u, "livescript:"):
		return true
	case strings.HasPrefix(u, "data:"):
		return !(elem == "img" && attr == "src" && strings.HasPrefix(u, "data:image/") && !strings.HasPrefix(u, "data:image/svg"))
	}
	return false
}

// checkNode walks n and lists every unsafe element or attribute; head
// elements are allowed where allowHead admits them.
func checkNode(n *html.Node, allowHead func(*html.Node) bool, problems *[]string) {
	if n.Type == html.ElementNode {
		if forbiddenElements[n.Data] && (allowHead == nil || !allowHead(n)) {
			*problems = append(*problems, "forbidden element <"+n.Data+">")
		}
		for _, a := range n.Attr {
			key := strings.ToLower(a.Key)
			if a.Namespace != "" {
				key = a.Namespace + ":" + key
			}
			switch {
			case strings.HasPrefix(key, "on"):
				*problems = append(*problems, fmt.Sprintf("handler attribute %s on <%s>", key, n.Data))
			case key == "style", key == "srcdoc":
				*problems = append(*problems, fmt.Sprintf("%s attribute on <%s>", key, n.Data))
			case urlAttrs[key] && dangerousURL(n.Data, key, a.Val):
				*problems = append(*problems, fmt.Sprintf("dangerous URL %s=%q on <%s>", key, a.Val, n.Data))
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		checkNode(c, allowHead, problems)
	}
}

const endMarker = `<span data-xss-marker="end"></span>`

// checkSafeFragment parses out as body content followed by a marker
// element and checks it; the marker must survive as an element, so no
// output can swallow what follows it (an unclosed textarea, comment, ...).
func checkSafeFragment(out string) []string {
	ctx := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(out+endMarker), ctx)
	if err != nil {
		return []string{"unparseable output: " + err.Error()}
	}
	var problems []string
	marker := false
	for _, n := range nodes {
		checkNode(n, nil, &problems)
		if findMarker(n) {
			marker = true
		}
	}
	if !marker {
		problems = append(problems, "output swallowed the marker that follows it")
	}
	return problems
}

func findMarker(n *html.Node) bool {
	if n.Type == html.ElementNode && n.Data == "span" {
		for _, a := range n.Attr {
			if a.Key == "data-xss-marker" {
				return true
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if findMarker(c) {
			return true
		}
	}
	return false
}

// pageHead is what the default page template itself puts in <head>.
type pageHead struct {
	scripts, styles map[string]bool
	counts          map[string]int
}

func pageBaseline(tb testing.TB, r *Renderer) pageHead {
	tb.Helper()
	h := pageHead{
		scripts: map[string]bool{r.Asset("island.js"): true},
		styles:  map[string]bool{r.Asset("style.css"): true},
		counts:  map[string]int{},
	}
	var buf bytes.Buffer
	if err := r.RenderPage(context.Background(), &buf, Page{Title: "t"}); err != nil {
		tb.Fatal(err)
	}
	doc, err := html.Parse(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	countElements(doc, h.counts)
	return h
}

func countElements(n *html.Node, counts map[string]int) {
	if n.Type == html.ElementNode && forbiddenElements[n.Data] {
		counts[n.Data]++
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		countElements(c, counts)
	}
}

// checkSafePage checks a whole page: head elements are only the theme's
// own (its stylesheet and script, charset, viewport, description,
// canonical and feed links), inside <head>.
func checkSafePage(out string, base pageHead) []string {
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		return []string{"unparseable page: " + err.Error()}
	}
	allowHead := func(n *html.Node) bool {
		if n.Parent == nil || n.Parent.Data != "head" {
			return false
		}
		attr := func(k string) string {
			for _, a := range n.Attr {
				if a.Key == k {
					return a.Val
				}
			}
			return ""
		}
		switch n.Data {
		case "script":
			return base.scripts[attr("src")] && n.FirstChild == nil
		case "link":
			switch attr("rel") {
			case "stylesheet":
				return base.styles[attr("href")]
			case "canonical", "alternate":
				return true
			}
		case "meta":
			return attr("charset") == "utf-8" || attr("name") == "viewport" || attr("name") == "description" ||
				attr("name") == "twitter:card" || strings.HasPrefix(attr("property"), "og:")
		}
		return false
	}
	var problems []string
	checkNode(doc, allowHead, &problems)
	counts := map[string]int{}
	countElements(doc, counts)
	for _, el := range []string{"script", "style", "iframe", "object", "embed", "base"} {
		if counts[el] != base.counts[el] {
			problems = append(problems, fmt.Sprintf("%d <%s> elements, the theme has %d", counts[el], el, base.counts[el]))
		}
	}
	return problems
}

// TestCheckSafeHTML makes sure the checker itself catches what it must.
func TestCheckSafeHTML(t *testing.T) {
	tests := []struct {
		name string
		html string
		bad  bool
	}{
		{"OK text", `<p>hello <a href="/x">x</a></p>`, false},
		{"OK data image", `<img src="data:image/png;base64,AAAA">`, false},
		{"ErrScript", `<p><script>alert(1)</script></p>`, true},
		{"ErrHandler", `<img src=x onerror=alert(1)>`, true},
		{"ErrStyle", `<p style="x">`, true},
		{"ErrJavascriptHref", `<a href="  jav&#x09;ascript:alert(1)">x</a>`, true},
		{"ErrDataHref", `<a href="data:text/html,x">x</a>`, true},
		{"ErrSvgDataImage", `<img src="data:image/svg+xml,x">`, true},
		{"ErrFormaction", `<button formaction="javascript:x">`, true},
		{"ErrSrcdoc", `<iframe srcdoc="x"></iframe>`, true},
		{"ErrSwallowed", `<textarea>`, true},
		{"ErrSwallowedComment", `<!--`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := len(checkSafeFragment(tt.html)) > 0; got != tt.bad {
				t.Fatalf("checkSafeFragment(%q) problems=%v, want bad=%v", tt.html, checkSafeFragment(tt.html), tt.bad)
			}
		})
	}
}
