package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

func mustArticle(t *testing.T, ctx context.Context, s *postgres.Store, stage core.ID, title, lang, status, body string) *core.Item {
	t.Helper()
	f, _ := json.Marshal(map[string]string{"body": body})
	it := &core.Item{Type: "article", Title: title, Language: lang, Status: status, Fields: f}
	if err := s.Items().CreateItem(ctx, stage, it, ""); err != nil {
		t.Fatalf("create %q: %v", title, err)
	}
	return it
}

func hitTitles(r *core.SearchResult) string {
	var out []string
	for _, h := range r.Hits {
		out = append(out, h.Item.Title)
	}
	return strings.Join(out, " | ")
}

func TestSearch(t *testing.T) {
	t.Parallel()
	s, admin := MustSite(t)
	mustArticle(t, admin, s, core.LiveStageID, "Notes", "en", "", "Some tips on gardening in spring and other things.")
	mustArticle(t, admin, s, core.LiveStageID, "Gardening tips", "en", "", "Spring is here.")
	mustArticle(t, admin, s, core.LiveStageID, "Morning run", "en", "", "I run every day before work.")
	mustArticle(t, admin, s, core.LiveStageID, "Laufen", "de", "", "Wir laufen jeden Tag.")
	mustArticle(t, admin, s, core.LiveStageID, "Hidden garden", "en", core.StatusUnpublished, "A secret gardening diary.")
	mustArticle(t, admin, s, core.LiveStageID, "Markup", "en", "", "<script>alert(1)</script> gardening & <b>bold</b>")

	search := func(ctx context.Context, q string) *core.SearchResult {
		t.Helper()
		r, err := s.Search(ctx, q, core.LiveStageID, 1)
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		if r.Total != len(r.Hits) {
			t.Fatalf("search %q: total %d for %d hits", q, r.Total, len(r.Hits))
		}
		return r
	}
	anon := context.Background()

	t.Run("TitleAboveBody", func(t *testing.T) {
		r := search(anon, "gardening")
		if len(r.Hits) != 3 || r.Hits[0].Item.Title != "Gardening tips" || r.Hits[0].Rank <= r.Hits[1].Rank {
			t.Fatalf("hits = %s (%+v)", hitTitles(r), r.Hits)
		}
	})
	t.Run("Stemming", func(t *testing.T) {
		if got := hitTitles(search(anon, "running")); got != "Morning run" {
			t.Fatalf("running finds %q", got)
		}
		if got := hitTitles(search(anon, "runs")); got != "Morning run" {
			t.Fatalf("runs finds %q", got)
		}
		if got := hitTitles(search(anon, "laufe")); got != "Laufen" {
			t.Fatalf("German stemming: laufe finds %q", got)
		}
	})
	t.Run("Access", func(t *testing.T) {
		if got := hitTitles(search(anon, "diary")); got != "" {
			t.Fatalf("anonymous finds the unpublished item: %q", got)
		}
		if got := hitTitles(search(admin, "diary")); got != "Hidden garden" {
			t.Fatalf("admin finds %q", got)
		}
	})
	t.Run("SnippetEscaped", func(t *testing.T) {
		r := search(anon, "gardening bold")
		var snip string
		for _, h := range r.Hits {
			if h.Item.Title == "Markup" {
				snip = h.Snippet
			}
		}
		// Only <mark> is markup; the rest is escaped text.
		rest := strings.NewReplacer("<mark>", "", "</mark>", "").Replace(snip)
		if !strings.Contains(snip, "<mark>gardening</mark>") || strings.ContainsAny(rest, "<>") || !strings.Contains(snip, "&amp;") {
			t.Fatalf("snippet = %q", snip)
		}
	})
	t.Run("Operators", func(t *testing.T) {
		if got := hitTitles(search(anon, `gardening -spring`)); got != "Markup" {
			t.Fatalf("-spring: %q", got)
		}
		if got := hitTitles(search(anon, `"every day"`)); got != "Morning run" {
			t.Fatalf("phrase: %q", got)
		}
		if got := hitTitles(search(anon, `diary or run`)); got != "Morning run" {
			t.Fatalf("or: %q", got)
		}
		for _, q := range []string{`'; DROP TABLE item; --`, `!!! &&& ||| <-> :* ( ) \`, `"unbalanced`, `-`, `""`, `a & b | !c`, "\u00e9t\u00e9 \u2603", "   "} {
			if _, err := s.Search(anon, q, core.LiveStageID, 1); err != nil {
				t.Errorf("search %q: %v", q, err)
			}
		}
	})
	t.Run("BadInput", func(t *testing.T) {
		for name, tc := range map[string]struct {
			q    string
			page int
			path string
		}{
			"TenKB":      {strings.Repeat("gardening ", 1024), 1, "q"},
			"JustOver":   {strings.Repeat("x", core.SearchMaxQuery+1), 1, "q"},
			"BadUTF8":    {"garden\xff", 1, "q"},
			"NUL":        {"garden\x00", 1, "q"},
			"PageAbsurd": {"garden", 1 << 30, "page"},
			"PageNeg":    {"garden", -2, "page"},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := s.Search(anon, tc.q, core.LiveStageID, tc.page)
				wantCode(t, err, core.EInvalid)
				if fe := core.ErrorFields(err); len(fe) == 0 || fe[0].Path != tc.path {
					t.Fatalf("fields = %v", fe)
				}
			})
		}
		r, err := s.Search(anon, "gardening", core.LiveStageID, 50)
		if err != nil || len(r.Hits) != 0 || r.Total != 3 || r.Pages != 1 {
			t.Fatalf("beyond the end = %+v, %v", r, err)
		}
	})
	t.Run("Weights", func(t *testing.T) {
		// Body above title: the search document re-indexes live items.
		mustPut(t, admin, s, "search", "article", `{"kind":"search","name":"article","weights":{"title":"D","body":"A"}}`)
		r := search(anon, "gardening")
		if len(r.Hits) != 3 || r.Hits[len(r.Hits)-1].Item.Title != "Gardening tips" {
			t.Fatalf("hits = %s", hitTitles(r))
		}
		mustPut(t, admin, s, "search", "article", `{"kind":"search","name":"article","weights":{"body":"none"}}`)
		if got := hitTitles(search(anon, "spring")); got != "" {
			t.Fatalf("body excluded, yet spring finds %q", got)
		}
		_, err := s.Config().PutConfig(admin, "search", "article", json.RawMessage(`{"kind":"search","name":"article","weights":{"body":"E"}}`), 0)
		wantCode(t, err, core.EInvalid)
	})
}

