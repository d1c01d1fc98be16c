package sdk

import (
	"fmt"
	"strconv"
)

// Node is one element of a render tree (docs/render-tree.md). Only the
// kernel turns trees into HTML; a plugin cannot emit raw HTML.
type Node struct {
	Type        string
	Weight      int
	Attrs       []Attr // HTML attributes from the allow-list, unique keys
	Suggestions []string
	Children    []Node

	Text     string
	Format   string
	Level    int
	Tag      string
	Href     string
	Src      string
	Alt      string
	Width    int
	Height   int
	Caption  string
	Summary  string
	Open     bool
	Ordered  bool
	Items    []Node
	Head     []Row
	Body     []Row
	Language string
	Inline   bool
	Datetime string
	Cite     string

	// Form fields, for form_alter.
	Name        string
	Label       string
	Description string
	Error       string
	Action      string
	Method      string
	InputType   string
	ButtonType  string
	Value       string
	Placeholder string
	Required    bool
	Disabled    bool
	Checked     bool
	Multiple    bool
	Options     []Option
	Rows        int
	MaxLength   int
}

// Attr is one attribute of a node. A slice, not a map: maps are costly
// under WebAssembly and nodes rarely have more than two attributes.
type Attr struct{ Key, Value string }

// Attr returns the value of attribute k ("" if unset).
func (n *Node) Attr(k string) string {
	for _, a := range n.Attrs {
		if a.Key == k {
			return a.Value
		}
	}
	return ""
}

// Row is one table row.
type Row struct{ Cells []Cell }

// Cell is one table cell: Text or Children.
type Cell struct {
	Header   bool
	Scope    string
	Colspan  int
	Rowspan  int
	Text     string
	Children []Node
}

// Option is one choice of a select element.
type Option struct {
	Value, Label string
	Selected     bool
}

// Builders for the common elements.

// Container groups children (a div, or Tag such as "section", "nav").
func Container(children ...Node) Node { return Node{Type: "container", Children: children} }

// Heading is an h1-h6.
func Heading(level int, text string) Node { return Node{Type: "heading", Level: level, Text: text} }

// Paragraph holds inline children.
func Paragraph(children ...Node) Node { return Node{Type: "paragraph", Children: children} }

// Text is plain text.
func Text(s string) Node { return Node{Type: "text", Text: s} }

// FormattedText is text in a text format (plain, markdown, filtered_html)
// that the kernel renders and sanitizes.
func FormattedText(s, format string) Node { return Node{Type: "text", Text: s, Format: format} }

// Link is a hyperlink with text.
func Link(href, text string) Node { return Node{Type: "link", Href: href, Text: text} }

// Image is an image with alternative text.
func Image(src, alt string) Node { return Node{Type: "image", Src: src, Alt: alt} }

// List is a list of items (each usually a container or text).
func List(ordered bool, items ...Node) Node {
	return Node{Type: "list", Ordered: ordered, Items: items}
}

// Time is a machine-readable date with display text.
func Time(datetime, text string) Node { return Node{Type: "time", Datetime: datetime, Text: text} }

// Code is a code block (or inline code).
func Code(text, language string) Node { return Node{Type: "code", Text: text, Language: language} }

// Blockquote quotes children.
func Blockquote(children ...Node) Node { return Node{Type: "blockquote", Children: children} }

// Details is a disclosure widget.
func Details(summary string, children ...Node) Node {
	return Node{Type: "details", Summary: summary, Children: children}
}

// Island is a part that stays dynamic on a static site, filled from
// /_island/{name}; href and text are the link shown without script.
func Island(name, href, text string) Node {
	return Node{Type: "island", Name: name, Href: href, Text: text}
}

// WithWeight returns n with a weight (lower sorts first among siblings).
func (n Node) WithWeight(w int) Node { n.Weight = w; return n }

// WithAttr returns n with an attribute set.
func (n Node) WithAttr(k, v string) Node {
	attrs := make([]Attr, 0, len(n.Attrs)+1)
	for _, a := range n.Attrs {
		if a.Key != k {
			attrs = append(attrs, a)
		}
	}
	n.Attrs = append(attrs, Attr{k, v})
	return n
}

// WithClass returns n with a class attribute.
func (n Node) WithClass(class string) Node { return n.WithAttr("class", class) }

// WithTag returns n with an element tag (for containers: section, nav...).
func (n Node) WithTag(tag string) Node { n.Tag = tag; return n }

// Append returns n with more children.
func (n Node) Append(children ...Node) Node {
	n.Children = append(n.Children[:len(n.Children):len(n.Children)], children...)
	return n
}

