// Package render turns render trees into HTML. It is the only producer of
// HTML in Trovato: themes are html/template sets with one template per
// element type, every attribute and URL goes through an allow-list, and
// text formats run through goldmark and a sanitizer (bluemonday).
package render

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/microcosm-cc/bluemonday"
	"github.com/trovato/trovato/core"
	"github.com/yuin/goldmark"
)

// Options configure a Renderer.
type Options struct {
	// Base is the theme a site theme extends: templates and assets the
	// theme does not have come from Base. Nil means no fallback; site
	// themes usually pass DefaultTheme().
	Base fs.FS
	// AssetPrefix is the URL path assets are served under; default "/assets/".
	AssetPrefix string
	// Logger receives the reasons region nodes are dropped. Nil discards.
	Logger *slog.Logger
	// FormatCacheBytes bounds the memo of formatted markdown and
	// filtered_html (keyed by a hash of the text, so never stale):
	// 0 means DefaultFormatCacheBytes, negative disables it.
	FormatCacheBytes int
	// Name and Regions describe the theme (Renderer.Theme): default
	// DefaultThemeName and DefaultRegions. NewTheme sets both from the
	// theme's manifest.
	Name    string
	Regions []string

	layers []fs.FS // NewTheme's base chain, replacing Base
}

// Renderer renders trees and pages with one theme. It is safe for
// concurrent use; build a new one to change the theme.
type Renderer struct {
	tmpl     *template.Template
	names    map[string]bool
	native   map[string]bool // element types rendered by native.go
	assets   map[string]*Asset
	prefix   string
	log      *slog.Logger
	markdown goldmark.Markdown
	filtered *bluemonday.Policy
	full     *bluemonday.Policy
	memo     *formatMemo
	info     ThemeInfo
}

// treeOptions is what RenderNode accepts: the kernel composes trees from
// validated plugin output and its own forms and trusted text.
var treeOptions = core.TreeOptions{AllowForms: true, AllowFullHTML: true}

