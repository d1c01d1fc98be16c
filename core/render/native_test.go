package render

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/trovato/trovato/core"
)

// templatesOnly returns a renderer over the default theme that executes
// every element template instead of its native twin.
func templatesOnly(tb testing.TB) *Renderer {
	tb.Helper()
	r := MustRenderer(tb)
	r.native = map[string]bool{}
	return r
}

// TestNativeMatchesTemplates requires the native renderers to write
// exactly what the default theme's templates write, for the golden cases,
// every element with and without optional fields, and every XSS vector.
func TestNativeMatchesTemplates(t *testing.T) {
	t.Parallel()
	native, tmpl := MustRenderer(t), templatesOnly(t)
	for _, typ := range append(slices.Clone(ElementTypes), nativePageKey) {
		if !native.native[typ] {
			t.Errorf("%s is not rendered natively with the default theme", typ)
		}
	}
	compare := func(t *testing.T, label string, n core.Node) {
		t.Helper()
		a, errA := native.node(&n)
		b, errB := tmpl.node(&n)
		if (errA == nil) != (errB == nil) || a != b {
			t.Fatalf("%s: native and template output differ\nnative:   %q (%v)\ntemplate: %q (%v)", label, a, errA, b, errB)
		}
	}
	cases := elementCases()
	// Every optional field flipped on a second variant of each case.
	for _, c := range elementCases() {
		n := c.node
		n.Attrs = map[string]string{"class": "x y", "id": "a1", "data-k": "v+1", "title": `"'<&>`}
		n.Error, n.Description = "", ""
		switch n.Type {
		case core.ElemInput, core.ElemTextarea, core.ElemSelect, core.ElemCheckbox:
			n.Error, n.Description, n.Required, n.Disabled = "Bad <value>", "Help & more", true, true
		case core.ElemText:
			n.Format = ""
		}
		cases = append(cases, elementCase{c.name + " with attributes", n})
	}
	for _, level := range []int{1, 2, 3, 4, 5, 6} {
		cases = append(cases, elementCase{"heading level", core.Node{Type: core.ElemHeading, Level: level, Text: "h"}})
	}
	for _, tag := range []string{"", "section", "article", "aside", "header", "footer", "nav"} {
		cases = append(cases, elementCase{"container " + tag, core.Node{Type: core.ElemContainer, Tag: tag, Children: []core.Node{txt("c")}}})
	}
	form := core.Node{Type: core.ElemForm, Children: []core.Node{
		{Type: core.ElemTextarea, Name: "b", Label: "B"},
		{Type: core.ElemCheckbox, Name: "c", Label: "C", Value: "yes", Error: "e"},
		{Type: core.ElemButton, Text: "x", ButtonType: "reset", Disabled: true},
		{Type: core.ElemFieldset, Label: "L", Children: []core.Node{{Type: core.ElemHidden, Name: "h"}}},
	}}
	cases = append(cases, elementCase{"form defaults", form})
	for _, c := range cases {
		compare(t, c.name, c.node)
	}

	comparePage := func(t *testing.T, label string, p Page) {
		t.Helper()
		var a, b bytes.Buffer
		errA := native.RenderPage(context.Background(), &a, p)
		errB := tmpl.RenderPage(context.Background(), &b, p)
		if (errA == nil) != (errB == nil) || a.String() != b.String() {
			t.Fatalf("page %s: native and template output differ\nnative:   %q (%v)\ntemplate: %q (%v)", label, a.String(), errA, b.String(), errB)
		}
	}
	comparePage(t, "article", articlePage())
	comparePage(t, "empty", Page{})
	comparePage(t, "canonical only", Page{CanonicalURL: "https://example.com/a b?c=d&e", Description: "d", SiteName: "s"})

	for i, v := range loadXSSVectors(t) {
		comparePage(t, fmt.Sprintf("vector %d", i), xssPage(v.Vector))
		for _, e := range xssEntries {
			if e.page {
				continue
			}
			// The entries build their trees from the vector; compare the
			// unvalidated renders, which reach every template branch.
			n := xssNode(e.name, v.Vector)
			if n == nil {
				continue
			}
			a, errA := native.node(n)
			b, errB := tmpl.node(n)
			if (errA == nil) != (errB == nil) || a != b {
				t.Fatalf("vector %d through %s: native and template output differ\nnative:   %q (%v)\ntemplate: %q (%v)", i, e.name, a, errA, b, errB)
			}
		}
	}
}
