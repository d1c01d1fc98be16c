package render

import (
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"bytes"
	"html/template"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/trovato/trovato/core"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Text formats. FormatFullHTML is only honoured for trusted content.
const (
	FormatPlain        = "plain"
	FormatMarkdown     = "markdown"
	FormatFilteredHTML = "filtered_html"
	FormatFullHTML     = core.FormatFullHTML
)

// MaxFormatBytes bounds the text FormatText accepts.
const MaxFormatBytes = 2 << 20

// FormatOptions refine Format.
type FormatOptions struct {
	// Trusted admits full_html; the caller sets it from a permission no
	// plugin can hold.
	Trusted bool
	// IDPrefix is put in front of the ids markdown generates (heading and
	// footnote ids), so that several bodies on one page (a list of
	// teasers) cannot repeat an id. Lowercase letters, digits and '-'.
	IDPrefix string
}

// FormatText is Format with only the trusted option.
func (r *Renderer) FormatText(text, format string, trusted bool) (template.HTML, error) {
	return r.Format(text, format, FormatOptions{Trusted: trusted})
}

// Format turns text in the given format into HTML that is safe to place
// in a page:
//
//   - plain: escaped; blank lines separate paragraphs, single line breaks
//     become <br>.
//   - markdown: goldmark with GFM tables, strikethrough and autolinks,
//     footnotes, automatic heading ids and typographic punctuation; raw
//     HTML is parsed, and the whole output then goes through the
//     filtered_html sanitizer.
//   - filtered_html: the filtered_html sanitizer (docs/text-formats.md).
//   - full_html: a wider sanitizer, only when o.Trusted is true.
//
// Results of markdown and filtered_html are remembered by content hash
// (Options.FormatCacheBytes): hashing even a short text costs a few
// hundred nanoseconds, formatting it tens of microseconds.
//
// Errors: EInvalid for an unknown format or a bad IDPrefix, EForbidden
// for full_html that is not trusted, ETooLarge above MaxFormatBytes.
func (r *Renderer) Format(text, format string, o FormatOptions) (template.HTML, error) {
	if len(text) > MaxFormatBytes {
		return "", core.Errorf(core.ETooLarge, "text is larger than %d bytes", MaxFormatBytes)
	}
	if o.IDPrefix != "" && !core.ValidIDPrefix(o.IDPrefix) {
		return "", core.Errorf(core.EInvalid, "id prefix %q must be lowercase letters, digits and '-'", o.IDPrefix)
	}
	switch format {
	case FormatPlain, "":
		return plainHTML(text), nil
	case FormatMarkdown, FormatFilteredHTML:
		if format == FormatFilteredHTML {
			o.IDPrefix = ""
		}
		if r.memo == nil {
			return r.format(text, format, o.IDPrefix)
		}
		k := memoKey(format, o.IDPrefix, text)
		if h, ok := r.memo.get(k); ok {
			return h, nil
		}
		h, err := r.format(text, format, o.IDPrefix)
		if err == nil {
			r.memo.put(k, h)
		}
		return h, err
	case FormatFullHTML:
		if !o.Trusted {
			return "", core.Errorf(core.EForbidden, "the full_html format is only available to trusted content")
		}
		return template.HTML(balance(r.full.SanitizeBytes([]byte(text)))), nil
	}
	return "", core.Errorf(core.EInvalid, "unknown text format %q", format)
}

// format runs the markdown or filtered_html format without the memo.
func (r *Renderer) format(text, format, idPrefix string) (template.HTML, error) {
	switch format {
	case FormatMarkdown:
		var buf bytes.Buffer
		if err := r.markdown.Convert([]byte(text), &buf, parser.WithContext(markdownContext(idPrefix))); err != nil {
			return "", core.Errorf(core.EInvalid, "markdown: %v", err)
		}
		return template.HTML(balance(r.filtered.SanitizeBytes(buf.Bytes()))), nil
	default:
		return template.HTML(balance(r.filtered.SanitizeBytes([]byte(text)))), nil
	}
}

// balance re-serialises sanitized HTML through an HTML5 parser, so every
// element it opens is closed inside the fragment: a stray end tag or an
// unclosed <a> in one field can never swallow or wrap what the page puts
// after it.
func balance(frag []byte) []byte {
	ctx := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(bytes.NewReader(frag), ctx)
	if err != nil {
		return []byte(template.HTMLEscapeString(string(frag)))
	}
	var buf bytes.Buffer
	buf.Grow(len(frag) + 16)
	for _, n := range nodes {
		if err := html.Render(&buf, n); err != nil {
			return []byte(template.HTMLEscapeString(string(frag)))
		}
	}
	// html.Render closes void elements XML-style; attribute values have
	// their '>' escaped, so "/>" only ever ends a void element.
	return bytes.ReplaceAll(buf.Bytes(), []byte("/>"), []byte(">"))
}

// reservedIDs are ids the default theme's page template uses; markdown
// headings get "main-content-1" instead.
var reservedIDs = []string{"main-content"}

var idPrefixKey = parser.NewContextKey()

// markdownContext returns a parser context whose generated ids carry
// prefix and avoid the reserved ids.
func markdownContext(prefix string) parser.Context {
	ids := parser.NewContext().IDs()
	for _, id := range reservedIDs {
		ids.Put([]byte(id))
	}
	pc := parser.NewContext(parser.WithIDs(prefixIDs{IDs: ids, prefix: prefix}))
	pc.Set(idPrefixKey, prefix)
	return pc
}

type prefixIDs struct {
	parser.IDs
	prefix string
}

func (p prefixIDs) Generate(value []byte, kind ast.NodeKind) []byte {
	id := p.IDs.Generate(value, kind)
	if p.prefix == "" {
		return id
	}
	return append([]byte(p.prefix), id...)
}

// idPrefixMeta records the id prefix on the document, where the footnote
// renderer's prefix function finds it.
type idPrefixMeta struct{}

func (idPrefixMeta) Transform(doc *ast.Document, _ text.Reader, pc parser.Context) {
	if p, _ := pc.Get(idPrefixKey).(string); p != "" {
		doc.AddMeta("trovato-id-prefix", p)
	}
}

func footnoteIDPrefix(n ast.Node) []byte {
	if doc := n.OwnerDocument(); doc != nil {
		if p, _ := doc.Meta()["trovato-id-prefix"].(string); p != "" {
			return []byte(p)
		}
	}
	return nil
}

var reBlankLines = regexp.MustCompile(`\n[ \t]*\n\s*`)

// plainHTML escapes text and keeps its paragraphs and line breaks.
func plainHTML(text string) template.HTML {
	text = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n"))
	if text == "" {
		return ""
	}
	var b strings.Builder
	for _, para := range reBlankLines.Split(text, -1) {
		b.WriteString("<p>")
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				b.WriteString("<br>\n")
			}
			b.WriteString(template.HTMLEscapeString(line))
		}
		b.WriteString("</p>\n")
	}
	return template.HTML(b.String())
}

