package server_test

import (
	"net/http"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/server"
)

// TestAliasTags checks the page cache's alias tags through Redis, with the
// writer's commits bumped as `trovato serve` bumps them (core.TagsForChanges
// with the store's alias deltas): a page is built again when an alias of
// a path it links to changes, and stays cached when an alias nothing on it
// links to is added or removed.
func TestAliasTags(t *testing.T) {
	s, _ := cachedSite(t)
	putArticlesByTitle(s)
	pages := []string{"/articles", "/articles/page/2", "/articles/rss.xml", "/blog/hello-world", "/sitemap.xml"}
	rebuilt := func(what string, want ...string) {
		t.Helper()
		for _, p := range pages {
			res, _ := s.get(p, map[string]string{"Accept-Encoding": "identity"})
			wantStatus(t, res, http.StatusOK)
			exp := "hit"
			for _, w := range want {
				if w == p {
					exp = "miss"
				}
			}
			if got := res.Header.Get(server.CacheHeader); got != exp {
				t.Errorf("after %s: %s is a %s, want a %s", what, p, got, exp)
			}
		}
	}
	for _, p := range pages {
		s.get(p, nil)
	}
	rebuilt("nothing")

	// The draft is linked from no page: its new alias rebuilds none (the
	// sitemap lists published items only).
	draft := s.staged(core.KindAlias, core.LiveStageID, `{"alias":"/draft","path":"/item/`+s.hidden.ID.String()+`"}`)
	rebuilt("an alias of an item no page links to")
	if err := s.k.Store.Staged().DeleteStaged(s.admin, core.KindAlias, core.LiveStageID, draft); err != nil {
		t.Fatal(err)
	}
	rebuilt("its removal")

	// The second article is in the main menu (every HTML page), on
	// /articles/page/2, in the sitemap; not in the feed (the first page's).
	s.staged(core.KindAlias, core.LiveStageID, `{"alias":"/plain","path":"/item/`+s.plain.ID.String()+`"}`)
	rebuilt("an alias of an item every page links to", "/articles", "/articles/page/2", "/blog/hello-world", "/sitemap.xml")
	res, body := s.get("/articles/page/2", nil)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, body, `href="/plain"`)

	// An alias at the path of a page takes it over.
	s.staged(core.KindAlias, core.LiveStageID, `{"alias":"/articles/page/2","path":"/item/`+s.plain.ID.String()+`"}`)
	if res, _ := s.get("/articles/page/2", nil); res.StatusCode != http.StatusMovedPermanently || res.Header.Get(server.CacheHeader) == "hit" {
		t.Errorf("/articles/page/2 after an alias took it: %d, cache %q", res.StatusCode, res.Header.Get(server.CacheHeader))
	}
}
