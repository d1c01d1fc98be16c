// Package redistest gives every test a Redis client and its own key
// prefix on a real redis-server.
//
// A package that uses it calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
//
// With TROVATO_TEST_REDIS_URL set (`make test` sets it) the tests use that
// server; otherwise the first New starts a private redis-server in a
// temporary directory, which Main stops when the package's tests end.
// Tests share the server's database 0 and stay apart through their key
// prefix; New deletes the test's keys when it ends.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trovato/trovato/core/redis"
)

// EnvRedisURL names the environment variable with the URL of the Redis to
// test against (redis://, rediss:// or unix://).
const EnvRedisURL = "TROVATO_TEST_REDIS_URL"

type harness struct {
	mu         sync.Mutex
	mainCalled bool
	dir        string
	server     *redis.Server
	url        string
	err        error
	reaper     *os.File // its closing tells the reaper this process is gone
}

// reaperEnv makes the test binary a reaper (see startReaper).
const reaperEnv = "TROVATO_REDISTEST_REAPER"

// startReaper starts a copy of the test binary that waits until this
// process is gone, however it ends (a test timeout, Ctrl-C), then stops the
// private redis-server in dir if it still runs and removes dir. It runs in
// its own process group so Ctrl-C does not reach it.
func startReaper(dir string) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	exe, err := os.Executable()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("start reaper: %w", err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), reaperEnv+"="+dir)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start reaper: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	return w, nil
}

// reap waits for the test process to end, then cleans up what it left.
func reap(dir string) {
	_, _ = io.Copy(io.Discard, os.Stdin)
	if _, err := os.Stat(filepath.Join(dir, "redis", "redis.pid")); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// The dead process's lease is stale: Close stops the server.
		if s, err := redis.StartServer(ctx, redis.ServerConfig{Dir: filepath.Join(dir, "redis")}); err == nil {
			_ = s.Close(ctx)
		}
	}
	_ = os.RemoveAll(dir)
}

var h harness

// M is what a TestMain runs: *testing.M, or another harness's Wrap.
type M interface{ Run() int }

// Main runs the package's tests, then stops the private redis-server if
// one was started, and exits with the tests' status. Call it from TestMain;
// to combine it with pgtest, wrap one in the other:
//
//	func TestMain(m *testing.M) { pgtest.Main(redistest.Wrap(m)) }
func Main(m M) { os.Exit(run(m)) }

// Wrap returns m with this harness active around its tests, for another
// harness's Main.
func Wrap(m M) M { return wrapped{m} }

type wrapped struct{ m M }

func (w wrapped) Run() int { return run(w.m) }

func run(m M) int {
	if dir := os.Getenv(reaperEnv); dir != "" {
		reap(dir)
		return 0
	}
	h.mu.Lock()
	h.mainCalled = true
	h.mu.Unlock()
	code := m.Run()
	if err := h.shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "redistest:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// URL returns the URL of the test server, starting the private one if
// needed.
func URL(tb testing.TB) string {
	tb.Helper()
	u, err := h.get(context.Background())
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	return u
}

// New returns a client on the test server and a key prefix unique to the
// test ("t:<random>:"). The test's keys (those starting with the prefix)
// are deleted and the client closed when the test ends.
func New(tb testing.TB) (*goredis.Client, string) {
	tb.Helper()
	opt, err := goredis.ParseURL(URL(tb))
	if err != nil {
		tb.Fatalf("redistest: %s: %v", EnvRedisURL, err)
	}
	c := goredis.NewClient(opt)
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "t:" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() {
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := deletePrefix(ctx, c, prefix); err != nil {
			tb.Errorf("redistest: delete keys %s*: %v", prefix, err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		tb.Fatalf("redistest: %s does not answer: %v", opt.Addr, err)
	}
	return c, prefix
}

// deletePrefix deletes every key starting with prefix.
func deletePrefix(ctx context.Context, c *goredis.Client, prefix string) error {
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, prefix+"*", 500).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := c.Unlink(ctx, keys...).Err(); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

func (s *harness) get(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.url != "" || s.err != nil {
		return s.url, s.err
	}
	if u := os.Getenv(EnvRedisURL); u != "" {
		s.url = u
		return u, nil
	}
	if !s.mainCalled {
		return "", fmt.Errorf("no test Redis: call redistest.Main(m) from the package's TestMain, or set %s", EnvRedisURL)
	}
	dir, err := os.MkdirTemp("", "trovato-redistest-")
	if err != nil {
		s.err = err
		return "", err
	}
	s.dir = dir
	if s.reaper, err = startReaper(dir); err != nil {
		s.err = err
		return "", err
	}
	s.server, err = redis.StartServer(ctx, redis.ServerConfig{Dir: filepath.Join(dir, "redis")})
	if err != nil {
		s.err = fmt.Errorf("start private redis-server (or set %s): %w", EnvRedisURL, err)
		return "", s.err
	}
	s.url = s.server.URL()
	return s.url, nil
}

func (s *harness) shutdown() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = s.server.Close(ctx)
		s.server = nil
	}
	if s.dir != "" {
		if rerr := os.RemoveAll(s.dir); rerr != nil && err == nil {
			err = rerr
		}
		s.dir = ""
	}
	if s.reaper != nil {
		s.reaper.Close()
		s.reaper = nil
	}
	return err
}
