package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

// itemContent is an item in full as one render tree: the meta line, then
// each field of its type in the type's order. Each field is validated on
// its own first, so a field that does not validate is dropped (and
// logged) alone. image is the path of the first image's large
// derivative (for social tags), or "".
func (s *Server) itemContent(ctx context.Context, st *reqState, it *core.Item) (article core.Node, image string, err error) {
	classes := "item item--" + it.Type + " item--full"
	if it.Status != core.StatusPublished {
		classes += " item--unpublished"
	}
	meta := core.Node{Type: core.ElemParagraph, Attrs: map[string]string{"class": "item__meta"}}
	if name, ok := st.data.UserNames[it.AuthorID]; ok {
		meta.Children = append(meta.Children, core.Node{Type: core.ElemText, Text: "By " + name + " · "})
	}
	meta.Children = append(meta.Children, core.Node{Type: core.ElemTime,
		Datetime: it.CreatedAt.UTC().Format(time.RFC3339), Text: it.CreatedAt.UTC().Format("2 January 2006")})
	children := []core.Node{meta}
	if it.Status != core.StatusPublished {
		children = append(children, core.Node{Type: core.ElemParagraph, Attrs: map[string]string{"class": "item__status", "role": "note"},
			Text: "This item is not published: only editors see it."})
	}
	article = core.Node{Type: core.ElemContainer, Tag: "article", Attrs: map[string]string{"class": classes},
		Suggestions: []string{"item--" + it.Type + "--full", "item--" + it.Type}}

	typ, err := s.itemType(st, it.Type)
	if err != nil {
		if core.ErrorCode(err) != core.ENotFound {
			return article, "", err
		}
		typ = &core.ItemType{Name: it.Type} // type deleted: the title and meta still show
	}
	var fields map[string]json.RawMessage
	if len(it.Fields) > 0 {
		if err := json.Unmarshal(it.Fields, &fields); err != nil {
			return article, "", fmt.Errorf("item %s fields: %w", it.ID, err)
		}
	}
	var (
		fieldNodes []core.Node
		fieldDefs  []*core.FieldDef
	)
	for i := range typ.Fields {
		fd := &typ.Fields[i]
		raw, ok := fields[fd.Name]
		if !ok || string(raw) == "null" {
			continue
		}
		var vals []json.RawMessage
		if fd.Multiple() {
			if err := json.Unmarshal(raw, &vals); err != nil {
				s.log.Warn("field value is not a list", "item", it.ID, "field", fd.Name)
				continue
			}
		} else {
			vals = []json.RawMessage{raw}
		}
		nodes, err := s.fieldNodes(ctx, st, it, fd, vals)
		if err != nil {
			return article, "", err
		}
		if len(nodes) == 0 {
			continue
		}
		f := core.Node{Type: core.ElemContainer, Weight: i + 1,
			Attrs:       map[string]string{"class": "field field--name-" + cssName(fd.Name) + " field--type-" + cssName(fd.Type)},
			Suggestions: []string{"field--" + cssName(fd.Name), "field--" + cssName(fd.Type)}}
		if fd.Type != core.FieldLongText && fd.Type != core.FieldImage && fd.Label != "" {
			f.Children = append(f.Children, core.Node{Type: core.ElemParagraph, Attrs: map[string]string{"class": "field__label"}, Text: fd.Label})
		}
		if len(nodes) > 1 && fd.Type != core.FieldLongText && fd.Type != core.FieldImage {
			f.Children = append(f.Children, core.Node{Type: core.ElemList, Attrs: map[string]string{"class": "field__items"}, Items: nodes})
		} else {
			f.Children = append(f.Children, nodes...)
		}
		fieldNodes = append(fieldNodes, f)
		fieldDefs = append(fieldDefs, fd)
	}
	// Validate the whole article once; only when it fails, find the
	// fields at fault and leave them out.
	article.Children = append(children, fieldNodes...)
	if core.ValidateTree(article, core.TreeOptions{AllowFullHTML: true}) != nil {
		article.Children = children
		for i, f := range fieldNodes {
			if err := core.ValidateTree(f, core.TreeOptions{AllowFullHTML: fieldDefs[i].Type == core.FieldLongText}); err != nil {
				s.log.Warn("field dropped from the page", "item", it.ID, "field", fieldDefs[i].Name, "reason", err)
				continue
			}
			article.Children = append(article.Children, f)
		}
	}
	for i := range article.Children {
		f := &article.Children[i]
		if image == "" && strings.Contains(f.Attrs["class"], "field--type-image") {
			image = firstImage(*f)
		}
		if st.summary == nil && strings.Contains(f.Attrs["class"], "field--type-long-text") {
			st.summary = f
		}
	}
	return article, image, nil
}

