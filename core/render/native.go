package render

import (
	"bytes"
	"fmt"
	"html/template"
	"strconv"
	"strings"

	"github.com/trovato/trovato/core"
)

// Native renderers of the default theme's element templates.
//
// html/template executes through reflection, which costs about 10 µs per
// element here; a page has a hundred or more. When a theme uses the
// default theme's element template for a type unchanged (and its
// partials.html), the renderer writes the same bytes with the functions
// below instead. TestNativeMatchesTemplates renders the golden cases and
// every XSS vector both ways and requires identical output, so a change
// to a default template that is not mirrored here fails the tests.
type nativeFunc func(r *Renderer, w *bytes.Buffer, n *core.Node) error

// nativeElement returns the native renderer of an element type.
func nativeElement(typ string) nativeFunc {
	switch typ {
	case core.ElemContainer:
		return nativeContainer
	case core.ElemHeading:
		return nativeHeading
	case core.ElemParagraph:
		return nativeParagraph
	case core.ElemText:
		return nativeText
	case core.ElemLink:
		return nativeLink
	case core.ElemImage:
		return nativeImage
	case core.ElemFigure:
		return nativeFigure
	case core.ElemList:
		return nativeList
	case core.ElemTable:
		return nativeTable
	case core.ElemDetails:
		return nativeDetails
	case core.ElemBlockquote:
		return nativeBlockquote
	case core.ElemCode:
		return nativeCode
	case core.ElemTime:
		return nativeTime
	case core.ElemIsland:
		return nativeIsland
	case core.ElemForm:
		return nativeForm
	case core.ElemInput:
		return nativeInput
	case core.ElemTextarea:
		return nativeTextarea
	case core.ElemSelect:
		return nativeSelect
	case core.ElemCheckbox:
		return nativeCheckbox
	case core.ElemButton:
		return nativeButton
	case core.ElemFieldset:
		return nativeFieldset
	case core.ElemHidden:
		return nativeHidden
	}
	return nil
}

// esc writes s escaped as html/template escapes strings in text, RCDATA
// and quoted attribute values (its htmlReplacementTable).
func esc(w *bytes.Buffer, s string) {
	written := 0
	for i := 0; i < len(s); i++ {
		var repl string
		switch s[i] {
		case 0:
			repl = "\uFFFD"
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		w.WriteString(s[written:i])
		w.WriteString(repl)
		written = i + 1
	}
	w.WriteString(s[written:])
}

// escURL writes a URL already admitted by the allow-list as html/template
// writes a template.URL in a quoted attribute: normalised (bytes outside
// RFC 3986's unreserved and reserved sets percent-encoded, valid escapes
// kept), then escaped.
func escURL(w *bytes.Buffer, u template.URL) {
	s := string(u)
	var b strings.Builder
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			continue
		case strings.IndexByte("!#$&*+,/:;=?@[]-._~", c) >= 0:
			continue
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			continue
		}
		b.WriteString(s[written:i])
		fmt.Fprintf(&b, "%%%02x", c)
		written = i + 1
	}
	if written == 0 {
		esc(w, s)
		return
	}
	b.WriteString(s[written:])
	esc(w, b.String())
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// raw writes HTML the renderer built itself.
func raw[T ~string](w *bytes.Buffer, s T) { w.WriteString(string(s)) }

func attrs(w *bytes.Buffer, n *core.Node, classes ...string) {
	raw(w, attributes(n.Type, n.Attrs, classes))
}

func content(r *Renderer, w *bytes.Buffer, n *core.Node) error {
	return r.writeNodes(w, n.Children)
}

// contentOrText mirrors {{if .Children}}{{.Content}}{{else}}{{.TextHTML}}{{end}}.
func contentOrText(r *Renderer, w *bytes.Buffer, n *core.Node) error {
	if len(n.Children) > 0 {
		return content(r, w, n)
	}
	raw(w, inlineHTML(n.Text))
	return nil
}

var containerTags = map[string]bool{"section": true, "article": true, "aside": true, "header": true, "footer": true, "nav": true}