// inlineHTML escapes text for phrasing content, keeping line breaks.
func inlineHTML(text string) template.HTML {
	if !strings.ContainsAny(text, "\r\n") {
		return template.HTML(template.HTMLEscapeString(text))
	}
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = template.HTMLEscapeString(l)
	}
	return template.HTML(strings.Join(lines, "<br>\n"))
}

// newMarkdown returns the goldmark instance of the markdown format; with
// core true only CommonMark itself is enabled (the conformance test).
// Raw HTML is passed on (WithUnsafe) because every output goes through
// the sanitizer, which is what decides what survives.
func newMarkdown(coreOnly bool) goldmark.Markdown {
	if coreOnly {
		return goldmark.New(goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
	}
	return goldmark.New(
		goldmark.WithExtensions(
			extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignNone)),
			extension.Strikethrough,
			extension.Linkify,
			extension.NewFootnote(extension.WithFootnoteIDPrefixFunction(footnoteIDPrefix)),
			extension.Typographer,
		),
		goldmark.WithParserOptions(
			parser.WithAutoHeadingID(),
			parser.WithASTTransformers(util.Prioritized(tableAlignClasses{}, 1000), util.Prioritized(idPrefixMeta{}, 1000)),
		),
		goldmark.WithRendererOptions(gmhtml.WithUnsafe()),
	)
}

// tableAlignClasses marks aligned table cells with an align-* class, since
// the sanitizer admits neither style nor the obsolete align attribute.
type tableAlignClasses struct{}

func (tableAlignClasses) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if c, ok := n.(*east.TableCell); ok && entering && c.Alignment != east.AlignNone {
			c.SetAttributeString("class", []byte("align-"+c.Alignment.String()))
		}
		return ast.WalkContinue, nil
	})
}

