package core

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Render tree element types. docs/render-tree.md describes each one.
const (
	ElemContainer  = "container"
	ElemHeading    = "heading"
	ElemParagraph  = "paragraph"
	ElemText       = "text"
	ElemLink       = "link"
	ElemImage      = "image"
	ElemFigure     = "figure"
	ElemList       = "list"
	ElemTable      = "table"
	ElemDetails    = "details"
	ElemBlockquote = "blockquote"
	ElemCode       = "code"
	ElemTime       = "time"
	ElemIsland     = "island"

	// Form elements: only kernel forms and form_alter may add them.
	ElemForm     = "form"
	ElemInput    = "input"
	ElemTextarea = "textarea"
	ElemSelect   = "select"
	ElemCheckbox = "checkbox"
	ElemButton   = "button"
	ElemFieldset = "fieldset"
	ElemHidden   = "hidden"
)

// FormatFullHTML is the text format only the kernel may use, for content
// whose author holds the full_html permission. A text element's format is
// otherwise plain, markdown or filtered_html.
const FormatFullHTML = "full_html"

// Limits of a render tree. TreeOptions may lower depth and node count.
const (
	DefaultMaxTreeDepth = 32
	DefaultMaxTreeNodes = 10000
	MaxTreeBytes        = 4 << 20   // encoded JSON accepted by DecodeTree
	MaxTreeTextBytes    = 512 << 10 // one text field
	MaxTreeStringBytes  = 2048      // any other string field (labels, alt, attribute values, ...)
	MaxTreeURLBytes     = 8192      // href, src, cite, action
	MaxTreeDataURLBytes = 256 << 10 // a data:image src
	MaxTreeAttrs        = 32        // attributes of one node
	maxTreeErrors       = 50
)

