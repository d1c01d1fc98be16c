package export

import (
	"slices"
	"testing"
)

func TestExtractLinks(t *testing.T) {
	const base = "https://example.com"
	for _, c := range []struct {
		name, ctype, body string
		want              []string
	}{
		{"HTML", "text/html; charset=utf-8", `<a href="/a">x</a><img src="/files/h/p%20q.png" srcset="/s/1.png 1x, /s/2.png 2x">` +
			`<a href="/a#top">again</a><a href="https://other.example/x">out</a><a href="//cdn.example/x">cdn</a>` +
			`<meta property="og:image" content="https://example.com/files/styles/large/h.jpg"><a href="/user/login?destination=%2Fa">in</a>` +
			`<a href="/articles?page=2">query</a><a href="/x/../y">dots</a><form action="/search"></form><a href="/b?a=1&amp;b=2">q</a>`,
			[]string{"/a", "/files/h/p%20q.png", "/files/styles/large/h.jpg", "/s/1.png", "/s/2.png"}},
		{"XML", "application/rss+xml", `<rss><channel><link>https://example.com/</link><item><link>https://example.com/a</link><guid>urn:uuid:1</guid></item></channel></rss>`,
			[]string{"/", "/a"}},
		{"Sitemap", "application/xml", `<urlset><url><loc>https://example.com/b/page/2</loc></url></urlset>`, []string{"/b/page/2"}},
		{"Robots", "text/plain; charset=utf-8", "User-agent: *\nDisallow: /admin/\nSitemap: https://example.com/sitemap.xml\n", []string{"/sitemap.xml"}},
		{"CSS", "text/css", `body{background:url("/assets/h/bg.png")} a{background:url(/x.svg)}`, []string{"/assets/h/bg.png", "/x.svg"}},
		{"Image", "image/png", `href="/a"`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := extractLinks(c.ctype, []byte(c.body), base)
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestOutputPath(t *testing.T) {
	for _, c := range []struct {
		url  string
		html bool
		want string
		ok   bool
	}{
		{"/", true, "index.html", true},
		{"/articles/page/2", true, "articles/page/2/index.html", true},
		{"/about/", true, "about/index.html", true},
		{"/rss.xml", false, "rss.xml", true},
		{"/files/abc/my%20file.pdf", false, "files/abc/my file.pdf", true},
		{"/old.html", true, "old.html", true},
		{"/a/%2e%2e/b", true, "", false},
		{"/" + ManifestFile, false, "", false},
		{"/a%00b", false, "", false},
	} {
		got, ok := outputPath(c.url, c.html)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("outputPath(%q) = %q, %v; want %q, %v", c.url, got, ok, c.want, c.ok)
		}
	}
}
