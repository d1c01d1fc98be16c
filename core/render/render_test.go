package render

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/trovato/trovato/core"
)

var update = flag.Bool("update", false, "write testdata/golden/*.html from the current output")

// MustRenderer returns a Renderer over the default theme.
func MustRenderer(tb testing.TB) *Renderer {
	tb.Helper()
	r, err := New(DefaultTheme(), Options{})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return r
}

func renderNode(tb testing.TB, r *Renderer, n core.Node) string {
	tb.Helper()
	var buf bytes.Buffer
	if err := r.RenderNode(context.Background(), &buf, n); err != nil {
		tb.Fatalf("RenderNode: %v", err)
	}
	return buf.String()
}

// golden compares got with testdata/golden/NAME.html, or writes it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".html")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func txt(s string) core.Node { return core.Node{Type: core.ElemText, Text: s} }

type elementCase struct {
	name string
	node core.Node
}

// elementCases are the golden cases of the element templates.
func elementCases() []elementCase {
	return []elementCase{
		{"container", core.Node{Type: core.ElemContainer, Attrs: map[string]string{"class": "box", "data-id": "7"}, Children: []core.Node{txt("b"), {Type: core.ElemText, Text: "a", Weight: -1}}}},
		{"container-article", core.Node{Type: core.ElemContainer, Tag: "article", Suggestions: []string{"item--article"}, Children: []core.Node{txt("x")}}},
		{"heading", core.Node{Type: core.ElemHeading, Level: 2, Attrs: map[string]string{"id": "intro"}, Text: "Intro & <more>"}},
		{"heading-children", core.Node{Type: core.ElemHeading, Level: 3, Children: []core.Node{{Type: core.ElemLink, Href: "/a", Text: "A"}}}},
		{"paragraph", core.Node{Type: core.ElemParagraph, Children: []core.Node{txt("By "), {Type: core.ElemLink, Href: "/user/1", Text: "Ann"}, txt(" on "), {Type: core.ElemTime, Datetime: "2026-05-01", Text: "1 May 2026"}, txt(".")}}},
		{"text-plain-inline", txt("one\ntwo <b>")},
		{"text-plain", core.Node{Type: core.ElemText, Format: "plain", Text: "Para one\nline two\n\nPara <two>"}},
		{"text-markdown", core.Node{Type: core.ElemText, Format: "markdown", Text: "## Hello\n\n*hi* <script>alert(1)</script> [x](javascript:alert(1))"}},
		{"text-filtered", core.Node{Type: core.ElemText, Format: "filtered_html", Text: `<p onclick="x">Hi <a href="https://example.com/">there</a><img src=x onerror=alert(1)></p>`}},
		{"text-full", core.Node{Type: core.ElemText, Format: core.FormatFullHTML, Text: `<section class="hero" data-x="1"><p>Hi</p><script>alert(1)</script></section>`}},
		{"link", core.Node{Type: core.ElemLink, Href: "https://example.com/?a=1&b=2", Text: "Example", Attrs: map[string]string{"rel": "nofollow", "title": "Go \"there\""}}},
		{"link-tel", core.Node{Type: core.ElemLink, Href: "tel:+331234", Text: "Call"}},
		{"image", core.Node{Type: core.ElemImage, Src: "/files/ab12/cat.jpg", Alt: "A cat", Width: 640, Height: 480}},
		{"image-data", core.Node{Type: core.ElemImage, Src: "data:image/png;base64,iVBORw0KGgo=", Alt: ""}},
		{"figure", core.Node{Type: core.ElemFigure, Caption: "A cat, sleeping", Children: []core.Node{{Type: core.ElemImage, Src: "/c.jpg", Alt: "A cat"}}}},
		{"list", core.Node{Type: core.ElemList, Items: []core.Node{txt("one"), {Type: core.ElemLink, Href: "/two", Text: "two"}}}},
		{"list-ordered", core.Node{Type: core.ElemList, Ordered: true, Items: []core.Node{txt("second"), {Type: core.ElemText, Text: "first", Weight: -5}}}},
		{"table", core.Node{Type: core.ElemTable, Caption: "Plans", Head: []core.Row{{Cells: []core.Cell{{Header: true, Text: "Plan"}, {Header: true, Text: "Price"}}}},
			Body: []core.Row{{Cells: []core.Cell{{Header: true, Text: "Basic"}, {Text: "5 €"}}}, {Cells: []core.Cell{{Colspan: 2, Children: []core.Node{{Type: core.ElemLink, Href: "/plans", Text: "All plans"}}}}}}}},
		{"details", core.Node{Type: core.ElemDetails, Summary: "More", Open: true, Children: []core.Node{{Type: core.ElemParagraph, Text: "Hidden"}}}},
		{"blockquote", core.Node{Type: core.ElemBlockquote, Cite: "https://example.com/q", Text: "To be."}},
		{"code", core.Node{Type: core.ElemCode, Language: "go", Text: "if a < b {\n\treturn\n}"}},
		{"code-inline", core.Node{Type: core.ElemParagraph, Children: []core.Node{txt("Run "), {Type: core.ElemCode, Inline: true, Text: "make <all>"}}}},
		{"time", core.Node{Type: core.ElemTime, Datetime: "2026-05-01T10:00:00Z", Text: "1 May"}},
		{"island", core.Node{Type: core.ElemIsland, Name: "comment-form", Href: "/comment/reply/7", Text: "Add a comment"}},
		{"form", core.Node{Type: core.ElemForm, Action: "/search", Method: "get", Attrs: map[string]string{"role": "search"}, Children: []core.Node{
			{Type: core.ElemInput, InputType: "search", Name: "keys", Label: "Search", Placeholder: "Words…", Required: true},
			{Type: core.ElemButton, Text: "Go"},
		}}},
		{"form-controls", core.Node{Type: core.ElemForm, Action: "/node/add", Children: []core.Node{
			{Type: core.ElemFieldset, Label: "Post", Description: "The basics", Children: []core.Node{
				{Type: core.ElemInput, Name: "title", Label: "Title", Value: "x\"y", Error: "Title is required.", MaxLength: 255},
				{Type: core.ElemTextarea, Name: "body", Label: "Body", Rows: 8, Value: "</textarea><script>", Description: "Markdown"},
				{Type: core.ElemSelect, Name: "tags[]", Label: "Tags", Multiple: true, Options: []core.Option{{Value: "1", Label: "Go", Selected: true}, {Value: "2", Label: "Rust"}}},
				{Type: core.ElemCheckbox, Name: "status", Label: "Published", Checked: true},
			}},
			{Type: core.ElemHidden, Name: "form_token", Value: "abc"},
			{Type: core.ElemButton, Text: "Save", Name: "op", Value: "save"},
		}}},
	}
}

