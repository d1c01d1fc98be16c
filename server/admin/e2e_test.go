package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/demo"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/postgres/pgtest"
	"github.com/trovato/trovato/server"
	"github.com/trovato/trovato/server/admin"
	"github.com/trovato/trovato/server/api"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	chromium      = "/usr/bin/chromium"
	adminPassword = "editor-e2e-Password-42"
)

// browserTools returns node and the frontend folder, or skips (fails in
// CI) when Chromium, node, the frontend's node_modules or its build are
// missing.
func browserTools(tb testing.TB) (node, fe, root string) {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	root = filepath.Join(filepath.Dir(file), "..", "..")
	fe = filepath.Join(root, "frontend")
	node, nodeErr := exec.LookPath("node")
	var missing []string
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, chromium)
	}
	if nodeErr != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(filepath.Join(fe, "node_modules", "playwright-core")); err != nil {
		missing = append(missing, "frontend/node_modules (npm ci)")
	}
	if _, err := os.Stat(filepath.Join(fe, "dist", "index.html")); err != nil {
		missing = append(missing, "frontend/dist (make frontend)")
	}
	if len(missing) > 0 {
		if os.Getenv("CI") != "" {
			tb.Fatalf("browser suite: missing %s", strings.Join(missing, ", "))
		}
		tb.Skipf("browser suite: missing %s", strings.Join(missing, ", "))
	}
	return node, fe, root
}

// editorSite is the site, the API and the editor on a fresh database with
// the demo loaded, mounted as `trovato serve` mounts them.
type editorSite struct {
	URL        string
	Site       *server.Server
	AdminID    core.ID
	HasSignIn  bool // the site serves a sign-in form
	newSession func() string
}

// startEditorSite starts it; fromDisk serves frontend/dist from disk (so
// rebuilds show at once) instead of the embedded build.
func startEditorSite(tb testing.TB, fe string, fromDisk bool) *editorSite {
	tb.Helper()
	ctx := context.Background()
	cfg := kernel.DefaultConfig(tb.TempDir())
	cfg.DatabaseURL = pgtest.NewDBURL(tb)
	cfg.MaxUploadBytes = 1 << 20 // the suite uploads a file beyond it
	k, err := kernel.New(ctx, cfg, kernel.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { k.Close(context.Background()) })
	adminCtx, err := k.AsUser(ctx, "admin")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := demo.Load(adminCtx, demo.NewStoreLoader(k.Store, k.Files()), demo.Options{}); err != nil {
		tb.Fatal(err)
	}
	accounts, err := postgres.NewAccounts(k.Store, postgres.AccountsConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	adminUser := core.UserFromContext(adminCtx)
	if err := accounts.SetPassword(adminCtx, adminUser.ID, adminPassword); err != nil {
		tb.Fatal(err)
	}

	logger := slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The site mounts the editor as `trovato serve` does, so the editor
	// runs under the site's security headers (its CSP). The API is routed
	// beside the site here: the site's request check answers 405 to the
	// API's PUT, PATCH and DELETE before it reaches its mounts.
	editor := admin.Handler()
	if fromDisk {
		dist := os.DirFS(filepath.Join(fe, "dist"))
		editor = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			admin.New(dist).ServeHTTP(w, r) // rebuilds show without a restart
		})
	}
	site, err := server.New(k, server.Options{Logger: logger, Mounts: map[string]http.Handler{admin.Prefix: editor}})
	if err != nil {
		tb.Fatal(err)
	}
	a, err := api.New(api.Options{Kernel: k, Logger: logger, Sessions: site.Sessions(), Accounts: accounts, Site: site})
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(api.Prefix+"/", a)
	mux.Handle("/", site)
	ts := httptest.NewServer(mux)
	tb.Cleanup(ts.Close)
	es := &editorSite{URL: ts.URL, Site: site, AdminID: adminUser.ID}
	es.newSession = func() string {
		epoch, err := accounts.SessionEpoch(ctx, adminUser.ID)
		if err != nil {
			tb.Fatal(err)
		}
		sess := &core.Session{UserID: adminUser.ID, Epoch: epoch}
		if err := site.Sessions().SaveSession(ctx, sess); err != nil {
			tb.Fatal(err)
		}
		return sess.ID
	}
	if res, err := http.Get(ts.URL + "/user/login"); err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		es.HasSignIn = res.StatusCode == http.StatusOK && strings.Contains(string(b), `type="password"`)
	}
	return es
}

// TestEditorInChromium runs the browser suite (frontend/e2e/run.mjs) in
// Debian's Chromium against the site, the API and the editor on a fresh
// database with the demo loaded. Outside CI it is skipped when Chromium,
// node or the frontend's node_modules are missing; in CI they must be there.
func TestEditorInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser suite: not with -short")
	}
	node, fe, root := browserTools(t)
	hold := os.Getenv("TROVATO_E2E_HOLD") != ""
	es := startEditorSite(t, fe, hold)

	env := append(os.Environ(),
		"TROVATO_E2E_USER=admin", "TROVATO_E2E_PASSWORD="+adminPassword,
		"TROVATO_E2E_ARTIFACTS="+filepath.Join(root, "artifacts", "editor"))
	// Without the site's sign-in form the suite starts from a session.
	if !es.HasSignIn {
		env = append(env, "TROVATO_E2E_SESSION="+es.newSession())
	}

	if hold {
		// For working on the suite: serve until killed.
		t.Logf("serving %s (session %v)", es.URL, env[len(env)-1])
		select {}
	}
	ctx := context.Background()
	runCtx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, node, filepath.Join(fe, "e2e", "run.mjs"), es.URL)
	cmd.Dir = fe
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("run.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("browser suite failed: %v", err)
	}
	var summary struct{ Failed int }
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "E2E-SUMMARY "); ok {
			_ = json.Unmarshal([]byte(rest), &summary)
		}
	}
	if summary.Failed > 0 {
		t.Fatalf("browser suite: %d step(s) failed", summary.Failed)
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