// WriteJSON writes the node (omitting empty fields). The checks are
// written out field by field: under WebAssembly a function call per field
// costs more than the rest of the encoding.
func (n *Node) WriteJSON(w *Writer) {
	w.BeginObject()
	w.rawKey(`"type":`)
	w.String(n.Type)
	if n.Weight != 0 {
		w.intField(`"weight":`, n.Weight)
	}
	if len(n.Attrs) > 0 {
		writeAttrs(w, n.Attrs)
	}
	if len(n.Suggestions) > 0 {
		w.rawKey(`"suggestions":`)
		w.Any(n.Suggestions)
	}
	if n.Text != "" {
		w.strField(`"text":`, n.Text)
	}
	if n.Format != "" {
		w.strField(`"format":`, n.Format)
	}
	if n.Level != 0 {
		w.intField(`"level":`, n.Level)
	}
	if n.Tag != "" {
		w.strField(`"tag":`, n.Tag)
	}
	if n.Href != "" {
		w.strField(`"href":`, n.Href)
	}
	if n.Src != "" {
		w.strField(`"src":`, n.Src)
	}
	if n.Alt != "" {
		w.strField(`"alt":`, n.Alt)
	}
	if n.Width != 0 {
		w.intField(`"width":`, n.Width)
	}
	if n.Height != 0 {
		w.intField(`"height":`, n.Height)
	}
	if n.Caption != "" {
		w.strField(`"caption":`, n.Caption)
	}
	if n.Summary != "" {
		w.strField(`"summary":`, n.Summary)
	}
	if n.Open {
		w.trueField(`"open":`)
	}
	if n.Ordered {
		w.trueField(`"ordered":`)
	}
	if n.Language != "" {
		w.strField(`"language":`, n.Language)
	}
	if n.Inline {
		w.trueField(`"inline":`)
	}
	if n.Datetime != "" {
		w.strField(`"datetime":`, n.Datetime)
	}
	if n.Cite != "" {
		w.strField(`"cite":`, n.Cite)
	}
	if n.Name != "" {
		w.strField(`"name":`, n.Name)
	}
	if n.Label != "" {
		w.strField(`"label":`, n.Label)
	}
	if n.Description != "" {
		w.strField(`"description":`, n.Description)
	}
	if n.Error != "" {
		w.strField(`"error":`, n.Error)
	}
	if n.Action != "" {
		w.strField(`"action":`, n.Action)
	}
	if n.Method != "" {
		w.strField(`"method":`, n.Method)
	}
	if n.InputType != "" {
		w.strField(`"input_type":`, n.InputType)
	}
	if n.ButtonType != "" {
		w.strField(`"button_type":`, n.ButtonType)
	}
	if n.Value != "" {
		w.strField(`"value":`, n.Value)
	}
	if n.Placeholder != "" {
		w.strField(`"placeholder":`, n.Placeholder)
	}
	if n.Required {
		w.trueField(`"required":`)
	}
	if n.Disabled {
		w.trueField(`"disabled":`)
	}
	if n.Checked {
		w.trueField(`"checked":`)
	}
	if n.Multiple {
		w.trueField(`"multiple":`)
	}
	if len(n.Options) > 0 {
		writeOptions(w, n.Options)
	}
	if n.Rows != 0 {
		w.intField(`"rows":`, n.Rows)
	}
	if n.MaxLength != 0 {
		w.intField(`"max_length":`, n.MaxLength)
	}
	if len(n.Children) > 0 {
		writeNodes(w, `"children":`, n.Children)
	}
	if len(n.Items) > 0 {
		writeNodes(w, `"items":`, n.Items)
	}
	if len(n.Head) > 0 {
		writeRows(w, `"head":`, n.Head)
	}
	if len(n.Body) > 0 {
		writeRows(w, `"body":`, n.Body)
	}
	w.EndObject()
}

// The field writers take the key quoted, with its colon (`"text":`):
// keys of render trees need no escaping.

func (w *Writer) strField(qk, v string) {
	w.rawKey(qk)
	w.buf = appendQuoted(w.buf, v)
	w.comma = true
}

func (w *Writer) intField(qk string, v int) {
	w.rawKey(qk)
	w.buf = strconv.AppendInt(w.buf, int64(v), 10)
	w.comma = true
}

func (w *Writer) trueField(qk string) {
	w.rawKey(qk)
	w.buf = append(w.buf, "true"...)
	w.comma = true
}

func writeNodes(w *Writer, qk string, ns []Node) {
	w.rawKey(qk)
	w.BeginArray()
	for i := range ns {
		ns[i].WriteJSON(w)
	}
	w.EndArray()
}

func writeAttrs(w *Writer, attrs []Attr) {
	w.rawKey(`"attrs":`)
	w.BeginObject()
	for _, a := range attrs {
		w.Key(a.Key)
		w.String(a.Value)
	}
	w.EndObject()
}

func writeOptions(w *Writer, opts []Option) {
	w.rawKey(`"options":`)
	w.BeginArray()
	for _, o := range opts {
		w.BeginObject()
		w.strField(`"value":`, o.Value)
		w.strField(`"label":`, o.Label)
		if o.Selected {
			w.trueField(`"selected":`)
		}
		w.EndObject()
	}
	w.EndArray()
}