func nativeContainer(r *Renderer, w *bytes.Buffer, n *core.Node) error {
	tag := "div"
	if containerTags[n.Tag] {
		tag = n.Tag
	}
	w.WriteString("<" + tag)
	attrs(w, n)
	w.WriteString(">")
	if err := content(r, w, n); err != nil {
		return err
	}
	w.WriteString("</" + tag + ">")
	return nil
}

func nativeHeading(r *Renderer, w *bytes.Buffer, n *core.Node) error {
	tag := "h6"
	if n.Level >= 1 && n.Level <= 5 {
		tag = "h" + strconv.Itoa(n.Level)
	}
	w.WriteString("<" + tag)
	attrs(w, n)
	w.WriteString(">")
	if err := contentOrText(r, w, n); err != nil {
		return err
	}
	w.WriteString("</" + tag + ">")
	return nil
}

func nativeParagraph(r *Renderer, w *bytes.Buffer, n *core.Node) error {
	w.WriteString("<p")
	attrs(w, n)
	w.WriteString(">")
	if err := contentOrText(r, w, n); err != nil {
		return err
	}
	w.WriteString("</p>")
	return nil
}

func nativeText(r *Renderer, w *bytes.Buffer, n *core.Node) error {
	h, err := Element{Node: n, r: r}.Formatted()
	if err != nil {
		return err
	}
	raw(w, h)
	return nil
}

func nativeLink(r *Renderer, w *bytes.Buffer, n *core.Node) error {
	w.WriteString(`<a href="`)
	escURL(w, safeURL(n.Href, false))
	w.WriteString(`"`)
	attrs(w, n)
	w.WriteString(">")
	if err := contentOrText(r, w, n); err != nil {
		return err
	}
	w.WriteString("</a>")
	return nil
}

func nativeImage(_ *Renderer, w *bytes.Buffer, n *core.Node) error {
	w.WriteString(`<img src="`)
	escURL(w, safeURL(n.Src, true))
	w.WriteString(`" alt="`)
	esc(w, n.Alt)
	w.WriteString(`"`)
	if n.Width != 0 {
		w.WriteString(` width="` + strconv.Itoa(n.Width) + `"`)
	}
	if n.Height != 0 {
		w.WriteString(` height="` + strconv.Itoa(n.Height) + `"`)
	}
	w.WriteString(` loading="lazy" decoding="async"`)
	attrs(w, n)
	w.WriteString(">")
	return nil
}

func nativeFigure(r *Renderer, w *bytes.Buffer, n *core.Node) error {
	w.WriteString("<figure")
	attrs(w, n)
	w.WriteString(">")
	if err := content(r, w, n); err != nil {
		return err
	}
	if n.Caption != "" {
		w.WriteString("<figcaption>")
		esc(w, n.Caption)
		w.WriteString("</figcaption>")
	}
	w.WriteString("</figure>")
	return nil
}

func nativeList(r *Renderer, w *bytes.Buffer, n *core.Node) error {
	tag := "ul"
	if n.Ordered {
		tag = "ol"
	}
	w.WriteString("<" + tag)
	attrs(w, n)
	w.WriteString(">")
	items := core.SortedNodes(n.Items)
	for i := range items {
		w.WriteString("<li>")
		if err := r.writeNode(w, &items[i]); err != nil {
			return err
		}
		w.WriteString("</li>")
	}
	w.WriteString("</" + tag + ">")
	return nil
}

func cellSpan(w *bytes.Buffer, c *core.Cell) {
	if c.Colspan > 1 {
		w.WriteString(` colspan="` + strconv.Itoa(c.Colspan) + `"`)
	}
	if c.Rowspan > 1 {
		w.WriteString(` rowspan="` + strconv.Itoa(c.Rowspan) + `"`)
	}
}

func cellContent(r *Renderer, w *bytes.Buffer, c *core.Cell) error {
	if len(c.Children) > 0 {
		return r.writeNodes(w, c.Children)
	}
	raw(w, inlineHTML(c.Text))
	return nil
}

