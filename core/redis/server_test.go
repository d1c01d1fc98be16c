package redis

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/internal/lease"
)

const helperEnv = "TROVATO_REDIS_TEST_HELPER"

// TestHelperProcess is not a test: re-executed with helperEnv set, it
// starts (or joins) the server in TROVATO_REDIS_TEST_DIR, prints "ready
// <startedByUs>", and holds it until stdin closes.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("helper process")
	}
	ctx := context.Background()
	s, err := StartServer(ctx, ServerConfig{Dir: os.Getenv("TROVATO_REDIS_TEST_DIR")})
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("ready %v\n", s.StartedByUs())
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := s.Close(ctx); err != nil {
		fmt.Printf("close error %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// MustServer starts a server in dir and closes it when the test ends.
func MustServer(tb testing.TB, dir string) *Server {
	tb.Helper()
	s, err := StartServer(context.Background(), ServerConfig{Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func mustRoundTrip(tb testing.TB, s *Server, key string) {
	tb.Helper()
	opt, err := goredis.ParseURL(s.URL())
	if err != nil {
		tb.Fatalf("go-redis cannot parse %s: %v", s.URL(), err)
	}
	c := goredis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, key, "v", 0).Err(); err != nil {
		tb.Fatal(err)
	}
	if got, err := c.Get(ctx, key).Result(); err != nil || got != "v" {
		tb.Fatalf("GET %s = %q, %v", key, got, err)
	}
}

func serverRunning(s *Server) bool {
	pid := s.pid()
	return pid > 0 && lease.PidAlive(pid) && ping(s.sock) == nil
}

func TestServer(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "redis")

	t.Run("ShareInProcess", func(t *testing.T) {
		a := MustServer(t, dir)
		if !a.StartedByUs() {
			t.Fatal("first StartServer did not start redis")
		}
		mustRoundTrip(t, a, "k1")
		b := MustServer(t, dir)
		if b.StartedByUs() {
			t.Error("second StartServer started another redis")
		}
		if err := a.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if !serverRunning(b) {
			t.Fatal("redis stopped while a lease remains")
		}
		mustRoundTrip(t, b, "k2")
		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if serverRunning(b) {
			t.Fatal("redis runs after the last Close")
		}
	})

	t.Run("ShareWithOtherProcess", func(t *testing.T) {
		cmd, stdin := spawnHelper(t, dir)
		s := MustServer(t, dir)
		if s.StartedByUs() {
			t.Error("joined server reported as started by us")
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if !serverRunning(s) {
			t.Fatal("Close stopped redis while the helper holds a lease")
		}
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper: %v", err)
		}
		if serverRunning(s) {
			t.Fatal("redis runs after the helper's Close")
		}
	})

	t.Run("PersistentLease", func(t *testing.T) {
		s := MustServer(t, dir)
		if err := s.AcquirePersistentLease(ctx); err != nil {
			t.Fatal(err)
		}
		s.Close(ctx)
		if !serverRunning(s) {
			t.Fatal("Close stopped redis held by the persistent lease")
		}
		s = MustServer(t, dir)
		if err := s.ReleasePersistentLease(ctx); err != nil {
			t.Fatal(err)
		}
		s.Close(ctx)
		if serverRunning(s) {
			t.Fatal("redis runs after the persistent lease was released")
		}
	})

	t.Run("RecycledPid", func(t *testing.T) {
		// The pid file names a pid another program got after a crash: it
		// must be neither trusted nor signalled.
		other := exec.Command("sleep", "30")
		if err := other.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { other.Process.Kill(); other.Wait() }()
		os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, "redis.pid"), []byte(fmt.Sprintf("%d\n", other.Process.Pid)), 0o644); err != nil {
			t.Fatal(err)
		}
		s := MustServer(t, dir)
		if !s.StartedByUs() {
			t.Error("trusted a pid file naming another program")
		}
		mustRoundTrip(t, s, "k4")
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if serverRunning(s) {
			t.Fatal("redis runs after the last Close")
		}
		if !lease.PidAlive(other.Process.Pid) { // a killed child stays a zombie: PidAlive says gone
			t.Fatal("the unrelated process was killed")
		}
	})

	t.Run("RecoverAfterKill", func(t *testing.T) {
		// A process that started redis dies with it (kill -9 of both): its
		// lease and redis's pid file and socket stay behind.
		h, stdin := spawnHelper(t, dir)
		probe := &Server{dir: dir, sock: socketPath(dir), pidFile: filepath.Join(dir, "redis.pid")}
		pid := probe.pid()
		for _, p := range []int{h.Process.Pid, pid} {
			if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
		h.Wait()
		stdin.Close()
		for i := 0; i < 500 && lease.PidAlive(pid); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		s := MustServer(t, dir)
		if !s.StartedByUs() {
			t.Error("a killed server was not restarted")
		}
		mustRoundTrip(t, s, "k3")
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if serverRunning(s) {
			t.Fatal("the stale lease of the killed process kept redis running")
		}
	})
}

// spawnHelper starts a TestHelperProcess holding the server in dir and
// waits until it is ready.
func spawnHelper(t *testing.T, dir string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "TROVATO_REDIS_TEST_DIR="+dir)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if !strings.HasPrefix(line, "ready ") {
		t.Fatalf("helper: %q", line)
	}
	return cmd, stdin
}

func TestStartServerErrors(t *testing.T) {
	tests := []struct {
		name     string
		cfg      ServerConfig
		contains string
	}{
		{name: "ErrNoDir", cfg: ServerConfig{}, contains: "no directory"},
		{name: "ErrNotInstalled", cfg: ServerConfig{Dir: t.TempDir(), Binary: "/nonexistent/redis-server"}, contains: "apt-get install redis-server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := StartServer(context.Background(), tt.cfg)
			if core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("got %v, want EInvalid mentioning %q", err, tt.contains)
			}
		})
	}
}

func TestSocketPath(t *testing.T) {
	short := "/var/lib/trovato/redis"
	if got := socketPath(short); got != short+"/redis.sock" {
		t.Errorf("socketPath(%s) = %s", short, got)
	}
	long := "/" + strings.Repeat("d", 120)
	got := socketPath(long)
	if len(got) > maxSocketPath || got != socketPath(long) {
		t.Errorf("socketPath(long) = %s", got)
	}
}
