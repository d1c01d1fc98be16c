package postgres

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// helperEnv switches the test binary into a helper process (see
// TestHelperProcess).
const helperEnv = "TROVATO_PG_TEST_HELPER"

// TestHelperProcess is not a test: re-executed with helperEnv set, it opens
// the cluster in TROVATO_PG_TEST_DIR, prints "ready <startedByUs>
// <postmaster pid>", holds the cluster until stdin closes, then closes it.
// In mode "open-error" it prints the error of OpenCluster.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process")
	}
	ctx := context.Background()
	dir := os.Getenv("TROVATO_PG_TEST_DIR")
	c, err := OpenCluster(ctx, ClusterConfig{Dir: dir, FsyncOff: true})
	switch mode {
	case "open-error":
		if err == nil {
			fmt.Println("no error")
			os.Exit(1)
		}
		fmt.Printf("error %s %s\n", core.ErrorCode(err), err)
		os.Exit(0)
	case "hold":
		if err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("ready %v %d\n", c.StartedByUs(), postmasterPID(t, c))
		_, _ = io.Copy(io.Discard, os.Stdin)
		if err := c.Close(ctx); err != nil {
			fmt.Printf("close error %v\n", err)
			os.Exit(1)
		}
		fmt.Println("closed")
		os.Exit(0)
	}
	os.Exit(2)
}

// helper is a running TestHelperProcess.
type helper struct {
	cmd         *exec.Cmd
	stdin       io.WriteCloser
	out         *bufio.Reader
	startedByUs bool
	postmaster  int
}

// startHelper starts a helper process holding the cluster in dir and waits
// until it is ready.
func startHelper(t *testing.T, dir string) *helper {
	t.Helper()
	h := spawnHelper(t, dir)
	h.waitReady(t)
	return h
}

func spawnHelper(t *testing.T, dir string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"=hold", "TROVATO_PG_TEST_DIR="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return &helper{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
}

func (h *helper) waitReady(t *testing.T) {
	t.Helper()
	line, err := h.out.ReadString('\n')
	if err != nil {
		t.Fatalf("helper: %v (output %q)", err, line)
	}
	var started bool
	if _, err := fmt.Sscanf(line, "ready %t %d", &started, &h.postmaster); err != nil {
		t.Fatalf("helper said %q", line)
	}
	h.startedByUs = started
}

// close makes the helper close its cluster and exit.
func (h *helper) close(t *testing.T) {
	t.Helper()
	h.stdin.Close()
	line, _ := h.out.ReadString('\n')
	if strings.TrimSpace(line) != "closed" {
		t.Fatalf("helper close: %q", line)
	}
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("helper exit: %v", err)
	}
}