// New builds a Renderer from a theme: templates/*.html (element--TYPE.html
// for every element type, page.html, and any suggestion templates) and
// assets/* (served under hashed URLs). Template syntax and escaping errors
// are returned as *TemplateError with the file and line.
func New(theme fs.FS, opts Options) (*Renderer, error) {
	r := &Renderer{
		prefix:   opts.AssetPrefix,
		log:      opts.Logger,
		markdown: newMarkdown(false),
		filtered: newFilteredPolicy(),
		full:     newFullPolicy(),
	}
	if r.prefix == "" {
		r.prefix = "/assets/"
	}
	switch {
	case opts.FormatCacheBytes == 0:
		r.memo = newFormatMemo(DefaultFormatCacheBytes)
	case opts.FormatCacheBytes > 0:
		r.memo = newFormatMemo(opts.FormatCacheBytes)
	}
	if !strings.HasPrefix(r.prefix, "/") || !strings.HasSuffix(r.prefix, "/") {
		return nil, core.Errorf(core.EInvalid, "asset prefix %q must start and end with /", r.prefix)
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	layers := opts.layers
	if layers == nil {
		layers = []fs.FS{theme}
		if opts.Base != nil {
			layers = append(layers, opts.Base)
		}
	}
	r.info = ThemeInfo{Name: opts.Name, Regions: opts.Regions, Built: time.Now()}
	if r.info.Name == "" {
		r.info.Name = DefaultThemeName
	}
	if len(r.info.Regions) == 0 {
		r.info.Regions = DefaultRegions
	}
	var err error
	if r.assets, err = loadAssets(layers, r.prefix); err != nil {
		return nil, err
	}
	if err := r.loadTemplates(layers); err != nil {
		return nil, err
	}
	return r, nil
}

// RenderNode writes the HTML of one tree. The tree is validated first with
// forms and full_html admitted (the kernel's own trees); callers validate
// plugin output with stricter options before composing it. Errors:
// EInvalid for a tree that does not validate; template errors otherwise.
// Nothing is written on error.
func (r *Renderer) RenderNode(ctx context.Context, w io.Writer, n core.Node) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := core.ValidateTree(n, treeOptions); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := r.writeNode(&buf, &n); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// node renders one validated node to a string.
func (r *Renderer) node(n *core.Node) (template.HTML, error) {
	var buf bytes.Buffer
	if err := r.writeNode(&buf, n); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil
}

// writeNode renders one validated node through the first template that
// exists among its suggestions and element--TYPE.html; the default
// theme's unchanged element templates run natively (native.go).
func (r *Renderer) writeNode(w *bytes.Buffer, n *core.Node) error {
	name := ""
	for _, s := range n.Suggestions {
		if r.names[s+".html"] {
			name = s + ".html"
			break
		}
	}
	if name == "" {
		if r.native[n.Type] {
			if err := nativeElement(n.Type)(r, w, n); err != nil {
				return fmt.Errorf("render %s: %w", n.Type, err)
			}
			return nil
		}
		name = "element--" + n.Type + ".html"
	}
	if err := r.tmpl.ExecuteTemplate(w, name, Element{Node: n, r: r}); err != nil {
		return fmt.Errorf("render %s: %w", n.Type, err)
	}
	return nil
}

// writeNodes renders nodes in weight order.
func (r *Renderer) writeNodes(w *bytes.Buffer, nodes []core.Node) error {
	// By index: a pointer to a range variable would copy every node to
	// the heap.
	sorted := core.SortedNodes(nodes)
	for i := range sorted {
		if err := r.writeNode(w, &sorted[i]); err != nil {
			return err
		}
	}
	return nil
}

func (r *Renderer) nodes(nodes []core.Node) (template.HTML, error) {
	var buf bytes.Buffer
	if err := r.writeNodes(&buf, nodes); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil
}

// Element is what an element template receives: the node's fields, plus
// methods that return HTML built through the renderer's allow-lists.
type Element struct {
	*core.Node
	r *Renderer
}

// Content renders the children in weight order.
func (e Element) Content() (template.HTML, error) {
	return e.r.nodes(e.Children)
}

// ItemsHTML renders each list item, in weight order.
func (e Element) ItemsHTML() ([]template.HTML, error) {
	items := core.SortedNodes(e.Items)
	out := make([]template.HTML, len(items))
	for i := range items {
		h, err := e.r.node(&items[i])
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// CellHTML renders a table cell's content: its text, escaped, or its children.
func (e Element) CellHTML(c core.Cell) (template.HTML, error) {
	if len(c.Children) > 0 {
		return e.r.nodes(c.Children)
	}
	return inlineHTML(c.Text), nil
}

// TextHTML is the node's text escaped for phrasing content, line breaks kept.
func (e Element) TextHTML() template.HTML {
	return inlineHTML(e.Text)
}

// Formatted renders a text element: inline escaped text without a format,
// otherwise the formatted body (FormatText, trusted: the tree validated).
func (e Element) Formatted() (template.HTML, error) {
	if e.Format == "" {
		return inlineHTML(e.Text), nil
	}
	return e.r.Format(e.Text, e.Format, FormatOptions{Trusted: true, IDPrefix: e.IDPrefix})
}

// Attributes renders the node's allow-listed attributes, with classes
// added in front of the node's own, as ` name="value"` pairs in name order.
func (e Element) Attributes(classes ...string) template.HTMLAttr {
	return attributes(e.Type, e.Attrs, classes)
}

func attributes(typ string, attrs map[string]string, classes []string) template.HTMLAttr {
	var class []string
	for _, c := range classes {
		if core.ValidClassName(c) {
			class = append(class, c)
		}
	}
	if len(attrs) == 0 && len(class) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs)+1)
	for k, v := range attrs {
		if typ == core.ElemInput && core.InputAttrs[k] {
			continue // on the input itself: InputAttributes
		}
		if core.CheckAttr(typ, k, v) == "" {
			names = append(names, k)
		}
	}
	if len(class) > 0 && !slices.Contains(names, "class") {
		names = append(names, "class")
	}
	slices.Sort(names)
	var b strings.Builder
	for _, k := range names {
		v := attrs[k]
		if k == "class" && len(class) > 0 {
			v = strings.TrimSpace(strings.Join(class, " ") + " " + v)
		}
		b.WriteString(" ")
		b.WriteString(k)
		b.WriteString(`="`)
		b.WriteString(template.HTMLEscapeString(v))
		b.WriteString(`"`)
	}
	return template.HTMLAttr(b.String())
}

// InputAttributes renders an input's allow-listed tabindex and
// autocomplete attributes, for the input element itself.
func (e Element) InputAttributes() template.HTMLAttr {
	return inputAttributes(e.Node)
}

func inputAttributes(n *core.Node) template.HTMLAttr {
	if n.Type != core.ElemInput || len(n.Attrs) == 0 {
		return ""
	}
	var b strings.Builder
	for _, k := range []string{"autocomplete", "tabindex"} {
		if v, ok := n.Attrs[k]; ok && core.CheckAttr(n.Type, k, v) == "" {
			b.WriteString(" " + k + `="` + template.HTMLEscapeString(v) + `"`)
		}
	}
	return template.HTMLAttr(b.String())
}

// URL returns u for an href, cite or action attribute if the URL
// allow-list admits it, else "#".
func (e Element) URL(u string) template.URL {
	return safeURL(u, false)
}

// ImageURL returns u for an img src if the URL allow-list admits it
// (data:image URLs included), else "#".
func (e Element) ImageURL(u string) template.URL {
	return safeURL(u, true)
}

func safeURL(u string, image bool) template.URL {
	if core.CheckURL(u, image) != nil {
		return "#"
	}
	return template.URL(u)
}

var reNonID = regexp.MustCompile(`[^a-z0-9_\-]+`)

// ControlID is the id of a form control: its id attribute, else
// "edit-" followed by its name.
func (e Element) ControlID() string {
	if id := e.Attrs["id"]; id != "" && core.CheckAttr(e.Type, "id", id) == "" {
		return id
	}
	return "edit-" + strings.Trim(reNonID.ReplaceAllString(strings.ToLower(e.Name), "-"), "-")
}
