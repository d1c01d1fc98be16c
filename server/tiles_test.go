package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/memory"
	"github.com/trovato/trovato/server"
)

// TestTiles places tiles of every source in regions and checks their
// visibility rules, order, escaping and cache invalidation.
func TestTiles(t *testing.T) {
	s := newSite(t, server.Options{})
	tc := memory.NewTagCache(1000)
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
	s.put("gather", "articles", articlesGather)
	s.put("tile", "latest", `{"kind":"tile","name":"latest","label":"Latest","region":"sidebar","weight":5,
		"content":{"gather":{"gather":"articles","items":1}}}`)
	s.put("tile", "about", `{"kind":"tile","name":"about","label":"About us","region":"sidebar","weight":-5,
		"visibility":{"pages":["/blog/*","<front>"],"except":["/blog/secret"]},
		"content":{"text":{"body":"## Who\n\nWe *write* <script>alert(1)</script>."}}}`)
	s.put("tile", "nav", `{"kind":"tile","name":"nav","label":"Sections","region":"footer","visibility":{"types":["article"]},
		"content":{"menu":{"menu":"main","depth":1}}}`)
	s.put("tile", "staff", `{"kind":"tile","name":"staff","title":"","label":"Staff","region":"highlighted","visibility":{"roles":["administrator"]},
		"content":{"text":{"format":"plain","body":"Staff only note"}}}`)
	s.put("tile", "off", `{"kind":"tile","name":"off","label":"Off","region":"sidebar","disabled":true,"content":{"text":{"body":"Disabled text"}}}`)
	s.put("tile", "gone", `{"kind":"tile","name":"gone","label":"Gone","region":"sidebar","content":{"gather":{"gather":"nosuch"}}}`)

	t.Run("ItemPage", func(t *testing.T) {
		res, body := s.get("/blog/hello-world", nil)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, body,
			`<section aria-labelledby="tile-about-title" class="tile tile--about tile--text"><h2 id="tile-about-title">About us</h2>`,
			`<h2 id="tile-about-who">Who</h2>`, `<em>write</em>`,
			`class="tile tile--latest tile--gather"`, `<h2 id="tile-latest-title">Articles</h2>`,
			`class="tile tile--nav tile--menu"`, `class="menu menu--main"`)
		wantLacks(t, body, "<script>alert", "Staff only note", "Disabled text", "Gone")
		if i, j := strings.Index(body, "tile--about"), strings.Index(body, "tile--latest"); i < 0 || j < i {
			t.Error("tiles not in weight order")
		}
		if i, j := strings.Index(body, "Powered by Trovato"), strings.Index(body, "tile--nav"); j < i {
			t.Error("a tile comes before the region's own nodes")
		}
		// The depth-1 menu tile has no nested list.
		nav := body[strings.Index(body, "tile--nav"):]
		nav = nav[:strings.Index(nav, "</section>")]
		if strings.Count(nav, "<ul") != 1 {
			t.Errorf("menu tile deeper than 1: %s", nav)
		}
	})
	t.Run("Visibility", func(t *testing.T) {
		_, body := s.get("/articles", nil)
		wantLacks(t, body, "tile--about", "tile--nav", "tile--latest") // no path match, no item, the page's own gather
		_, body = s.get("/", nil)
		wantContains(t, body, "tile--about")
		_, body = s.get("/item/"+s.plain.ID.String(), nil)
		wantContains(t, body, "tile--nav", "tile--latest")
		wantLacks(t, body, "tile--about")
		_, body = s.get("/no/such/page", nil)
		wantContains(t, body, "tile--latest")
	})
	t.Run("Role", func(t *testing.T) {
		admin, err := s.k.Store.Users().FindUserByName(s.admin, "admin")
		if err != nil {
			t.Fatal(err)
		}
		_, hdr := s.session(admin.ID, core.NilID)
		_, body := s.get("/blog/hello-world", hdr)
		wantContains(t, body, `<div class="tile tile--staff tile--text"><p>Staff only note</p>`)
	})
	t.Run("EditInvalidates", func(t *testing.T) {
		hdr := map[string]string{"Accept-Encoding": "identity"}
		s.get("/blog/hello-world", hdr)
		res, _ := s.get("/blog/hello-world", hdr)
		if res.Header.Get(server.CacheHeader) != "hit" {
			t.Fatalf("not cached: %q", res.Header.Get(server.CacheHeader))
		}
		s.put("tile", "about", `{"kind":"tile","name":"about","label":"About us","region":"sidebar","content":{"text":{"body":"Changed words"}}}`)
		res, body := s.get("/blog/hello-world", hdr)
		if res.Header.Get(server.CacheHeader) != "miss" {
			t.Fatalf("a tile edit left the page cached")
		}
		wantContains(t, body, "Changed words")
		if err := s.k.Store.Config().DeleteConfig(s.admin, "tile", "about"); err != nil {
			t.Fatal(err)
		}
		_, body = s.get("/blog/hello-world", hdr)
		wantLacks(t, body, "Changed words")
	})
}