// Patterns of attribute values the sanitizers admit.
var (
	reSafeID       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_:.\-]{0,127}$`)
	reContentClass = regexp.MustCompile(`^(language-[A-Za-z0-9_+#.\-]{1,32}|footnote-ref|footnote-backref|footnotes|align-(left|center|right))$`)
	reContentRole  = regexp.MustCompile(`^doc-(noteref|backlink|endnotes)$`)
	reNumber       = regexp.MustCompile(`^[0-9]{1,9}$`)
	reSafeLang     = regexp.MustCompile(`^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$`)
	reDir          = regexp.MustCompile(`^(ltr|rtl|auto)$`)
	reScope        = regexp.MustCompile(`^(col|row|colgroup|rowgroup)$`)
	reDatetimeAttr = regexp.MustCompile(`^[0-9T:+\-.Z ]{1,40}$`)
	reAnyClass     = regexp.MustCompile(`^[A-Za-z0-9_\- ]{1,256}$`)
	reLoading      = regexp.MustCompile(`^(lazy|eager)$`)
)

// Elements both sanitizers admit (docs/text-formats.md lists them).
var filteredElements = []string{
	"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
	"strong", "b", "em", "i", "u", "s", "del", "ins", "mark", "small", "sub", "sup",
	"abbr", "cite", "q", "dfn", "kbd", "samp", "var", "code", "pre", "blockquote",
	"ul", "ol", "li", "dl", "dt", "dd",
	"table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
	"figure", "figcaption", "details", "summary", "time", "span", "div",
}

// newFilteredPolicy is the filtered_html sanitizer, also applied to the
// output of markdown.
func newFilteredPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	commonPolicy(p)
	p.RequireNoFollowOnFullyQualifiedLinks(true)
	p.RequireNoReferrerOnFullyQualifiedLinks(true)
	p.AllowAttrs("class").Matching(reContentClass).OnElements("code", "pre", "a", "div", "th", "td", "sup")
	p.AllowAttrs("role").Matching(reContentRole).OnElements("a", "div")
	return p
}

// newFullPolicy is the full_html sanitizer: trusted authors get layout
// elements, classes, ids, data-* attributes, media and inline data:
// images; never scripts, styles, frames, plugins, forms or handlers.
func newFullPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	commonPolicy(p)
	p.AllowElements("section", "article", "aside", "header", "footer", "nav", "address",
		"picture", "audio", "video", "source", "track", "bdi", "bdo", "wbr", "ruby", "rt", "rp", "data", "meter", "progress")
	p.AllowAttrs("class").Matching(reAnyClass).Globally()
	p.AllowAttrs("title").Globally()
	p.AllowDataAttributes()
	p.AllowAttrs("role").Matching(regexp.MustCompile(`^[a-z\-]{1,32}$`)).Globally()
	// bluemonday checks src against the URL policy; poster it would not,
	// so poster is not admitted.
	p.AllowAttrs("src").OnElements("audio", "video", "source", "track")
	p.AllowAttrs("controls", "loop", "muted", "playsinline").Matching(regexp.MustCompile(`^(|controls|loop|muted|playsinline)$`)).OnElements("audio", "video")
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^(audio|video|image)/[a-z0-9.+\-]{1,64}$`)).OnElements("source")
	p.AllowAttrs("kind").Matching(regexp.MustCompile(`^(subtitles|captions|descriptions|chapters)$`)).OnElements("track")
	p.AllowAttrs("srclang").Matching(reSafeLang).OnElements("track")
	p.AllowAttrs("label").OnElements("track")
	p.AllowAttrs("value").Matching(regexp.MustCompile(`^[0-9.\-]{1,32}$`)).OnElements("data", "meter", "progress")
	p.AllowDataURIImages()
	return p
}

func commonPolicy(p *bluemonday.Policy) {
	p.AllowElements(filteredElements...)
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(true)
	p.AllowURLSchemes("http", "https", "mailto", "tel")
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("title").OnElements("a", "abbr", "dfn", "img", "q")
	p.AllowAttrs("cite").OnElements("blockquote", "q", "del", "ins")
	p.AllowAttrs("src").OnElements("img")
	p.AllowAttrs("alt").OnElements("img")
	p.AllowAttrs("width", "height").Matching(reNumber).OnElements("img")
	p.AllowAttrs("loading").Matching(reLoading).OnElements("img")
	p.AllowAttrs("id").Matching(reSafeID).OnElements("h1", "h2", "h3", "h4", "h5", "h6", "li", "sup", "a", "dt", "section", "article", "div", "span", "p", "figure", "table")
	p.AllowAttrs("lang").Matching(reSafeLang).Globally()
	p.AllowAttrs("dir").Matching(reDir).Globally()
	p.AllowAttrs("start").Matching(reNumber).OnElements("ol")
	p.AllowAttrs("reversed").Matching(regexp.MustCompile(`^(|reversed)$`)).OnElements("ol")
	p.AllowAttrs("colspan", "rowspan").Matching(reNumber).OnElements("th", "td")
	p.AllowAttrs("scope").Matching(reScope).OnElements("th")
	p.AllowAttrs("open").Matching(regexp.MustCompile(`^(|open)$`)).OnElements("details")
	p.AllowAttrs("datetime").Matching(reDatetimeAttr).OnElements("time", "del", "ins")
	p.AllowAttrs("aria-hidden").Matching(regexp.MustCompile(`^(true|false)$`)).Globally()
	p.AllowElements("img")
}