func nativeTable(r *Renderer, w *bytes.Buffer, n *core.Node) error {
	w.WriteString(`<div class="table-wrap" role="region" tabindex="0" aria-label="`)
	if n.Caption != "" {
		esc(w, n.Caption)
	} else {
		w.WriteString("Table")
	}
	w.WriteString(`"><table`)
	attrs(w, n)
	w.WriteString(">")
	if n.Caption != "" {
		w.WriteString("<caption>")
		esc(w, n.Caption)
		w.WriteString("</caption>")
	}
	cell := func(c *core.Cell, header bool, scope string) error {
		tag := "td"
		if header {
			tag = "th"
			if c.Scope != "" {
				scope = c.Scope
			}
			w.WriteString(`<th scope="`)
			esc(w, scope)
			w.WriteString(`"`)
		} else {
			w.WriteString("<td")
		}
		cellSpan(w, c)
		w.WriteString(">")
		if err := cellContent(r, w, c); err != nil {
			return err
		}
		w.WriteString("</" + tag + ">")
		return nil
	}
	if len(n.Head) > 0 {
		w.WriteString("<thead>")
		for _, row := range n.Head {
			w.WriteString("<tr>")
			for i := range row.Cells {
				if err := cell(&row.Cells[i], true, "col"); err != nil {
					return err
				}
			}
			w.WriteString("</tr>")
		}
		w.WriteString("</thead>")
	}
	if len(n.Body) > 0 {
		w.WriteString("<tbody>")
		for _, row := range n.Body {
			w.WriteString("<tr>")
			for i := range row.Cells {
				c := &row.Cells[i]
				if err := cell(c, c.Header, "row"); err != nil {
					return err
				}
			}
			w.WriteString("</tr>")
		}
		w.WriteString("</tbody>")
	}
	w.WriteString("</table></div>")
	return nil
}

func nativeDetails(r *Renderer, w *bytes.Buffer, n *core.Node) error {
	w.WriteString("<details")
	attrs(w, n)
	if n.Open {
		w.WriteString(" open")
	}
	w.WriteString("><summary>")
	esc(w, n.Summary)
	w.WriteString("</summary>")
	if err := content(r, w, n); err != nil {
		return err
	}
	w.WriteString("</details>")
	return nil
}

func nativeBlockquote(r *Renderer, w *bytes.Buffer, n *core.Node) error {
	w.WriteString("<blockquote")
	if n.Cite != "" {
		w.WriteString(` cite="`)
		escURL(w, safeURL(n.Cite, false))
		w.WriteString(`"`)
	}
	attrs(w, n)
	w.WriteString(">")
	if len(n.Children) > 0 {
		if err := content(r, w, n); err != nil {
			return err
		}
	} else {
		w.WriteString("<p>")
		raw(w, inlineHTML(n.Text))
		w.WriteString("</p>")
	}
	w.WriteString("</blockquote>")
	return nil
}

func nativeCode(_ *Renderer, w *bytes.Buffer, n *core.Node) error {
	if n.Inline {
		w.WriteString("<code")
		attrs(w, n)
		w.WriteString(">")
		esc(w, n.Text)
		w.WriteString("</code>")
		return nil
	}
	w.WriteString("<pre")
	attrs(w, n)
	w.WriteString("><code")
	if n.Language != "" {
		w.WriteString(` class="language-`)
		esc(w, n.Language)
		w.WriteString(`"`)
	}
	w.WriteString(">")
	esc(w, n.Text)
	w.WriteString("</code></pre>")
	return nil
}

func nativeTime(_ *Renderer, w *bytes.Buffer, n *core.Node) error {
	w.WriteString(`<time datetime="`)
	esc(w, n.Datetime)
	w.WriteString(`"`)
	attrs(w, n)
	w.WriteString(">")
	esc(w, n.Text)
	w.WriteString("</time>")
	return nil
}

