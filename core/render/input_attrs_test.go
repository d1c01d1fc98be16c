package render

import (
	"regexp"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

// tabindex="-1" and autocomplete on a form input land on the input itself
// (not its wrapper), natively and through the theme template; other
// elements and other values are refused.
func TestInputTabindexAutocomplete(t *testing.T) {
	t.Parallel()
	n := core.Node{Type: core.ElemInput, InputType: "text", Name: "homepage", Label: "Leave this field empty",
		Attrs: map[string]string{"class": "trap", "tabindex": "-1", "autocomplete": "off"}}
	if err := core.ValidateTree(n, core.TreeOptions{AllowForms: true}); err != nil {
		t.Fatalf("ValidateTree: %v", err)
	}
	inputTag := regexp.MustCompile(`<input [^>]*>`)
	for name, r := range map[string]*Renderer{"native": MustRenderer(t), "template": templatesOnly(t)} {
		html, err := r.node(&n)
		out := string(html)
		if err != nil {
			t.Fatal(err)
		}
		in := inputTag.FindString(out)
		if !strings.Contains(in, ` tabindex="-1"`) || !strings.Contains(in, ` autocomplete="off"`) {
			t.Errorf("%s: input %q lacks tabindex/autocomplete (%s)", name, in, out)
		}
		if wrapper := out[:strings.Index(out, ">")]; strings.Contains(wrapper, "tabindex") || strings.Contains(wrapper, "autocomplete") || !strings.Contains(wrapper, "trap") {
			t.Errorf("%s: wrapper %q", name, wrapper)
		}
	}
	for _, tc := range []struct{ typ, name, value string }{
		{core.ElemInput, "tabindex", "0"},
		{core.ElemInput, "tabindex", "5"},
		{core.ElemInput, "autocomplete", "off on"},
		{core.ElemInput, "autocomplete", `x" onfocus="alert(1)`},
		{core.ElemParagraph, "tabindex", "-1"},
		{core.ElemContainer, "autocomplete", "off"},
		{core.ElemTextarea, "tabindex", "-1"},
	} {
		if msg := core.CheckAttr(tc.typ, tc.name, tc.value); msg == "" {
			t.Errorf("CheckAttr(%s, %s=%q) allowed", tc.typ, tc.name, tc.value)
		}
	}
	for _, v := range []string{"off", "name", "email"} {
		if msg := core.CheckAttr(core.ElemInput, "autocomplete", v); msg != "" {
			t.Errorf("autocomplete=%q refused: %s", v, msg)
		}
	}
}
