package server_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/memory"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/render"
	"github.com/trovato/trovato/server"
)

// acmePage is a site theme's page template: a marker class, its own
// stylesheet and a region of its own.
const acmePage = `<!DOCTYPE html>
<html lang="{{.Lang}}">
<head><meta charset="utf-8"><title>{{.HeadTitle}}</title>
<link rel="stylesheet" href="{{.Asset "acme.css"}}"></head>
<body class="acme-MARK">
<header>{{.Region "header"}}</header>
<main>{{if not .HideTitle}}<h1>{{.Title}}</h1>{{end}}{{.Region "content"}}</main>
<aside>{{.Region "promo"}}</aside>
</body>
</html>
`

// writeTheme writes a theme folder; files maps paths to contents.
func writeTheme(t testing.TB, dir string, files map[string]string) string {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func acmeFiles(mark string) map[string]string {
	return map[string]string{
		"theme.yaml":          "name: acme\nlabel: Acme\nversion: 1.0.0\nregions: [header, content, promo]\n",
		"templates/page.html": strings.ReplaceAll(acmePage, "MARK", mark),
		"assets/acme.css":     "body{color:#123}\n",
		"README.md":           "not part of the theme\n",
	}
}

// installTheme stores a theme folder as `trovato theme install` does.
func installTheme(ctx context.Context, k *kernel.Kernel, dir string) (*postgres.InstalledTheme, error) {
	th, err := render.ReadThemeDir(dir)
	if err != nil {
		return nil, err
	}
	ts := k.Store.Themes()
	if _, err := server.BuildTheme(ctx, ts, th, render.Options{}); err != nil {
		return nil, err
	}
	m := th.Manifest
	return ts.InstallTheme(ctx, postgres.ThemeInstall{Name: m.Name, Label: m.Label, Version: m.Version, Base: m.Base, Regions: m.Regions, Files: th.Files})
}

func body(t testing.TB, h http.Handler, target string) (string, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d", target, rec.Code)
	}
	return rec.Body.String(), rec.Header().Get(server.CacheHeader)
}

// waitFor polls until ok or fails after 10 s.
func waitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestThemeInstallAndSwitch: two server nodes over one database (page
// cache shared) follow the change feed; installing and enabling a theme
// switches both without a restart and invalidates pages cached under the
// old theme; a broken theme is refused with file:line and changes
// nothing; uninstall refuses the enabled theme; "default" goes back.
func TestThemeInstallAndSwitch(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tc := memory.NewTagCache(100)
	var nodes []*server.Server
	for range 2 {
		srv, err := server.New(s.k, server.Options{PageCache: tc, Sessions: s.srv.Sessions()})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.FollowThemes(ctx, 20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, srv)
	}
	page := "/blog/hello-world"
	before, _ := body(t, nodes[0], page)
	if _, state := body(t, nodes[0], page); state != "hit" || strings.Contains(before, "acme-") {
		t.Fatalf("default theme page not cached (%q)", state)
	}

	// A broken template: refused with its file and line, nothing stored.
	broken := acmeFiles("one")
	broken["templates/element--heading.html"] = "<h2>\n{{.Text}\n</h2>\n"
	_, err := installTheme(s.admin, s.k, writeTheme(t, t.TempDir(), broken))
	var te *render.TemplateError
	if !errors.As(err, &te) || te.File != "templates/element--heading.html" || te.Line != 2 {
		t.Fatalf("broken theme: %v", err)
	}
	if list, err := s.k.Store.Themes().FindThemes(s.admin); err != nil || len(list) != 0 {
		t.Fatalf("a broken theme was stored: %v %v", list, err)
	}
	badField := acmeFiles("one")
	badField["templates/page.html"] = strings.Replace(acmePage, "{{.Title}}", "{{.NoSuchField}}", 1)
	if _, err := installTheme(s.admin, s.k, writeTheme(t, t.TempDir(), badField)); !errors.As(err, &te) || te.File != "templates/page.html" || te.Line != 7 {
		t.Fatalf("template naming a missing field: %v", err)
	}

	row, err := installTheme(s.admin, s.k, writeTheme(t, t.TempDir(), acmeFiles("one")))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := row.Files["README.md"]; ok || len(row.Files) != 3 || row.Enabled {
		t.Fatalf("stored %v (enabled %v)", row.Files, row.Enabled)
	}
	if got, _ := body(t, nodes[1], page); got != before {
		t.Fatal("installing without enabling changed the page")
	}
	if err := s.k.Store.Themes().EnableTheme(s.admin, "acme"); err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		// The page alone is not enough: another node's rendering of it
		// may come from the shared page cache before this node swapped.
		waitFor(t, "node to switch", func() bool {
			got, _ := body(t, n, page)
			return strings.Contains(got, `class="acme-one"`) && n.Renderer().Theme().Name == "acme"
		})
		if name := n.Renderer().Theme().Name; name != "acme" || !n.Renderer().HasRegion("promo") || n.Renderer().HasRegion("sidebar") {
			t.Errorf("node %d: theme %s, regions %v", i, name, n.Renderer().Theme().Regions)
		}
	}
	got, _ := body(t, nodes[0], page)
	css := nodes[0].Renderer().Asset("acme.css")
	if !strings.Contains(got, `href="`+css+`"`) || !strings.Contains(got, "Hello") {
		t.Fatalf("acme page lacks its stylesheet %s or the item:\n%s", css, got)
	}
	if a, _ := body(t, nodes[1], css); a != "body{color:#123}\n" {
		t.Fatalf("asset %s: %q", css, a)
	}

	// An upgrade of the enabled theme reaches both nodes.
	if _, err := installTheme(s.admin, s.k, writeTheme(t, t.TempDir(), acmeFiles("two"))); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		waitFor(t, "upgrade", func() bool { got, _ := body(t, n, page); return strings.Contains(got, `class="acme-two"`) })
	}
	if err := s.k.Store.Themes().UninstallTheme(s.admin, "acme"); core.ErrorCode(err) != core.EConflict {
		t.Fatalf("uninstall of the enabled theme: %v", err)
	}
	if err := s.k.Store.Themes().EnableTheme(s.admin, render.DefaultThemeName); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		waitFor(t, "default theme", func() bool { got, _ := body(t, n, page); return got == before })
	}
	if err := s.k.Store.Themes().UninstallTheme(s.admin, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := s.k.Store.Themes().EnableTheme(s.admin, "acme"); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("enable an uninstalled theme: %v", err)
	}
	// Only an administrator installs themes.
	anon := core.NewContextWithUser(context.Background(), core.Anonymous)
	if _, err := installTheme(anon, s.k, writeTheme(t, t.TempDir(), acmeFiles("x"))); core.ErrorCode(err) != core.EForbidden && core.ErrorCode(err) != core.EUnauthorized {
		t.Fatalf("anonymous install: %v", err)
	}
}

