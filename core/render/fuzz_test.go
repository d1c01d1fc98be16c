package render

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

// FuzzRenderTree renders every tree the decoder accepts and checks the
// output with the XSS checker.
func FuzzRenderTree(f *testing.F) {
	for _, seed := range []string{
		`{"type":"paragraph","attrs":{"class":"lead","title":"\"><script>"},"children":[{"type":"text","text":"<b>hi</b>"}]}`,
		`{"type":"link","href":"/a?b=<c>&d","text":"x","attrs":{"rel":"nofollow"}}`,
		`{"type":"text","format":"markdown","id_prefix":"a-","text":"# t\n\n<img src=x onerror=alert(1)> [x](javascript:y)"}`,
		`{"type":"text","format":"filtered_html","text":"<a href=\"java&#x09;script:x\">x</a><style>*{}</style>"}`,
		`{"type":"table","caption":"c","head":[{"cells":[{"header":true,"text":"a"}]}],"body":[{"cells":[{"colspan":2,"children":[{"type":"code","text":"</textarea>"}]}]}]}`,
		`{"type":"form","action":"/s","children":[{"type":"textarea","name":"b","label":"B","value":"</textarea><script>"}]}`,
		`{"type":"image","src":"data:image/png;base64,AAAA","alt":"\" onerror=x"}`,
	} {
		f.Add([]byte(seed))
	}
	r := MustRenderer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := core.DecodeTree(data, treeOptions)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := r.RenderNode(context.Background(), &buf, n); err != nil {
			if core.ErrorCode(err) == core.EInternal {
				t.Fatalf("valid tree failed to render: %v", err)
			}
			return
		}
		if problems := checkSafeFragment(buf.String()); len(problems) > 0 {
			t.Fatalf("unsafe output %q: %s", buf.String(), strings.Join(problems, "; "))
		}
	})
}

// FuzzFormat runs every text format over arbitrary input and checks the
// output with the XSS checker.
func FuzzFormat(f *testing.F) {
	for _, v := range []string{
		"<script>alert(1)</script>", "[x](javascript:alert(1))", "<a href=\"&#106;avascript:x\">x</a>",
		"<img src=x onerror=alert(1)>", "<!-- x", "<textarea>", "| a |\n|---|\n| <b onclick=x>1</b> |",
		"text[^1]\n\n[^1]: <svg onload=alert(1)>", "<math><mi xlink:href=\"javascript:x\">y</mi></math>",
	} {
		f.Add(v)
	}
	r := MustRenderer(f)
	f.Fuzz(func(t *testing.T, text string) {
		for _, format := range []string{FormatPlain, FormatMarkdown, FormatFilteredHTML, FormatFullHTML} {
			out, err := r.Format(text, format, FormatOptions{Trusted: true, IDPrefix: "f-"})
			if err != nil {
				continue
			}
			if problems := checkSafeFragment(string(out)); len(problems) > 0 {
				t.Fatalf("%s output %q of %q: %s", format, out, text, strings.Join(problems, "; "))
			}
		}
	})
}
