package desktop

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// sharedWasmCache is wazero's compilation cache shared by the tests of
// this package (and runs): the reference plugins compile once, not per
// test site.
var sharedWasmCache = filepath.Join(os.TempDir(), "trovato-desktop-test-wasm")

// testConfig is a desktop config on a fresh test database (no initdb).
func testConfig(t *testing.T, migrated bool) Config {
	t.Helper()
	cfg := kernel.DefaultConfig(t.TempDir())
	cfg.PluginCacheDir = sharedWasmCache
	if migrated {
		cfg.DatabaseURL = pgtest.NewDBURL(t)
	} else {
		cfg.DatabaseURL = pgtest.NewEmptyDBURL(t)
	}
	return Config{Kernel: cfg}
}

// MustApp sets up a new local site (demo optional) through the setup
// screen and returns the app.
func MustApp(t *testing.T, demo bool) *App {
	t.Helper()
	a := NewApp(context.Background(), testConfig(t, false), nil)
	t.Cleanup(func() { a.Close(context.Background()) })
	if err := a.Err(); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"choice": {"new"}}
	if demo {
		form.Set("demo", "1")
	}
	res, body := do(t, a, "POST", SetupPath, form.Encode(), "application/x-www-form-urlencoded", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/" {
		t.Fatalf("setup: %d %s %s", res.StatusCode, res.Header.Get("Location"), body)
	}
	// The reference plugins install in the background after the setup.
	if err := a.Site().WaitPlugins(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a
}

func do(t *testing.T, h http.Handler, method, path, body, ctype string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// apiCall sends a JSON request to the API with the session's CSRF token,
// as the editor does.
func apiCall(t *testing.T, h http.Handler, method, path string, in any) (int, map[string]any) {
	t.Helper()
	res, body := do(t, h, "GET", "/api/v1/session", "", "", nil)
	var sess struct {
		CSRF string `json:"csrf_token"`
	}
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &sess) != nil || sess.CSRF == "" {
		t.Fatalf("session: %d %s", res.StatusCode, body)
	}
	b, _ := json.Marshal(in)
	res, body = do(t, h, method, "/api/v1"+path, string(b), "application/json", http.Header{"X-Csrf-Token": {sess.CSRF}})
	var out map[string]any
	_ = json.Unmarshal([]byte(body), &out)
	return res.StatusCode, out
}

func TestSetupScreen(t *testing.T) {
	t.Parallel()
	a := NewApp(context.Background(), testConfig(t, false), nil)
	t.Cleanup(func() { a.Close(context.Background()) })
	t.Run("FirstStartRedirects", func(t *testing.T) {
		for _, p := range []string{"/", "/admin/", "/api/v1/session"} {
			res, _ := do(t, a, "GET", p, "", "", nil)
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != SetupPath {
				t.Errorf("%s: %d %q, want a redirect to the setup screen", p, res.StatusCode, res.Header.Get("Location"))
			}
		}
		res, body := do(t, a, "GET", SetupPath, "", "", nil)
		if res.StatusCode != 200 || !strings.Contains(body, "Start a new site") || !strings.Contains(body, "no sync client") {
			t.Errorf("setup screen: %d %s", res.StatusCode, body)
		}
		if st := a.Status(); st.State != "setup" || st.Sync != "unavailable" {
			t.Errorf("status %+v", st)
		}
	})
	t.Run("ErrConnectWithoutSync", func(t *testing.T) {
		form := url.Values{"choice": {"connect"}, "server": {"https://example.org/"}, "token": {"x"}}
		res, body := do(t, a, "POST", SetupPath, form.Encode(), "application/x-www-form-urlencoded", nil)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "cannot connect to a server yet") {
			t.Errorf("connect without sync: %d %s", res.StatusCode, body)
		}
		if a.Site() != nil {
			t.Error("a site was made")
		}
	})
	t.Run("ErrForeignOrigin", func(t *testing.T) {
		res, _ := do(t, a, "POST", SetupPath, "choice=new", "application/x-www-form-urlencoded", http.Header{"Origin": {"https://evil.example"}})
		if res.StatusCode != http.StatusForbidden || a.Site() != nil {
			t.Errorf("foreign origin: %d", res.StatusCode)
		}
	})
	t.Run("NewStarterSite", func(t *testing.T) {
		res, body := do(t, a, "POST", SetupPath, "choice=new", "application/x-www-form-urlencoded", nil)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/" {
			t.Fatalf("setup: %d %q %s", res.StatusCode, res.Header.Get("Location"), body)
		}
		st := a.Status()
		if st.State != "ready" || st.User != "admin" || st.Origin != "new" {
			t.Errorf("status %+v", st)
		}
		// The starter structure: item types, but no content.
		k := a.Site().Kernel
		if _, err := k.Store.Config().FindConfig(context.Background(), "item_type", "article"); err != nil {
			t.Errorf("starter site has no article type: %v", err)
		}
		actx, _ := a.Site().Act(context.Background())
		items, n, err := k.Store.Items().FindItems(actx, core.ItemFilter{StageID: core.LiveStageID})
		if err != nil || n != 0 || len(items) != 0 {
			t.Errorf("starter site holds %d items (%v)", n, err)
		}
		// The reference plugins install in the background.
		if err := a.Site().WaitPlugins(context.Background()); err != nil {
			t.Fatal(err)
		}
		plugins, err := k.Store.Plugins().FindPlugins(context.Background())
		if err != nil || len(plugins) == 0 {
			t.Errorf("no reference plugins installed (%v)", err)
		}
		// Setup again is refused; the screen now leads to the editor.
		res, _ = do(t, a, "GET", SetupPath, "", "", nil)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/" {
			t.Errorf("setup after setup: %d", res.StatusCode)
		}
	})
}