func writeRows(w *Writer, qk string, rs []Row) {
	w.rawKey(qk)
	w.BeginArray()
	for _, r := range rs {
		w.BeginObject()
		w.rawKey(`"cells":`)
		w.BeginArray()
		for _, c := range r.Cells {
			w.BeginObject()
			if c.Header {
				w.trueField(`"header":`)
			}
			if c.Scope != "" {
				w.strField(`"scope":`, c.Scope)
			}
			if c.Colspan != 0 {
				w.intField(`"colspan":`, c.Colspan)
			}
			if c.Rowspan != 0 {
				w.intField(`"rowspan":`, c.Rowspan)
			}
			if c.Text != "" {
				w.strField(`"text":`, c.Text)
			}
			if len(c.Children) > 0 {
				writeNodes(w, `"children":`, c.Children)
			}
			w.EndObject()
		}
		w.EndArray()
		w.EndObject()
	}
	w.EndArray()
}

// ParseNode decodes a render tree (for item_view_alter, form_alter,
// preprocess). Unknown keys are an error, as in the kernel's validator.
func ParseNode(v Value) (Node, error) { return parseNode(v, 0) }

func parseNode(v Value, depth int) (Node, error) {
	var n Node
	if depth > 64 {
		return n, fmt.Errorf("sdk: render tree too deep")
	}
	var err error
	nodes := func(val Value) []Node {
		if !val.Exists() {
			return nil
		}
		var out []Node
		if e := val.Elements(func(_ int, c Value) bool {
			var child Node
			child, err = parseNode(c, depth+1)
			out = append(out, child)
			return err == nil
		}); e != nil && err == nil {
			err = e
		}
		return out
	}
	rows := func(val Value) []Row {
		var out []Row
		val.Elements(func(_ int, rv Value) bool {
			var r Row
			rv.Get("cells").Elements(func(_ int, cv Value) bool {
				r.Cells = append(r.Cells, Cell{
					Header: cv.Get("header").Bool(), Scope: cv.Get("scope").String(),
					Colspan: int(cv.Get("colspan").Int()), Rowspan: int(cv.Get("rowspan").Int()),
					Text: cv.Get("text").String(), Children: nodes(cv.Get("children")),
				})
				return err == nil
			})
			out = append(out, r)
			return err == nil
		})
		return out
	}
	e := v.Members(func(k string, val Value) bool {
		switch k {
		case "type":
			n.Type = val.String()
		case "weight":
			n.Weight = int(val.Int())
		case "attrs":
			val.Members(func(ak string, av Value) bool { n.Attrs = append(n.Attrs, Attr{ak, av.String()}); return true })
		case "suggestions":
			n.Suggestions = val.Strings()
		case "children":
			n.Children = nodes(val)
		case "items":
			n.Items = nodes(val)
		case "head":
			n.Head = rows(val)
		case "body":
			n.Body = rows(val)
		case "text":
			n.Text = val.String()
		case "format":
			n.Format = val.String()
		case "level":
			n.Level = int(val.Int())
		case "tag":
			n.Tag = val.String()
		case "href":
			n.Href = val.String()
		case "src":
			n.Src = val.String()
		case "alt":
			n.Alt = val.String()
		case "width":
			n.Width = int(val.Int())
		case "height":
			n.Height = int(val.Int())
		case "caption":
			n.Caption = val.String()
		case "summary":
			n.Summary = val.String()
		case "open":
			n.Open = val.Bool()
		case "ordered":
			n.Ordered = val.Bool()
		case "language":
			n.Language = val.String()
		case "inline":
			n.Inline = val.Bool()
		case "datetime":
			n.Datetime = val.String()
		case "cite":
			n.Cite = val.String()
		case "name":
			n.Name = val.String()
		case "label":
			n.Label = val.String()
		case "description":
			n.Description = val.String()
		case "error":
			n.Error = val.String()
		case "action":
			n.Action = val.String()
		case "method":
			n.Method = val.String()
		case "input_type":
			n.InputType = val.String()
		case "button_type":
			n.ButtonType = val.String()
		case "value":
			n.Value = val.String()
		case "placeholder":
			n.Placeholder = val.String()
		case "required":
			n.Required = val.Bool()
		case "disabled":
			n.Disabled = val.Bool()
		case "checked":
			n.Checked = val.Bool()
		case "multiple":
			n.Multiple = val.Bool()
		case "options":
			val.Elements(func(_ int, ov Value) bool {
				n.Options = append(n.Options, Option{Value: ov.Get("value").String(), Label: ov.Get("label").String(), Selected: ov.Get("selected").Bool()})
				return true
			})
		case "rows":
			n.Rows = int(val.Int())
		case "max_length":
			n.MaxLength = int(val.Int())
		default:
			err = fmt.Errorf("sdk: render tree: unknown key %q", k)
		}
		return err == nil
	})
	if err == nil {
		err = e
	}
	if err == nil && n.Type == "" {
		err = fmt.Errorf("sdk: render tree: node without a type")
	}
	return n, err
}