// Node is one element of a render tree, the JSON contract plugins and the
// kernel use to describe output. Type selects the element; which other
// fields an element accepts is fixed per type (docs/render-tree.md), and a
// field set on an element that does not take it is a validation error.
type Node struct {
	Type        string            `json:"type"`
	Weight      int               `json:"weight,omitempty"`
	Attrs       map[string]string `json:"attrs,omitempty"`
	Suggestions []string          `json:"suggestions,omitempty"`
	Children    []Node            `json:"children,omitempty"`

	Text     string `json:"text,omitempty"`
	Format   string `json:"format,omitempty"`
	IDPrefix string `json:"id_prefix,omitempty"`
	Level    int    `json:"level,omitempty"`
	Tag      string `json:"tag,omitempty"`
	Href     string `json:"href,omitempty"`
	Src      string `json:"src,omitempty"`
	Alt      string `json:"alt,omitempty"`
	Width    int    `json:"width,omitempty"`
	Height   int    `json:"height,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Summary  string `json:"summary,omitempty"`
	Open     bool   `json:"open,omitempty"`
	Ordered  bool   `json:"ordered,omitempty"`
	Items    []Node `json:"items,omitempty"`
	Head     []Row  `json:"head,omitempty"`
	Body     []Row  `json:"body,omitempty"`
	Language string `json:"language,omitempty"`
	Inline   bool   `json:"inline,omitempty"`
	Datetime string `json:"datetime,omitempty"`
	Cite     string `json:"cite,omitempty"`

	// Form fields.
	Name        string   `json:"name,omitempty"`
	Label       string   `json:"label,omitempty"`
	Description string   `json:"description,omitempty"`
	Error       string   `json:"error,omitempty"`
	Action      string   `json:"action,omitempty"`
	Method      string   `json:"method,omitempty"`
	InputType   string   `json:"input_type,omitempty"`
	ButtonType  string   `json:"button_type,omitempty"`
	Value       string   `json:"value,omitempty"`
	Placeholder string   `json:"placeholder,omitempty"`
	Required    bool     `json:"required,omitempty"`
	Disabled    bool     `json:"disabled,omitempty"`
	Checked     bool     `json:"checked,omitempty"`
	Multiple    bool     `json:"multiple,omitempty"`
	Options     []Option `json:"options,omitempty"`
	Rows        int      `json:"rows,omitempty"`
	MaxLength   int      `json:"max_length,omitempty"`
}

// Row is one row of a table element.
type Row struct {
	Cells []Cell `json:"cells"`
}

// Cell is one cell of a table row: either Text or Children. Header cells
// render as th, with Scope "col", "row", "colgroup" or "rowgroup".
type Cell struct {
	Header   bool   `json:"header,omitempty"`
	Scope    string `json:"scope,omitempty"`
	Colspan  int    `json:"colspan,omitempty"`
	Rowspan  int    `json:"rowspan,omitempty"`
	Text     string `json:"text,omitempty"`
	Children []Node `json:"children,omitempty"`
}

// Option is one choice of a select element.
type Option struct {
	Value    string `json:"value"`
	Label    string `json:"label"`
	Selected bool   `json:"selected,omitempty"`
}

// TreeOptions says what a tree may contain. The zero value is the policy
// for plugin output: no form elements, no full_html, default limits.
type TreeOptions struct {
	// AllowForms admits form elements; only kernel forms and the
	// form_alter tap set it.
	AllowForms bool
	// AllowFullHTML admits text in the full_html format; only the kernel
	// sets it, for content whose author holds the full_html permission.
	AllowFullHTML bool
	// MaxDepth and MaxNodes lower the defaults; zero or larger values
	// mean DefaultMaxTreeDepth and DefaultMaxTreeNodes.
	MaxDepth int
	MaxNodes int
}

func (o TreeOptions) maxDepth() int {
	if o.MaxDepth <= 0 || o.MaxDepth > DefaultMaxTreeDepth {
		return DefaultMaxTreeDepth
	}
	return o.MaxDepth
}

func (o TreeOptions) maxNodes() int {
	if o.MaxNodes <= 0 || o.MaxNodes > DefaultMaxTreeNodes {
		return DefaultMaxTreeNodes
	}
	return o.MaxNodes
}

// IsFormElement reports whether typ is one of the form element types.
func IsFormElement(typ string) bool {
	switch typ {
	case ElemForm, ElemInput, ElemTextarea, ElemSelect, ElemCheckbox, ElemButton, ElemFieldset, ElemHidden:
		return true
	}
	return false
}

// field bits: which optional fields an element type accepts.
type fieldSet uint64

const (
	fChildren fieldSet = 1 << iota
	fText
	fFormat
	fLevel
	fTag
	fHref
	fSrc
	fAlt
	fWidth
	fHeight
	fCaption
	fSummary
	fOpen
	fOrdered
	fItems
	fHead
	fBody
	fLanguage
	fInline
	fDatetime
	fCite
	fName
	fLabel
	fDescription
	fError
	fAction
	fMethod
	fInputType
	fButtonType
	fValue
	fPlaceholder
	fRequired
	fDisabled
	fChecked
	fMultiple
	fOptions
	fRows
	fMaxLength
	fIDPrefix
)

var fieldNames = []string{
	"children", "text", "format", "level", "tag", "href", "src", "alt", "width", "height",
	"caption", "summary", "open", "ordered", "items", "head", "body", "language", "inline",
	"datetime", "cite", "name", "label", "description", "error", "action", "method",
	"input_type", "button_type", "value", "placeholder", "required", "disabled", "checked",
	"multiple", "options", "rows", "max_length", "id_prefix",
}

const fControl = fName | fLabel | fDescription | fError | fRequired | fDisabled

var elementFields = map[string]fieldSet{
	ElemContainer:  fChildren | fTag,
	ElemHeading:    fChildren | fText | fLevel,
	ElemParagraph:  fChildren | fText,
	ElemText:       fText | fFormat | fIDPrefix,
	ElemLink:       fChildren | fText | fHref,
	ElemImage:      fSrc | fAlt | fWidth | fHeight,
	ElemFigure:     fChildren | fCaption,
	ElemList:       fItems | fOrdered,
	ElemTable:      fCaption | fHead | fBody,
	ElemDetails:    fChildren | fSummary | fOpen,
	ElemBlockquote: fChildren | fText | fCite,
	ElemCode:       fText | fLanguage | fInline,
	ElemTime:       fText | fDatetime,
	ElemIsland:     fName | fHref | fText,
	ElemForm:       fChildren | fAction | fMethod,
	ElemInput:      fControl | fInputType | fValue | fPlaceholder | fMaxLength,
	ElemTextarea:   fControl | fValue | fPlaceholder | fRows | fMaxLength,
	ElemSelect:     fControl | fOptions | fMultiple,
	ElemCheckbox:   fControl | fValue | fChecked,
	ElemButton:     fText | fName | fValue | fButtonType | fDisabled,
	ElemFieldset:   fChildren | fLabel | fDescription,
	ElemHidden:     fName | fValue,
}

func (n *Node) setFields() fieldSet {
	var s fieldSet
	set := func(b fieldSet, on bool) {
		if on {
			s |= b
		}
	}
	set(fChildren, len(n.Children) > 0)
	set(fText, n.Text != "")
	set(fFormat, n.Format != "")
	set(fLevel, n.Level != 0)
	set(fTag, n.Tag != "")
	set(fHref, n.Href != "")
	set(fSrc, n.Src != "")
	set(fAlt, n.Alt != "")
	set(fWidth, n.Width != 0)
	set(fHeight, n.Height != 0)
	set(fCaption, n.Caption != "")
	set(fSummary, n.Summary != "")
	set(fOpen, n.Open)
	set(fOrdered, n.Ordered)
	set(fItems, len(n.Items) > 0)
	set(fHead, len(n.Head) > 0)
	set(fBody, len(n.Body) > 0)
	set(fLanguage, n.Language != "")
	set(fInline, n.Inline)
	set(fDatetime, n.Datetime != "")
	set(fCite, n.Cite != "")
	set(fName, n.Name != "")
	set(fLabel, n.Label != "")
	set(fDescription, n.Description != "")
	set(fError, n.Error != "")
	set(fAction, n.Action != "")
	set(fMethod, n.Method != "")
	set(fInputType, n.InputType != "")
	set(fButtonType, n.ButtonType != "")
	set(fValue, n.Value != "")
	set(fPlaceholder, n.Placeholder != "")
	set(fRequired, n.Required)
	set(fDisabled, n.Disabled)
	set(fChecked, n.Checked)
	set(fMultiple, n.Multiple)
	set(fOptions, len(n.Options) > 0)
	set(fRows, n.Rows != 0)
	set(fMaxLength, n.MaxLength != 0)
	set(fIDPrefix, n.IDPrefix != "")
	return s
}

// IsPhrasing reports whether n renders as phrasing content (inline HTML),
// the only content headings, paragraphs, links and summaries may hold.
func (n *Node) IsPhrasing() bool {
	switch n.Type {
	case ElemText:
		return n.Format == ""
	case ElemLink, ElemImage, ElemTime:
		return true
	case ElemCode:
		return n.Inline
	}
	return false
}

// SortedNodes returns nodes ordered by weight; equal weights keep their
// order. The input slice is not modified.
func SortedNodes(nodes []Node) []Node {
	sorted := true
	for i := 1; i < len(nodes); i++ {
		if nodes[i].Weight < nodes[i-1].Weight {
			sorted = false
			break
		}
	}
	if sorted {
		return nodes
	}
	out := slices.Clone(nodes)
	slices.SortStableFunc(out, func(a, b Node) int { return a.Weight - b.Weight })
	return out
}

// ValidateTree checks n against the render tree schema and opts. It returns
// nil or an EInvalid *Error whose Fields name every problem found (up to a
// cap) with paths such as "children[2].children[0].href". Callers drop a
// tree that does not validate as a whole.
func ValidateTree(n Node, opts TreeOptions) error {
	v := treeValidator{opts: opts, maxDepth: opts.maxDepth(), maxNodes: opts.maxNodes()}
	v.node(&n, nil, 1, false)
	if len(v.errs) > 0 {
		return InvalidFields("invalid render tree", v.errs)
	}
	return nil
}

type treeValidator struct {
	opts     TreeOptions
	maxDepth int
	maxNodes int
	nodes    int
	errs     []FieldError
	full     bool
	slab     []treePath
	forms    int // forms enclosing the node being checked
}

func treeJoin(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// treePath is the path of a node, built as the validator descends and
// turned into a string only when an error is reported.
type treePath struct {
	parent *treePath
	field  string
	index  int
}

func (p *treePath) String() string {
	if p == nil {
		return ""
	}
	return treeJoin(p.parent.String(), p.field) + "[" + strconv.Itoa(p.index) + "]"
}

// f names a field of the node at p.
func (p *treePath) f(field string) fieldPath { return fieldPath{p, field} }

// path returns the path of element index of field under parent, from a
// slab so that validating a large tree costs a few allocations, not one
// per node.
func (v *treeValidator) path(parent *treePath, field string, index int) *treePath {
	if len(v.slab) == cap(v.slab) {
		v.slab = make([]treePath, 0, 128)
	}
	v.slab = append(v.slab, treePath{parent: parent, field: field, index: index})
	return &v.slab[len(v.slab)-1]
}

type fieldPath struct {
	node  *treePath
	field string
}

func (fp fieldPath) String() string {
	s := fp.node.String()
	if fp.field != "" {
		// Cloning keeps fp from leaking into the result, so the paths
		// of valid trees stay on the stack.
		s = treeJoin(s, strings.Clone(fp.field))
	}
	if s == "" {
		return "."
	}
	return s
}

func (v *treeValidator) fail(fp fieldPath, format string, args ...any) {
	if v.full {
		return
	}
	if len(v.errs) >= maxTreeErrors {
		v.full = true
		v.errs = append(v.errs, FieldError{Path: fp.String(), Message: "too many errors; the rest are not reported"})
		return
	}
	v.errs = append(v.errs, FieldError{Path: fp.String(), Message: fmt.Sprintf(format, args...)})
}

// node checks one node. phrasing says the parent admits phrasing content only.
func (v *treeValidator) node(n *Node, path *treePath, depth int, phrasing bool) {
	if v.full {
		return
	}
	v.nodes++
	if v.nodes == v.maxNodes+1 {
		v.fail(path.f(""), "tree has more than %d nodes", v.maxNodes)
		v.full = true
		return
	}
	if depth > v.maxDepth {
		v.fail(path.f(""), "tree is deeper than %d levels", v.maxDepth)
		return
	}
	allowed, ok := elementFields[n.Type]
	switch {
	case n.Type == "":
		v.fail(path.f("type"), "is required")
		return
	case !ok:
		v.fail(path.f("type"), "unknown element type %q", treeClip(n.Type))
		return
	case IsFormElement(n.Type) && !v.opts.AllowForms:
		v.fail(path.f("type"), "form element %q may only be added by kernel forms and form_alter", n.Type)
		return
	}
	if extra := n.setFields() &^ allowed; extra != 0 {
		for i, name := range fieldNames {
			if extra&(1<<i) != 0 {
				v.fail(path.f(name), "not allowed on a %s element", n.Type)
			}
		}
	}
	if n.Type == ElemForm {
		if v.forms > 0 {
			v.fail(path.f("type"), "a form cannot contain another form")
		}
		v.forms++
		defer func() { v.forms-- }()
	}
	if phrasing && !n.IsPhrasing() {
		v.fail(path.f("type"), "a %s element cannot appear here: only phrasing content (inline text, link, image, inline code, time) is allowed", describeNode(n))
	}
	v.attrs(n, path)
	v.suggestions(n, path)

	childPhrasing := false
	switch n.Type {
	case ElemContainer:
		v.oneOf(path.f("tag"), n.Tag, true, "div", "section", "article", "aside", "header", "footer", "nav")
	case ElemHeading:
		if n.Level < 1 || n.Level > 6 {
			v.fail(path.f("level"), "must be between 1 and 6")
		}
		v.textOrChildren(n, path)
		childPhrasing = true
	case ElemParagraph:
		v.textOrChildren(n, path)
		childPhrasing = true
	case ElemText:
		v.str(path.f("text"), n.Text, MaxTreeTextBytes, true)
		switch n.Format {
		case "", "plain", "markdown", "filtered_html":
		case FormatFullHTML:
			if !v.opts.AllowFullHTML {
				v.fail(path.f("format"), "full_html is only accepted from the kernel for trusted content")
			}
		default:
			v.fail(path.f("format"), "unknown format %q (use plain, markdown or filtered_html)", treeClip(n.Format))
		}
		if n.IDPrefix != "" && !ValidIDPrefix(n.IDPrefix) {
			v.fail(path.f("id_prefix"), "must be a lowercase letter, then up to 31 lowercase letters, digits or '-'")
		}
	case ElemLink:
		v.url(path.f("href"), n.Href, true, false)
		v.textOrChildren(n, path)
		childPhrasing = true
	case ElemImage:
		v.url(path.f("src"), n.Src, true, true)
		v.str(path.f("alt"), n.Alt, MaxTreeStringBytes, false)
		v.dimension(path.f("width"), n.Width)
		v.dimension(path.f("height"), n.Height)
	case ElemFigure:
		if len(n.Children) == 0 {
			v.fail(path.f("children"), "a figure needs content")
		}
		v.str(path.f("caption"), n.Caption, MaxTreeStringBytes, false)
	case ElemList:
		if len(n.Items) == 0 {
			v.fail(path.f("items"), "a list needs at least one item")
		}
		for i := range n.Items {
			v.node(&n.Items[i], v.path(path, "items", i), depth+1, false)
		}
	case ElemTable:
		v.str(path.f("caption"), n.Caption, MaxTreeStringBytes, false)
		if len(n.Head) == 0 && len(n.Body) == 0 {
			v.fail(path.f("body"), "a table needs at least one row")
		}
		v.rows(n.Head, path, "head", depth)
		v.rows(n.Body, path, "body", depth)
	case ElemDetails:
		if n.Summary == "" {
			v.fail(path.f("summary"), "is required")
		}
		v.str(path.f("summary"), n.Summary, MaxTreeStringBytes, false)
	case ElemBlockquote:
		if n.Text != "" && len(n.Children) > 0 {
			v.fail(path.f("text"), "use either text or children, not both")
		}
		v.str(path.f("text"), n.Text, MaxTreeTextBytes, true)
		if n.Cite != "" {
			v.url(path.f("cite"), n.Cite, false, false)
		}
	case ElemCode:
		if n.Text == "" {
			v.fail(path.f("text"), "is required")
		}
		v.str(path.f("text"), n.Text, MaxTreeTextBytes, true)
		if n.Language != "" && !validLanguage(n.Language) {
			v.fail(path.f("language"), "must be a short language name such as go or shell")
		}
	case ElemTime:
		if !validDatetime(n.Datetime) {
			v.fail(path.f("datetime"), "must be a date or time such as 2026-05-01 or 2026-05-01T10:00:00Z")
		}
		if n.Text == "" {
			v.fail(path.f("text"), "is required")
		}
		v.str(path.f("text"), n.Text, MaxTreeStringBytes, false)
	case ElemIsland:
		if !validIslandName(n.Name) {
			v.fail(path.f("name"), "must be lowercase letters, digits, '-' or '_'")
		}
		v.url(path.f("href"), n.Href, true, false)
		if n.Text == "" {
			v.fail(path.f("text"), "is required (the fallback link text)")
		}
		v.str(path.f("text"), n.Text, MaxTreeStringBytes, false)
	case ElemForm:
		if n.Action != "" {
			v.url(path.f("action"), n.Action, false, false)
		}
		v.oneOf(path.f("method"), n.Method, true, "get", "post")
	case ElemInput:
		v.control(n, path)
		v.oneOf(path.f("input_type"), n.InputType, true,
			"text", "email", "url", "search", "number", "password", "tel", "date", "datetime-local", "time")
		v.str(path.f("value"), n.Value, MaxTreeStringBytes, false)
		v.str(path.f("placeholder"), n.Placeholder, MaxTreeStringBytes, false)
		v.nonNegative(path.f("max_length"), n.MaxLength)
	case ElemTextarea:
		v.control(n, path)
		v.str(path.f("value"), n.Value, MaxTreeTextBytes, true)
		v.str(path.f("placeholder"), n.Placeholder, MaxTreeStringBytes, false)
		if n.Rows < 0 || n.Rows > 100 {
			v.fail(path.f("rows"), "must be between 1 and 100")
		}
		v.nonNegative(path.f("max_length"), n.MaxLength)
	case ElemSelect:
		v.control(n, path)
		if len(n.Options) == 0 {
			v.fail(path.f("options"), "a select needs at least one option")
		}
		if len(n.Options) > 1000 {
			v.fail(path.f("options"), "at most 1000 options")
		}
		for i, o := range n.Options {
			p := v.path(path, "options", i)
			v.str(p.f("value"), o.Value, MaxTreeStringBytes, false)
			v.str(p.f("label"), o.Label, MaxTreeStringBytes, false)
			if o.Label == "" {
				v.fail(p.f("label"), "is required")
			}
		}
	case ElemCheckbox:
		v.control(n, path)
		v.str(path.f("value"), n.Value, MaxTreeStringBytes, false)
	case ElemButton:
		if n.Text == "" {
			v.fail(path.f("text"), "is required")
		}
		v.str(path.f("text"), n.Text, MaxTreeStringBytes, false)
		if n.Name != "" && !validControlName(n.Name) {
			v.fail(path.f("name"), "must be letters, digits, '_', '-', '.', '[' or ']'")
		}
		v.str(path.f("value"), n.Value, MaxTreeStringBytes, false)
		v.oneOf(path.f("button_type"), n.ButtonType, true, "submit", "reset", "button")
	case ElemFieldset:
		if n.Label == "" {
			v.fail(path.f("label"), "is required (the legend)")
		}
		v.str(path.f("label"), n.Label, MaxTreeStringBytes, false)
		v.str(path.f("description"), n.Description, MaxTreeStringBytes, false)
	case ElemHidden:
		if !validControlName(n.Name) {
			v.fail(path.f("name"), "must be letters, digits, '_', '-', '.', '[' or ']'")
		}
		v.str(path.f("value"), n.Value, MaxTreeStringBytes, false)
	}

	if n.Type == ElemLink {
		for i := range n.Children {
			c := &n.Children[i]
			if c.Type == ElemLink || c.Type == ElemIsland || IsFormElement(c.Type) {
				v.fail((v.path(path, "children", i)).f("type"), "a link cannot contain a %s", c.Type)
			}
		}
	}
	for i := range n.Children {
		v.node(&n.Children[i], v.path(path, "children", i), depth+1, childPhrasing)
	}
}

func describeNode(n *Node) string {
	if n.Type == ElemText && n.Format != "" {
		return n.Format + " text"
	}
	if n.Type == ElemCode {
		return "block code"
	}
	return n.Type
}

func (v *treeValidator) textOrChildren(n *Node, path *treePath) {
	if n.Text == "" && len(n.Children) == 0 {
		v.fail(path.f("text"), "text or children is required")
	}
	if n.Text != "" && len(n.Children) > 0 {
		v.fail(path.f("text"), "use either text or children, not both")
	}
	v.str(path.f("text"), n.Text, MaxTreeTextBytes, true)
}

func (v *treeValidator) control(n *Node, path *treePath) {
	if !validControlName(n.Name) {
		v.fail(path.f("name"), "must be letters, digits, '_', '-', '.', '[' or ']'")
	}
	if n.Label == "" {
		v.fail(path.f("label"), "is required (every control needs an accessible label)")
	}
	v.str(path.f("label"), n.Label, MaxTreeStringBytes, false)
	v.str(path.f("description"), n.Description, MaxTreeStringBytes, false)
	v.str(path.f("error"), n.Error, MaxTreeStringBytes, false)
}

func (v *treeValidator) rows(rows []Row, path *treePath, field string, depth int) {
	if len(rows) > 5000 {
		v.fail(path.f(field), "at most 5000 rows")
		return
	}
	for i, r := range rows {
		rp := v.path(path, field, i)
		if len(r.Cells) == 0 {
			v.fail(rp.f("cells"), "a row needs at least one cell")
		}
		if len(r.Cells) > 100 {
			v.fail(rp.f("cells"), "at most 100 cells")
			continue
		}
		for j := range r.Cells {
			c := &r.Cells[j]
			cp := v.path(rp, "cells", j)
			if c.Text != "" && len(c.Children) > 0 {
				v.fail(cp.f("text"), "use either text or children, not both")
			}
			v.str(cp.f("text"), c.Text, MaxTreeTextBytes, true)
			if c.Scope != "" {
				if !c.Header {
					v.fail(cp.f("scope"), "only header cells take a scope")
				}
				v.oneOf(cp.f("scope"), c.Scope, true, "col", "row", "colgroup", "rowgroup")
			}
			if c.Colspan < 0 || c.Colspan > 1000 {
				v.fail(cp.f("colspan"), "must be between 1 and 1000")
			}
			if c.Rowspan < 0 || c.Rowspan > 65534 {
				v.fail(cp.f("rowspan"), "must be between 1 and 65534")
			}
			for k := range c.Children {
				v.node(&c.Children[k], v.path(cp, "children", k), depth+1, false)
			}
		}
	}
}

func (v *treeValidator) oneOf(path fieldPath, value string, optional bool, allowed ...string) {
	if value == "" && optional {
		return
	}
	if !slices.Contains(allowed, value) {
		v.fail(path, "must be one of %s", strings.Join(allowed, ", "))
	}
}

func (v *treeValidator) dimension(path fieldPath, d int) {
	if d < 0 || d > 20000 {
		v.fail(path, "must be between 1 and 20000")
	}
}

func (v *treeValidator) nonNegative(path fieldPath, d int) {
	if d < 0 {
		v.fail(path, "must not be negative")
	}
}

// str checks a string field: valid UTF-8, size, and no control characters
// (tab, newline and carriage return are admitted where multiline is true).
func (v *treeValidator) str(path fieldPath, s string, max int, multiline bool) {
	if len(s) > max {
		v.fail(path, "longer than %d bytes", max)
		return
	}
	if msg := checkTreeString(s, multiline); msg != "" {
		v.fail(path, "%s", msg)
	}
}

func checkTreeString(s string, multiline bool) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			if multiline && (r == '\n' || r == '\t' || r == '\r') {
				continue
			}
			return "contains a control character"
		}
	}
	return ""
}

func (v *treeValidator) url(path fieldPath, u string, required, image bool) {
	if u == "" {
		if required {
			v.fail(path, "is required")
		}
		return
	}
	if err := CheckURL(u, image); err != nil {
		v.fail(path, "%s", err.Error())
	}
}

// URL schemes a render tree may use; any other scheme is refused.
// Scheme-less (relative) URLs are always accepted.
var allowedSchemes = []string{"http", "https", "mailto", "tel"}

// CheckURL reports whether u may appear in an href, src, cite or action
// attribute: relative URLs and http, https, mailto and tel URLs; with
// image true also base64 data:image URLs of raster types (png, jpeg, gif,
// webp, avif; never svg). Control characters, whitespace at either end and
// backslashes are refused so that browsers cannot see a different scheme.
func CheckURL(u string, image bool) error {
	max := MaxTreeURLBytes
	if image && strings.HasPrefix(u, "data:") {
		max = MaxTreeDataURLBytes
	}
	switch {
	case u == "":
		return Errorf(EInvalid, "empty URL")
	case len(u) > max:
		return Errorf(EInvalid, "URL longer than %d bytes", max)
	case !utf8.ValidString(u):
		return Errorf(EInvalid, "URL is not valid UTF-8")
	case strings.TrimSpace(u) != u:
		return Errorf(EInvalid, "URL has surrounding whitespace")
	case strings.ContainsRune(u, '\\'):
		return Errorf(EInvalid, "URL contains a backslash")
	}
	for _, r := range u {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return Errorf(EInvalid, "URL contains a control character")
		}
	}
	scheme, ok := urlScheme(u)
	if !ok {
		return nil
	}
	scheme = strings.ToLower(scheme)
	if scheme == "data" && image {
		if validDataImage(u) {
			return nil
		}
		return Errorf(EInvalid, "data URLs must be base64 png, jpeg, gif, webp or avif images")
	}
	if !slices.Contains(allowedSchemes, scheme) {
		return Errorf(EInvalid, "URL scheme %q is not allowed (use http, https, mailto, tel or a relative URL)", treeClip(scheme))
	}
	return nil
}

func validDatetime(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, layout := range []string{
		time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02T15:04",
		"2006-01-02", "2006-01", "2006", "15:04", "15:04:05",
	} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// attributes a node may carry besides the data-* and aria-* families.
var plainAttrs = map[string]bool{"id": true, "class": true, "lang": true, "dir": true, "title": true, "role": true, "translate": true}

// InputAttrs are the attributes an input element carries on the input
// itself rather than on its wrapper (a honeypot field: tabindex="-1",
// autocomplete="off").
var InputAttrs = map[string]bool{"tabindex": true, "autocomplete": true}

// autocompleteTokens are the autocomplete values an input may carry.
var autocompleteTokens = map[string]bool{
	"off": true, "on": true, "name": true, "given-name": true, "family-name": true, "nickname": true,
	"email": true, "username": true, "new-password": true, "current-password": true, "url": true,
	"tel": true, "organization": true, "street-address": true, "postal-code": true, "country-name": true,
}

// relTokens are the link types a link's rel attribute may list.
var relTokens = map[string]bool{
	"nofollow": true, "noopener": true, "noreferrer": true, "ugc": true, "sponsored": true,
	"external": true, "author": true, "tag": true, "license": true, "me": true,
	"prev": true, "next": true, "bookmark": true, "help": true, "alternate": true,
}

// CheckAttr reports why attribute name=value may not appear on an element
// of type typ, or "" when it may. It is the one attribute allow-list of
// render trees, used by the validator and again by the renderer.
func CheckAttr(typ, name, value string) string {
	switch {
	case plainAttrs[name]:
	case name == "rel" && typ == ElemLink:
	case InputAttrs[name] && typ == ElemInput:
	case validDataAttr(name), validAriaAttr(name):
	default:
		return "attribute is not allowed (use id, class, lang, dir, title, role, translate, aria-*, data-*, rel on links, or tabindex and autocomplete on inputs)"
	}
	if len(value) > MaxTreeStringBytes {
		return fmt.Sprintf("longer than %d bytes", MaxTreeStringBytes)
	}
	if msg := checkTreeString(value, false); msg != "" {
		return msg
	}
	switch name {
	case "id":
		if !validTreeID(value) {
			return "must start with a letter and hold only letters, digits, '_', ':', '.' or '-'"
		}
	case "class":
		count := 0
		for t := range strings.FieldsSeq(value) {
			if count++; count > 32 {
				break
			}
			if !ValidClassName(t) {
				return fmt.Sprintf("class name %q must hold only letters, digits, '_' or '-'", treeClip(t))
			}
		}
		if count == 0 || count > 32 {
			return "must hold 1 to 32 class names"
		}
	case "lang":
		if !ValidLangTag(value) {
			return "must be a language tag such as en or pt-BR"
		}
	case "dir":
		if value != "ltr" && value != "rtl" && value != "auto" {
			return "must be ltr, rtl or auto"
		}
	case "translate":
		if value != "yes" && value != "no" {
			return "must be yes or no"
		}
	case "role":
		if !validRole(value) {
			return "must be one or more ARIA role names"
		}
	case "tabindex":
		if value != "-1" {
			return "must be -1 (out of the Tab order; the order itself follows the page)"
		}
	case "autocomplete":
		if !autocompleteTokens[value] {
			return "must be off, on, or one autofill field name such as name, email, url or tel"
		}
	case "rel":
		if strings.TrimSpace(value) == "" {
			return "must list at least one link type"
		}
		for t := range strings.FieldsSeq(value) {
			if !relTokens[strings.ToLower(t)] {
				return fmt.Sprintf("link type %q is not allowed", treeClip(t))
			}
		}
	}
	return ""
}

func (v *treeValidator) attrs(n *Node, path *treePath) {
	if len(n.Attrs) == 0 {
		return
	}
	if len(n.Attrs) > MaxTreeAttrs {
		v.fail(path.f("attrs"), "at most %d attributes", MaxTreeAttrs)
		return
	}
	names := make([]string, 0, len(n.Attrs))
	for k := range n.Attrs {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if msg := CheckAttr(n.Type, k, n.Attrs[k]); msg != "" {
			v.fail(path.f("attrs."+treeQuoteKey(k)), "%s", msg)
		}
	}
}

func treeQuoteKey(k string) string {
	if validSimpleKey(k) {
		return k
	}
	return strconv.Quote(treeClip(k))
}

func (v *treeValidator) suggestions(n *Node, path *treePath) {
	if len(n.Suggestions) > 8 {
		v.fail(path.f("suggestions"), "at most 8 suggestions")
		return
	}
	for i, s := range n.Suggestions {
		if len(s) > 128 || !validSuggestion(s) {
			v.fail((v.path(path, "suggestions", i)).f(""), "must look like item--article or item--article--teaser")
		}
	}
}

func treeClip(s string) string {
	if len(s) <= 64 {
		return s
	}
	i := 64
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// DecodeTree decodes a render tree from JSON strictly and validates it
// with opts. Invalid UTF-8, invalid JSON, unknown or mis-cased field
// names, values of the wrong JSON type, trailing data, nesting beyond the
// depth limit and input above MaxTreeBytes are errors; null is the zero
// value, as in encoding/json. Errors are *Error: ETooLarge for oversized
// input, EInvalid otherwise, with field paths where they can be named.
func DecodeTree(data []byte, opts TreeOptions) (Node, error) {
	n, err := decodeNode(data, opts.maxDepth())
	if err != nil {
		return Node{}, err
	}
	if err := ValidateTree(n, opts); err != nil {
		return Node{}, err
	}
	return n, nil
}

// decodeNode is the decoder of DecodeTree without validation. It is a
// small recursive-descent parser that fills Node directly: encoding/json
// matches keys regardless of case and spends most of its time in
// reflection, and a render tree crosses this function on every plugin
// call. FuzzDecodeNode holds it to encoding/json's results.
func decodeNode(data []byte, maxDepth int) (Node, error) {
	if len(data) > MaxTreeBytes {
		return Node{}, Errorf(ETooLarge, "render tree is larger than %d bytes", MaxTreeBytes)
	}
	if !utf8.Valid(data) {
		return Node{}, Errorf(EInvalid, "render tree is not valid UTF-8")
	}
	d := treeDecoder{data: data, maxDepth: maxDepth}
	var n Node
	d.ws()
	d.node(&n, nil, 1)
	if d.err == nil {
		d.ws()
		if d.pos < len(d.data) {
			d.syntax("data after the root node")
		}
	}
	if d.err != nil {
		return Node{}, d.err
	}
	return n, nil
}

type treeDecoder struct {
	data     []byte
	pos      int
	maxDepth int
	err      error
	slab     []treePath
}

func (d *treeDecoder) path(parent *treePath, field string, index int) *treePath {
	if len(d.slab) == cap(d.slab) {
		d.slab = make([]treePath, 0, 64)
	}
	d.slab = append(d.slab, treePath{parent: parent, field: field, index: index})
	return &d.slab[len(d.slab)-1]
}

// syntax records a JSON syntax error at the current offset.
func (d *treeDecoder) syntax(msg string) {
	if d.err != nil {
		return
	}
	if d.pos >= len(d.data) {
		d.err = Errorf(EInvalid, "render tree is not valid JSON: unexpected end of input")
		return
	}
	d.err = Errorf(EInvalid, "render tree is not valid JSON: %s at offset %d", msg, d.pos)
}

// wrong records a value of the wrong type (or an unknown field) at fp.
func (d *treeDecoder) wrong(fp fieldPath, msg string) {
	if d.err == nil {
		d.err = InvalidFields("invalid render tree", []FieldError{{Path: fp.String(), Message: msg}})
	}
}

func (d *treeDecoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *treeDecoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

// literal consumes null, true or false if it is next.
func (d *treeDecoder) literal(word string) bool {
	if len(d.data)-d.pos >= len(word) && string(d.data[d.pos:d.pos+len(word)]) == word {
		end := d.pos + len(word)
		if end == len(d.data) || !isJSONWordByte(d.data[end]) {
			d.pos = end
			return true
		}
	}
	return false
}

func isJSONWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// null consumes a null literal.
func (d *treeDecoder) null() bool { return d.peek() == 'n' && d.literal("null") }

// object parses an object, calling field for each key with the decoder
// positioned at the value; field must consume the value.
func (d *treeDecoder) object(field func(key string)) {
	d.pos++ // '{'
	d.ws()
	if d.peek() == '}' {
		d.pos++
		return
	}
	for d.err == nil {
		if d.peek() != '"' {
			d.syntax("expected a string key")
			return
		}
		key, ok := d.str()
		if !ok {
			return
		}
		d.ws()
		if d.peek() != ':' {
			d.syntax("expected ':' after a key")
			return
		}
		d.pos++
		d.ws()
		field(key)
		if d.err != nil {
			return
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.pos++
			d.ws()
		case '}':
			d.pos++
			return
		default:
			d.syntax("expected ',' or '}'")
			return
		}
	}
}

// array parses an array, calling elem for each element.
func (d *treeDecoder) array(elem func(i int)) {
	d.pos++ // '['
	d.ws()
	if d.peek() == ']' {
		d.pos++
		return
	}
	for i := 0; d.err == nil; i++ {
		elem(i)
		if d.err != nil {
			return
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.pos++
			d.ws()
		case ']':
			d.pos++
			return
		default:
			d.syntax("expected ',' or ']'")
			return
		}
	}
}

// str parses a string at its opening quote, unescaping as encoding/json
// does (lone surrogates become U+FFFD).
func (d *treeDecoder) str() (string, bool) {
	d.pos++ // '"'
	start := d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			s := string(d.data[start:d.pos])
			d.pos++
			return s, true
		case c == '\\':
			return d.strSlow(start)
		case c < 0x20:
			d.syntax("control character in string")
			return "", false
		}
		d.pos++
	}
	d.syntax("unterminated string")
	return "", false
}

func (d *treeDecoder) strSlow(start int) (string, bool) {
	b := append([]byte(nil), d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(b), true
		case c < 0x20:
			d.syntax("control character in string")
			return "", false
		case c != '\\':
			b = append(b, c)
			d.pos++
			continue
		}
		d.pos++ // '\\'
		if d.pos >= len(d.data) {
			break
		}
		e := d.data[d.pos]
		d.pos++
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				d.syntax("invalid \\u escape")
				return "", false
			}
			if utf16.IsSurrogate(r) {
				save := d.pos
				if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
					d.pos += 2
					if r2, ok := d.hex4(); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							b = utf8.AppendRune(b, dec)
							continue
						}
					}
				}
				d.pos = save
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
		default:
			d.pos--
			d.syntax("invalid escape in string")
			return "", false
		}
	}
	d.syntax("unterminated string")
	return "", false
}

func (d *treeDecoder) hex4() (rune, bool) {
	if len(d.data)-d.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	d.pos += 4
	return r, true
}

// skipNumber consumes a JSON number and reports whether it was an integer
// (no fraction or exponent) and its text.
func (d *treeDecoder) number() (text string, integer, ok bool) {
	start := d.pos
	if d.peek() == '-' {
		d.pos++
	}
	switch c := d.peek(); {
	case c == '0':
		d.pos++
	case c >= '1' && c <= '9':
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
		}
	default:
		d.syntax("invalid number")
		return "", false, false
	}
	integer = true
	if d.peek() == '.' {
		integer = false
		d.pos++
		if c := d.peek(); c < '0' || c > '9' {
			d.syntax("invalid number")
			return "", false, false
		}
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		integer = false
		d.pos++
		if c := d.peek(); c == '+' || c == '-' {
			d.pos++
		}
		if c := d.peek(); c < '0' || c > '9' {
			d.syntax("invalid number")
			return "", false, false
		}
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
		}
	}
	return string(d.data[start:d.pos]), integer, true
}

// skipValue consumes any JSON value of the wrong type so that a syntax
// error after it is still found first; the caller reports the type error.
func (d *treeDecoder) valueKind() string {
	switch c := d.peek(); {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "true or false"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	}
	return "a value"
}

// The typed value readers below leave the target unchanged for null,
// as encoding/json does.

func (d *treeDecoder) stringValue(dst *string, fp fieldPath) {
	switch c := d.peek(); {
	case c == '"':
		if s, ok := d.str(); ok {
			*dst = s
		}
	case d.null():
	default:
		d.typeError(fp, "a string")
	}
}

func (d *treeDecoder) intValue(dst *int, fp fieldPath) {
	switch c := d.peek(); {
	case c == '-' || c >= '0' && c <= '9':
		text, integer, ok := d.number()
		if !ok {
			return
		}
		v, err := strconv.Atoi(text)
		if !integer || err != nil {
			d.wrong(fp, "must be an integer")
			return
		}
		*dst = v
	case d.null():
	default:
		d.typeError(fp, "an integer")
	}
}

func (d *treeDecoder) boolValue(dst *bool, fp fieldPath) {
	switch {
	case d.literal("true"):
		*dst = true
	case d.literal("false"):
		*dst = false
	case d.null():
	default:
		d.typeError(fp, "true or false")
	}
}

// typeError reports a value of the wrong type, or a syntax error if the
// value is not JSON at all.
func (d *treeDecoder) typeError(fp fieldPath, want string) {
	switch c := d.peek(); {
	case c == '"' || c == '{' || c == '[' || c == '-' || c >= '0' && c <= '9' || d.literal("true") || d.literal("false"):
		d.wrong(fp, "must be "+want+", not "+d.valueKind())
	default:
		d.syntax("invalid value")
	}
}

// nodes parses an array of nodes (or null) into dst.
func (d *treeDecoder) nodes(dst *[]Node, parent *treePath, field string, depth int) {
	switch d.peek() {
	case '[':
		out := []Node{}
		d.array(func(i int) {
			out = append(out, Node{})
			d.node(&out[len(out)-1], d.path(parent, field, i), depth)
		})
		*dst = out
	default:
		if !d.null() {
			d.typeError(parent.f(field), "an array")
		}
	}
}

func (d *treeDecoder) node(n *Node, path *treePath, depth int) {
	if depth > d.maxDepth {
		d.wrong(path.f(""), fmt.Sprintf("tree is deeper than %d levels", d.maxDepth))
		return
	}
	if d.peek() != '{' {
		if !d.null() {
			d.typeError(path.f(""), "an object")
		}
		return
	}
	d.object(func(key string) {
		fp := path.f(key)
		switch key {
		case "type":
			d.stringValue(&n.Type, fp)
		case "weight":
			d.intValue(&n.Weight, fp)
		case "attrs":
			d.attrs(n, fp)
		case "suggestions":
			d.strings(&n.Suggestions, fp)
		case "children":
			d.nodes(&n.Children, path, "children", depth+1)
		case "items":
			d.nodes(&n.Items, path, "items", depth+1)
		case "head":
			d.rows(&n.Head, path, "head", depth)
		case "body":
			d.rows(&n.Body, path, "body", depth)
		case "options":
			d.options(&n.Options, path)
		case "text":
			d.stringValue(&n.Text, fp)
		case "format":
			d.stringValue(&n.Format, fp)
		case "id_prefix":
			d.stringValue(&n.IDPrefix, fp)
		case "level":
			d.intValue(&n.Level, fp)
		case "tag":
			d.stringValue(&n.Tag, fp)
		case "href":
			d.stringValue(&n.Href, fp)
		case "src":
			d.stringValue(&n.Src, fp)
		case "alt":
			d.stringValue(&n.Alt, fp)
		case "width":
			d.intValue(&n.Width, fp)
		case "height":
			d.intValue(&n.Height, fp)
		case "caption":
			d.stringValue(&n.Caption, fp)
		case "summary":
			d.stringValue(&n.Summary, fp)
		case "open":
			d.boolValue(&n.Open, fp)
		case "ordered":
			d.boolValue(&n.Ordered, fp)
		case "language":
			d.stringValue(&n.Language, fp)
		case "inline":
			d.boolValue(&n.Inline, fp)
		case "datetime":
			d.stringValue(&n.Datetime, fp)
		case "cite":
			d.stringValue(&n.Cite, fp)
		case "name":
			d.stringValue(&n.Name, fp)
		case "label":
			d.stringValue(&n.Label, fp)
		case "description":
			d.stringValue(&n.Description, fp)
		case "error":
			d.stringValue(&n.Error, fp)
		case "action":
			d.stringValue(&n.Action, fp)
		case "method":
			d.stringValue(&n.Method, fp)
		case "input_type":
			d.stringValue(&n.InputType, fp)
		case "button_type":
			d.stringValue(&n.ButtonType, fp)
		case "value":
			d.stringValue(&n.Value, fp)
		case "placeholder":
			d.stringValue(&n.Placeholder, fp)
		case "required":
			d.boolValue(&n.Required, fp)
		case "disabled":
			d.boolValue(&n.Disabled, fp)
		case "checked":
			d.boolValue(&n.Checked, fp)
		case "multiple":
			d.boolValue(&n.Multiple, fp)
		case "rows":
			d.intValue(&n.Rows, fp)
		case "max_length":
			d.intValue(&n.MaxLength, fp)
		default:
			d.wrong(path.f(treeQuoteKey(key)), "unknown field")
		}
	})
}

func (d *treeDecoder) attrs(n *Node, fp fieldPath) {
	switch d.peek() {
	case '{':
		if n.Attrs == nil {
			n.Attrs = map[string]string{}
		}
		d.object(func(key string) {
			v := n.Attrs[key]
			d.stringValue(&v, fieldPath{fp.node, fp.field + "." + treeQuoteKey(key)})
			n.Attrs[key] = v
		})
	default:
		if !d.null() {
			d.typeError(fp, "an object")
		}
	}
}

func (d *treeDecoder) strings(dst *[]string, fp fieldPath) {
	switch d.peek() {
	case '[':
		out := []string{}
		d.array(func(i int) {
			var s string
			d.stringValue(&s, fieldPath{fp.node, fp.field + "[" + strconv.Itoa(i) + "]"})
			out = append(out, s)
		})
		*dst = out
	default:
		if !d.null() {
			d.typeError(fp, "an array")
		}
	}
}

func (d *treeDecoder) rows(dst *[]Row, path *treePath, field string, depth int) {
	switch d.peek() {
	case '[':
		out := []Row{}
		d.array(func(i int) {
			out = append(out, Row{})
			r := &out[len(out)-1]
			rp := d.path(path, field, i)
			if d.peek() != '{' {
				if !d.null() {
					d.typeError(rp.f(""), "an object")
				}
				return
			}
			d.object(func(key string) {
				if key != "cells" {
					d.wrong(rp.f(treeQuoteKey(key)), "unknown field")
					return
				}
				d.cells(&r.Cells, rp, depth)
			})
		})
		*dst = out
	default:
		if !d.null() {
			d.typeError(path.f(field), "an array")
		}
	}
}

func (d *treeDecoder) cells(dst *[]Cell, rp *treePath, depth int) {
	switch d.peek() {
	case '[':
		out := []Cell{}
		d.array(func(i int) {
			out = append(out, Cell{})
			c := &out[len(out)-1]
			cp := d.path(rp, "cells", i)
			if d.peek() != '{' {
				if !d.null() {
					d.typeError(cp.f(""), "an object")
				}
				return
			}
			d.object(func(key string) {
				fp := cp.f(key)
				switch key {
				case "header":
					d.boolValue(&c.Header, fp)
				case "scope":
					d.stringValue(&c.Scope, fp)
				case "colspan":
					d.intValue(&c.Colspan, fp)
				case "rowspan":
					d.intValue(&c.Rowspan, fp)
				case "text":
					d.stringValue(&c.Text, fp)
				case "children":
					d.nodes(&c.Children, cp, "children", depth+1)
				default:
					d.wrong(cp.f(treeQuoteKey(key)), "unknown field")
				}
			})
		})
		*dst = out
	default:
		if !d.null() {
			d.typeError(rp.f("cells"), "an array")
		}
	}
}

func (d *treeDecoder) options(dst *[]Option, path *treePath) {
	switch d.peek() {
	case '[':
		out := []Option{}
		d.array(func(i int) {
			out = append(out, Option{})
			o := &out[len(out)-1]
			op := d.path(path, "options", i)
			if d.peek() != '{' {
				if !d.null() {
					d.typeError(op.f(""), "an object")
				}
				return
			}
			d.object(func(key string) {
				fp := op.f(key)
				switch key {
				case "value":
					d.stringValue(&o.Value, fp)
				case "label":
					d.stringValue(&o.Label, fp)
				case "selected":
					d.boolValue(&o.Selected, fp)
				default:
					d.wrong(op.f(treeQuoteKey(key)), "unknown field")
				}
			})
		})
		*dst = out
	default:
		if !d.null() {
			d.typeError(path.f("options"), "an array")
		}
	}
}
