package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/memory"
	"github.com/trovato/trovato/server"
)

// TestPluginTapsChangePages: with the blog reference plugin enabled, its
// item_view output is on a blog entry's page, its /blog route serves a
// page, and disabling it takes both away.
func TestPluginTapsChangePages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the reference plugins")
	}
	t.Parallel()
	s := newSite(t, server.Options{})
	if err := kernel.InstallBundled(s.admin, s.k); err != nil {
		t.Fatal(err)
	}
	entry := s.newItem(core.LiveStageID, &core.Item{Type: "blog", Title: "First entry"})
	article := s.newItem(core.LiveStageID, &core.Item{Type: "article", Title: "Not a blog entry"})

	resp, body := s.get("/item/"+entry.ID.String(), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `class="byline"`) {
		t.Fatalf("blog entry page %d lacks the plugin's byline:\n%s", resp.StatusCode, body)
	}
	if _, body := s.get("/item/"+article.ID.String(), nil); strings.Contains(body, `class="byline"`) {
		t.Fatal("the byline shows on an article")
	}
	resp, body = s.get("/blog", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "First entry") {
		t.Fatalf("/blog = %d:\n%s", resp.StatusCode, body)
	}
	if err := s.k.Plugins.Disable(s.admin, "related"); err != nil && core.ErrorCode(err) != core.EInvalid {
		t.Fatal(err)
	}
	if err := s.k.Plugins.Disable(s.admin, "blog"); err != nil {
		t.Fatal(err)
	}
	if resp, body = s.get("/item/"+entry.ID.String(), nil); resp.StatusCode != http.StatusOK || strings.Contains(body, `class="byline"`) {
		t.Fatalf("after disabling: %d, byline still there: %v", resp.StatusCode, strings.Contains(body, `class="byline"`))
	}
	if resp, _ = s.get("/blog", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/blog after disabling = %d, want 404", resp.StatusCode)
	}
}

var siteGuest struct {
	sync.Mutex
	bin []byte
}

