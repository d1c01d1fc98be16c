package desktop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
)

// repoRoot is the module's root directory.
func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..")
}

// needTools skips (or, under CI, fails) when a tool of the window test is
// missing.
func needTools(t *testing.T, what string, tools ...string) {
	t.Helper()
	var missing []string
	for _, tool := range tools {
		if strings.HasPrefix(tool, "/") {
			if _, err := os.Stat(tool); err != nil {
				missing = append(missing, tool)
			}
		} else if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s: missing %s (build/deps.sh test installs them)", what, strings.Join(missing, ", "))
	}
	t.Skipf("%s: missing %s (build/deps.sh test installs them)", what, strings.Join(missing, ", "))
}

// buildApp builds the desktop app with the desktop tags (make desktop's
// go build) and returns the binary.
func buildApp(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "trovato-desktop")
	cmd := exec.Command("go", "build", "-tags", "desktop,production,webkit2_41", "-o", bin, ".")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the app: %v\n%s", err, out)
	}
	return bin
}

// startXvfb starts a virtual display on a free number and returns it.
func startXvfb(t *testing.T) string {
	t.Helper()
	for n := 99; n < 200; n++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); err == nil {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
			continue
		}
		disp := fmt.Sprintf(":%d", n)
		cmd := exec.Command("Xvfb", disp, "-screen", "0", "1400x900x24", "-nolisten", "tcp")
		if err := cmd.Start(); err != nil {
			t.Fatalf("Xvfb: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		for i := 0; i < 50; i++ {
			select {
			case <-exited:
				i = 50 // another server took the number: try the next
				continue
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
				t.Cleanup(func() {
					_ = cmd.Process.Kill()
					<-exited
				})
				return disp
			}
		}
		_ = cmd.Process.Kill()
	}
	t.Fatal("no free X display between :99 and :199")
	return ""
}

// appEnv is the environment of the app under test: no database or Redis
// URL of the test run (the app makes its own private cluster).
func appEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "DATABASE_URL" || k == "REDIS_URL" || strings.HasPrefix(k, "TROVATO_") || k == "DISPLAY" || k == "DBUS_SESSION_BUS_ADDRESS" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func screenshot(t *testing.T, disp, name string) {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "artifacts", "desktop")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("import", "-display", disp, "-window", "root", filepath.Join(dir, name)).CombinedOutput()
	if err != nil {
		t.Errorf("screenshot %s: %v %s", name, err, out)
	}
}

type windowReport struct {
	Step     string `json:"step"`
	Path     string `json:"path"`
	Title    string `json:"title"`
	Heading  string `json:"heading"`
	ID       string `json:"id"`
	User     string `json:"user"`
	HasTitle bool   `json:"hasTitle"`
	Banner   bool   `json:"banner"`
	Error    string `json:"error"`
}

