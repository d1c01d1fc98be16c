package render

import (
	"fmt"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

func TestFormatText(t *testing.T) {
	r := MustRenderer(t)
	tests := []struct {
		name, format, text string
		trusted            bool
		want               []string // substrings of the output
		not                []string // substrings that must not appear
		code               string   // expected error code
	}{
		{name: "OK plain paragraphs", format: FormatPlain, text: "a <b>\r\nc\n\n\nd", want: []string{"<p>a &lt;b&gt;<br>\nc</p>\n<p>d</p>"}},
		{name: "OK plain empty", format: FormatPlain, text: " \n "},
		{name: "OK markdown table with alignment", format: FormatMarkdown, text: "| a | b |\n|:--|--:|\n| 1 | 2 |",
			want: []string{`<table>`, `<th class="align-left">a</th>`, `<td class="align-right">2</td>`}, not: []string{"style=", "align="}},
		{name: "OK markdown strikethrough", format: FormatMarkdown, text: "~~gone~~", want: []string{"<del>gone</del>"}},
		{name: "OK markdown linkify", format: FormatMarkdown, text: "see https://example.com/x and www.example.org",
			want: []string{`<a href="https://example.com/x" rel="nofollow noreferrer">https://example.com/x</a>`, `<a href="http://www.example.org" rel="nofollow noreferrer">`}},
		{name: "OK markdown footnote", format: FormatMarkdown, text: "Text[^1].\n\n[^1]: Note.",
			want: []string{`<sup id="fnref:1"><a class="footnote-ref" href="#fn:1" role="doc-noteref">1</a></sup>`, `<div class="footnotes" role="doc-endnotes">`, `<li id="fn:1">`}},
		{name: "OK markdown heading ids", format: FormatMarkdown, text: "# Hello World\n\n## Hello World", want: []string{`<h1 id="hello-world">`, `<h2 id="hello-world-1">`}},
		{name: "OK markdown typographer", format: FormatMarkdown, text: `"quoted" -- dash...`, want: []string{"“quoted” – dash…"}},
		{name: "OK markdown relative link has no nofollow", format: FormatMarkdown, text: "[a](/about)", want: []string{`<a href="/about">a</a>`}},
		{name: "OK markdown code language", format: FormatMarkdown, text: "```go\nx := 1\n```", want: []string{`<pre><code class="language-go">x := 1`}},
		{name: "OK markdown raw html sanitized", format: FormatMarkdown, text: "<div onclick=\"x\"><b>bold</b><script>alert(1)</script></div>",
			want: []string{"<div><b>bold</b></div>"}, not: []string{"script", "onclick", "alert"}},
		{name: "OK markdown javascript link dropped", format: FormatMarkdown, text: "[x](javascript:alert(1)) ![i](javascript:alert(2))", not: []string{"javascript"}},
		{name: "OK filtered keeps basics", format: FormatFilteredHTML, text: `<h2>T</h2><p><em>e</em> <a href="mailto:a@b.c">m</a> <img src="/i.png" alt="i"></p><ul><li>x</li></ul>`,
			want: []string{"<h2>T</h2>", "<em>e</em>", `<a href="mailto:a@b.c">m</a>`, `<img src="/i.png" alt="i">`, "<ul><li>x</li></ul>"}},
		{name: "OK filtered drops style, iframe, data images", format: FormatFilteredHTML, text: `<p style="color:red">a</p><iframe src="https://x"></iframe><img src="data:image/png;base64,AAAA">`,
			want: []string{"<p>a</p>"}, not: []string{"style", "iframe", "data:"}},
		{name: "OK full_html trusted keeps layout", format: FormatFullHTML, trusted: true, text: `<section class="hero" data-kind="x"><img src="data:image/png;base64,AAAA" alt=""></section><script>x</script>`,
			want: []string{`<section class="hero" data-kind="x">`, `src="data:image/png;base64,AAAA"`}, not: []string{"script"}},
		{name: "ErrFullHTMLUntrusted", format: FormatFullHTML, text: "<b>x</b>", code: core.EForbidden},
		{name: "ErrUnknownFormat", format: "php", text: "x", code: core.EInvalid},
		{name: "ErrTooLarge", format: FormatPlain, text: strings.Repeat("a", MaxFormatBytes+1), code: core.ETooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.FormatText(tt.text, tt.format, tt.trusted)
			if tt.code != "" {
				if core.ErrorCode(err) != tt.code {
					t.Fatalf("error %v, want code %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(got), w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(string(got), n) {
					t.Errorf("output contains %q:\n%s", n, got)
				}
			}
			if tt.want == nil && tt.not == nil && got != "" {
				t.Errorf("output = %q, want empty", got)
			}
		})
	}
}

func TestFormatMemo(t *testing.T) {
	r, err := New(DefaultTheme(), Options{FormatCacheBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("Some *markdown* text. ", 20)
	first, err := r.FormatText(body, FormatMarkdown, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.memo.get(memoKey(FormatMarkdown, "", body)); !ok {
		t.Fatal("formatted markdown was not remembered")
	}
	if _, ok := r.memo.get(memoKey(FormatFilteredHTML, "", body)); ok {
		t.Fatal("the memo key does not include the format")
	}
	again, _ := r.FormatText(body, FormatMarkdown, false)
	if again != first {
		t.Fatalf("memo returned %q, want %q", again, first)
	}
	// Fill the budget: the least recently used entries go, the total stays bounded.
	for i := range 200 {
		if _, err := r.FormatText(fmt.Sprintf("%s %d", body, i), FormatFilteredHTML, false); err != nil {
			t.Fatal(err)
		}
	}
	if r.memo.size > r.memo.max {
		t.Fatalf("memo holds %d bytes, budget %d", r.memo.size, r.memo.max)
	}
	if _, ok := r.memo.get(memoKey(FormatMarkdown, "", body)); ok {
		t.Fatal("the oldest entry was not evicted")
	}
	off, err := New(DefaultTheme(), Options{FormatCacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	if off.memo != nil {
		t.Fatal("negative FormatCacheBytes did not disable the memo")
	}
	if h, _ := off.FormatText(body, FormatMarkdown, false); h != first {
		t.Fatal("output differs without the memo")
	}
}

func TestFormatIDPrefix(t *testing.T) {
	r := MustRenderer(t)
	body := "# Main content\n\n## Intro\n\nText[^1].\n\n[^1]: Note.\n"
	tests := []struct {
		name, prefix string
		want         []string
		code         string
	}{
		{name: "OK no prefix avoids reserved ids", want: []string{`<h1 id="main-content-1">`, `<h2 id="intro">`, `id="fnref:1"`, `href="#fn:1"`, `<li id="fn:1">`}},
		{name: "OK prefix", prefix: "item-7-", want: []string{`<h1 id="item-7-main-content-1">`, `<h2 id="item-7-intro">`, `id="item-7-fnref:1"`, `href="#item-7-fn:1"`, `<li id="item-7-fn:1">`, `href="#item-7-fnref:1"`}},
		{name: "ErrBadPrefix", prefix: "a\"b", code: core.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Format(body, FormatMarkdown, FormatOptions{IDPrefix: tt.prefix})
			if tt.code != "" {
				if core.ErrorCode(err) != tt.code {
					t.Fatalf("error %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(got), w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}
