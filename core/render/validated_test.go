package render

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

// TestRenderPageValidated: a page of trees the kernel vouches for is not
// validated again, but the attribute and URL allow-lists still hold; an
// unvouched page drops a node that does not validate.
func TestRenderPageValidated(t *testing.T) {
	r, err := New(DefaultTheme(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	bad := core.Node{Type: core.ElemLink, Href: "javascript:alert(1)", Text: "click", Attrs: map[string]string{"onclick": "x()", "class": "ok"}}
	for _, validated := range []bool{false, true} {
		var buf bytes.Buffer
		p := Page{Title: "T", Validated: validated, Regions: map[string][]core.Node{"content": {bad, {Type: core.ElemParagraph, Text: "kept"}}}}
		if err := r.RenderPage(context.Background(), &buf, p); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if strings.Contains(out, "javascript:") || strings.Contains(out, "onclick") || !strings.Contains(out, "<p>kept</p>") {
			t.Fatalf("validated=%v: %s", validated, out)
		}
		if link := strings.Contains(out, `<a href="#" class="ok">click</a>`); link != validated {
			t.Errorf("validated=%v: the link rendered (neutralised) %v:\n%s", validated, link, out)
		}
	}
}
