package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/demo"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres/pgtest"
	"github.com/trovato/trovato/server"
)

// warnings collects the log records at warning level and above.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	w.mu.Lock()
	w.msgs = append(w.msgs, b.String())
	w.mu.Unlock()
	return nil
}
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnings) WithGroup(string) slog.Handler      { return w }

var reLink = regexp.MustCompile(`(?:href|src)="(/[^"]*)"`)

// TestDemoSite loads the demo and crawls the site from the front page:
// every internal link and image answers (200, or a redirect to a page that
// does), and no render tree or field is dropped on the way.
func TestDemoSite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := kernel.DefaultConfig(t.TempDir())
	cfg.DatabaseURL = pgtest.NewDBURL(t)
	k, err := kernel.New(ctx, cfg, kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close(context.Background()) })
	admin, err := k.AsUser(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Load(admin, demo.NewStoreLoader(k.Store, k.Files()), demo.Options{}); err != nil {
		t.Fatal(err)
	}
	var base string
	if doc, err := k.Store.Config().FindConfig(ctx, "site", "site"); err == nil {
		var site struct {
			BaseURL string `json:"base_url"`
		}
		_ = json.Unmarshal(doc.Body, &site)
		base = strings.TrimSuffix(site.BaseURL, "/")
	}
	warn := &warnings{}
	srv, err := server.New(k, server.Options{Logger: slog.New(warn)})
	if err != nil {
		t.Fatal(err)
	}
	get := func(p string) (*http.Response, string) {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		res := rec.Result()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	// Crawl from the front page and every alias (listings of all articles
	// come with gathers).
	docs, err := k.Store.Staged().FindStagedDocs(admin, core.KindAlias, core.LiveStageID)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("the demo has no aliases")
	}
	seen := map[string]bool{"/": true}
	queue := []string{"/"}
	unpublished := map[string]bool{} // aliases of unpublished items: 404 for visitors
	for _, d := range docs {
		var a core.Alias
		if err := json.Unmarshal(d.Doc, &a); err != nil {
			t.Fatal(err)
		}
		if !seen[a.Alias] {
			seen[a.Alias] = true
			queue = append(queue, a.Alias)
		}
		if id, ok := strings.CutPrefix(a.Path, "/item/"); ok {
			it, err := k.Store.Items().FindItemByID(admin, core.LiveStageID, mustID(t, id))
			if err == nil && it.Status != core.StatusPublished {
				unpublished[a.Alias] = true
			}
		}
	}
	pages := 0
	for len(queue) > 0 && len(seen) < 500 {
		p := queue[0]
		queue = queue[1:]
		res, body := get(p)
		for hop := 0; res.StatusCode == http.StatusMovedPermanently && hop < 3; hop++ {
			loc := res.Header.Get("Location")
			if !strings.HasPrefix(loc, "/") {
				t.Fatalf("%s redirects off the site to %q", p, loc)
			}
			res, body = get(loc)
		}
		if res.StatusCode != http.StatusOK {
			if strings.HasPrefix(p, "/user/") || (unpublished[p] && res.StatusCode == http.StatusNotFound) {
				continue // signing in comes with accounts; drafts are not for visitors
			}
			t.Errorf("%s: status %d", p, res.StatusCode)
			continue
		}
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			continue
		}
		pages++
		// The base URL appears only in the canonical link and social tags.
		for _, line := range strings.Split(body, "\n") {
			if base != "" && strings.Contains(line, base) && !strings.HasPrefix(line, `<link rel="canonical"`) && !strings.HasPrefix(line, `<meta property="og:`) {
				t.Errorf("%s: base URL outside the head's absolute URLs: %.120s", p, line)
			}
		}
		for _, m := range reLink.FindAllStringSubmatch(body, -1) {
			u := strings.ReplaceAll(m[1], "&amp;", "&")
			if i := strings.IndexAny(u, "#?"); i >= 0 {
				u = u[:i]
			}
			if u == "" || seen[u] {
				continue
			}
			seen[u] = true
			queue = append(queue, u)
		}
	}
	if pages < 10 {
		t.Fatalf("crawled only %d pages: %v", pages, seen)
	}
	for _, w := range warn.msgs {
		t.Errorf("logged: %s", w)
	}
	t.Logf("crawled %d pages, %d URLs", pages, len(seen))
}

func mustID(t *testing.T, s string) core.ID {
	t.Helper()
	id, err := core.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
