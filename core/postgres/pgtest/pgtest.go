// Package pgtest gives every test its own PostgreSQL database, cloned from
// a template migrated with the embedded migrations, so tests run in
// parallel against a real server.
//
// A package that uses it calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// With TROVATO_TEST_DATABASE_URL set (`make test` sets it), databases are
// created on that server; the URL's user must be allowed to create
// databases. Otherwise the first NewDB starts a private cluster (fsync off)
// in a temporary directory, which Main stops when the package's tests end.
//
// The template, trovato_tmpl_<8 hex of the migrations' checksum>, is
// created once per server and schema (under an advisory lock, since
// packages test in parallel processes) and reused until the migrations
// change.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/trovato/trovato/core/postgres"
)

// EnvDatabaseURL names the environment variable with the URL of a server
// to create test databases on (a database on it that the tests may
// connect to, usually "trovato").
const EnvDatabaseURL = "TROVATO_TEST_DATABASE_URL"

// templateLockKey serialises template creation across test processes.
const templateLockKey int64 = 0x74726f762e746d70 // "trov.tmp"

// harness is the package's test-run state. Main owns its lifetime: tests of
// one package binary share it.
type harness struct {
	mu         sync.Mutex
	mainCalled bool
	dir        string // private cluster's temp dir
	cluster    *postgres.Cluster
	baseURL    string
	admin      *pgxpool.Pool
	template   string
	err        error    // a failed start, reported to every test
	reaper     *os.File // its closing tells the reaper this process is gone
}

// reaperEnv makes the test binary a reaper (see startReaper).
const reaperEnv = "TROVATO_PGTEST_REAPER"

// startReaper starts a copy of the test binary that waits until this
// process is gone, however it ends (a test timeout panics, Ctrl-C kills it
// without running deferred code), then stops the private cluster in dir if
// it still runs and removes dir. It runs in its own process group so
// Ctrl-C does not reach it.
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

// reap is the reaper's work: wait for the test process to end, then clean
// up what it left.
func reap(dir string) {
	_, _ = io.Copy(io.Discard, os.Stdin)
	if _, err := os.Stat(filepath.Join(dir, "pg", "data", "postmaster.pid")); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// The dead process's lease is stale: Close stops the cluster.
		if c, err := postgres.OpenCluster(ctx, postgres.ClusterConfig{Dir: filepath.Join(dir, "pg"), FsyncOff: true}); err == nil {
			_ = c.Close(ctx)
		}
	}
	_ = os.RemoveAll(dir)
}

var h harness

// M is what a TestMain runs: *testing.M, or another harness's Wrap.
type M interface{ Run() int }

// Main runs the package's tests and stops the private cluster, if one was
// started, before exiting with the tests' status. Call it from TestMain; to
// combine it with redistest, wrap one in the other:
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
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// NewDB returns a pool on a new database cloned from the migrated template.
// The pool is closed and the database dropped when the test ends.
func NewDB(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	dbURL := NewDBURL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := postgres.Open(ctx, dbURL)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// NewDBURL creates a database cloned from the migrated template and returns
// its URL. The database is dropped (with any remaining connections) when
// the test ends: close what connects to it in an earlier Cleanup.
func NewDBURL(tb testing.TB) string {
	tb.Helper()
	return newDB(tb, true)
}

// NewEmptyDBURL creates an empty database (no migrations applied) and
// returns its URL; it is dropped when the test ends. For tests of the
// migrations themselves and of start-up.
func NewEmptyDBURL(tb testing.TB) string {
	tb.Helper()
	return newDB(tb, false)
}

func newDB(tb testing.TB, migrated bool) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, base, tmpl, err := h.get(ctx, migrated)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	if !migrated {
		tmpl = "template0"
	}
	name := "t_" + randomHex(8)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(tmpl)); err != nil {
		tb.Fatalf("pgtest: create database %s from %s: %v", name, tmpl, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := WithDatabase(base, name)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return u
}

// get returns the admin pool, the server URL and (when withTemplate) the
// template's name, starting the private cluster and creating the template
// on first use.
func (s *harness) get(ctx context.Context, withTemplate bool) (*pgxpool.Pool, string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, "", "", s.err
	}
	if s.admin == nil {
		if err := s.connect(ctx); err != nil {
			s.err = err
			return nil, "", "", err
		}
	}
	if withTemplate && s.template == "" {
		name, err := TemplateName()
		if err == nil {
			name, err = ensureTemplate(ctx, s.admin, s.baseURL, name)
		}
		if err != nil {
			// Not sticky: a later test may succeed (e.g. after a lock timeout).
			return nil, "", "", err
		}
		s.template = name
	}
	return s.admin, s.baseURL, s.template, nil
}