// MustTempDir returns a fresh directory under /dev/shm or /tmp (short enough for the
// socket) that the postgres system user can traverse when tests run as root.
func MustTempDir(tb testing.TB) string {
	tb.Helper()
	base := os.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() && fi.Mode().Perm()&0o002 != 0 {
		base = "/dev/shm" // files are expensive to create on this VM's disk
	}
	dir, err := os.MkdirTemp(base, "trovato-pg-test-")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func postmasterPID(tb testing.TB, c *Cluster) int {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(c.dataDir, "postmaster.pid"))
	if err != nil {
		tb.Fatalf("read postmaster.pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		tb.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

// mustPing connects to the cluster's trovato database.
func mustPing(tb testing.TB, url string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT 1 + 1").Scan(&n); err != nil || n != 2 {
		tb.Fatalf("query: %d, %v", n, err)
	}
}

// isRunning reports whether the cluster's server runs.
func isRunning(tb testing.TB, dir string) bool {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return false
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestCluster walks one cluster through its life: two processes starting
// together, sharing between openers in this and another process, the
// persistent lease, and recovery after kill -9.
func TestCluster(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(MustTempDir(t), "pg")
	cfg := ClusterConfig{Dir: dir, FsyncOff: true, Logger: testLogger(t)}
	// What an initdb killed half way leaves behind.
	if err := os.MkdirAll(filepath.Join(dir, "data.init", "base"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)

	t.Run("TwoProcessesStartTogether", func(t *testing.T) {
		a, b := spawnHelper(t, dir), spawnHelper(t, dir)
		a.waitReady(t)
		b.waitReady(t)
		if a.startedByUs == b.startedByUs {
			t.Fatalf("startedByUs: %v and %v, want exactly one starter", a.startedByUs, b.startedByUs)
		}
		if a.postmaster != b.postmaster {
			t.Fatalf("two postmasters: %d and %d", a.postmaster, b.postmaster)
		}
		if _, err := os.Stat(filepath.Join(dir, "data.init")); err == nil {
			t.Error("the interrupted initdb's directory is still there")
		}
		a.close(t)
		if !isRunning(t, dir) {
			t.Fatal("cluster stopped while the other process holds a lease")
		}
		b.close(t)
		if isRunning(t, dir) {
			t.Fatal("cluster still runs after the last lease was released")
		}
	})

	t.Run("ShareInProcess", func(t *testing.T) {
		c1, err := OpenCluster(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !c1.StartedByUs() {
			t.Error("first opener did not start the cluster")
		}
		mustPing(t, c1.URL(ClusterDatabase))
		// Authentication is trust: only the owner may reach the socket.
		for _, p := range []string{c1.SocketDir(), filepath.Join(c1.SocketDir(), ".s.PGSQL.5432")} {
			if fi, err := os.Stat(p); err != nil || fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s: mode %v, %v; want no access for group and others", p, fi.Mode(), err)
			}
		}
		c2, err := OpenCluster(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if c2.StartedByUs() {
			t.Error("second opener claims to have started the cluster")
		}
		if err := c1.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c1.Close(ctx); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		mustPing(t, c2.URL(ClusterDatabase))
		if err := c2.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if isRunning(t, dir) {
			t.Fatal("cluster runs after the last Close")
		}
	})

	t.Run("ShareWithOtherProcess", func(t *testing.T) {
		c, err := OpenCluster(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		h := startHelper(t, dir)
		if h.startedByUs {
			t.Error("helper started a running cluster")
		}
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if !isRunning(t, dir) {
			t.Fatal("Close stopped the cluster while the helper holds a lease")
		}
		h.close(t)
		if isRunning(t, dir) {
			t.Fatal("cluster runs after the helper's Close")
		}
	})

	t.Run("PersistentLease", func(t *testing.T) {
		c, err := OpenCluster(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AcquirePersistentLease(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if !isRunning(t, dir) {
			t.Fatal("Close stopped a cluster held by the persistent lease")
		}
		c, err = OpenCluster(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if c.StartedByUs() {
			t.Error("cluster held by services was started again")
		}
		if err := c.ReleasePersistentLease(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if isRunning(t, dir) {
			t.Fatal("cluster runs after the persistent lease was released and the last Close")
		}
	})

	t.Run("RecoverRecycledPid", func(t *testing.T) {
		// After a crash and reboot, postmaster.pid names a pid that another
		// program now has.
		other := exec.Command("sleep", "30")
		if err := other.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { other.Process.Kill(); other.Wait() }()
		stale := fmt.Sprintf("%d\n%s/data\n1700000000\n5432\n%s/run\n\n  5432001     98304\nready   \n", other.Process.Pid, dir, dir)
		pidFile := filepath.Join(dir, "data", "postmaster.pid")
		if err := os.WriteFile(pidFile, []byte(stale), 0o600); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(filepath.Join(dir, "data")); err == nil { // owned by postgres when root
			st := fi.Sys().(*syscall.Stat_t)
			os.Chown(pidFile, int(st.Uid), int(st.Gid))
		}
		c, err := OpenCluster(ctx, cfg)
		if err != nil {
			t.Fatalf("open with a recycled pid in postmaster.pid: %v", err)
		}
		if !c.StartedByUs() {
			t.Error("did not start the cluster")
		}
		mustPing(t, c.URL(ClusterDatabase))
		if err := c.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("RecoverAfterKill", func(t *testing.T) {
		for _, killPostmaster := range []bool{false, true} {
			h := startHelper(t, dir)
			if !h.startedByUs {
				t.Fatal("helper did not start the cluster")
			}
			if err := h.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = h.cmd.Wait()
			if killPostmaster {
				if err := syscall.Kill(h.postmaster, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				waitGone(t, h.postmaster)
			}
			c, err := OpenCluster(ctx, cfg)
			if err != nil {
				t.Fatalf("open after kill -9 (postmaster killed: %v): %v", killPostmaster, err)
			}
			if got := c.StartedByUs(); got != killPostmaster {
				t.Errorf("killPostmaster %v: StartedByUs = %v", killPostmaster, got)
			}
			mustPing(t, c.URL(ClusterDatabase))
			if err := c.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if isRunning(t, dir) {
				t.Fatalf("killPostmaster %v: the stale lease of the killed process kept the cluster running", killPostmaster)
			}
		}
	})
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		// The killed postmaster is our grandchild's child, reparented to
		// init (or to us as subreaper); it may linger as a zombie.
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && strings.Contains(string(st), ") Z ") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("process %d still runs", pid)
}

func TestOpenClusterErrors(t *testing.T) {
	ctx := context.Background()
	emptyDir := func() string {
		dir := filepath.Join(MustTempDir(t), "pg")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o755)
		return dir
	}
	fakeVersion := func(version string) string {
		dir := filepath.Join(MustTempDir(t), "pg")
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, "data", "PG_VERSION"), []byte(version+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	tests := []struct {
		name     string
		dir      func() string
		binDir   string
		noLib    bool // hide the installed binaries
		code     string
		contains []string
	}{
		{name: "ErrNoDir", dir: func() string { return "" }, code: core.EInvalid, contains: []string{"no directory"}},
		{name: "ErrOtherMajorVersion", dir: func() string { return fakeVersion("99") }, code: core.EInvalid,
			contains: []string{"PostgreSQL 99", "postgresql-99", "apt-get install"}},
		{name: "ErrBinariesMissing", dir: func() string { return fakeVersion("15") }, noLib: true, code: core.EInvalid,
			contains: []string{"not installed", "apt-get install postgresql-15"}},
		{name: "ErrNoServerInstalled", dir: emptyDir, noLib: true, code: core.EInvalid,
			contains: []string{"apt-get install postgresql"}},
		{name: "ErrBinDirWithoutServer", dir: emptyDir, binDir: "/nonexistent", code: core.EInvalid,
			contains: []string{"not found in /nonexistent"}},
		{name: "ErrNotAClusterDir", dir: func() string {
			dir := filepath.Join(MustTempDir(t), "pg")
			os.MkdirAll(filepath.Join(dir, "data"), 0o755)
			os.WriteFile(filepath.Join(dir, "data", "notes.txt"), []byte("x"), 0o644)
			return dir
		}, code: core.EInvalid, contains: []string{"no PostgreSQL cluster"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.noLib {
				oldCfg, oldLib := pgConfigName, pgLibDir
				pgConfigName, pgLibDir = "/nonexistent/pg_config", t.TempDir()
				t.Cleanup(func() { pgConfigName, pgLibDir = oldCfg, oldLib })
			}
			dir := tt.dir()
			var before []string
			if dir != "" {
				before = listTree(t, dir)
			}
			_, err := OpenCluster(ctx, ClusterConfig{Dir: dir, BinDir: tt.binDir})
			if err == nil {
				t.Fatal("no error")
			}
			if got := core.ErrorCode(err); got != tt.code {
				t.Errorf("code %q, want %q (%v)", got, tt.code, err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error has several lines: %q", msg)
			}
			for _, s := range tt.contains {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not mention %q", msg, s)
				}
			}
			if dir != "" {
				after := listTree(t, dir)
				if strings.Join(before, ",") != strings.Join(after, ",") {
					t.Errorf("files changed: %v -> %v", before, after)
				}
			}
		})
	}
}

// listTree lists the files under dir except the lock file, which opening
// may create.
func listTree(t *testing.T, dir string) []string {
	var out []string
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && filepath.Base(path) != "leases.lock" {
			out = append(out, strings.TrimPrefix(path, dir))
		}
		return nil
	})
	return out
}

// TestOpenClusterNotWritable opens a cluster under a directory the user
// cannot write. As root (who can write anywhere) it runs the check in a
// helper process as the unprivileged user nobody.
func TestOpenClusterNotWritable(t *testing.T) {
	parent := MustTempDir(t)
	if err := os.Chmod(parent, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(parent, 0o755) })
	dir := filepath.Join(parent, "pg")

	var msg string
	if os.Geteuid() != 0 {
		_, err := OpenCluster(context.Background(), ClusterConfig{Dir: dir})
		if err == nil {
			t.Fatal("no error")
		}
		msg = core.ErrorCode(err) + " " + err.Error()
	} else {
		// The test binary's own directory is private to root: copy it.
		bin := filepath.Join(MustTempDir(t), "postgres.test")
		src, err := os.ReadFile(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, src, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-test.run=^TestHelperProcess$")
		cmd.Dir = "/"
		cmd.Env = append(os.Environ(), helperEnv+"=open-error", "TROVATO_PG_TEST_DIR="+dir, "HOME=/")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper as nobody: %v: %s", err, out)
		}
		line, _, _ := strings.Cut(string(out), "\n")
		msg = strings.TrimPrefix(line, "error ")
	}
	for _, s := range []string{core.EInvalid, "not writable", parent, "--data-dir"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not mention %q", msg, s)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("directory was created")
	}
}

func TestSocketDir(t *testing.T) {
	tests := []struct {
		name    string
		dir     string
		wantRun bool
	}{
		{name: "Short", dir: MustTempDir(t), wantRun: true},
		{name: "Long", dir: filepath.Join(MustTempDir(t), strings.Repeat("x", 90)), wantRun: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.MkdirAll(tt.dir, 0o755); err != nil {
				t.Fatal(err)
			}
			c := &Cluster{dir: tt.dir}
			got, err := c.socketDir()
			if err != nil {
				t.Fatal(err)
			}
			if !tt.wantRun {
				t.Cleanup(func() { os.RemoveAll(got) })
			}
			if (got == filepath.Join(tt.dir, "run")) != tt.wantRun {
				t.Errorf("socket dir %s for %s", got, tt.dir)
			}
			if n := len(got + "/.s.PGSQL.5432"); n > maxSocketPath {
				t.Errorf("socket path has %d bytes", n)
			}
			again, _ := c.socketDir()
			if again != got {
				t.Errorf("socket dir not stable: %s, then %s", got, again)
			}
		})
	}
}

func TestParseMajor(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"Debian", "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n", "15"},
		{"PgConfig", "PostgreSQL 16.2", "16"},
		{"Old", "postgres (PostgreSQL) 9.6.24", "9.6"},
		{"Beta", "postgres (PostgreSQL) 18beta1", "18"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMajor(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("parseMajor(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	if _, err := parseMajor("something else"); err == nil {
		t.Error("parseMajor accepted garbage")
	}
}

// TestOpenClusterNotTraversable: as root, the server runs as the postgres
// system user, which must be able to reach the data directory.
func TestOpenClusterNotTraversable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the cluster to another user")
	}
	parent := MustTempDir(t)
	private := filepath.Join(parent, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := OpenCluster(context.Background(), ClusterConfig{Dir: filepath.Join(private, "pg")})
	if core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), "chmod o+x "+private) {
		t.Fatalf("got %v, want EInvalid telling to chmod o+x %s", err, private)
	}
	if _, err := os.Stat(filepath.Join(private, "pg")); err == nil {
		t.Error("the refused cluster directory was created")
	}
}