func TestElementGolden(t *testing.T) {
	r := MustRenderer(t)
	for _, tt := range elementCases() {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, "element-"+tt.name, renderNode(t, r, tt.node)+"\n")
		})
	}
}

func articlePage() Page {
	body := strings.Repeat("Lorem *ipsum* dolor sit amet, [consectetur](/about) adipiscing elit.\n\n", 3)
	return Page{
		Title: "Hello <world>", SiteName: "Trovato", Lang: "en",
		Description: "A post about \"things\".", CanonicalURL: "https://example.com/blog/hello",
		ImageURL: "https://example.com/files/styles/large/ab12.jpg?x=1&y=2", Kind: "article",
		Feeds:       []FeedLink{{Title: "Blog", Href: "/blog/feed.xml", Type: "application/rss+xml"}, {Title: "Bad", Href: "javascript:x", Type: "application/rss+xml"}},
		BodyClasses: []string{"page-item", "page-item--article", "bad\"class"},
		Suggestions: []string{"page--item--article"},
		Scripts:     []string{"/assets/extra.js", "https://cdn.example.com/x.js"},
		Preview:     &Preview{Stage: "Spring <launch>", ExitURL: "/_preview/exit"},
		Regions: map[string][]core.Node{
			"navigation": {{Type: core.ElemList, Items: []core.Node{{Type: core.ElemLink, Href: "/", Text: "Home"}, {Type: core.ElemLink, Href: "/blog", Text: "Blog"}}}},
			"content": {{Type: core.ElemContainer, Tag: "article", Attrs: map[string]string{"class": "item item--article"}, Children: []core.Node{
				{Type: core.ElemParagraph, Weight: -10, Attrs: map[string]string{"class": "byline"}, Children: []core.Node{txt("By "), {Type: core.ElemLink, Href: "/user/ann", Text: "Ann"}}},
				{Type: core.ElemText, Format: "markdown", Text: body},
				{Type: core.ElemIsland, Name: "comment-form", Href: "/comment/reply/7", Text: "Add a comment", Weight: 10},
			}}},
			"sidebar": {{Type: core.ElemContainer, Tag: "section", Children: []core.Node{{Type: core.ElemHeading, Level: 2, Text: "Tags"}, {Type: core.ElemList, Items: []core.Node{{Type: core.ElemLink, Href: "/tags/go", Text: "Go"}}}}}},
			"footer":  {{Type: core.ElemParagraph, Text: "© 2026 Trovato"}},
		},
	}
}

