package export_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/server"
	"github.com/trovato/trovato/server/export"
)

// TestIncrementalExport lists exactly which URLs an incremental export of
// the demo renders again after one change, from the precise listing tags
// (docs/listings.md): an item's page, the listing pages, feeds and tiles
// showing it, and the sitemap; a listing only when the change can alter
// which items it shows or their order.
func TestIncrementalExport(t *testing.T) {
	k, admin := demoKernel(t)
	dir := t.TempDir()
	mustExport(t, k, dir)
	srv, err := server.New(k, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, found, err := export.ReadManifest(dir)
	if err != nil || !found {
		t.Fatalf("manifest: %v %v", found, err)
	}
	const page = "/articles/measuring-page-speed"
	id := itemIDOf(t, m, "articles/measuring-page-speed/index.html")
	// The pages showing the article: its own, the articles listing's page
	// 2 and the category pages of its category (…401) and tags (…307,
	// …302). The front page, /latest, the feeds and the sidebar tile show
	// newer articles.
	showing := []string{page, "/articles/page/2", "/term/01900000-0000-7000-8000-000000000302",
		"/term/01900000-0000-7000-8000-000000000307", "/term/01900000-0000-7000-8000-000000000401"}
	update := func(upd core.ItemUpdate) {
		t.Helper()
		it, err := k.Store.Items().FindItemByID(admin, core.LiveStageID, id)
		if err != nil {
			t.Fatal(err)
		}
		upd.IfRevision = &it.RevisionID
		if _, err := k.Store.Items().UpdateItem(admin, core.LiveStageID, id, upd); err != nil {
			t.Fatal(err)
		}
	}
	files := func(urls ...string) []string {
		var out []string
		for _, u := range urls {
			out = append(out, strings.TrimPrefix(u, "/")+"/index.html")
		}
		slices.Sort(out)
		return out
	}
	// consistent checks that every file written is the server's answer.
	consistent := func(rep *export.Report) {
		t.Helper()
		checkAgainstServer(t, srv, dir, append(append(append([]string(nil), rep.Changed...), rep.Added...), "sitemap.xml"))
	}

	t.Run("BodyEdit", func(t *testing.T) {
		update(core.ItemUpdate{Fields: json.RawMessage(`{"body":"Rewritten: a distribution, not a number."}`)})
		rep := mustExport(t, k, dir)
		// Teasers show no body (listings depend on the item's teaser tag,
		// not on item:ID): only the page and the sitemap's lastmod render.
		want := []string{"/articles/measuring-page-speed", "/sitemap.xml"}
		if !slices.Equal(rep.RenderedURLs, want) {
			t.Errorf("rendered %v\nwant %v", rep.RenderedURLs, want)
		}
		if wantChanged := []string{"articles/measuring-page-speed/index.html", "sitemap.xml"}; !slices.Equal(rep.Changed, wantChanged) ||
			len(rep.Added)+len(rep.Removed) != 0 {
			t.Errorf("changed %v added %v removed %v, want changed %v", rep.Changed, rep.Added, rep.Removed, wantChanged)
		}
		consistent(rep)
	})

	t.Run("TitleEdit", func(t *testing.T) {
		// The title is no sort key of these listings (and no filter of
		// their path pages), so the same pages render; their teasers
		// change.
		update(core.ItemUpdate{Title: ptr("Measuring page speed, honestly")})
		rep := mustExport(t, k, dir)
		want := append(append([]string(nil), showing...), "/sitemap.xml")
		slices.Sort(want)
		if !slices.Equal(rep.RenderedURLs, want) {
			t.Errorf("rendered %v\nwant %v", rep.RenderedURLs, want)
		}
		changed := slices.DeleteFunc(slices.Clone(rep.Changed), func(s string) bool { return s == "sitemap.xml" })
		if wantChanged := files(showing...); !slices.Equal(changed, wantChanged) {
			t.Errorf("changed %v, want %v", changed, wantChanged)
		}
		consistent(rep)
	})

	var created *core.Item
	// What a new or deleted article renders again: the listings of
	// articles and of every type, their feeds, the sitemap, the pages with
	// the latest-articles tile (every page outside /articles/), the
	// category pages (they list every type: items:(all)) and the article's
	// own page — no other article: links to an item depend on its alias
	// alone (alias:/item/ID), not on every alias.
	listings := []string{"/", "/articles", "/articles/feed.xml", "/articles/page/2", "/articles/page/3", "/atom.xml", "/latest", "/rss.xml", "/sitemap.xml"}
	tilePages := []string{"/about", "/colophon", "/contact", "/home", "/privacy"}
	var categories []string
	for _, en := range m.Files {
		if strings.HasPrefix(en.URL, "/term/") && en.Kind == export.KindPage {
			categories = append(categories, en.URL)
		}
	}
	if len(categories) < 10 {
		t.Fatalf("the demo's category pages: %v", categories)
	}
	createDelete := func(t *testing.T, rep *export.Report, own string) {
		t.Helper()
		want := append(append(append([]string{own}, listings...), tilePages...), categories...)
		slices.Sort(want)
		if !slices.Equal(rep.RenderedURLs, want) {
			t.Errorf("rendered %v\nwant %v", rep.RenderedURLs, want)
		}
		// Each of them shows the new article's teaser or the tile, but for
		// the category pages of other terms (their tile only).
		for _, u := range want {
			rel := strings.TrimPrefix(u, "/")
			if !strings.HasSuffix(rel, ".xml") {
				rel = strings.TrimPrefix(rel+"/index.html", "/")
			}
			if u != own && !slices.Contains(rep.Changed, rel) {
				t.Errorf("%s did not change", rel)
			}
		}
		// Every file, rendered again or not, is the server's answer.
		checkAgainstServer(t, srv, dir, nil)
	}

	t.Run("NewItem", func(t *testing.T) {
		created = &core.Item{Type: "article", Title: "A new article", Status: core.StatusPublished, Promote: true,
			Fields: json.RawMessage(`{"body":"Fresh."}`)}
		if err := k.Store.Items().CreateItem(admin, core.LiveStageID, created, "test"); err != nil {
			t.Fatal(err)
		}
		rep := mustExport(t, k, dir)
		if want := []string{"articles/a-new-article/index.html"}; !slices.Equal(rep.Added, want) || len(rep.Removed) != 0 {
			t.Errorf("added %v removed %v, want added %v", rep.Added, rep.Removed, want)
		}
		createDelete(t, rep, "/articles/a-new-article")
	})

	t.Run("Delete", func(t *testing.T) {
		if created == nil {
			t.Skip("no item created")
		}
		if err := k.Store.Items().DeleteItem(admin, core.LiveStageID, created.ID); err != nil {
			t.Fatal(err)
		}
		// This run reads its listings whole, as a run that renders many
		// pages again does (NewItem read them page by page): the same
		// pages render, and every file is the server's answer.
		defer export.SetWholeListings(1)()
		rep := mustExport(t, k, dir)
		if want := []string{"articles/a-new-article/index.html"}; !slices.Equal(rep.Removed, want) || len(rep.Added) != 0 {
			t.Errorf("removed %v added %v, want removed %v", rep.Removed, rep.Added, want)
		}
		createDelete(t, rep, "/articles/a-new-article")
		if _, err := os.Stat(filepath.Join(dir, "articles", "a-new-article")); !os.IsNotExist(err) {
			t.Errorf("the deleted article's folder is still there (%v)", err)
		}
	})

	t.Run("AliasEdit", func(t *testing.T) {
		// A new alias for the article: the pages linking to it render
		// again (its own, now a redirect, and the listings showing it),
		// the new URL is added; nothing else.
		docs, err := k.Store.Staged().FindStagedDocs(admin, core.KindAlias, core.LiveStageID)
		if err != nil {
			t.Fatal(err)
		}
		var doc *core.StagedDoc
		for _, d := range docs {
			var a core.Alias
			if json.Unmarshal(d.Doc, &a) == nil && a.Path == "/item/"+id.String() {
				doc = d
			}
		}
		if doc == nil {
			t.Fatal("the article has no alias")
		}
		body := json.RawMessage(`{"alias":"/articles/page-speed","language":"und","path":"/item/` + id.String() + `"}`)
		if _, err := k.Store.Staged().PutStaged(admin, core.KindAlias, core.LiveStageID, doc.ID, body, &doc.RevisionID, "move"); err != nil {
			t.Fatal(err)
		}
		rep := mustExport(t, k, dir)
		want := append(append([]string(nil), showing...), "/articles/page-speed", "/sitemap.xml")
		slices.Sort(want)
		if !slices.Equal(rep.RenderedURLs, want) {
			t.Errorf("rendered %v\nwant %v", rep.RenderedURLs, want)
		}
		if !slices.Equal(rep.Added, []string{"articles/page-speed/index.html"}) || len(rep.Removed) != 0 {
			t.Errorf("added %v removed %v", rep.Added, rep.Removed)
		}
		if m, _, err := export.ReadManifest(dir); err != nil || m.Files["articles/measuring-page-speed/index.html"].Kind != export.KindRedirect {
			t.Errorf("the former alias is no redirect page: %v", err)
		}
		checkAgainstServer(t, srv, dir, nil)

		// Moved again: both former aliases lead to the new one (the
		// redirects follow the alias table).
		cur, err := k.Store.Staged().FindStagedDocs(admin, core.KindAlias, core.LiveStageID)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range cur {
			if d.ID == doc.ID {
				doc = d
			}
		}
		body = json.RawMessage(`{"alias":"/articles/speed","language":"und","path":"/item/` + id.String() + `"}`)
		if _, err := k.Store.Staged().PutStaged(admin, core.KindAlias, core.LiveStageID, doc.ID, body, &doc.RevisionID, "move"); err != nil {
			t.Fatal(err)
		}
		mustExport(t, k, dir)
		m, _, err := export.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, rel := range []string{"articles/measuring-page-speed/index.html", "articles/page-speed/index.html"} {
			if en := m.Files[rel]; en == nil || en.Kind != export.KindRedirect || en.Target != "/articles/speed" {
				t.Errorf("%s: %+v, want a redirect to /articles/speed", rel, en)
			}
		}
		checkAgainstServer(t, srv, dir, nil)
	})
}

func ptr[T any](v T) *T { return &v }

// itemIDOf is the item a page shows: the one item:ID tag of its entry.
func itemIDOf(t *testing.T, m *export.Manifest, rel string) core.ID {
	t.Helper()
	en := m.Files[rel]
	if en == nil {
		t.Fatalf("%s not exported", rel)
	}
	for _, tag := range en.Tags {
		if id, ok := strings.CutPrefix(tag, "item:"); ok && id != "*" {
			pid, err := core.ParseID(id)
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatalf("%s has no item tag: %v", rel, en.Tags)
	return core.NilID
}
