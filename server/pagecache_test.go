package server_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/memory"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/server"
)

// TestPageCacheHitsAndDeps: a hit carries the same validators and headers
// as the page it stores, in each encoding; the tags of every path page
// built are recorded in PostgreSQL (page_dep) where a new process finds
// them; query-string variants are not recorded.
func TestPageCacheHitsAndDeps(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{})
	deps := postgres.NewPageDeps(s.k.Store, nil)
	tc := memory.NewTagCache(100)
	srv, err := server.New(s.k, server.Options{PageCache: tc, PageDeps: deps, Sessions: s.srv.Sessions()})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = srv
	page := "/blog/hello-world"

	for _, enc := range []string{"", "gzip", "br"} {
		t.Run("Encoding"+enc, func(t *testing.T) {
			hdr := map[string]string{"Accept-Encoding": enc}
			miss := s.do(http.MethodGet, page, hdr, nil)
			missBody, _ := io.ReadAll(miss.Body)
			hit := s.do(http.MethodGet, page, hdr, nil)
			hitBody, _ := io.ReadAll(hit.Body)
			if miss.Header.Get(server.CacheHeader) != "miss" || hit.Header.Get(server.CacheHeader) != "hit" {
				t.Fatalf("cache %q then %q", miss.Header.Get(server.CacheHeader), hit.Header.Get(server.CacheHeader))
			}
			if string(hitBody) != string(missBody) {
				t.Fatal("the hit's body differs from the page built")
			}
			for _, h := range []string{"Etag", "Content-Type", "Content-Encoding", "Cache-Control", "Vary", "Last-Modified"} {
				if hit.Header.Get(h) != miss.Header.Get(h) {
					t.Errorf("%s: hit %q, built %q", h, hit.Header.Get(h), miss.Header.Get(h))
				}
			}
			if hit.Header.Get("Content-Encoding") != enc {
				t.Errorf("Content-Encoding %q, want %q", hit.Header.Get("Content-Encoding"), enc)
			}
			if n, _ := strconv.Atoi(hit.Header.Get("Content-Length")); n != len(hitBody) {
				t.Errorf("Content-Length %q for %d bytes", hit.Header.Get("Content-Length"), len(hitBody))
			}
			hdr["If-None-Match"] = hit.Header.Get("Etag")
			nm := s.do(http.MethodGet, page, hdr, nil)
			wantStatus(t, nm, http.StatusNotModified)
			if nm.Header.Get("Content-Type") != "" || nm.Header.Get("Etag") == "" || nm.Header.Get(server.CacheHeader) != "hit" {
				t.Errorf("304 headers %v", nm.Header)
			}
			head := s.do(http.MethodHead, page, map[string]string{"Accept-Encoding": enc}, nil)
			if b, _ := io.ReadAll(head.Body); len(b) != 0 || head.Header.Get(server.CacheHeader) != "hit" {
				t.Errorf("HEAD: %d bytes, cache %q", len(b), head.Header.Get(server.CacheHeader))
			}
		})
	}

	// An edit makes the next request a miss with the new title.
	title := "Hello again"
	if _, err := s.k.Store.Items().UpdateItem(s.admin, core.LiveStageID, s.item.ID, core.ItemUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	if err := tc.BumpTags(context.Background(), core.TagsForChange(core.Change{Kind: core.KindItem, EntityID: s.item.ID.String()})...); err != nil {
		t.Fatal(err)
	}
	res, body := s.get(page, nil)
	if res.Header.Get(server.CacheHeader) != "miss" || !strings.Contains(body, title) {
		t.Fatalf("after the edit: cache %q", res.Header.Get(server.CacheHeader))
	}

	s.get(page+"?utm_source=x", nil)
	s.get("/search?q=hello", nil)
	restarted := postgres.NewPageDeps(s.k.Store, nil)
	if err := deps.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := restarted.PagesFor(context.Background(), []string{core.EntityTag(core.KindItem, s.item.ID.String())})
	if err != nil || !slices.Equal(got, []string{page}) {
		t.Fatalf("pages for the item: %v %v", got, err)
	}
	all, err := restarted.PagesFor(context.Background(), []string{core.ListTag(core.KindConfig)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		if strings.Contains(p, "?") {
			t.Errorf("a query-string variant was recorded: %s", p)
		}
	}
}