// mustSiteGuest builds plugins/testplugins/siteguest once per change of
// its sources, the SDK's or the Go version, caching the module under the
// user cache directory.
func mustSiteGuest(t *testing.T) (manifest, wasm []byte) {
	t.Helper()
	dir, err := filepath.Abs("../plugins/testplugins/siteguest")
	if err != nil {
		t.Fatal(err)
	}
	manifest, err = os.ReadFile(filepath.Join(dir, "plugin.toml"))
	if err != nil {
		t.Fatal(err)
	}
	siteGuest.Lock()
	defer siteGuest.Unlock()
	if siteGuest.bin != nil {
		return manifest, siteGuest.bin
	}
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version())
	for _, d := range []string{dir, filepath.Join(dir, "../../sdk")} {
		files, _ := filepath.Glob(filepath.Join(d, "*.go"))
		files = append(files, filepath.Join(d, "go.mod"))
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
			h.Write(b)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "trovato-test", "siteguest-"+hex.EncodeToString(h.Sum(nil))[:16]+".wasm")
	if b, err := os.ReadFile(out); err == nil {
		siteGuest.bin = b
		return manifest, b
	}
	if kernel.GoToolchain() == "" {
		t.Skip("no Go toolchain: cannot build the wasip1 test plugin")
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := out + ".tmp" + fmt.Sprint(os.Getpid())
	if _, err := kernel.BuildPlugin(context.Background(), dir, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	siteGuest.bin = b
	return manifest, b
}

// TestPluginFormsAndTiles: with siteguest enabled, the sign-in form
// carries the field its form_alter adds but keeps the kernel's CSRF token,
// destination and action whatever the plugin did to them; its
// form_validate errors block the sign-in and show beside their field (or
// above the form), with the submitted values kept and the password never
// shown to the plugin; its tile renders as a sanitized tree.
func TestPluginFormsAndTiles(t *testing.T) {
	t.Parallel()
	manifest, wasm := mustSiteGuest(t)
	s := accountSite(t, server.Options{})
	if _, err := s.k.Plugins.InstallBytes(s.admin, "siteguest/plugin.toml", manifest, wasm); err != nil {
		t.Fatal(err)
	}
	if err := s.k.Plugins.Enable(s.admin, "siteguest", nil); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s.srv)

	res, body := b.get("/user/login?destination=/about")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, body, `name="nickname"`, `action="/user/login"`, `name="destination" value="/about"`)
	wantLacks(t, body, "evil.example", `value="forged"`)
	if m := csrfRE.FindAllStringSubmatch(body, -1); len(m) != 1 || m[0][1] == "forged" {
		t.Fatalf("CSRF fields on the sign-in page: %q", m)
	}

	login := func(fields url.Values) (*http.Response, string) {
		fields.Set("csrf_token", b.csrf("/user/login"))
		return b.post("/user/login", fields)
	}
	res, body = login(url.Values{"name": {"admin"}, "password": {adminPassword}, "nickname": {"taken"}})
	wantStatus(t, res, http.StatusBadRequest)
	wantContains(t, body, "That nickname is taken.", `aria-invalid="true"`, `name="nickname" value="taken"`, `name="name" value="admin"`)
	wantLacks(t, body, adminPassword, "The plugin saw the password.")

	res, body = login(url.Values{"name": {"robot"}, "password": {"x"}})
	wantStatus(t, res, http.StatusBadRequest)
	wantContains(t, body, "Robots may not sign in.")

	res, _ = login(url.Values{"name": {"admin"}, "password": {adminPassword}, "nickname": {"free"}})
	wantStatus(t, res, http.StatusSeeOther)

	// The comment form (an island) and its POST.
	item := s.newItem(core.LiveStageID, &core.Item{Type: "article", Title: "Commented"})
	sess, hdr := s.session(core.AdminUserID, core.LiveStageID)
	_, island := s.get("/_island/comment-form?path=/item/"+item.ID.String(), hdr)
	wantContains(t, island, `name="agree"`, `name="csrf_token"`, `action="/comment/`+item.ID.String()+`"`)
	comment := func(form url.Values) *http.Response {
		form.Set("csrf_token", sess.NewCSRFToken())
		return s.do(http.MethodPost, "/comment/"+item.ID.String(), map[string]string{"Cookie": hdr["Cookie"],
			"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader(form.Encode()))
	}
	if res := comment(url.Values{"body": {"Hello"}}); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("comment without the plugin's checkbox: %d, want 400", res.StatusCode)
	}
	if res := comment(url.Values{"body": {"Hello"}, "agree": {"1"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("comment with the checkbox: %d, want 303", res.StatusCode)
	}

	tile := &core.Tile{Name: "greeting", Region: "sidebar", Content: core.TileContent{Plugin: &core.TilePlugin{
		Plugin: "siteguest", Tile: "hello", Config: json.RawMessage(`{"greeting":"hi <b>"}`)}}}
	title, content, ok := s.srv.PluginTile(context.Background(), tile, "/")
	if !ok || title != "Hello from the plugin" {
		t.Fatalf("tile = %q, %v", title, ok)
	}
	if h := content.Children[0]; h.Type != core.ElemHeading || h.Level != 3 {
		t.Fatalf("the plugin's h1 is %+v, want a level 3 heading", h)
	}
	if p := content.Children[1].Children[0]; p.Text != "Greeting: hi <b>" {
		t.Fatalf("tile text = %q", p.Text)
	}
	// Placed by a tile document, on a page.
	s.put("tile", "greeting", `{"kind":"tile","name":"greeting","label":"Greeting","region":"sidebar",
		"content":{"plugin":{"plugin":"siteguest","tile":"hello","config":{"greeting":"from the page"}}}}`)
	_, page := s.get("/item/"+item.ID.String(), nil)
	wantContains(t, page, "Hello from the plugin", "Greeting: from the page")
	if !regexp.MustCompile(`<h3[^>]*>Loud heading</h3>`).MatchString(page) {
		t.Fatalf("the plugin's heading is not an h3 on the page:\n%s", page)
	}
	tile.Content.Plugin.Tile = "nope"
	if _, _, ok := s.srv.PluginTile(context.Background(), tile, "/"); ok {
		t.Fatal("a tile the plugin refuses was rendered")
	}
	if err := s.k.Plugins.Disable(s.admin, "siteguest"); err != nil {
		t.Fatal(err)
	}
	if _, body := b.get("/user/login"); strings.Contains(body, `name="nickname"`) {
		t.Fatal("a disabled plugin's field is on the form")
	}
}

// TestPluginGatherExtendListing: a gather page cached before a
// gather_extend plugin is enabled is built again with the plugin's filter
// (the listing depends on the plugin set), and again without it once the
// plugin is disabled.
func TestPluginGatherExtendListing(t *testing.T) {
	t.Parallel()
	manifest, wasm := mustSiteGuest(t)
	s := newSite(t, server.Options{})
	tc := memory.NewTagCache(100)
	srv, err := server.New(s.k, server.Options{PageCache: tc, Sessions: s.srv.Sessions()})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = srv
	s.k.Store.OnCommit(func(changes []core.Change) { // as trovato serve does
		for _, c := range changes {
			_ = tc.BumpTags(s.admin, core.TagsForChange(c)...)
		}
	})
	s.put("gather", "front", `{"kind":"gather","name":"front","label":"Front page","types":["article"],
		"filters":[{"field":"status","op":"eq","value":"published"},{"field":"promote","op":"eq","value":"true"}],
		"displays":[{"name":"page","type":"page","path":"/front"},{"name":"rss","type":"feed","format":"rss","path":"/front/rss.xml"}]}`)
	s.newItem(core.LiveStageID, &core.Item{Type: "article", Title: "Plugin hides me", Promote: true, Fields: json.RawMessage(`{}`)})
	for _, path := range []string{"/front", "/front/rss.xml"} {
		_, body := s.get(path, nil)
		wantContains(t, body, "Plugin hides me", "Hello &lt;World&gt;")
		if res, _ := s.get(path, nil); res.Header.Get(server.CacheHeader) != "hit" {
			t.Fatalf("%s is not cached", path)
		}
	}
	if _, err := s.k.Plugins.InstallBytes(s.admin, "siteguest/plugin.toml", manifest, wasm); err != nil {
		t.Fatal(err)
	}
	if err := s.k.Plugins.Enable(s.admin, "siteguest", nil); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/front", "/front/rss.xml"} {
		_, body := s.get(path, nil)
		wantLacks(t, body, "Plugin hides me")
		wantContains(t, body, "Hello &lt;World&gt;")
	}
	if err := s.k.Plugins.Disable(s.admin, "siteguest"); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/front", "/front/rss.xml"} {
		_, body := s.get(path, nil)
		wantContains(t, body, "Plugin hides me")
	}
}