// connect finds the server: TROVATO_TEST_DATABASE_URL, else a private
// cluster when Main runs the tests.
func (s *harness) connect(ctx context.Context) error {
	s.baseURL = os.Getenv(EnvDatabaseURL)
	if s.baseURL == "" {
		if !s.mainCalled {
			return fmt.Errorf("no test database: call pgtest.Main(m) from the package's TestMain, or set %s", EnvDatabaseURL)
		}
		dir, err := os.MkdirTemp(FastTempDir(), "trovato-pgtest-")
		if err != nil {
			return err
		}
		s.dir = dir
		// The postgres system user must traverse it when tests run as root.
		if err := os.Chmod(dir, 0o755); err != nil {
			return err
		}
		if s.reaper, err = startReaper(dir); err != nil {
			return err
		}
		s.cluster, err = postgres.OpenCluster(ctx, postgres.ClusterConfig{Dir: filepath.Join(dir, "pg"), FsyncOff: true})
		if err != nil {
			return fmt.Errorf("start private PostgreSQL (or set %s): %w", EnvDatabaseURL, err)
		}
		s.baseURL = s.cluster.URL(postgres.ClusterDatabase)
	}
	admin, err := postgres.Open(ctx, s.baseURL)
	if err != nil {
		return fmt.Errorf("%s: %w", EnvDatabaseURL, err)
	}
	s.admin = admin
	return nil
}

// shutdown closes the admin pool and stops the private cluster.
func (s *harness) shutdown() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin != nil {
		s.admin.Close()
		s.admin = nil
	}
	var err error
	if s.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err = s.cluster.Close(ctx)
		s.cluster = nil
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

// FastTempDir returns where throw-away clusters go: /dev/shm when it is a
// writable memory file system (creating files on disk costs about 1 ms each
// in some VMs, which makes every CREATE DATABASE take hundreds of ms), else
// the usual temporary directory.
func FastTempDir() string {
	const shm = "/dev/shm"
	if fi, err := os.Stat(shm); err == nil && fi.IsDir() {
		if f, err := os.CreateTemp(shm, ".trovato-probe-"); err == nil {
			name := f.Name()
			f.Close()
			os.Remove(name)
			return shm
		}
	}
	return os.TempDir()
}

// TemplateName returns the name of the template database for the embedded
// migrations: trovato_tmpl_<first 8 hex of their checksum>.
func TemplateName() (string, error) {
	sum, err := postgres.MigrationsChecksum()
	if err != nil {
		return "", err
	}
	return "trovato_tmpl_" + sum[:8], nil
}

// ensureTemplate creates and migrates the template unless it exists, under
// an advisory lock shared by every test process using the server.
func ensureTemplate(ctx context.Context, admin *pgxpool.Pool, base, name string) (string, error) {
	conn, err := admin.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLockKey); err != nil {
		return "", fmt.Errorf("lock template creation: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", templateLockKey); err != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()

	var isTemplate bool
	err = conn.QueryRow(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", name).Scan(&isTemplate)
	switch {
	case err == nil && isTemplate:
		return name, nil
	case err == nil:
		// Left over by a run that failed half way.
		if _, err := conn.Exec(ctx, "DROP DATABASE "+ident(name)+" WITH (FORCE)"); err != nil {
			return "", fmt.Errorf("drop unfinished template %s: %w", name, err)
		}
	case err != pgx.ErrNoRows:
		return "", fmt.Errorf("look up template %s: %w", name, err)
	}

	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE template0"); err != nil {
		return "", fmt.Errorf("create template %s: %w", name, err)
	}
	tmplURL, err := WithDatabase(base, name)
	if err != nil {
		return "", err
	}
	pool, err := postgres.Open(ctx, tmplURL)
	if err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	_, err = postgres.Migrate(ctx, pool, nil)
	pool.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template %s: %w", name, err)
	}
	// No connections to the template from now on: they would make cloning
	// fail.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(name)+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
		return "", fmt.Errorf("mark template %s: %w", name, err)
	}
	return name, nil
}

// WithDatabase returns databaseURL (postgres:// URL or keyword/value form)
// pointing at database db instead.
func WithDatabase(databaseURL, db string) (string, error) {
	if strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://") {
		u, err := url.Parse(databaseURL)
		if err != nil {
			return "", fmt.Errorf("bad database URL: %w", err)
		}
		u.Path = "/" + db
		u.RawPath = ""
		return u.String(), nil
	}
	return databaseURL + " dbname=" + db, nil
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
