package render

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

// markdownBody returns a realistic Markdown article of about size bytes:
// headings, paragraphs with emphasis and links, lists, code and a table.
func markdownBody(size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "## Section %d\n\n", i)
		b.WriteString("Trovato keeps the *ideas* that made classic CMSs **productive**: items with typed fields, " +
			"[gathers](/docs/gathers), categories and menus. See https://example.com/docs for more, or read the " +
			"`render` package.\n\n")
		b.WriteString("- first point with a [link](https://example.org/a)\n- second point\n- third point with ~~old~~ new text\n\n")
		if i%2 == 0 {
			b.WriteString("```go\nfunc main() {\n\tfmt.Println(\"hello\")\n}\n```\n\n")
		} else {
			b.WriteString("| Plan | Price |\n|:-----|------:|\n| Basic | 5 |\n| Pro | 20 |\n\n")
		}
		b.WriteString("> A quotation that \"spans\" a line -- with typographic punctuation...\n\n")
	}
	return b.String()
}

func benchArticlePage(body core.Node) Page {
	var menu []core.Node
	for i := range 8 {
		menu = append(menu, core.Node{Type: core.ElemLink, Href: fmt.Sprintf("/section-%d", i), Text: fmt.Sprintf("Section %d", i)})
	}
	var tags []core.Node
	for i := range 6 {
		tags = append(tags, core.Node{Type: core.ElemLink, Href: fmt.Sprintf("/tags/t%d", i), Text: fmt.Sprintf("tag %d", i), Attrs: map[string]string{"rel": "tag"}})
	}
	return Page{
		Title: "An article about render trees", SiteName: "Trovato", Lang: "en",
		Description: "How Trovato renders pages.", CanonicalURL: "https://example.com/blog/render-trees",
		Feeds:       []FeedLink{{Title: "Blog", Href: "/blog/feed.xml", Type: "application/rss+xml"}},
		BodyClasses: []string{"page-item", "page-item--article"},
		Suggestions: []string{"page--item--article", "page--item"},
		Regions: map[string][]core.Node{
			"navigation": {{Type: core.ElemList, Items: menu}},
			"content": {{Type: core.ElemContainer, Tag: "article", Suggestions: []string{"item--article--full", "item--article"}, Attrs: map[string]string{"class": "item item--article"}, Children: []core.Node{
				{Type: core.ElemParagraph, Attrs: map[string]string{"class": "byline"}, Children: []core.Node{
					{Type: core.ElemText, Text: "By "}, {Type: core.ElemLink, Href: "/user/ann", Text: "Ann"}, {Type: core.ElemText, Text: " on "},
					{Type: core.ElemTime, Datetime: "2026-05-01T10:00:00Z", Text: "1 May 2026"}}},
				{Type: core.ElemFigure, Caption: "The render pipeline", Children: []core.Node{{Type: core.ElemImage, Src: "/files/styles/large/ab12cd.jpg", Alt: "Diagram", Width: 1200, Height: 630}}},
				body,
				{Type: core.ElemList, Attrs: map[string]string{"class": "tags"}, Items: tags},
				{Type: core.ElemIsland, Name: "comment-form", Href: "/comment/reply/7", Text: "Add a comment"},
			}}},
			"sidebar": {{Type: core.ElemContainer, Tag: "section", Children: []core.Node{{Type: core.ElemHeading, Level: 2, Text: "Recent"}, {Type: core.ElemList, Items: menu[:5]}}}},
			"footer":  {{Type: core.ElemParagraph, Text: "© 2026 Trovato"}},
		},
	}
}

func benchPage(b *testing.B, p Page, opts Options) {
	r, err := New(DefaultTheme(), opts)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := r.RenderPage(ctx, &buf, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "html-bytes")
}

// BenchmarkRenderPageArticle renders a typical article page whose body is
// 8 KB of Markdown, formatting it every time (memo off), so it includes
// BenchmarkMarkdown8KB's work.
func BenchmarkRenderPageArticle(b *testing.B) {
	benchPage(b, benchArticlePage(core.Node{Type: core.ElemText, Format: FormatMarkdown, Text: markdownBody(8 << 10)}), Options{FormatCacheBytes: -1})
}

// BenchmarkRenderPageArticleMemo is the same page with the format memo on
// (the default): the body is formatted once.
func BenchmarkRenderPageArticleMemo(b *testing.B) {
	benchPage(b, benchArticlePage(core.Node{Type: core.ElemText, Format: FormatMarkdown, Text: markdownBody(8 << 10)}), Options{})
}

// BenchmarkRenderPageArticleTree is the same page with a body already
// split into paragraphs: the cost of trees and templates alone.
func BenchmarkRenderPageArticleTree(b *testing.B) {
	var paras []core.Node
	for i := range 20 {
		paras = append(paras, core.Node{Type: core.ElemParagraph, Children: []core.Node{
			{Type: core.ElemText, Text: fmt.Sprintf("Paragraph %d keeps the ideas that made classic CMSs productive, ", i)},
			{Type: core.ElemLink, Href: "/docs/gathers", Text: "gathers"}, {Type: core.ElemText, Text: "."}}})
	}
	benchPage(b, benchArticlePage(core.Node{Type: core.ElemContainer, Children: paras}), Options{})
}

func noMemo(b *testing.B) *Renderer {
	r, err := New(DefaultTheme(), Options{FormatCacheBytes: -1})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func BenchmarkMarkdown8KB(b *testing.B) {
	r := noMemo(b)
	body := markdownBody(8 << 10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.FormatText(body, FormatMarkdown, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFilteredHTML8KB(b *testing.B) {
	r := noMemo(b)
	html, err := r.FormatText(markdownBody(8<<10), FormatMarkdown, false)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(html)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.FormatText(string(html), FormatFilteredHTML, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		MustRenderer(b)
	}
}