// TestWindow builds the app, starts it under Xvfb on a new data directory
// (first-run setup of a starter site on its own PostgreSQL cluster), and
// drives it with testdata/window-test.js: in the editor it creates a stage
// and an article in it through the editor's session, selects the stage
// for preview and opens the article. Screenshots go to artifacts/desktop/.
// After the app quit, the article is read from the local database.
func TestWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("window test: not with -short")
	}
	needTools(t, "window test", "Xvfb", "import", "go", "/usr/lib/x86_64-linux-gnu/pkgconfig/webkit2gtk-4.1.pc", "/usr/include/gtk-3.0/gtk/gtk.h")
	bin := buildApp(t)
	disp := startXvfb(t)
	dataDir := privateDir(t)
	reportFile := filepath.Join(t.TempDir(), "report.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = appEnv("DISPLAY="+disp, "DBUS_SESSION_BUS_ADDRESS=disabled:", "TROVATO_DATA_DIR="+dataDir,
		"TROVATO_DESKTOP_AUTOSETUP=new",
		"TROVATO_DESKTOP_TEST_SCRIPT="+filepath.Join(repoRoot(t), "desktop", "testdata", "window-test.js"),
		"TROVATO_DESKTOP_TEST_REPORT="+reportFile)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var reports []windowReport
	seen, secondTried := 0, false
	var exitErr error
	done := false
	for !done {
		select {
		case exitErr = <-exited:
			done = true
		case <-time.After(200 * time.Millisecond):
		}
		f, err := os.Open(reportFile)
		if err != nil {
			continue
		}
		var all []windowReport
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var r windowReport
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Errorf("report %q: %v", sc.Text(), err)
			}
			all = append(all, r)
		}
		f.Close()
		for _, r := range all[seen:] {
			switch r.Step {
			case "editor":
				screenshot(t, disp, "1-editor.png")
				if !secondTried {
					secondTried = true
					secondInstance(t, bin, disp, dataDir)
				}
			case "preview":
				if r.HasTitle {
					screenshot(t, disp, "2-stage-preview.png")
				}
			}
		}
		reports, seen = all, len(all)
	}
	if exitErr != nil {
		t.Fatalf("the app ended with %v:\n%s", exitErr, out.String())
	}
	if !secondTried {
		t.Error("the editor never reported: no second app was started")
	}
	t.Logf("app output:\n%s", out.String())

	var created, preview *windowReport
	for i := range reports {
		r := &reports[i]
		switch r.Step {
		case "error":
			t.Fatalf("the test script failed in the window: %s", r.Error)
		case "editor":
			if r.Heading == "" {
				t.Errorf("the editor showed no heading at %s", r.Path)
			}
		case "created":
			created = r
		case "preview":
			preview = r
		}
	}
	if created == nil || preview == nil {
		t.Fatalf("the script did not get through: %+v\n%s", reports, out.String())
	}
	if created.User != "admin" {
		t.Errorf("the editor acted as %q, want the local user admin", created.User)
	}
	if !preview.HasTitle || !strings.Contains(preview.Heading, created.Title) || !strings.Contains(preview.Title, created.Title) {
		t.Errorf("the preview at %s did not show %q: %+v", preview.Path, created.Title, preview)
	}
	if !preview.Banner {
		t.Errorf("the preview at %s has no preview banner", preview.Path)
	}
	if ws := LoadWindowState(dataDir); !ws.Placed {
		t.Errorf("the window state was not saved: %+v", ws)
	}

	// The app stopped its cluster; open the site again and read the item.
	site, err := OpenSite(context.Background(), Config{Kernel: kernel.DefaultConfig(dataDir)})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close(context.Background())
	if !site.Kernel.Cluster.StartedByUs() {
		t.Error("the app left its PostgreSQL running after it quit")
	}
	actx, err := site.Act(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stage, err := site.Kernel.Store.Stages().FindStage(actx, "desktop-test")
	if err != nil {
		t.Fatal(err)
	}
	id, err := core.ParseID(created.ID)
	if err != nil {
		t.Fatal(err)
	}
	it, err := site.Kernel.Store.Items().FindItemByID(actx, stage.ID, id)
	if err != nil || it.Title != created.Title {
		t.Fatalf("the item is not in the local database: %v %+v", err, it)
	}
	if _, err := site.Kernel.Store.Items().FindItemByID(actx, core.LiveStageID, id); core.ErrorCode(err) != core.ENotFound {
		t.Errorf("the staged item is live: %v", err)
	}
}

// secondInstance starts the app again on the data directory of the one
// running: it must say so and exit at once, without opening a window or
// touching the site.
func secondInstance(t *testing.T, bin, disp, dataDir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = appEnv("DISPLAY="+disp, "DBUS_SESSION_BUS_ADDRESS=disabled:", "TROVATO_DATA_DIR="+dataDir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "already running for "+dataDir) {
		t.Errorf("a second app beside the first: %v\n%s", err, out)
	}
}
