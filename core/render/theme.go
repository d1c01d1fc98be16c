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

var reParseErr = regexp.MustCompile(`^template: ([^:]+):(\d+):(?:\d+:)? ?(.*)$`)

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
		// Executing with empty data escapes the template (and those it
		// calls); only escaping errors matter here, not the empty data.
		var data any = Element{Node: &core.Node{}, r: r}
		if strings.HasPrefix(name, "page") {
			data = &PageView{r: r}
		}
		err := root.ExecuteTemplate(io.Discard, name, data)
		var he *template.Error
		if errors.As(err, &he) {
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
		return native
	}
	for _, typ := range ElementTypes {
		native[typ] = nativeElement(typ) != nil && same("element--"+typ+".html")
	}
	return native
}
