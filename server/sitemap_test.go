package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/server"
)

// xmllint validates doc against one of the sitemap schemas in testdata.
func xmllint(t *testing.T, schema, doc string) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (Debian libxml2-utils; build/deps.sh test)")
	}
	f := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--noout", "--nonet", "--schema", filepath.Join("testdata", "sitemap", schema), f).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint %s: %v\n%s\n%.500s", schema, err, out, doc)
	}
}

func TestSitemapAndRobots(t *testing.T) {
	s := newSite(t, server.Options{})
	s.put("gather", "articles", articlesGather)

	res, body := s.get("/sitemap.xml", nil)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, body, "<loc>https://example.org/</loc>", "<loc>https://example.org/articles</loc>",
		"<loc>https://example.org/blog/hello-world</loc>", "<loc>https://example.org/item/"+s.plain.ID.String()+"</loc>")
	wantLacks(t, body, s.hidden.ID.String())
	xmllint(t, "sitemap.xsd", body)

	t.Run("Index", func(t *testing.T) {
		defer func(n int) { server.SitemapMaxURLs = n }(server.SitemapMaxURLs)
		server.SitemapMaxURLs = 2 // 2 fixed URLs + 2 items: two parts
		_, body := s.get("/sitemap.xml", nil)
		wantContains(t, body, "<sitemapindex", "<loc>https://example.org/sitemap-1.xml</loc>", "<loc>https://example.org/sitemap-2.xml</loc>")
		wantLacks(t, body, "sitemap-3.xml")
		xmllint(t, "siteindex.xsd", body)
		_, p1 := s.get("/sitemap-1.xml", nil)
		_, p2 := s.get("/sitemap-2.xml", nil)
		xmllint(t, "sitemap.xsd", p1)
		xmllint(t, "sitemap.xsd", p2)
		if strings.Count(p1, "<url>") != 2 || strings.Count(p2, "<url>") != 2 || !strings.Contains(p2, "hello-world") {
			t.Fatalf("parts:\n%s\n%s", p1, p2)
		}
		for _, p := range []string{"/sitemap-3.xml", "/sitemap-999999.xml", "/sitemap-0.xml", "/sitemap-01.xml"} {
			res, _ := s.get(p, nil)
			wantStatus(t, res, http.StatusNotFound)
		}
	})

	res, body = s.get("/robots.txt", nil)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, body, "User-agent: *\n", "Disallow: /admin/\n", "Sitemap: https://example.org/sitemap.xml\n")
}

func TestSearchPage(t *testing.T) {
	s := newSite(t, server.Options{})
	for i := range 12 {
		s.newItem(core.LiveStageID, &core.Item{Type: "article", Title: fmt.Sprintf("Tent %d", i),
			Fields: json.RawMessage(`{"body":"Camping <b>tents</b> & \"stoves\" number ` + fmt.Sprint(i) + `"}`)})
	}
	res, body := s.get("/search?q=camping", nil)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, body, `role="search"`, `name="q"`, `value="camping"`, "12 results", "<mark>Camping</mark>", `href="/search?page=2&amp;q=camping"`)
	wantLacks(t, body, "<b>tents</b>", "csrf_token")
	res, body = s.get("/search?q=tent&page=2", nil)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, body, "Tent")

	for q, want := range map[string]int{
		"":                               http.StatusOK,
		"tent&page=3":                    http.StatusNotFound,
		"tent&page=99999999999999999999": http.StatusBadRequest,
		"tent&page=-1":                   http.StatusBadRequest,
		url.QueryEscape(`"camping tents" -stoves OR & | ! :* <script>`): http.StatusOK,
		url.QueryEscape(strings.Repeat("x", 1000)):                      http.StatusOK,
	} {
		res, _ := s.get("/search?q="+q, nil)
		if res.StatusCode != want {
			t.Errorf("q=%.40s: %d, want %d", q, res.StatusCode, want)
		}
	}
	// 10 KB of text: over the query limit, refused plainly (and the URL
	// limit answers first for a GET this long).
	res, _ = s.get("/search?q="+strings.Repeat("a", 10<<10), nil)
	if res.StatusCode != http.StatusRequestURITooLong && res.StatusCode != http.StatusBadRequest {
		t.Fatalf("10 KB query: %d", res.StatusCode)
	}
	res, _ = s.get("/search?q="+strings.Repeat("a", 1500), nil)
	wantStatus(t, res, http.StatusBadRequest)
}

func TestCategoryPage(t *testing.T) {
	s := newSite(t, server.Options{})
	child := s.staged(core.KindTerm, core.LiveStageID, `{"vocabulary":"tags","name":"Child","parents":["`+s.tag.String()+`"]}`)
	for i := range 25 {
		s.newItem(core.LiveStageID, &core.Item{Type: "article", Title: fmt.Sprintf("Filed %02d", i),
			Fields: json.RawMessage(`{"tags":[{"id":"` + child.String() + `"}]}`)})
	}
	term := "/term/" + s.tag.String()
	res, body := s.get(term, nil)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, body, "Filed 24", `href="`+term+`/page/2"`)
	res, body = s.get(term+"/page/2", nil)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, body, "Filed 00", "Hello &lt;World&gt;")
	for _, p := range []string{term + "/page/3", term + "/page/1", term + "/page/99999999999999999999"} {
		res, _ := s.get(p, nil)
		wantStatus(t, res, http.StatusNotFound)
	}
}
