package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/postgres/pgtest"
)

// searchTitles runs a live search as ctx's user and returns the titles.
func searchTitles(t *testing.T, ctx context.Context, s *postgres.Store, stage core.ID, q string) string {
	t.Helper()
	r, err := s.Search(ctx, q, stage, 1)
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	return hitTitles(r)
}

func mustPending(t *testing.T, s *postgres.Store, want int) {
	t.Helper()
	n, err := s.SearchPending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("%d items queued for indexing, want %d", n, want)
	}
}

// TestSearchQueue checks that a committed write is searchable at once
// (queued items are indexed on the fly), that the indexer empties the
// queue without changing any answer, that a stale stored vector is never
// used, and that items another indexer holds stay queued.
func TestSearchQueue(t *testing.T) {
	t.Parallel()
	s, admin := MustSite(t)
	a := mustArticle(t, admin, s, core.LiveStageID, "Gardening tips", "en", "", "Spring is here.")
	mustArticle(t, admin, s, core.LiveStageID, "Morning run", "en", "", "I run every day.")
	mustPending(t, s, 2)
	ranked := func() string {
		r, err := s.Search(admin, "gardening spring", core.LiveStageID, 1)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s %.4f", hitTitles(r), r.Hits[0].Rank)
	}
	before := ranked()
	if n, err := s.IndexSearch(context.Background()); err != nil || n != 2 {
		t.Fatalf("indexed %d, %v; want 2", n, err)
	}
	mustPending(t, s, 0)
	if after := ranked(); after != before {
		t.Fatalf("indexed search answers %q, on the fly %q", after, before)
	}

	// A publish queues the items it moves; the old stored vector of a is
	// not used while it waits.
	st := mustStage(t, admin, s, "rename")
	title := "Kitchen herbs"
	if _, err := s.Items().UpdateItem(admin, st.ID, a.ID, core.ItemUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	if got := searchTitles(t, admin, s, st.ID, "herbs"); got != "Kitchen herbs" {
		t.Fatalf("stage search finds %q", got)
	}
	if rep, err := s.Stages().PublishStage(admin, st.ID, core.PublishOptions{}); err != nil || !rep.Applied {
		t.Fatal(err, rep)
	}
	mustPending(t, s, 1)
	if got := searchTitles(t, admin, s, core.LiveStageID, "herbs"); got != "Kitchen herbs" {
		t.Fatalf("published title not searchable before indexing: %q", got)
	}
	if got := searchTitles(t, admin, s, core.LiveStageID, "gardening"); got != "" {
		t.Fatalf("the replaced title is still found: %q", got)
	}

	// An indexer holding the row (another node) is skipped: the item stays
	// queued, and is indexed once the holder lets go.
	tx, err := s.Pool().Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), `SELECT 1 FROM search_pending FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	if n, err := s.IndexSearch(context.Background()); err != nil || n != 0 {
		t.Fatalf("indexed %d locked items, %v", n, err)
	}
	_ = tx.Rollback(context.Background())
	mustPending(t, s, 1)
	if n, err := s.IndexSearch(context.Background()); err != nil || n != 1 {
		t.Fatalf("indexed %d, %v; want 1", n, err)
	}
	if got := searchTitles(t, admin, s, core.LiveStageID, "herbs"); got != "Kitchen herbs" {
		t.Fatalf("after indexing: %q", got)
	}
	if got := searchTitles(t, admin, s, core.LiveStageID, "gardening"); got != "" {
		t.Fatalf("after indexing the old title is found: %q", got)
	}

	// A deleted item leaves the queue and the index with it.
	gone := mustArticle(t, admin, s, core.LiveStageID, "Temporary", "en", "", "Gone soon.")
	if err := s.Items().DeleteItem(admin, core.LiveStageID, gone.ID); err != nil {
		t.Fatal(err)
	}
	mustPending(t, s, 0)
}

// TestSearchQueueSurvivesRestart publishes through one store that then
// goes away before indexing (a crash after commit); a new store on the
// same database finds the items at once and its indexer, woken by the
// notification of another store's commit, indexes everything.
func TestSearchQueueSurvivesRestart(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDBURL(t)
	open := func() *postgres.Store {
		pool, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		return postgres.NewStore(postgres.StoreConfig{Pool: pool, ValidateConfig: core.CheckConfigDocument})
	}
	first := open()
	admin := asAdmin(t, first)
	mustPut(t, admin, first, "item_type", "article", articleType)
	st := mustStage(t, admin, first, "batch")
	for i := range 30 {
		mustArticle(t, admin, first, st.ID, fmt.Sprintf("Lighthouse %02d", i), "en", "", "A tower by the sea.")
	}
	if rep, err := first.Stages().PublishStage(admin, st.ID, core.PublishOptions{}); err != nil || !rep.Applied {
		t.Fatal(err, rep)
	}
	first.Pool().Close() // the process dies before it indexed anything

	second := open()
	t.Cleanup(second.Pool().Close)
	mustPending(t, second, 30)
	if r, err := second.Search(context.Background(), "lighthouse", core.LiveStageID, 1); err != nil || r.Total != 30 {
		t.Fatalf("before indexing: %v, %+v", err, r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { second.RunSearchIndexer(ctx, time.Hour); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitPending := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			n, err := second.SearchPending(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d items still queued", what, n)
			}
		}
	}
	waitPending("after restart")

	// A third store (another node) writes; the running indexer hears the
	// notification long before its hour-long interval.
	third := open()
	t.Cleanup(third.Pool().Close)
	mustArticle(t, asAdmin(t, third), third, core.LiveStageID, "Lighthouse keeper", "en", "", "Keeps the light.")
	waitPending("after another node's write")
	if r, err := second.Search(context.Background(), "lighthouse", core.LiveStageID, 1); err != nil || r.Total != 31 {
		t.Fatalf("after indexing: %v, %+v", err, r)
	}
}