func TestRenderPageGolden(t *testing.T) {
	r := MustRenderer(t)
	tests := []struct {
		name string
		page Page
	}{
		{"article", articlePage()},
		{"minimal", Page{Title: "Not found", Regions: map[string][]core.Node{"content": {{Type: core.ElemParagraph, Text: "No page here."}}}}},
		{"front", Page{SiteName: "Trovato", HideTitle: true, Lang: "fr", Dir: "rtl", Suggestions: []string{"page--front"},
			Regions: map[string][]core.Node{"highlighted": {{Type: core.ElemParagraph, Text: "Welcome"}}, "content": {txt("x")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := r.RenderPage(context.Background(), &buf, tt.page); err != nil {
				t.Fatalf("RenderPage: %v", err)
			}
			golden(t, "page-"+tt.name, buf.String())
		})
	}
}

// overlayTheme is a site theme overriding a few files of the default one.
func overlayTheme(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

func TestSuggestions(t *testing.T) {
	theme := overlayTheme(map[string]string{
		"templates/item--article.html":         `<article class="article">{{.Content}}</article>`,
		"templates/item--article--teaser.html": `<div class="teaser">{{.Content}}</div>`,
		"templates/page--front.html":           `<!DOCTYPE html><html lang="{{.Lang}}"><title>front</title><main>{{.Region "content"}}</main></html>`,
		"templates/element--paragraph.html":    `<p class="site">{{.TextHTML}}</p>`,
	})
	r, err := New(theme, Options{Base: DefaultTheme()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tests := []struct {
		name string
		node core.Node
		want string
	}{
		{"OK first match", core.Node{Type: core.ElemContainer, Suggestions: []string{"item--article--teaser", "item--article"}, Children: []core.Node{txt("x")}}, `<div class="teaser">x</div>`},
		{"OK second match", core.Node{Type: core.ElemContainer, Suggestions: []string{"item--article--full", "item--article"}, Children: []core.Node{txt("x")}}, `<article class="article">x</article>`},
		{"OK fallback to element", core.Node{Type: core.ElemContainer, Suggestions: []string{"item--page"}, Children: []core.Node{txt("x")}}, `<div>x</div>`},
		{"OK overridden element", core.Node{Type: core.ElemParagraph, Text: "p"}, `<p class="site">p</p>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderNode(t, r, tt.node); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	var buf bytes.Buffer
	p := Page{Title: "Home", Suggestions: []string{"page--front"}, Regions: map[string][]core.Node{"content": {txt("welcome")}}}
	if err := r.RenderPage(context.Background(), &buf, p); err != nil {
		t.Fatal(err)
	}
	if want := `<!DOCTYPE html><html lang="en"><title>front</title><main>welcome</main></html>`; buf.String() != want {
		t.Fatalf("front page = %q, want %q", buf.String(), want)
	}
	buf.Reset()
	p.Suggestions = []string{"page--item--article"}
	if err := r.RenderPage(context.Background(), &buf, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `<h1 class="page-title">Home</h1>`) {
		t.Fatalf("page without a matching suggestion did not use page.html:\n%s", buf.String())
	}
}

func TestTemplateErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"ErrSyntax", map[string]string{"templates/element--link.html": "<a>\n{{.Text}\n</a>"}, "templates/element--link.html:2: "},
		{"ErrUnknownFunction", map[string]string{"templates/page.html": "<p>\n\n{{nope .Title}}</p>"}, "templates/page.html:3: "},
		{"ErrUnclosed", map[string]string{"templates/element--time.html": "{{if .Text}}\n<b>"}, "templates/element--time.html:2: unexpected EOF"},
		{"ErrEscaping", map[string]string{"templates/element--details.html": "<details>\n{{if .Open}}<a href=\"{{else}}<b>{{end}}x</details>"}, "templates/element--details.html:2: "},
		{"ErrUnknownField", map[string]string{"templates/element--link.html": "<a href=\"{{.URL .Href}}\">\n\n{{.Label}}{{.Lable}}</a>"}, "templates/element--link.html:3: executing"},
		{"ErrUnknownPageMethod", map[string]string{"templates/page.html": "<title>{{.HeadTitle}}</title>\n{{.Regoin \"content\"}}"}, "templates/page.html:2: executing"},
		{"ErrWrongArgs", map[string]string{"templates/item--article.html": "<div>{{.Attributes 3}}</div>"}, "templates/item--article.html:1: executing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(overlayTheme(tt.files), Options{Base: DefaultTheme()})
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("New error = %v (%T), want *TemplateError", err, err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %q does not start with %q", err, tt.want)
			}
		})
	}
	t.Run("ErrMissingTemplates", func(t *testing.T) {
		_, err := New(overlayTheme(map[string]string{"templates/page.html": "x"}), Options{})
		if core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), "templates/element--link.html") {
			t.Fatalf("New error = %v, want EInvalid naming the missing templates", err)
		}
	})
}

func TestAssets(t *testing.T) {
	r := MustRenderer(t)
	u := r.Asset("style.css")
	if !strings.HasPrefix(u, "/assets/") || !strings.HasSuffix(u, "/style.css") || len(u) != len("/assets/")+16+len("/style.css") {
		t.Fatalf("Asset(style.css) = %q", u)
	}
	if r.Asset("nope.css") != "" {
		t.Fatal("Asset of a missing file is not empty")
	}
	stale := "/assets/0000000000000000/style.css"
	tests := []struct {
		name, path, cache string
		status            int
	}{
		{"OK current", u, "public, max-age=31536000, immutable", 200},
		{"OK stale hash", stale, "no-cache", 200},
		{"ErrUnknownName", "/assets/0000000000000000/nope.css", "", 404},
		{"ErrNoHash", "/assets/style.css", "", 404},
		{"ErrOutsidePrefix", "/files/style.css", "", 404},
	}
	h := r.AssetHandler()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.status != 200 {
				return
			}
			if got := rec.Header().Get("Cache-Control"); got != tt.cache {
				t.Fatalf("Cache-Control %q, want %q", got, tt.cache)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
				t.Fatalf("Content-Type %q", ct)
			}
			if !strings.Contains(rec.Body.String(), ".skip-link") {
				t.Fatal("body is not the stylesheet")
			}
		})
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	h.ServeHTTP(rec, req)
	req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("conditional request: status %d, want 304", rec.Code)
	}
}

func TestRenderNodeInvalid(t *testing.T) {
	r := MustRenderer(t)
	var buf bytes.Buffer
	err := r.RenderNode(context.Background(), &buf, core.Node{Type: core.ElemContainer, Children: []core.Node{{Type: core.ElemLink, Href: "javascript:alert(1)", Text: "x"}}})
	if core.ErrorCode(err) != core.EInvalid || buf.Len() != 0 {
		t.Fatalf("RenderNode = %v and %q, want EInvalid and no output", err, buf.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.RenderNode(ctx, &buf, txt("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("RenderNode with a cancelled context = %v", err)
	}
}

func TestRenderPageDropsInvalidNodes(t *testing.T) {
	var logs bytes.Buffer
	r, err := New(DefaultTheme(), Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	p := Page{Title: "T", Regions: map[string][]core.Node{"content": {
		txt("kept-before"),
		{Type: core.ElemContainer, Children: []core.Node{txt("dropped-whole"), {Type: core.ElemImage, Src: "javascript:alert(1)", Alt: "x"}}},
		txt("kept-after"),
	}}}
	if err := r.RenderPage(context.Background(), &buf, p); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "kept-before") || !strings.Contains(out, "kept-after") || strings.Contains(out, "dropped-whole") {
		t.Fatalf("page did not drop the invalid node whole:\n%s", out)
	}
	if !strings.Contains(logs.String(), "render tree dropped") || !strings.Contains(logs.String(), "children[1].src") {
		t.Fatalf("drop not logged with its reason: %s", logs.String())
	}
}

// TestConcurrentRender renders the same page from several goroutines (run
// with -race): the renderer, its memo and the native renderers share no
// mutable state beyond the memo's lock.
func TestConcurrentRender(t *testing.T) {
	r := MustRenderer(t)
	p := articlePage()
	var want bytes.Buffer
	if err := r.RenderPage(context.Background(), &want, p); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 10 {
				var buf bytes.Buffer
				if err := r.RenderPage(context.Background(), &buf, p); err != nil {
					errs <- err
					return
				}
				if buf.String() != want.String() {
					errs <- errors.New("concurrent render produced different bytes")
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
