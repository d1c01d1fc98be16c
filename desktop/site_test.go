package desktop

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres"
)

// privateDir is a data directory the private cluster can use (running as
// root, PostgreSQL runs as the postgres user, which must reach it).
func privateDir(t testing.TB) string {
	t.Helper()
	tmp := t.TempDir()
	for _, d := range []string{filepath.Dir(tmp), tmp} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(tmp, "site")
}

// TestSiteLifecycle runs the private cluster's life: the first start makes
// it (initdb), exit stops it, the next start reuses it with what was
// written, a crashed server (kill -9) and a server left running are
// recovered.
func TestSiteLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("initdb: not with -short")
	}
	t.Parallel()
	ctx := context.Background()
	cfg := Config{Kernel: kernel.DefaultConfig(privateDir(t))}
	t0 := time.Now()
	site, err := CreateSite(ctx, cfg, NewSiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first-run setup: %v", time.Since(t0).Round(time.Millisecond))
	info, err := Inspect(cfg.Kernel.DataDir)
	if err != nil || info == nil || info.Origin != "new" {
		t.Fatalf("desktop.json: %+v %v", info, err)
	}
	if _, err := CreateSite(ctx, cfg, NewSiteOptions{}); core.ErrorCode(err) != core.EConflict {
		t.Errorf("a second first run: %v, want ECONFLICT", err)
	}
	actx, err := site.Act(ctx)
	if err != nil {
		t.Fatal(err)
	}
	it := &core.Item{Type: "page", Title: "Kept across starts", Status: core.StatusPublished}
	if err := site.Kernel.Store.Items().CreateItem(actx, core.LiveStageID, it, ""); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "site.tar")
	if m, err := site.Backup(ctx, backup); err != nil || m.DumpBytes == 0 {
		t.Fatalf("backup of the local site: %+v %v", m, err)
	}
	f, err := os.Open(backup)
	if err != nil {
		t.Fatal(err)
	}
	checked, err := postgres.CheckBackup(ctx, backup, f)
	f.Close()
	if err != nil {
		t.Fatalf("the backup does not check: %v", err)
	}
	checked.Close()
	pidFile := filepath.Join(cfg.Kernel.DataDir, "pg", "data", "postmaster.pid")
	site.Close(ctx)
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Fatalf("exit left PostgreSQL running (%v)", err)
	}

	reopen := func(what string) *Site {
		t.Helper()
		t0 := time.Now()
		s, err := OpenSite(ctx, cfg)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%s: %v", what, time.Since(t0).Round(time.Millisecond))
		actx, err := s.Act(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Kernel.Store.Items().FindItemByID(actx, core.LiveStageID, it.ID)
		if err != nil || got.Title != it.Title {
			t.Fatalf("%s: the item is gone: %v", what, err)
		}
		return s
	}

	t.Run("LaterStart", func(t *testing.T) {
		s := reopen("later start")
		if !s.Kernel.Cluster.StartedByUs() {
			t.Error("the cluster was running before the start")
		}
		s.Close(ctx)
	})
	t.Run("Crashed", func(t *testing.T) {
		s := reopen("before the crash")
		b, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		s.Kernel.Pool.Close()
		s.Kernel.Cluster = nil // the app died with it: no clean stop
		s.Kernel.Pool = nil
		s.Close(ctx)
		for i := 0; i < 100 && processAlive(pid); i++ {
			time.Sleep(50 * time.Millisecond)
		}
		reopen("after the crash").Close(ctx)
	})
	t.Run("LeftRunning", func(t *testing.T) {
		s := reopen("first app")
		// The app goes away without closing: its lease is stale, the
		// server runs on.
		s.Kernel.Pool.Close()
		leases, _ := filepath.Glob(filepath.Join(cfg.Kernel.DataDir, "pg", "leases", "*"))
		for _, l := range leases {
			_ = os.Remove(l)
		}
		s2 := reopen("next app")
		if s2.Kernel.Cluster.StartedByUs() {
			t.Error("the server left running was started again")
		}
		s2.Close(ctx)
		if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
			t.Errorf("the last app to exit left PostgreSQL running (%v)", err)
		}
	})
	t.Run("ErrDamagedCluster", func(t *testing.T) {
		// pg_control overwritten: the server cannot start. The app says
		// so and changes nothing.
		ctl := filepath.Join(cfg.Kernel.DataDir, "pg", "data", "global", "pg_control")
		orig, err := os.ReadFile(ctl)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(ctl, make([]byte, len(orig)), 0o600); err != nil {
			t.Fatal(err)
		}
		before := hashTree(t, cfg.Kernel.DataDir)
		a := NewApp(ctx, cfg, nil)
		defer a.Close(ctx)
		if a.Err() == nil || !strings.Contains(a.Err().Error(), "did not start") {
			t.Fatalf("damaged cluster: %v", a.Err())
		}
		res, body := do(t, a, "GET", "/admin/", "", "", nil)
		if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "did not start") || !strings.Contains(body, "Nothing in") {
			t.Errorf("error screen: %d %s", res.StatusCode, body)
		}
		if after := hashTree(t, cfg.Kernel.DataDir); after != before {
			t.Error("opening the damaged site changed its files")
		}
		if err := os.WriteFile(ctl, orig, 0o600); err != nil {
			t.Fatal(err)
		}
		reopen("after the repair").Close(ctx)
	})
}

func processAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// hashTree hashes every file under dir except the server's log (which a
// failed start appends to) and lock files.
func hashTree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Type()&fs.ModeSocket != 0 || strings.HasSuffix(p, "server.log") || strings.Contains(p, "leases") || strings.HasSuffix(p, ".lock") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		lines = append(lines, p+" "+hex.EncodeToString(sum[:]))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:])
}

// TestBadDataDir: a damaged data directory gives a clear message on the
// app's screens and nothing in it is changed.
func TestBadDataDir(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"ErrDamagedSiteFile", map[string]string{SiteFile: "{not json", "pg/data/PG_VERSION": "15\n"}, "desktop.json is damaged"},
		{"ErrNewerSiteFile", map[string]string{SiteFile: `{"format": 99, "origin": "new"}`}, "newer Trovato"},
		{"ErrNoCluster", map[string]string{SiteFile: `{"format": 1, "origin": "new"}`, "pg/data/base/1/1259": "x"}, "holds files but no PostgreSQL cluster"},
		{"ErrOtherMajorVersion", map[string]string{SiteFile: `{"format": 1, "origin": "new"}`, "pg/data/PG_VERSION": "9.6\n", "pg/data/base/1/1259": "x"}, "is PostgreSQL 9.6 but"},
		{"ErrEmptyVersion", map[string]string{SiteFile: `{"format": 1, "origin": "new"}`, "pg/data/PG_VERSION": "", "pg/data/base/1/1259": "x"}, "empty PG_VERSION"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := privateDir(t)
			for name, content := range tc.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			before := hashTree(t, dir)
			a := NewApp(context.Background(), Config{Kernel: kernel.DefaultConfig(dir)}, nil)
			defer a.Close(context.Background())
			if a.Err() == nil || !strings.Contains(a.Err().Error(), tc.want) {
				t.Fatalf("got %v, want %q", a.Err(), tc.want)
			}
			for _, p := range []string{"/", "/admin/", SetupPath} {
				res, body := do(t, a, "GET", p, "", "", nil)
				if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "cannot be opened") {
					t.Errorf("%s: %d, want the error screen", p, res.StatusCode)
				}
			}
			res, _ := do(t, a, "POST", SetupPath, "choice=new", "application/x-www-form-urlencoded", nil)
			if res.StatusCode == http.StatusSeeOther {
				t.Error("setup over a damaged site was accepted")
			}
			if st := a.Status(); st.State != "error" || !strings.Contains(st.Message, tc.want) {
				t.Errorf("status %+v", st)
			}
			if after := hashTree(t, dir); after != before {
				t.Error("the data directory changed")
			}
		})
	}
}

func TestWindowState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if ws := LoadWindowState(dir); ws != DefaultWindow {
		t.Errorf("no file: %+v", ws)
	}
	want := WindowState{Width: 1000, Height: 700, X: 40, Y: 30, Placed: true}
	if err := SaveWindowState(dir, want); err != nil {
		t.Fatal(err)
	}
	if ws := LoadWindowState(dir); ws != want {
		t.Errorf("saved %+v, loaded %+v", want, ws)
	}
	for name, content := range map[string]string{
		"ErrGarbage": "{{{", "ErrTiny": `{"width": 10, "height": 10}`, "ErrHuge": `{"width": 99999999, "height": 700}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, WindowFile), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if ws := LoadWindowState(dir); ws.Width != DefaultWindow.Width || ws.Height != DefaultWindow.Height {
			t.Errorf("%s: %+v", name, ws)
		}
	}
}