func TestSearchStageAndPages(t *testing.T) {
	t.Parallel()
	s, admin := MustSite(t)
	for i := 0; i < 23; i++ {
		mustArticle(t, admin, s, core.LiveStageID, fmt.Sprintf("Walk %02d", i), "en", "", "Walking in the hills.")
	}
	old := mustArticle(t, admin, s, core.LiveStageID, "Old news", "en", "", "Nothing to see.")
	st := mustStage(t, admin, s, "draft")
	mustArticle(t, admin, s, st.ID, "Swimming", "en", "", "Swimming in the lake.")
	body := json.RawMessage(`{"body":"Walking by the lake."}`)
	if _, err := s.Items().UpdateItem(admin, st.ID, old.ID, core.ItemUpdate{Fields: body}); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		stage core.ID
		q     string
		page  int
		hits  int
		total int
		pages int
	}{
		"LivePage1":    {core.LiveStageID, "walks", 1, 10, 23, 3},
		"LivePage3":    {core.LiveStageID, "walks", 3, 3, 23, 3},
		"LiveBeyond":   {core.LiveStageID, "walks", 4, 0, 23, 3},
		"StageOverlay": {st.ID, "walks", 3, 4, 24, 3},
		"StageOnly":    {st.ID, "lake", 1, 2, 2, 1},
		"LiveNoLake":   {core.LiveStageID, "lake", 1, 0, 0, 1},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := s.Search(admin, tc.q, tc.stage, tc.page)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Hits) != tc.hits || r.Total != tc.total || r.Pages != tc.pages {
				t.Fatalf("hits %d total %d pages %d; want %d %d %d", len(r.Hits), r.Total, r.Pages, tc.hits, tc.total, tc.pages)
			}
		})
	}
}