func nativeIsland(_ *Renderer, w *bytes.Buffer, n *core.Node) error {
	w.WriteString(`<div data-island="`)
	esc(w, n.Name)
	w.WriteString(`"`)
	attrs(w, n, "island")
	w.WriteString(`><a href="`)
	escURL(w, safeURL(n.Href, false))
	w.WriteString(`">`)
	esc(w, n.Text)
	w.WriteString("</a></div>")
	return nil
}

func nativeForm(r *Renderer, w *bytes.Buffer, n *core.Node) error {
	w.WriteString("<form")
	if n.Action != "" {
		w.WriteString(` action="`)
		escURL(w, safeURL(n.Action, false))
		w.WriteString(`"`)
	}
	w.WriteString(` method="`)
	esc(w, or(n.Method, "post"))
	w.WriteString(`"`)
	attrs(w, n, "form")
	w.WriteString(">")
	if err := content(r, w, n); err != nil {
		return err
	}
	w.WriteString("</form>")
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// controlOpen writes the wrapper div and label of a control.
func controlOpen(w *bytes.Buffer, n *core.Node, classes ...string) {
	w.WriteString("<div")
	if n.Error != "" {
		classes = append(classes, "form-item--error")
	}
	attrs(w, n, classes...)
	w.WriteString(">")
}

func controlLabel(w *bytes.Buffer, n *core.Node, id string) {
	w.WriteString(`<label for="`)
	esc(w, id)
	w.WriteString(`">`)
	esc(w, n.Label)
	if n.Required {
		w.WriteString(` <span class="form-required" title="required">*</span>`)
	}
	w.WriteString("</label>")
}

func controlFlags(w *bytes.Buffer, n *core.Node) {
	if n.Required {
		w.WriteString(" required")
	}
	if n.Disabled {
		w.WriteString(" disabled")
	}
}

func controlAria(w *bytes.Buffer, n *core.Node, id string) {
	if n.Error != "" {
		w.WriteString(` aria-invalid="true"`)
	}
	if n.Description != "" || n.Error != "" {
		w.WriteString(` aria-describedby="`)
		esc(w, id)
		w.WriteString(`--description"`)
	}
}

func controlDescription(w *bytes.Buffer, n *core.Node, id string) {
	if n.Description == "" && n.Error == "" {
		return
	}
	w.WriteString(`<div class="form-description" id="`)
	esc(w, id)
	w.WriteString(`--description">`)
	if n.Error != "" {
		w.WriteString(`<strong class="form-error">`)
		esc(w, n.Error)
		w.WriteString("</strong> ")
	}
	esc(w, n.Description)
	w.WriteString("</div>")
}

func controlID(n *core.Node) string { return Element{Node: n}.ControlID() }

func nativeInput(_ *Renderer, w *bytes.Buffer, n *core.Node) error {
	id := controlID(n)
	controlOpen(w, n, "form-item")
	controlLabel(w, n, id)
	w.WriteString(`<input type="`)
	esc(w, or(n.InputType, "text"))
	w.WriteString(`" id="`)
	esc(w, id)
	w.WriteString(`" name="`)
	esc(w, n.Name)
	w.WriteString(`"`)
	if n.Value != "" {
		w.WriteString(` value="`)
		esc(w, n.Value)
		w.WriteString(`"`)
	}
	if n.Placeholder != "" {
		w.WriteString(` placeholder="`)
		esc(w, n.Placeholder)
		w.WriteString(`"`)
	}
	controlFlags(w, n)
	if n.MaxLength != 0 {
		w.WriteString(` maxlength="` + strconv.Itoa(n.MaxLength) + `"`)
	}
	controlAria(w, n, id)
	raw(w, inputAttributes(n))
	w.WriteString(">")
	controlDescription(w, n, id)
	w.WriteString("</div>")
	return nil
}

func nativeTextarea(_ *Renderer, w *bytes.Buffer, n *core.Node) error {
	id := controlID(n)
	controlOpen(w, n, "form-item")
	controlLabel(w, n, id)
	w.WriteString(`<textarea id="`)
	esc(w, id)
	w.WriteString(`" name="`)
	esc(w, n.Name)
	rows := n.Rows
	if rows == 0 {
		rows = 5
	}
	w.WriteString(`" rows="` + strconv.Itoa(rows) + `"`)
	if n.Placeholder != "" {
		w.WriteString(` placeholder="`)
		esc(w, n.Placeholder)
		w.WriteString(`"`)
	}
	controlFlags(w, n)
	if n.MaxLength != 0 {
		w.WriteString(` maxlength="` + strconv.Itoa(n.MaxLength) + `"`)
	}
	controlAria(w, n, id)
	w.WriteString(">")
	esc(w, n.Value)
	w.WriteString("</textarea>")
	controlDescription(w, n, id)
	w.WriteString("</div>")
	return nil
}

func nativeSelect(_ *Renderer, w *bytes.Buffer, n *core.Node) error {
	id := controlID(n)
	controlOpen(w, n, "form-item")
	controlLabel(w, n, id)
	w.WriteString(`<select id="`)
	esc(w, id)
	w.WriteString(`" name="`)
	esc(w, n.Name)
	w.WriteString(`"`)
	if n.Multiple {
		w.WriteString(" multiple")
	}
	controlFlags(w, n)
	controlAria(w, n, id)
	w.WriteString(">")
	for _, o := range n.Options {
		w.WriteString(`<option value="`)
		esc(w, o.Value)
		w.WriteString(`"`)
		if o.Selected {
			w.WriteString(" selected")
		}
		w.WriteString(">")
		esc(w, o.Label)
		w.WriteString("</option>")
	}
	w.WriteString("</select>")
	controlDescription(w, n, id)
	w.WriteString("</div>")
	return nil
}

func nativeCheckbox(_ *Renderer, w *bytes.Buffer, n *core.Node) error {
	id := controlID(n)
	controlOpen(w, n, "form-item", "form-item--checkbox")
	w.WriteString(`<input type="checkbox" id="`)
	esc(w, id)
	w.WriteString(`" name="`)
	esc(w, n.Name)
	w.WriteString(`" value="`)
	esc(w, or(n.Value, "1"))
	w.WriteString(`"`)
	if n.Checked {
		w.WriteString(" checked")
	}
	controlFlags(w, n)
	controlAria(w, n, id)
	w.WriteString(">")
	controlLabel(w, n, id)
	controlDescription(w, n, id)
	w.WriteString("</div>")
	return nil
}

func nativeButton(_ *Renderer, w *bytes.Buffer, n *core.Node) error {
	w.WriteString(`<button type="`)
	esc(w, or(n.ButtonType, "submit"))
	w.WriteString(`"`)
	if n.Name != "" {
		w.WriteString(` name="`)
		esc(w, n.Name)
		w.WriteString(`"`)
	}
	if n.Value != "" {
		w.WriteString(` value="`)
		esc(w, n.Value)
		w.WriteString(`"`)
	}
	if n.Disabled {
		w.WriteString(" disabled")
	}
	attrs(w, n, "button")
	w.WriteString(">")
	esc(w, n.Text)
	w.WriteString("</button>")
	return nil
}

func nativeFieldset(r *Renderer, w *bytes.Buffer, n *core.Node) error {
	w.WriteString("<fieldset")
	attrs(w, n)
	w.WriteString("><legend>")
	esc(w, n.Label)
	w.WriteString("</legend>")
	if n.Description != "" {
		w.WriteString(`<div class="form-description">`)
		esc(w, n.Description)
		w.WriteString("</div>")
	}
	if err := content(r, w, n); err != nil {
		return err
	}
	w.WriteString("</fieldset>")
	return nil
}

func nativeHidden(_ *Renderer, w *bytes.Buffer, n *core.Node) error {
	w.WriteString(`<input type="hidden" name="`)
	esc(w, n.Name)
	w.WriteString(`" value="`)
	esc(w, n.Value)
	w.WriteString(`">`)
	return nil
}
