package desktop

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/memory"
)

// TestFirstRunPluginsInBackground: the first-run setup returns once the
// site is ready, before the reference plugins are compiled (an empty
// compilation cache); the site's handler is made and serves meanwhile,
// without the plugins' pages; once the background load finished, the
// same handler serves the blog plugin's route, desktop.json no longer
// says the plugins are pending, and a later start loads them again.
func TestFirstRunPluginsInBackground(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the reference plugins: not with -short")
	}
	ctx := context.Background()
	cfg := testConfig(t, false)
	cfg.Kernel.PluginCacheDir = filepath.Join(t.TempDir(), "wasm") // empty: nothing precompiled
	site, err := CreateSite(ctx, cfg, NewSiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { site.Close(context.Background()) })
	if !site.Kernel.Plugins.Loading() {
		t.Fatal("CreateSite returned after the reference plugins were loaded")
	}
	if info, err := Inspect(cfg.Kernel.DataDir); err != nil || info == nil || !info.PluginsPending {
		t.Fatalf("desktop.json during the background load: %+v %v", info, err)
	}
	h, err := NewHandler(ctx, site, HandlerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !site.Kernel.Plugins.Loading() {
		t.Fatal("NewHandler waited for the plugins")
	}
	// A page asked for during the load waits for the plugins: no page
	// renders without them (the preview equals the server's).
	res, body := do(t, h, "GET", "/blog", "", "", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "<title>Blog |") {
		t.Errorf("/blog asked for while the plugins load: %d %.300s", res.StatusCode, body)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := site.WaitPlugins(wctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("plugins compiled, installed and enabled in the background: %v", site.PluginsTook().Round(time.Millisecond))
	res, body = do(t, h, "GET", "/blog", "", "", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "<title>Blog |") {
		t.Fatalf("/blog after the background load: %d %.300s", res.StatusCode, body)
	}
	if info, err := Inspect(cfg.Kernel.DataDir); err != nil || info == nil || info.PluginsPending {
		t.Fatalf("desktop.json after the background load: %+v %v", info, err)
	}

	// The plugin list tag is bumped when a background load ends.
	tc := memory.NewTagCache(10)
	tag := core.ListTag(core.KindPlugin)
	before, err := tc.TagVersions(ctx, []string{tag})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-site.Kernel.Plugins.LoadInBackground(ctx, nil, tc); err != nil {
		t.Fatal(err)
	}
	after, err := tc.TagVersions(ctx, []string{tag})
	if err != nil || after[tag] == before[tag] {
		t.Fatalf("plugin tag after the background load: %v -> %v (%v)", before, after, err)
	}

	// A later start loads the enabled plugins from the cache in the
	// background, and the blog route comes back.
	site.Close(ctx)
	site, err = OpenSite(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := site.WaitPlugins(wctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("plugins loaded from the compilation cache on a later start: %v", site.PluginsTook().Round(time.Millisecond))
	h, err = NewHandler(ctx, site, HandlerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res, body := do(t, h, "GET", "/blog", "", "", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("/blog on a later start: %d %.300s", res.StatusCode, body)
	}
}
