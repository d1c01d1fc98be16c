package server_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/server"
)

// TestListingTags checks the page cache's listing tags through Redis, with
// the writer's commits bumped as `trovato serve` bumps them
// (core.TagsForChanges with the store's item deltas): a listing is built
// again when an item it shows changes, or when a change can alter which
// items it shows or their order; any other item edit leaves it cached.
func TestListingTags(t *testing.T) {
	s, _ := cachedSite(t)
	// One published article a page, by title: "Hello <World>" on
	// /articles and in the feed (its first page), "Plain page" on
	// /articles/page/2.
	putArticlesByTitle(s)
	pages := []string{"/articles", "/articles/page/2", "/articles/rss.xml", "/blog/hello-world", "/item/" + s.plain.ID.String()}
	state := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, p := range pages {
			res, _ := s.get(p, map[string]string{"Accept-Encoding": "identity"})
			wantStatus(t, res, http.StatusOK)
			out[p] = res.Header.Get(server.CacheHeader)
		}
		return out
	}
	// rebuilt asks every page and checks which were built again.
	rebuilt := func(what string, want ...string) {
		t.Helper()
		got := state()
		for _, p := range pages {
			exp := "hit"
			for _, w := range want {
				if w == p {
					exp = "miss"
				}
			}
			if got[p] != exp {
				t.Errorf("after %s: %s is a %s, want a %s", what, p, got[p], exp)
			}
		}
	}
	update := func(id core.ID, upd core.ItemUpdate) {
		t.Helper()
		if _, err := s.k.Store.Items().UpdateItem(s.admin, core.LiveStageID, id, upd); err != nil {
			t.Fatal(err)
		}
	}
	state()
	rebuilt("nothing")

	// A listing page shows teasers (title, date, link), so it depends on
	// the item's teaser tag: a body edit or a sticky change (not a sort
	// key here) leaves /articles/page/2, which shows the article, cached.
	update(s.plain.ID, core.ItemUpdate{Fields: json.RawMessage(`{"body":"A new body"}`)})
	rebuilt("a body edit of the second article", "/item/"+s.plain.ID.String())

	update(s.plain.ID, core.ItemUpdate{Sticky: ptr(true)})
	rebuilt("a sticky change (not a sort key) of the second article", "/item/"+s.plain.ID.String())

	update(s.hidden.ID, core.ItemUpdate{Fields: json.RawMessage(`{"body":"still a draft"}`)})
	rebuilt("an edit of an unpublished article no page shows")

	update(s.plain.ID, core.ItemUpdate{Title: ptr("Another title")})
	rebuilt("a change of the sort key", "/articles", "/articles/page/2", "/articles/rss.xml", "/item/"+s.plain.ID.String())

	update(s.hidden.ID, core.ItemUpdate{Status: ptr(core.StatusPublished)})
	rebuilt("publishing a draft", "/articles", "/articles/page/2", "/articles/rss.xml")

	s.newItem(core.LiveStageID, &core.Item{Type: "article", Title: "Zebra", Fields: json.RawMessage(`{}`)})
	rebuilt("a new article", "/articles", "/articles/page/2", "/articles/rss.xml")

	if err := s.k.Store.Items().DeleteItem(s.admin, core.LiveStageID, s.hidden.ID); err != nil {
		t.Fatal(err)
	}
	rebuilt("a deletion", "/articles", "/articles/page/2", "/articles/rss.xml")

	// A named stage's edits touch no live page.
	st := &core.Stage{Name: "next"}
	if err := s.k.Store.Stages().CreateStage(s.admin, st); err != nil {
		t.Fatal(err)
	}
	if _, err := s.k.Store.Items().UpdateItem(s.admin, st.ID, s.item.ID, core.ItemUpdate{Title: ptr("Aardvark")}); err != nil {
		t.Fatal(err)
	}
	rebuilt("an edit in a stage")
	// Publishing it changes the sort key of the first article.
	if rep, err := s.k.Store.Stages().PublishStage(s.admin, st.ID, core.PublishOptions{}); err != nil || !rep.Applied {
		t.Fatalf("publish: %+v %v", rep, err)
	}
	rebuilt("publishing a title change", "/articles", "/articles/page/2", "/articles/rss.xml", "/blog/hello-world")
}
