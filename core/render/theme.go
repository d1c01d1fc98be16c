package render

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"

	"github.com/trovato/trovato/core"
)

//go:embed themes/default
var defaultTheme embed.FS

// DefaultTheme returns the embedded default theme: templates/ and assets/.
func DefaultTheme() fs.FS {
	sub, err := fs.Sub(defaultTheme, "themes/default")
	if err != nil {
		panic(err) // the embedded path is fixed at build time
	}
	return sub
}

// ElementTypes lists every render tree element type; a theme (with its
// Base) must have an element--TYPE.html template for each.
var ElementTypes = []string{
	core.ElemContainer, core.ElemHeading, core.ElemParagraph, core.ElemText, core.ElemLink,
	core.ElemImage, core.ElemFigure, core.ElemList, core.ElemTable, core.ElemDetails,
	core.ElemBlockquote, core.ElemCode, core.ElemTime, core.ElemIsland,
	core.ElemForm, core.ElemInput, core.ElemTextarea, core.ElemSelect, core.ElemCheckbox,
	core.ElemButton, core.ElemFieldset, core.ElemHidden,
}

// TemplateError is a theme template that does not parse or escape,
// with the file and line it was found at.
type TemplateError struct {
	File    string // path inside the theme, for example templates/page.html
	Line    int    // 0 when unknown
	Message string
}

func (e *TemplateError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return e.File + ": " + e.Message
}

var (
	reParseErr = regexp.MustCompile(`^template: ([^:]+):(\d+):(?:\d+:)? ?(.*)$`)
	reExecErr  = regexp.MustCompile(`^template: ([^:]+):(\d+):\d+: (executing .*)$`)
	// reThemeExecErr matches text/template execution errors that come
	// from the template itself, whatever the data.
	reThemeExecErr = regexp.MustCompile(`can't evaluate field|wrong number of args|wrong type for value|is not a method|not defined|expected \w+; found`)
)

// isThemeError tells mistakes in a template (escaping errors, fields and
// methods that do not exist, wrong arguments) from errors that depend on
// the data it was executed with.
func isThemeError(err error) bool {
	var he *template.Error
	if errors.As(err, &he) {
		return true
	}
	return reThemeExecErr.MatchString(err.Error())
}

// templateError turns a text/template or html/template error into a
// *TemplateError naming the file and line.
func templateError(name string, err error) error {
	var he *template.Error
	if errors.As(err, &he) {
		file := he.Name
		if file == "" {
			file = name
		}
		line := he.Line
		if line == 0 && he.Node != nil {
			// ErrorContext gives "name:line:col" for the node.
			loc, _ := (*parse.Tree)(nil).ErrorContext(he.Node)
			if parts := strings.Split(loc, ":"); len(parts) >= 3 {
				line, _ = strconv.Atoi(parts[len(parts)-2])
			}
		}
		return &TemplateError{File: "templates/" + file, Line: line, Message: he.Description}
	}
	msg := err.Error()
	if m := reExecErr.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[2])
		return &TemplateError{File: "templates/" + m[1], Line: line, Message: m[3]}
	}
	if m := reParseErr.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[2])
		// text/template names the template, which is the file name;
		// strip a second "name:line:" prefix some messages repeat.
		return &TemplateError{File: "templates/" + m[1], Line: line, Message: strings.TrimSpace(m[3])}
	}
	return &TemplateError{File: "templates/" + name, Message: msg}
}

// loadTemplates parses templates/*.html of every layer, the first layer
// that has a file winning, and escapes every template once so that
// escaping errors surface now rather than on a visitor's request.
func (r *Renderer) loadTemplates(layers []fs.FS) error {
	files := map[string]fs.FS{}
	for _, layer := range layers {
		entries, err := fs.ReadDir(layer, "templates")
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return fmt.Errorf("read theme templates: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() || path.Ext(e.Name()) != ".html" {
				continue
			}
			if _, ok := files[e.Name()]; !ok {
				files[e.Name()] = layer
			}
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)

	root := template.New("").Option("missingkey=error")
	r.names = make(map[string]bool, len(names))
	for _, name := range names {
		src, err := fs.ReadFile(files[name], "templates/"+name)
		if err != nil {
			return fmt.Errorf("read theme template %s: %w", name, err)
		}
		if _, err := root.New(name).Parse(string(src)); err != nil {
			return templateError(name, err)
		}
		r.names[name] = true
	}
	var missing []string
	for _, typ := range ElementTypes {
		if !r.names["element--"+typ+".html"] {
			missing = append(missing, "templates/element--"+typ+".html")
		}
	}
	if !r.names["page.html"] {
		missing = append(missing, "templates/page.html")
	}
	if len(missing) > 0 {
		return core.Errorf(core.EInvalid, "theme lacks %s", strings.Join(missing, ", "))
	}
	r.tmpl = root
	r.native = nativeTypes(files)
	for _, name := range names {
		// Executing each template once with sample data escapes it (and
		// the templates it calls) and finds references to fields and
		// methods that do not exist, so that such errors surface when the
		// theme is loaded rather than on a visitor's request.
		var data any
		if strings.HasPrefix(name, "page") {
			data = &PageView{Page: Page{Title: "Sample", SiteName: "Sample", Lang: "en", Dir: "ltr"}, r: r, regions: map[string]template.HTML{}}
		} else {
			typ := strings.TrimSuffix(strings.TrimPrefix(name, "element--"), ".html")
			sample, ok := sampleNodes()[typ]
			if !ok {
				sample = sampleNodes()[core.ElemContainer]
			}
			data = Element{Node: &sample, r: r}
		}
		if err := root.ExecuteTemplate(io.Discard, name, data); err != nil && isThemeError(err) {
			return templateError(name, err)
		}
	}
	return nil
}