// summary is the first words of a formatted text, as plain text, for
// the description meta tags: at most about 160 characters.
func (s *Server) summary(n *core.Node) string {
	var text *core.Node
	walkNodes([]core.Node{*n}, func(c *core.Node) {
		if text == nil && c.Type == core.ElemText && c.Format != "" {
			text = c
		}
	})
	if text == nil {
		return ""
	}
	h, err := s.r.FormatText(text.Text, text.Format, text.Format == core.FormatFullHTML)
	if err != nil {
		return ""
	}
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(string(h)))
	for b.Len() < 200 {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt == html.TextToken {
			b.WriteString(" ")
			b.Write(z.Text())
		}
	}
	words := strings.Fields(b.String())
	out := ""
	for _, w := range words {
		if len(out)+len(w)+1 > 160 {
			return out + "…"
		}
		if out != "" {
			out += " "
		}
		out += w
	}
	return out
}

// firstImage finds the first image in a tree and returns its large
// derivative's path.
func firstImage(n core.Node) string {
	if n.Type == core.ElemImage {
		return strings.Replace(n.Src, "/files/styles/medium/", "/files/styles/large/", 1)
	}
	for _, c := range n.Children {
		if src := firstImage(c); src != "" {
			return src
		}
	}
	return ""
}

// cssName keeps a machine name usable in a class.
func cssName(s string) string { return strings.ReplaceAll(s, "_", "-") }

// fieldNodes renders a field's values. A value that cannot be shown (a
// reference to something gone or hidden) is left out.
func (s *Server) fieldNodes(ctx context.Context, st *reqState, it *core.Item, fd *core.FieldDef, vals []json.RawMessage) ([]core.Node, error) {
	var out []core.Node
	if fd.Type == core.FieldTermRef {
		return s.termLinks(ctx, st, vals)
	}
	for _, raw := range vals {
		n, ok, err := s.fieldValue(ctx, st, it, fd, raw)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, n)
		}
	}
	return out, nil
}

type refValue struct {
	ID         core.ID `json:"id"`
	Alt        string  `json:"alt"`
	Title      string  `json:"title"`
	Decorative bool    `json:"decorative"`
}

func (s *Server) fieldValue(ctx context.Context, st *reqState, it *core.Item, fd *core.FieldDef, raw json.RawMessage) (core.Node, bool, error) {
	str := func() string {
		var v string
		_ = json.Unmarshal(raw, &v)
		return v
	}
	switch fd.Type {
	case core.FieldText:
		return core.Node{Type: core.ElemParagraph, Text: str()}, true, nil
	case core.FieldLongText:
		format, err := s.textFormat(ctx, it, fd)
		if err != nil {
			return core.Node{}, false, err
		}
		text := str()
		if len(text) > core.MaxTreeTextBytes {
			s.log.Warn("long text too large for one render tree; truncated", "item", it.ID, "field", fd.Name)
			text = truncateUTF8(text, core.MaxTreeTextBytes)
		}
		return core.Node{Type: core.ElemText, Format: format, Text: text}, true, nil
	case core.FieldInteger, core.FieldDecimal:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return core.Node{Type: core.ElemParagraph, Text: str()}, true, nil
		}
		return core.Node{Type: core.ElemParagraph, Text: n.String()}, true, nil
	case core.FieldBoolean:
		var b bool
		_ = json.Unmarshal(raw, &b)
		text := "No"
		if b {
			text = "Yes"
		}
		return core.Node{Type: core.ElemParagraph, Text: text}, true, nil
	case core.FieldDate:
		v := str()
		text := v
		if t, err := time.Parse("2006-01-02", v); err == nil {
			text = t.Format("2 January 2006")
		}
		return core.Node{Type: core.ElemParagraph, Children: []core.Node{{Type: core.ElemTime, Datetime: v, Text: text}}}, true, nil
	case core.FieldDateTime:
		v := str()
		text := v
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			text = t.Format("2 January 2006, 15:04 MST")
			v = t.Format(time.RFC3339)
		}
		return core.Node{Type: core.ElemParagraph, Children: []core.Node{{Type: core.ElemTime, Datetime: v, Text: text}}}, true, nil
	case core.FieldEmail:
		v := str()
		return core.Node{Type: core.ElemParagraph, Children: []core.Node{{Type: core.ElemLink, Href: "mailto:" + v, Text: v}}}, true, nil
	case core.FieldLink:
		var l struct{ URL, Title string }
		if err := json.Unmarshal(raw, &l); err != nil || core.CheckURL(l.URL, false) != nil {
			return core.Node{}, false, nil
		}
		text := l.Title
		if text == "" {
			text = l.URL
		}
		return core.Node{Type: core.ElemParagraph, Children: []core.Node{{Type: core.ElemLink, Href: l.URL, Text: text}}}, true, nil
	case core.FieldItemRef:
		var ref refValue
		if json.Unmarshal(raw, &ref) != nil {
			return core.Node{}, false, nil
		}
		s.depend(ctx, st, core.EntityTag(core.KindItem, ref.ID.String()))
		target, err := s.findItem(ctx, st, ref.ID)
		if core.ErrorCode(err) == core.ENotFound {
			return core.Node{}, false, nil
		} else if err != nil {
			return core.Node{}, false, err
		}
		return core.Node{Type: core.ElemLink, Href: itemPath(target.ID), Text: target.Title}, true, nil
	case core.FieldFile, core.FieldImage:
		var ref refValue
		if json.Unmarshal(raw, &ref) != nil {
			return core.Node{}, false, nil
		}
		f := st.data.Files[ref.ID]
		if f == nil {
			return core.Node{}, false, nil
		}
		orig := FileURL(f)
		if fd.Type == core.FieldFile || !strings.HasPrefix(f.MIME, "image/") {
			return core.Node{Type: core.ElemLink, Href: orig, Text: f.Name}, true, nil
		}
		alt := ref.Alt
		if ref.Decorative {
			alt = ""
		}
		img := core.Node{Type: core.ElemImage, Src: StyleURL("medium", f.Hash, f.MIME), Alt: alt}
		if ref.Title != "" {
			img.Attrs = map[string]string{"title": ref.Title}
		}
		return core.Node{Type: core.ElemContainer, Attrs: map[string]string{"class": "field__image"},
			Children: []core.Node{{Type: core.ElemLink, Href: orig, Children: []core.Node{img}}}}, true, nil
	}
	return core.Node{}, false, nil
}

