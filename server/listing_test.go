package server_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/memory"
	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/server"
)

const articlesGather = `{"kind":"gather","name":"articles","label":"Articles","types":["article"],
	"filters":[{"field":"status","op":"eq","value":"published"},
		{"field":"title","op":"contains","exposed":{"name":"title","label":"Title contains"}},
		{"field":"created","op":"ge","exposed":{"name":"since","label":"Since"}}],
	"sorts":[{"field":"title"}],
	"pager":{"per_page":2},
	"displays":[{"name":"page","type":"page","path":"/articles"},
		{"name":"rss","type":"feed","format":"rss","path":"/articles/rss.xml"},
		{"name":"atom","type":"feed","format":"atom","path":"/articles/atom.xml"},
		{"name":"latest","type":"tile","title":"Latest articles","items":3}]}`

const frontGather = `{"kind":"gather","name":"front","label":"Front page","filters":[{"field":"status","op":"eq","value":"published"},{"field":"promote","op":"eq","value":"true"}],
	"displays":[{"name":"page","type":"page","path":"/front"}]}`

func TestGatherPages(t *testing.T) {
	s := newSite(t, server.Options{})
	s.put("gather", "articles", articlesGather)
	for i := range 3 {
		s.newItem(core.LiveStageID, &core.Item{Type: "article", Title: fmt.Sprintf("Zeta %d", i), Fields: json.RawMessage(`{}`)})
	}
	// Published articles by title: Hello <World>, Plain page, Zeta 0, Zeta 1, Zeta 2.

	t.Run("FirstPage", func(t *testing.T) {
		res, body := s.get("/articles", nil)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, body, `href="/blog/hello-world"`, "Plain page", `href="/articles/page/2"`, `rel="next"`,
			`<link rel="alternate" type="application/rss&#43;xml"`, `href="/articles/rss.xml"`, `type="application/atom&#43;xml"`,
			`<form`, `method="get"`, `name="title"`)
		wantLacks(t, body, "Zeta 0", "csrf_token", "Secret draft")
	})
	t.Run("PathPager", func(t *testing.T) {
		res, body := s.get("/articles/page/3", nil)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, body, "Zeta 2", `href="/articles/page/2"`)
		wantLacks(t, body, "Zeta 1")
	})
	t.Run("ExposedFilter", func(t *testing.T) {
		res, body := s.get("/articles?title=zeta", nil)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, body, "Zeta 0", "Zeta 1", `value="zeta"`, `href="/articles/page/2?title=zeta"`)
		wantLacks(t, body, "Plain page")
	})
	t.Run("BadInput", func(t *testing.T) {
		for target, want := range map[string]int{
			"/articles/page/4":                                 http.StatusNotFound,
			"/articles/page/99999999999999999":                 http.StatusNotFound,
			"/articles/page/0":                                 http.StatusNotFound,
			"/articles/page/x":                                 http.StatusNotFound,
			"/articles?since=yesterday":                        http.StatusBadRequest,
			"/articles?title=" + strings.Repeat("%27%22", 300): http.StatusOK,
			"/no-such-gather/page/2":                           http.StatusNotFound,
		} {
			res, _ := s.get(target, nil)
			if res.StatusCode != want {
				t.Errorf("%s: status %d, want %d", target[:min(len(target), 60)], res.StatusCode, want)
			}
		}
	})
	t.Run("Tile", func(t *testing.T) {
		_, body := s.get("/blog/hello-world", nil)
		wantLacks(t, body, "Latest articles") // a tile display shows only where a tile document places it
		s.put("tile", "latest", `{"kind":"tile","name":"latest","label":"Latest","region":"sidebar","content":{"gather":{"gather":"articles","display":"latest"}}}`)
		_, body = s.get("/blog/hello-world", nil)
		wantContains(t, body, "Latest articles", `class="tile tile--latest tile--gather"`)
	})
	t.Run("RSS", func(t *testing.T) {
		res, body := s.get("/articles/rss.xml", nil)
		wantStatus(t, res, http.StatusOK)
		if ct := res.Header.Get("Content-Type"); ct != "application/rss+xml; charset=utf-8" {
			t.Fatalf("Content-Type %q", ct)
		}
		var doc struct {
			XMLName xml.Name `xml:"rss"`
			Version string   `xml:"version,attr"`
			Channel struct {
				Title string `xml:"title"`
				Items []struct {
					Title   string `xml:"title"`
					Link    string `xml:"link"`
					PubDate string `xml:"pubDate"`
					GUID    string `xml:"guid"`
				} `xml:"item"`
			} `xml:"channel"`
		}
		if err := xml.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Version != "2.0" || len(doc.Channel.Items) != 2 || doc.Channel.Items[0].Link != "https://example.org/blog/hello-world" || doc.Channel.Items[0].Title != "Hello <World>" {
			t.Fatalf("rss: %+v", doc)
		}
	})
	t.Run("Atom", func(t *testing.T) {
		res, body := s.get("/articles/atom.xml", nil)
		wantStatus(t, res, http.StatusOK)
		var doc struct {
			XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
			ID      string   `xml:"id"`
			Updated string   `xml:"updated"`
			Entries []struct {
				Title string `xml:"title"`
				ID    string `xml:"id"`
				Link  struct {
					Href string `xml:"href,attr"`
				} `xml:"link"`
			} `xml:"entry"`
		}
		if err := xml.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.ID != "https://example.org/articles/atom.xml" || len(doc.Entries) != 2 || !strings.HasPrefix(doc.Entries[0].ID, "urn:uuid:") || doc.Updated == "" {
			t.Fatalf("atom: %+v", doc)
		}
	})
	t.Run("FrontPageGather", func(t *testing.T) {
		_, body := s.get("/", nil)
		wantLacks(t, body, "page-gather")
		s.put("gather", "front", frontGather)
		res, body := s.get("/", nil)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, body, "page-gather--front", "page-front", `href="/blog/hello-world"`)
		wantLacks(t, body, `<a href="/item/`+s.plain.ID.String()+`">Plain page</a></h2>`)
	})
}

