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

// TestEditorInChromium runs the browser suite (frontend/e2e/run.mjs) in
// Debian's Chromium against the site, the API and the editor on a fresh
// database with the demo loaded. Outside CI it is skipped when Chromium,
// node or the frontend's node_modules are missing; in CI they must be there.
func TestEditorInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser suite: not with -short")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	fe := filepath.Join(root, "frontend")
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
			t.Fatalf("browser suite: missing %s", strings.Join(missing, ", "))
		}
		t.Skipf("browser suite: missing %s", strings.Join(missing, ", "))
	}

	ctx := context.Background()
	cfg := kernel.DefaultConfig(t.TempDir())
	cfg.DatabaseURL = pgtest.NewDBURL(t)
	cfg.MaxUploadBytes = 1 << 20 // the suite uploads a file beyond it
	k, err := kernel.New(ctx, cfg, kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close(context.Background()) })
	adminCtx, err := k.AsUser(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Load(adminCtx, demo.NewStoreLoader(k.Store, k.Files()), demo.Options{}); err != nil {
		t.Fatal(err)
	}
	accounts, err := postgres.NewAccounts(k.Store, postgres.AccountsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	adminUser := core.UserFromContext(adminCtx)
	if err := accounts.SetPassword(adminCtx, adminUser.ID, adminPassword); err != nil {
		t.Fatal(err)
	}

	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The site mounts the editor as `trovato serve` does, so the editor
	// runs under the site's security headers (its CSP). The API is routed
	// beside the site here: the site's request check answers 405 to the
	// API's PUT, PATCH and DELETE before it reaches its mounts.
	editor := admin.Handler()
	if os.Getenv("TROVATO_E2E_HOLD") != "" {
		dist := os.DirFS(filepath.Join(fe, "dist"))
		editor = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			admin.New(dist).ServeHTTP(w, r) // rebuilds show without a restart
		})
	}
	site, err := server.New(k, server.Options{Logger: logger, Mounts: map[string]http.Handler{admin.Prefix: editor}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := api.New(api.Options{Kernel: k, Logger: logger, Sessions: site.Sessions(), Accounts: accounts, Site: site})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(api.Prefix+"/", a)
	mux.Handle("/", site)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)

	env := append(os.Environ(),
		"TROVATO_E2E_USER=admin", "TROVATO_E2E_PASSWORD="+adminPassword,
		"TROVATO_E2E_ARTIFACTS="+filepath.Join(root, "artifacts", "editor"))
	// Without the site's sign-in form the suite starts from a session.
	if res, err := http.Get(ts.URL + "/user/login"); err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(b), `type="password"`) {
			sess := &core.Session{UserID: adminUser.ID}
			if err := site.Sessions().SaveSession(ctx, sess); err != nil {
				t.Fatal(err)
			}
			env = append(env, "TROVATO_E2E_SESSION="+sess.ID)
		}
	}

	if os.Getenv("TROVATO_E2E_HOLD") != "" {
		// For working on the suite: serve until killed.
		t.Logf("serving %s (session %v)", ts.URL, env[len(env)-1])
		select {}
	}
	runCtx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, node, filepath.Join(fe, "e2e", "run.mjs"), ts.URL)
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

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