func TestHandlerActsAsLocalUser(t *testing.T) {
	t.Parallel()
	a := MustApp(t, false)
	t.Run("EditorWithoutCookies", func(t *testing.T) {
		res, body := do(t, a, "GET", "/api/v1/session", "", "", http.Header{"Cookie": {"trovato_session=forged"}})
		if res.StatusCode != 200 || !strings.Contains(body, `"name":"admin"`) {
			t.Fatalf("session: %d %s", res.StatusCode, body)
		}
		if c := res.Header.Values("Set-Cookie"); len(c) > 0 {
			t.Errorf("Set-Cookie reached the webview: %q", c)
		}
		res, body = do(t, a, "GET", "/admin/", "", "", nil)
		if res.StatusCode != 200 || !strings.Contains(body, "<") {
			t.Errorf("/admin/: %d", res.StatusCode)
		}
	})
	t.Run("ErrWriteWithoutCSRF", func(t *testing.T) {
		res, _ := do(t, a, "POST", "/api/v1/items", `{"type":"article","title":"x"}`, "application/json", nil)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("write without CSRF token: %d, want 403", res.StatusCode)
		}
	})
	t.Run("SignOutSignsBackIn", func(t *testing.T) {
		h := a.Handler()
		s, err := h.Session(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := h.sessions.DeleteSession(context.Background(), s.ID); err != nil {
			t.Fatal(err)
		}
		res, body := do(t, a, "GET", "/api/v1/session", "", "", nil)
		if res.StatusCode != 200 || !strings.Contains(body, `"name":"admin"`) {
			t.Errorf("after the session was deleted: %d %s", res.StatusCode, body)
		}
	})
	t.Run("PreviewStage", func(t *testing.T) {
		code, st := apiCall(t, a, "POST", "/stages", map[string]any{"name": "spring", "label": "Spring"})
		if code != http.StatusCreated {
			t.Fatalf("create stage: %d %v", code, st)
		}
		code, it := apiCall(t, a, "POST", "/items?stage=spring", map[string]any{"type": "article", "title": "Offline tulips", "status": "published"})
		if code != http.StatusCreated {
			t.Fatalf("create item: %d %v", code, it)
		}
		path := "/item/" + it["id"].(string)
		// Live: anonymous, the staged item does not exist.
		if res, body := do(t, a, "GET", path, "", "", nil); res.StatusCode != 404 || strings.Contains(body, "Offline tulips") {
			t.Errorf("live shows the staged item: %d", res.StatusCode)
		}
		code, _ = apiCall(t, a, "PUT", "/session/preview", map[string]any{"stage": "spring"})
		if code != 200 {
			t.Fatalf("set preview: %d", code)
		}
		res, body := do(t, a, "GET", path, "", "", nil)
		if res.StatusCode == http.StatusMovedPermanently { // to the item's alias
			res, body = do(t, a, "GET", res.Header.Get("Location"), "", "", nil)
		}
		if res.StatusCode != 200 || !strings.Contains(body, "Offline tulips") || !strings.Contains(body, "Spring") || !strings.Contains(body, "/_preview/exit") {
			t.Errorf("preview of the stage: %d, title or banner missing", res.StatusCode)
		}
		if len(res.Header.Values("Set-Cookie")) > 0 {
			t.Error("Set-Cookie reached the webview")
		}
		// Back to live.
		code, _ = apiCall(t, a, "PUT", "/session/preview", map[string]any{"stage": nil})
		if res, _ := do(t, a, "GET", path, "", "", nil); code != 200 || res.StatusCode != 404 {
			t.Errorf("after leaving the preview: %d %d", code, res.StatusCode)
		}
	})
}