func TestRedirectFromFormerAlias(t *testing.T) {
	s := newSite(t, server.Options{})
	docs, err := s.k.Store.Staged().FindStagedDocs(s.admin, core.KindAlias, core.LiveStageID)
	if err != nil {
		t.Skipf("no staged listing: %v", err)
	}
	for _, d := range docs {
		var a core.Alias
		_ = json.Unmarshal(d.Doc, &a)
		if a.Alias != "/blog/hello-world" {
			continue
		}
		a.Alias = "/blog/hello-again"
		body, _ := json.Marshal(a)
		if _, err := s.k.Store.Staged().PutStaged(s.admin, core.KindAlias, core.LiveStageID, d.ID, body, &d.RevisionID, "move"); err != nil {
			t.Fatal(err)
		}
	}
	res, _ := s.get("/blog/hello-world", nil)
	wantStatus(t, res, http.StatusMovedPermanently)
	if loc := res.Header.Get("Location"); loc != "/blog/hello-again" {
		t.Fatalf("Location %q", loc)
	}
	res, body := s.get("/blog/hello-again", nil)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, body, "Hello &lt;World&gt;")
}

func TestPageCache(t *testing.T) {
	for name, mk := range map[string]func(s *site) core.TagCache{
		"Memory": func(*site) core.TagCache { return memory.NewTagCache(1000) },
		"Redis":  func(s *site) core.TagCache { return redis.NewTagCache(s.redis, s.prefix) },
	} {
		t.Run(name, func(t *testing.T) {
			s := newSite(t, server.Options{})
			tc := mk(s)
			srv, err := server.New(s.k, server.Options{PageCache: tc})
			if err != nil {
				t.Fatal(err)
			}
			s.srv = srv
			s.k.Store.OnCommit(func(changes []core.Change) {
				for _, c := range changes {
					_ = tc.BumpTags(s.admin, core.TagsForChange(c)...)
				}
			})
			// Without the tile display: a tile on every page would make every
			// page depend on every item.
			s.put("gather", "articles", strings.Replace(articlesGather, `,
		{"name":"latest","type":"tile","title":"Latest articles","items":3}`, "", 1))
			get := func(p string, want string) string {
				t.Helper()
				res, body := s.get(p, map[string]string{"Accept-Encoding": "identity"})
				wantStatus(t, res, http.StatusOK)
				if got := res.Header.Get(server.CacheHeader); got != want {
					t.Fatalf("%s: %s %q, want %q", p, server.CacheHeader, got, want)
				}
				return body
			}
			get("/blog/hello-world", "miss")
			get("/articles", "miss")
			first := get("/item/"+s.plain.ID.String(), "miss")
			get("/blog/hello-world", "hit")
			get("/articles", "hit")
			if again := get("/item/"+s.plain.ID.String(), "hit"); again != first {
				t.Fatal("cached bytes differ")
			}
			// Gzip is its own entry.
			res, _ := s.get("/articles", map[string]string{"Accept-Encoding": "gzip"})
			if res.Header.Get(server.CacheHeader) != "miss" || res.Header.Get("Content-Encoding") != "gzip" {
				t.Fatal("gzip variant")
			}
			res, _ = s.get("/articles", map[string]string{"Accept-Encoding": "gzip"})
			if res.Header.Get(server.CacheHeader) != "hit" || res.Header.Get("Content-Encoding") != "gzip" {
				t.Fatal("gzip variant hit")
			}
			// Edit the plain item: its page and the listing are rebuilt,
			// the other item's page is not.
			if _, err := s.k.Store.Items().UpdateItem(s.admin, core.LiveStageID, s.plain.ID, core.ItemUpdate{Title: ptr("Plain edited")}); err != nil {
				t.Fatal(err)
			}
			wantContains(t, get("/item/"+s.plain.ID.String(), "miss"), "Plain edited")
			wantContains(t, get("/articles", "miss"), "Plain edited")
			get("/blog/hello-world", "hit")
			// Signed-in visitors bypass the cache.
			_, hdr := s.session(core.AdminUserID, core.NilID)
			res, _ = s.get("/blog/hello-world", hdr)
			if res.Header.Get(server.CacheHeader) != "" {
				t.Fatal("signed-in page went through the cache")
			}
			_, metrics := s.get("/metrics", nil)
			wantContains(t, metrics, "trovato_cache_hits_total 5", "trovato_cache_misses_total 6")
		})
	}
}