// TestThemeBaseChain: a theme extending an installed theme gets its
// templates and regions; a missing base is refused.
func TestThemeBaseChain(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{})
	if _, err := installTheme(s.admin, s.k, writeTheme(t, t.TempDir(), acmeFiles("base"))); err != nil {
		t.Fatal(err)
	}
	child := map[string]string{
		"theme.yaml":      "name: acme-dark\nbase: acme\n",
		"assets/dark.css": "body{background:#000}\n",
	}
	if _, err := installTheme(s.admin, s.k, writeTheme(t, t.TempDir(), child)); err != nil {
		t.Fatal(err)
	}
	if err := s.k.Store.Themes().EnableTheme(s.admin, "acme-dark"); err != nil {
		t.Fatal(err)
	}
	if err := s.srv.LoadTheme(s.admin); err != nil {
		t.Fatal(err)
	}
	got, _ := body(t, s.srv, "/blog/hello-world")
	if !strings.Contains(got, `class="acme-base"`) || !s.srv.Renderer().HasRegion("promo") || s.srv.Renderer().Asset("dark.css") == "" {
		t.Fatalf("child theme did not inherit: %v\n%s", s.srv.Renderer().Theme(), got)
	}
	if err := s.k.Store.Themes().UninstallTheme(s.admin, "acme"); core.ErrorCode(err) != core.EConflict {
		t.Fatalf("uninstall of a base: %v", err)
	}
	orphan := map[string]string{"theme.yaml": "name: orphan\nbase: nosuch\n"}
	if _, err := installTheme(s.admin, s.k, writeTheme(t, t.TempDir(), orphan)); core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), "nosuch") {
		t.Fatalf("missing base: %v", err)
	}
}

// lockedBuffer is a log sink read while the watcher writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWatchThemeDir: the development folder is served at once, reloaded
// after an edit, and a broken edit is logged with file:line while the
// last good theme keeps serving.
func TestWatchThemeDir(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{})
	var logs lockedBuffer
	srv, err := server.New(s.k, server.Options{Sessions: s.srv.Sessions(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	dir := writeTheme(t, t.TempDir(), acmeFiles("one"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.WatchThemeDir(ctx, dir) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	page := "/blog/hello-world"
	waitFor(t, "the folder's theme", func() bool { got, _ := body(t, srv, page); return strings.Contains(got, `class="acme-one"`) })
	writeTheme(t, dir, map[string]string{"templates/page.html": strings.ReplaceAll(acmePage, "MARK", "two")})
	waitFor(t, "the edit", func() bool { got, _ := body(t, srv, page); return strings.Contains(got, `class="acme-two"`) })

	writeTheme(t, dir, map[string]string{"templates/page.html": strings.Replace(acmePage, "{{end}}", "", 1)})
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	})
	waitFor(t, "the error logged", func() bool {
		return strings.Contains(logs.String(), filepath.ToSlash(dir)+"/templates/page.html:11: unexpected EOF")
	})
	if got, _ := body(t, srv, page); !strings.Contains(got, `class="acme-two"`) {
		t.Fatal("a broken edit replaced the last good theme")
	}
	// A fixed page and an asset in a new folder load together.
	fixed := map[string]string{"templates/page.html": strings.ReplaceAll(acmePage, "MARK", "three"), "assets/img/logo.svg": "<svg xmlns=\"http://www.w3.org/2000/svg\"/>"}
	writeTheme(t, dir, fixed)
	waitFor(t, "the fix", func() bool {
		got, _ := body(t, srv, page)
		return strings.Contains(got, `class="acme-three"`) && srv.Renderer().Asset("img/logo.svg") != ""
	})
}
