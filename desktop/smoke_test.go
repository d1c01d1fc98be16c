package desktop

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestEditorSmoke runs a smoke subset of the editor's browser suite
// (testdata/smoke.mjs, Chromium through playwright-core) against the
// handler the window gets, served on 127.0.0.1 for the browser only. The
// local site is a copy of another site (the server) with a stage that
// conflicts with it: the Sync screen pushes it, keeps mine for each
// conflict and pushes again; the server's stage then has the local title.
func TestEditorSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: not with -short")
	}
	root := repoRoot(t)
	needTools(t, "editor smoke", "node", "/usr/bin/chromium",
		filepath.Join(root, "frontend", "node_modules", "playwright-core"), filepath.Join(root, "frontend", "dist", "index.html"))
	t.Parallel()
	remote, a, staged := conflictingStage(t, "hours")
	srv := httptest.NewServer(a)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(root, "desktop", "testdata", "smoke.mjs"), srv.URL, filepath.Join(root, "artifacts", "desktop"), "hours")
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	t.Logf("smoke:\n%s", out)
	if err != nil {
		t.Fatalf("the editor smoke failed: %v", err)
	}
	rctx, _ := remote.Site().Act(ctx)
	rst, err := remote.Site().Kernel.Store.Stages().FindStage(rctx, "hours")
	if err != nil {
		t.Fatalf("the pushed stage is not on the server: %v", err)
	}
	if got, err := remote.Site().Kernel.Store.Items().FindItemByID(rctx, rst.ID, staged); err != nil || got.Title != "Opening hours (summer)" {
		t.Errorf("the server's stage after the push from the Sync screen: %v %v", got, err)
	}
}
