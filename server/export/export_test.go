package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/demo"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres/pgtest"
	"github.com/trovato/trovato/server"
	"github.com/trovato/trovato/server/export"
)

// demoKernel is a kernel over a fresh database holding the demo site.
func demoKernel(t testing.TB) (*kernel.Kernel, context.Context) {
	t.Helper()
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
	return k, admin
}

func mustExport(t testing.TB, k *kernel.Kernel, dir string) *export.Report {
	t.Helper()
	return mustExportWith(t, k, export.Options{}, dir)
}

// mustExportWith exports k's site into dir with opts.
func mustExportWith(t testing.TB, k *kernel.Kernel, opts export.Options, dir string) *export.Report {
	t.Helper()
	ex, err := export.New(k, opts)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ex.Export(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func get(t *testing.T, h http.Handler, u string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
	return rec.Result()
}

func body(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mtimes maps every file under dir to its modification time.
func mtimes(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = fi.ModTime()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExport exports the demo site and checks every file against the
// server's answer for its URL, then edits one item, deletes another and
// exports again: only the files depending on them change.
func TestExport(t *testing.T) {
	k, admin := demoKernel(t)
	dir := t.TempDir()
	rep := mustExport(t, k, dir)
	if !rep.Full || len(rep.Removed) != 0 || len(rep.Changed) != 0 {
		t.Fatalf("first export: %+v", rep)
	}
	srv, err := server.New(k, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, found, err := export.ReadManifest(dir)
	if err != nil || !found {
		t.Fatalf("manifest: %v %v", found, err)
	}
	kinds := map[string]int{}
	for _, rel := range m.Paths() {
		en := m.Files[rel]
		kinds[en.Kind]++
		file, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		switch en.Kind {
		case export.KindPage, export.KindFile, export.KindAsset:
			res := get(t, srv, en.URL)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%s: the server answers %d", en.URL, res.StatusCode)
			}
			if b := body(t, res); !bytes.Equal(b, file) {
				t.Errorf("%s: %s differs from the server's %d bytes", en.URL, rel, len(b))
			}
		case export.KindRedirect:
			res := get(t, srv, en.URL)
			if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != en.Target {
				t.Errorf("%s: the server answers %d %q, the export redirects to %s", en.URL, res.StatusCode, res.Header.Get("Location"), en.Target)
			}
			if !bytes.Contains(file, []byte(`http-equiv="refresh" content="0; url=`+en.Target+`"`)) {
				t.Errorf("%s: no meta refresh to %s", rel, en.Target)
			}
		}
	}
	res := get(t, srv, "/no-such-page")
	if nf, _ := os.ReadFile(filepath.Join(dir, "404.html")); res.StatusCode != http.StatusNotFound || !bytes.Equal(body(t, res), nf) {
		t.Error("404.html differs from the server's not-found page")
	}
	// What the demo has: pages, its five images with derivatives, the
	// theme's assets, feeds and the sitemap.
	for _, want := range []string{"index.html", "latest/index.html", "articles/index.html", "articles/page/2/index.html",
		"rss.xml", "atom.xml", "articles/feed.xml", "sitemap.xml", "robots.txt", "404.html", export.NginxMapFile} {
		if m.Files[want] == nil {
			t.Errorf("%s not exported", want)
		}
	}
	if kinds[export.KindFile] < 10 || kinds[export.KindAsset] < 2 || kinds[export.KindPage] < 30 {
		t.Errorf("exported kinds: %v", kinds)
	}
	// Every URL of the sitemap is a file.
	sm, _ := os.ReadFile(filepath.Join(dir, "sitemap.xml"))
	for _, loc := range strings.Split(string(sm), "<loc>")[1:] {
		u := loc[:strings.Index(loc, "</loc>")]
		p := u[strings.Index(u[len("https://"):], "/")+len("https://"):]
		rel := strings.TrimPrefix(p+"/index.html", "/")
		if p == "/" {
			rel = "index.html"
		}
		if m.Files[rel] == nil {
			t.Errorf("sitemap URL %s not exported (%s)", u, rel)
		}
	}

	t.Run("NoChange", func(t *testing.T) {
		before := mtimes(t, dir)
		rep := mustExport(t, k, dir)
		if rep.Full || rep.Written != 0 || len(rep.Added)+len(rep.Changed)+len(rep.Removed) != 0 || rep.Rendered != 0 {
			t.Fatalf("an export without changes: %+v", rep)
		}
		after := mtimes(t, dir)
		for p, mt := range after {
			if !mt.Equal(before[p]) {
				t.Errorf("an export without changes touched %s", p)
			}
		}
		if len(after) != len(before) {
			t.Errorf("%d files before, %d after", len(before), len(after))
		}
	})

	// The item the edit and the deletion touch: its page's tags name it.
	itemURL := func(rel string) (core.ID, string) {
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
				return pid, rel
			}
		}
		t.Fatalf("%s has no item tag: %v", rel, en.Tags)
		return core.NilID, ""
	}

	t.Run("EditOneItem", func(t *testing.T) {
		id, rel := itemURL("articles/measuring-page-speed/index.html")
		it, err := k.Store.Items().FindItemByID(admin, core.LiveStageID, id)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]any
		if err := json.Unmarshal(it.Fields, &fields); err != nil {
			t.Fatal(err)
		}
		fields["body"] = "Rewritten: " + fields["body"].(string)
		raw, _ := json.Marshal(map[string]any{"body": fields["body"]})
		if _, err := k.Store.Items().UpdateItem(admin, core.LiveStageID, id, core.ItemUpdate{Fields: raw, Log: "export test", IfRevision: &it.RevisionID}); err != nil {
			t.Fatal(err)
		}
		before := mtimes(t, dir)
		rep := mustExport(t, k, dir)
		// The item's page, and the listings showing its teaser (whose
		// text is the start of the body) and the feeds.
		// The item's page and the sitemap (its lastmod); teasers and feeds
		// show no body.
		want := []string{rel, "sitemap.xml"}
		sort.Strings(want)
		got := append([]string(nil), rep.Changed...)
		sort.Strings(got)
		if !slices.Equal(got, want) || len(rep.Added)+len(rep.Removed) != 0 {
			t.Errorf("changed %v, want %v (added %v, removed %v)", got, want, rep.Added, rep.Removed)
		}
		// Rendered again: exactly the URLs whose tags the edit bumped.
		bumped := 0
		for _, en := range m.Files {
			if slices.Contains(en.Tags, "item:"+id.String()) || slices.Contains(en.Tags, "item:*") {
				bumped++
			}
		}
		if rep.Rendered != bumped || rep.Rendered >= len(m.Files) {
			t.Errorf("rendered %d URLs of %d for one edit; %d depend on the item", rep.Rendered, len(m.Files), bumped)
		}
		after := mtimes(t, dir)
		for p, mt := range after {
			if !mt.Equal(before[p]) && !slices.Contains(want, p) && p != export.ManifestFile && p != export.ManifestLogFile {
				t.Errorf("%s was written", p)
			}
		}
		checkAgainstServer(t, srv, dir, nil)
	})

	t.Run("DeleteOneItem", func(t *testing.T) {
		id, rel := itemURL("articles/alt-text-that-helps/index.html")
		if err := k.Store.Items().DeleteItem(admin, core.LiveStageID, id); err != nil {
			t.Fatal(err)
		}
		rep := mustExport(t, k, dir)
		if !slices.Contains(rep.Removed, rel) {
			t.Errorf("removed %v, not %s", rep.Removed, rel)
		}
		if _, err := os.Stat(filepath.Join(dir, rel)); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", rel, err)
		}
		if res := get(t, srv, "/"+strings.TrimSuffix(rel, "/index.html")); res.StatusCode != http.StatusNotFound {
			t.Errorf("the server answers %d for the deleted item", res.StatusCode)
		}
		m2, _, _ := export.ReadManifest(dir)
		for p := range m2.Files {
			if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
				t.Errorf("manifest lists %s: %v", p, err)
			}
		}
		checkAgainstServer(t, srv, dir, nil)
	})
}

// checkAgainstServer compares the pages among rels (nil: all) with the
// server.
func checkAgainstServer(t *testing.T, srv http.Handler, dir string, rels []string) {
	t.Helper()
	m, _, err := export.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rels == nil {
		rels = m.Paths()
	}
	for _, rel := range rels {
		en := m.Files[rel]
		if en == nil || en.Kind != export.KindPage {
			continue
		}
		file, _ := os.ReadFile(filepath.Join(dir, rel))
		if b := body(t, get(t, srv, en.URL)); !bytes.Equal(b, file) {
			t.Errorf("%s differs from the server's answer for %s", rel, en.URL)
		}
	}
}

func maps(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !b[k].Equal(v) {
			return false
		}
	}
	return true
}