// textFormat is the format a long text renders with: the field's. The
// full_html format would apply only for an author holding
// format.full_html; otherwise it falls back to filtered_html.
func (s *Server) textFormat(ctx context.Context, it *core.Item, fd *core.FieldDef) (string, error) {
	format := fd.EffectiveFormat()
	if format != core.FormatFullHTML {
		return format, nil
	}
	author, err := s.k.Store.Users().FindUserByID(ctx, it.AuthorID)
	if err == nil {
		ok, err := s.k.Store.Authorizer().HasPermission(ctx, author, core.PermUseFullHTML)
		if err != nil {
			return "", err
		}
		if ok {
			return core.FormatFullHTML, nil
		}
	} else if core.ErrorCode(err) != core.ENotFound {
		return "", err
	}
	return core.FormatFilteredHTML, nil
}

// termLinks renders category references as links to the terms' pages,
// reading every term in one query.
func (s *Server) termLinks(ctx context.Context, st *reqState, vals []json.RawMessage) ([]core.Node, error) {
	ids := make([]core.ID, 0, len(vals))
	for _, raw := range vals {
		var ref refValue
		if json.Unmarshal(raw, &ref) == nil {
			ids = append(ids, ref.ID)
		}
	}
	if err := s.load(ctx, st, postgres.PageQuery{Refs: missingTerms(st, ids)}); err != nil {
		return nil, err
	}
	var out []core.Node
	for _, id := range ids {
		if t := st.data.Terms[id]; t != nil {
			out = append(out, core.Node{Type: core.ElemLink, Href: termPath(id), Text: t.Name, Attrs: map[string]string{"rel": "tag"}})
		}
	}
	return out, nil
}

// missingTerms are the ids not loaded yet (normally none: the page loads
// every id its item refers to).
func missingTerms(st *reqState, ids []core.ID) []core.ID {
	var out []core.ID
	for _, id := range ids {
		if st.data.Terms[id] == nil {
			out = append(out, id)
		}
	}
	return out
}

// FileURL is where a file is served: /files/{hash}/{name}.
func FileURL(f *core.File) string {
	return "/files/" + f.Hash + "/" + url.PathEscape(f.Name)
}

// StyleURL is the URL of an image derivative: /files/styles/{style}/{hash}.{ext}.
func StyleURL(style, hash, mime string) string {
	return "/files/styles/" + style + "/" + hash + "." + styleExt(mime)
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