// nativeTypes lists the element types whose template, and the partials it
// may call, are the default theme's own, byte for byte.
func nativeTypes(files map[string]fs.FS) map[string]bool {
	def := DefaultTheme()
	same := func(name string) bool {
		layer, ok := files[name]
		if !ok {
			return false
		}
		got, err1 := fs.ReadFile(layer, "templates/"+name)
		want, err2 := fs.ReadFile(def, "templates/"+name)
		return err1 == nil && err2 == nil && string(got) == string(want)
	}
	native := map[string]bool{}
	if !same("partials.html") {
		native[nativePageKey] = same("page.html")
		return native
	}
	for _, typ := range ElementTypes {
		native[typ] = nativeElement(typ) != nil && same("element--"+typ+".html")
	}
	native[nativePageKey] = same("page.html")
	return native
}

// sampleNodes are valid nodes of every element type, executed through the
// templates when a theme is loaded.
func sampleNodes() map[string]core.Node {
	text := core.Node{Type: core.ElemText, Text: "Sample"}
	return map[string]core.Node{
		core.ElemContainer:  {Type: core.ElemContainer, Children: []core.Node{text}},
		core.ElemHeading:    {Type: core.ElemHeading, Level: 2, Text: "Sample"},
		core.ElemParagraph:  {Type: core.ElemParagraph, Text: "Sample"},
		core.ElemText:       text,
		core.ElemLink:       {Type: core.ElemLink, Href: "/", Text: "Sample"},
		core.ElemImage:      {Type: core.ElemImage, Src: "/sample.png", Alt: "Sample", Width: 1, Height: 1},
		core.ElemFigure:     {Type: core.ElemFigure, Caption: "Sample", Children: []core.Node{text}},
		core.ElemList:       {Type: core.ElemList, Items: []core.Node{text}},
		core.ElemTable:      {Type: core.ElemTable, Caption: "Sample", Head: []core.Row{{Cells: []core.Cell{{Header: true, Text: "a"}}}}, Body: []core.Row{{Cells: []core.Cell{{Text: "b", Colspan: 2}}}}},
		core.ElemDetails:    {Type: core.ElemDetails, Summary: "Sample", Children: []core.Node{text}},
		core.ElemBlockquote: {Type: core.ElemBlockquote, Text: "Sample", Cite: "/"},
		core.ElemCode:       {Type: core.ElemCode, Text: "Sample", Language: "go"},
		core.ElemTime:       {Type: core.ElemTime, Datetime: "2026-01-01", Text: "Sample"},
		core.ElemIsland:     {Type: core.ElemIsland, Name: "sample", Href: "/", Text: "Sample"},
		core.ElemForm:       {Type: core.ElemForm, Action: "/", Children: []core.Node{text}},
		core.ElemInput:      {Type: core.ElemInput, Name: "s", Label: "Sample", Error: "e", Description: "d", Required: true},
		core.ElemTextarea:   {Type: core.ElemTextarea, Name: "s", Label: "Sample", Error: "e", Description: "d", Required: true},
		core.ElemSelect:     {Type: core.ElemSelect, Name: "s", Label: "Sample", Options: []core.Option{{Value: "a", Label: "A", Selected: true}}, Error: "e"},
		core.ElemCheckbox:   {Type: core.ElemCheckbox, Name: "s", Label: "Sample", Checked: true, Error: "e", Description: "d"},
		core.ElemButton:     {Type: core.ElemButton, Text: "Sample", Name: "s", Value: "v"},
		core.ElemFieldset:   {Type: core.ElemFieldset, Label: "Sample", Description: "d", Children: []core.Node{text}},
		core.ElemHidden:     {Type: core.ElemHidden, Name: "s", Value: "v"},
	}
}
