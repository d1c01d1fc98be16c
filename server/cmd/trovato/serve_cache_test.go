package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/server"
)

// TestServeRecordsPageDeps: a serve node records the tags of the pages it
// builds in PostgreSQL, and writes what is queued when it stops, so they
// outlive the process and its cache.
func TestServeRecordsPageDeps(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.must("category", "vocabulary", "create", "tags")
	c.must("type", "apply", c.file("article.yaml", articleYAML))
	item := c.must("item", "create", "--type", "article", "--title", "Recorded", "--status", "published")
	page := "/item/" + item
	ctx := context.Background()
	cfg := kernel.DefaultConfig(c.dataDir)
	cfg.DatabaseURL = c.dbURL
	k, err := kernel.New(ctx, cfg, kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close(ctx)
	var opts server.Options
	stop, err := caching(ctx, k, nil, "", "127.0.0.1:0", time.Hour, &opts, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(k, opts)
	if err != nil {
		stop()
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, page, nil))
	if rec.Code != http.StatusOK || rec.Header().Get(server.CacheHeader) != "miss" {
		stop()
		t.Fatalf("item page: %d, cache %q", rec.Code, rec.Header().Get(server.CacheHeader))
	}
	stop() // flushes the queue (the node's flush interval has not passed)
	var tags []string
	if err := k.Pool.QueryRow(ctx, `SELECT tags FROM page_dep WHERE path = $1`, page).Scan(&tags); err != nil {
		t.Fatalf("the item page's dependencies were not recorded: %v", err)
	}
	if !slices.Contains(tags, core.EntityTag(core.KindItem, item)) || !slices.Contains(tags, core.ListTag(core.KindConfig)) {
		t.Fatalf("item page tags %v", tags)
	}
}
