package sdk

import (
	"fmt"
	"sort"
)

// Node is one element of a render tree (docs/render-tree.md). Only the
// kernel turns trees into HTML; a plugin cannot emit raw HTML.
type Node struct {
	Type        string
	Weight      int
	Attrs       map[string]string
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
	attrs := make(map[string]string, len(n.Attrs)+1)
	for ak, av := range n.Attrs {
		attrs[ak] = av
	}
	attrs[k] = v
	n.Attrs = attrs
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

// WriteJSON writes the node (omitting empty fields).
func (n *Node) WriteJSON(w *Writer) {
	w.BeginObject()
	w.Key("type")
	w.String(n.Type)
	str := func(k, v string) {
		if v != "" {
			w.Key(k)
			w.String(v)
		}
	}
	num := func(k string, v int) {
		if v != 0 {
			w.Key(k)
			w.Int(int64(v))
		}
	}
	flag := func(k string, v bool) {
		if v {
			w.Key(k)
			w.Bool(true)
		}
	}
	nodes := func(k string, ns []Node) {
		if len(ns) > 0 {
			w.Key(k)
			w.BeginArray()
			for i := range ns {
				ns[i].WriteJSON(w)
			}
			w.EndArray()
		}
	}
	rows := func(k string, rs []Row) {
		if len(rs) == 0 {
			return
		}
		w.Key(k)
		w.BeginArray()
		for _, r := range rs {
			w.BeginObject()
			w.Key("cells")
			w.BeginArray()
			for _, c := range r.Cells {
				w.BeginObject()
				flag("header", c.Header)
				str("scope", c.Scope)
				num("colspan", c.Colspan)
				num("rowspan", c.Rowspan)
				str("text", c.Text)
				nodes("children", c.Children)
				w.EndObject()
			}
			w.EndArray()
			w.EndObject()
		}
		w.EndArray()
	}
	num("weight", n.Weight)
	if len(n.Attrs) > 0 {
		keys := make([]string, 0, len(n.Attrs))
		for k := range n.Attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w.Key("attrs")
		w.BeginObject()
		for _, k := range keys {
			w.Key(k)
			w.String(n.Attrs[k])
		}
		w.EndObject()
	}
	if len(n.Suggestions) > 0 {
		w.Key("suggestions")
		w.Any(n.Suggestions)
	}
	str("text", n.Text)
	str("format", n.Format)
	num("level", n.Level)
	str("tag", n.Tag)
	str("href", n.Href)
	str("src", n.Src)
	str("alt", n.Alt)
	num("width", n.Width)
	num("height", n.Height)
	str("caption", n.Caption)
	str("summary", n.Summary)
	flag("open", n.Open)
	flag("ordered", n.Ordered)
	str("language", n.Language)
	flag("inline", n.Inline)
	str("datetime", n.Datetime)
	str("cite", n.Cite)
	str("name", n.Name)
	str("label", n.Label)
	str("description", n.Description)
	str("error", n.Error)
	str("action", n.Action)
	str("method", n.Method)
	str("input_type", n.InputType)
	str("button_type", n.ButtonType)
	str("value", n.Value)
	str("placeholder", n.Placeholder)
	flag("required", n.Required)
	flag("disabled", n.Disabled)
	flag("checked", n.Checked)
	flag("multiple", n.Multiple)
	if len(n.Options) > 0 {
		w.Key("options")
		w.BeginArray()
		for _, o := range n.Options {
			w.BeginObject()
			w.Key("value")
			w.String(o.Value)
			w.Key("label")
			w.String(o.Label)
			flag("selected", o.Selected)
			w.EndObject()
		}
		w.EndArray()
	}
	num("rows", n.Rows)
	num("max_length", n.MaxLength)
	nodes("children", n.Children)
	nodes("items", n.Items)
	rows("head", n.Head)
	rows("body", n.Body)
	w.EndObject()
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
			n.Attrs = map[string]string{}
			val.Members(func(ak string, av Value) bool { n.Attrs[ak] = av.String(); return true })
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
