package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/internal/lease"
)

// ClusterUser is the PostgreSQL superuser of an embedded cluster.
const ClusterUser = "trovato"

// ClusterDatabase is the database an embedded cluster always holds.
const ClusterDatabase = "trovato"

// maxSocketPath is the longest unix socket path the kernel accepts
// (sun_path is 108 bytes with the terminating NUL).
const maxSocketPath = 107

// Where server binaries are looked for; variables so tests can point them
// elsewhere.
var (
	pgConfigName = "pg_config"
	pgLibDir     = "/usr/lib/postgresql"
)

// systemUser runs PostgreSQL when Trovato runs as root: the server refuses
// to run as root.
const systemUser = "postgres"

// ClusterConfig configures an embedded PostgreSQL cluster.
type ClusterConfig struct {
	// Dir holds the cluster: data/ (PGDATA), run/ (the socket, when the
	// path is short enough), leases/ and leases.lock. For example
	// <data dir>/pg.
	Dir string
	// FsyncOff runs the server without fsync, synchronous commit and full
	// page writes. For tests only: a crash loses data.
	FsyncOff bool
	// Logger receives start, stop and init events. Nil discards them.
	Logger *slog.Logger
	// BinDir overrides where initdb, pg_ctl and postgres are found. Its
	// version must match the cluster's.
	BinDir string
}

// Cluster is a private PostgreSQL cluster under a directory, shared between
// processes through leases. It listens on a unix socket only.
type Cluster struct {
	dir         string
	dataDir     string
	sockDir     string
	binDir      string
	major       string
	log         *slog.Logger
	leases      lease.Dir
	lease       *lease.Lease
	runAs       *credential
	startedByUs bool
}

// credential is the unprivileged system user that runs the server when the
// process runs as root.
type credential struct {
	name   string
	uid    int
	gid    int
	groups []uint32
}

// OpenCluster opens the cluster under cfg.Dir: it creates it with initdb if
// the directory holds none, starts it if it does not run, makes sure the
// database "trovato" exists and takes a lease on it. Close releases the
// lease and stops the cluster when no other lease remains.
//
// Errors: EInvalid for a bad or unwritable directory, a cluster of another
// major version, or missing server binaries (the message names the package
// to install); EUnavailable when the server does not start.
func OpenCluster(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	if cfg.Dir == "" {
		return nil, core.Errorf(core.EInvalid, "postgres cluster: no directory given")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "postgres cluster: bad directory %q: %v", cfg.Dir, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		log:     log.With("component", "postgres", "dir", dir),
		leases:  lease.New(dir),
	}
	if os.Geteuid() == 0 {
		c.runAs, err = lookupCredential(systemUser)
		if err != nil {
			return nil, err
		}
	}
	// Check before creating anything, and again for what was created.
	for range 2 {
		if c.runAs != nil {
			if err := checkTraversable(dir, c.runAs); err != nil {
				return nil, err
			}
		}
		if err := mkdirWritable(dir); err != nil {
			return nil, err
		}
	}

	lock, err := c.leases.Lock(ctx)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, notWritable(dir, err)
		}
		return nil, fmt.Errorf("postgres cluster %s: %w", dir, err)
	}
	defer lock.Unlock()

	if err := c.open(ctx, cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// open does OpenCluster's work with the lease lock held.
func (c *Cluster) open(ctx context.Context, cfg ClusterConfig) (err error) {
	version, err := readPGVersion(c.dataDir)
	if err != nil {
		return err
	}
	c.binDir, c.major, err = findBinaries(ctx, cfg.BinDir, version, c.dataDir)
	if err != nil {
		return err
	}
	if version == "" {
		if err := c.initdb(ctx); err != nil {
			return err
		}
	} else if err := c.checkOwner(); err != nil {
		return err
	}
	if c.sockDir, err = c.socketDir(); err != nil {
		return err
	}

	running, err := c.running(ctx)
	if err != nil {
		return err
	}
	if !running {
		if err := c.writeConf(cfg.FsyncOff); err != nil {
			return err
		}
		if err := c.start(ctx); err != nil {
			return err
		}
		c.startedByUs = true
		defer func() {
			// Stop what we started if we cannot hand it out, unless another
			// process took a lease meanwhile (it cannot: we hold the lock,
			// but stale leases are cleared here too).
			if err != nil {
				if n, lerr := c.leases.Live(); lerr == nil && n == 0 {
					_ = c.stop(context.WithoutCancel(ctx))
				}
			}
		}()
	}
	if err := c.ensureDatabase(ctx); err != nil {
		return err
	}
	c.lease, err = c.leases.Acquire()
	if err != nil {
		return fmt.Errorf("postgres cluster %s: %w", c.dir, err)
	}
	return nil
}

// URL returns a pgx connection URL for database db over the cluster's unix
// socket.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres:///%s?host=%s&user=%s&sslmode=disable",
		url.PathEscape(db), url.QueryEscape(c.sockDir), ClusterUser)
}

// StartedByUs reports whether this OpenCluster started the server (rather
// than finding it running).
func (c *Cluster) StartedByUs() bool { return c.startedByUs }

// Dir returns the cluster's directory.
func (c *Cluster) Dir() string { return c.dir }

// SocketDir returns the directory holding the server's unix socket.
func (c *Cluster) SocketDir() string { return c.sockDir }

// MajorVersion returns the PostgreSQL major version of the cluster, e.g. "15".
func (c *Cluster) MajorVersion() string { return c.major }

// AcquirePersistentLease takes the persistent lease (`trovato services
// start`): the cluster keeps running after every process closed it, until
// ReleasePersistentLease.
func (c *Cluster) AcquirePersistentLease(ctx context.Context) error {
	lock, err := c.leases.Lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	return c.leases.AcquirePersistent()
}

// ReleasePersistentLease drops the persistent lease. The cluster stops at
// the next Close that leaves no live lease.
func (c *Cluster) ReleasePersistentLease(ctx context.Context) error {
	lock, err := c.leases.Lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	return c.leases.ReleasePersistent()
}

// Close releases this opener's lease and stops the cluster when no live
// lease remains (leases of processes that are gone do not count). Closing
// twice is a no-op.
func (c *Cluster) Close(ctx context.Context) error {
	if c == nil || c.lease == nil {
		return nil
	}
	lock, err := c.leases.Lock(ctx)
	if err != nil {
		return fmt.Errorf("close postgres cluster: %w", err)
	}
	defer lock.Unlock()
	if err := c.lease.Release(); err != nil {
		return err
	}
	c.lease = nil
	n, err := c.leases.Live()
	if err != nil {
		return err
	}
	if n > 0 {
		c.log.Debug("cluster left running", "leases", n)
		return nil
	}
	return c.stop(ctx)
}

// readPGVersion returns the major version in dataDir/PG_VERSION, or "" when
// the directory holds no cluster. A non-empty directory without a cluster
// is an error.
func readPGVersion(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if err == nil {
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", core.Errorf(core.EInvalid, "postgres cluster %s: empty PG_VERSION file; the cluster is damaged, move the directory away", dataDir)
		}
		return v, nil
	}
	if errors.Is(err, fs.ErrPermission) {
		return "", core.Errorf(core.EInvalid, "postgres cluster %s is not readable (%v): run as the user that owns it", dataDir, err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read PG_VERSION: %w", err)
	}
	entries, err := os.ReadDir(dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", core.Errorf(core.EInvalid, "postgres cluster %s is not readable (%v): run as the user that owns it", dataDir, err)
	}
	if len(entries) > 0 {
		return "", core.Errorf(core.EInvalid, "%s holds files but no PostgreSQL cluster (no PG_VERSION): move it away and start again", dataDir)
	}
	return "", nil
}

// findBinaries returns the directory of initdb, pg_ctl and postgres for the
// cluster's major version (or, for a new cluster, of the installed server)
// and that major version.
func findBinaries(ctx context.Context, override, major, dataDir string) (string, string, error) {
	if override != "" {
		v, err := serverMajor(ctx, override)
		if err != nil {
			return "", "", core.Errorf(core.EInvalid, "PostgreSQL server binaries not found in %s: %v", override, err)
		}
		if major != "" && v != major {
			return "", "", core.Errorf(core.EInvalid, "cluster %s is PostgreSQL %s but %s holds PostgreSQL %s: install postgresql-%s (apt-get install postgresql-%s) or upgrade the cluster with pg_upgrade", dataDir, major, override, v, major, major)
		}
		return override, v, nil
	}
	var candidates []string
	if out, err := exec.CommandContext(ctx, pgConfigName, "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	if major != "" {
		candidates = append(candidates, filepath.Join(pgLibDir, major, "bin"))
	} else {
		dirs, _ := filepath.Glob(filepath.Join(pgLibDir, "*", "bin"))
		sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
		candidates = append(candidates, dirs...)
	}
	var found []string
	for _, dir := range candidates {
		v, err := serverMajor(ctx, dir)
		if err != nil {
			continue
		}
		if major == "" || v == major {
			return dir, v, nil
		}
		found = append(found, v)
	}
	if major == "" {
		return "", "", core.Errorf(core.EInvalid, "PostgreSQL server binaries not found (no initdb, pg_ctl and postgres via pg_config or in /usr/lib/postgresql/*/bin): install them with `apt-get install postgresql`, or set DATABASE_URL to use an existing server")
	}
	if len(found) > 0 {
		return "", "", core.Errorf(core.EInvalid, "cluster %s is PostgreSQL %s but only PostgreSQL %s is installed: install postgresql-%s (apt-get install postgresql-%s) or upgrade the cluster with pg_upgrade", dataDir, major, strings.Join(found, ", "), major, major)
	}
	return "", "", core.Errorf(core.EInvalid, "cluster %s is PostgreSQL %s but its server binaries are not installed: install them with `apt-get install postgresql-%s`", dataDir, major, major)
}

// versionOf returns the number in /usr/lib/postgresql/<n>/bin, for sorting.
func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// serverMajor returns the major version of the server binaries in dir.
func serverMajor(ctx context.Context, dir string) (string, error) {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return "", fmt.Errorf("no %s", name)
		}
	}
	out, err := exec.CommandContext(ctx, filepath.Join(dir, "postgres"), "--version").Output()
	if err != nil {
		return "", fmt.Errorf("postgres --version: %w", err)
	}
	return parseMajor(string(out))
}

// parseMajor extracts the major version from "postgres (PostgreSQL) 15.18
// (Debian ...)" or "PostgreSQL 9.6.24".
func parseMajor(s string) (string, error) {
	i := strings.Index(s, "PostgreSQL")
	if i < 0 {
		return "", fmt.Errorf("unexpected version %q", strings.TrimSpace(s))
	}
	rest := strings.TrimLeft(s[i+len("PostgreSQL"):], ") ")
	end := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end >= 0 {
		rest = rest[:end]
	}
	parts := strings.Split(rest, ".")
	if parts[0] == "" {
		return "", fmt.Errorf("unexpected version %q", strings.TrimSpace(s))
	}
	if n, _ := strconv.Atoi(parts[0]); n < 10 && len(parts) > 1 {
		return parts[0] + "." + parts[1], nil
	}
	return parts[0], nil
}

// initdb creates the cluster.
func (c *Cluster) initdb(ctx context.Context) error {
	// initdb into a side directory renamed into place when complete, so an
	// interrupted initdb never leaves a half-made cluster behind.
	tmp := c.dataDir + ".init"
	if err := os.RemoveAll(tmp); err != nil {
		return notWritable(c.dir, err)
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return notWritable(c.dir, err)
	}
	if err := c.chown(tmp); err != nil {
		return err
	}
	locale := "C"
	if hasLocale("C.UTF-8") {
		locale = "C.UTF-8"
	}
	start := time.Now()
	out, err := c.pg(ctx, "initdb", "-D", tmp, "-U", ClusterUser, "--auth=trust",
		"-E", "UTF8", "--locale="+locale, "--no-sync", "--no-instructions")
	if err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("initdb %s: %w: %s", c.dataDir, err, lastLines(out, 3))
	}
	f, err := os.OpenFile(filepath.Join(tmp, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("initdb %s: %w", c.dataDir, err)
	}
	_, err = f.WriteString("\n# Written by Trovato on every start.\ninclude_if_exists = 'trovato.conf'\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("initdb %s: %w", c.dataDir, err)
	}
	// readPGVersion made sure dataDir is missing or empty.
	if err := os.Remove(c.dataDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("initdb %s: %w", c.dataDir, err)
	}
	if err := os.Rename(tmp, c.dataDir); err != nil {
		return fmt.Errorf("initdb %s: %w", c.dataDir, err)
	}
	c.log.Info("postgres cluster created", "version", c.major, "locale", locale, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// hasLocale reports whether glibc knows the locale (C.UTF-8 is built in
// from glibc 2.35 and shipped by Debian before that).
func hasLocale(name string) bool {
	for _, dir := range []string{"/usr/lib/locale/" + name, "/usr/lib/locale/" + strings.Replace(name, "UTF-8", "utf8", 1)} {
		if _, err := os.Stat(dir); err == nil {
			return true
		}
	}
	return false
}

// checkOwner makes sure the server can run on an existing data directory.
func (c *Cluster) checkOwner() error {
	fi, err := os.Stat(c.dataDir)
	if err != nil {
		return fmt.Errorf("postgres cluster: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	want := os.Geteuid()
	who := "this user"
	if c.runAs != nil {
		want, who = c.runAs.uid, "the "+c.runAs.name+" user"
	}
	if int(st.Uid) != want {
		return core.Errorf(core.EInvalid, "postgres cluster %s belongs to uid %d, not to %s (uid %d) that runs PostgreSQL: run Trovato as its owner or chown -R %d %s", c.dataDir, st.Uid, who, want, want, c.dataDir)
	}
	return nil
}

// socketDir prepares and returns the directory for the unix socket:
// <Dir>/run when the socket path fits, else /tmp/trovato-pg-<hash of Dir>.
func (c *Cluster) socketDir() (string, error) {
	dir := filepath.Join(c.dir, "run")
	if len(dir)+len("/.s.PGSQL.5432") > maxSocketPath {
		sum := sha256.Sum256([]byte(c.dir))
		dir = "/tmp/trovato-pg-" + hex.EncodeToString(sum[:6])
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", notWritable(filepath.Dir(dir), err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	want := os.Geteuid()
	if c.runAs != nil {
		want = c.runAs.uid
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !fi.IsDir() || (ok && int(st.Uid) != want && int(st.Uid) != os.Geteuid()) {
		return "", core.Errorf(core.EInvalid, "socket directory %s is not a directory of uid %d: remove it", dir, want)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", notWritable(dir, err)
	}
	if err := c.chown(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// writeConf writes the settings Trovato controls, read through the include
// line initdb added to postgresql.conf.
func (c *Cluster) writeConf(fsyncOff bool) error {
	var b strings.Builder
	b.WriteString("# Written by Trovato on every start; edits are lost.\n")
	// Authentication is "trust": only the owner may reach the socket (root
	// passes as it ignores file permissions).
	fmt.Fprintf(&b, "listen_addresses = ''\nport = 5432\nunix_socket_directories = %s\nunix_socket_permissions = 0700\n", confQuote(c.sockDir))
	if fsyncOff {
		b.WriteString("# Test cluster: a crash loses data.\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
		b.WriteString("max_connections = 200\nshared_buffers = '32MB'\n")
		// Dynamic shared memory in the data directory, so a killed test
		// cluster leaves nothing in /dev/shm once its directory is removed.
		b.WriteString("dynamic_shared_memory_type = mmap\n")
	}
	path := filepath.Join(c.dataDir, "trovato.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return notWritable(c.dataDir, err)
	}
	return c.chown(path)
}

func confQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// running reports whether the server runs (pg_ctl status ignores a stale
// postmaster.pid whose process is gone).
func (c *Cluster) running(ctx context.Context) (bool, error) {
	out, err := c.pg(ctx, "pg_ctl", "status", "-D", c.dataDir)
	if err == nil {
		// pg_ctl counts a killed postmaster that is not reaped yet (a
		// zombie), or another program that got its pid after a reboot, as
		// running, and so would the new postmaster: remove its lock files.
		if pid := c.postmasterPID(); pid > 0 && (!lease.PidAlive(pid) || !isPostgres(pid)) {
			c.log.Warn("removing the lock files of a dead postmaster", "pid", pid)
			for _, f := range []string{filepath.Join(c.dataDir, "postmaster.pid"), filepath.Join(c.sockDir, ".s.PGSQL.5432.lock")} {
				if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return false, fmt.Errorf("remove stale lock file: %w", err)
				}
			}
			return false, nil
		}
		return true, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 3 {
		return false, nil
	}
	return false, fmt.Errorf("pg_ctl status %s: %w: %s", c.dataDir, err, lastLines(out, 2))
}

// postmasterPID returns the pid in postmaster.pid, or 0.
func (c *Cluster) postmasterPID() int {
	b, err := os.ReadFile(filepath.Join(c.dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// isPostgres reports whether pid runs a postgres program; true when /proc
// cannot tell.
func isPostgres(pid int) bool {
	if _, err := os.Stat("/proc/self/comm"); err != nil {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist)
	}
	return strings.TrimSpace(string(b)) == "postgres"
}

// start starts the server and waits until it accepts connections. A
// postmaster killed with -9 can leave backends that hold the old shared
// memory for a moment; start retries while they exit.
func (c *Cluster) start(ctx context.Context) error {
	logFile := filepath.Join(c.dataDir, "server.log")
	t0 := time.Now()
	deadline := t0.Add(15 * time.Second)
	for {
		out, err := c.pg(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", c.dataDir, "-l", logFile)
		if err == nil {
			c.log.Info("postgres started", "socket", c.sockDir, "took", time.Since(t0).Round(time.Millisecond))
			return nil
		}
		logTail, _ := os.ReadFile(logFile)
		tail := lastLines(logTail, 3)
		if bytes.Contains(logTail, []byte("is still in use")) && time.Now().Before(deadline) && ctx.Err() == nil {
			c.log.Debug("waiting for old backends to exit", "log", tail)
			time.Sleep(200 * time.Millisecond)
			continue
		}
		return core.Errorf(core.EUnavailable, "postgres cluster %s did not start: %v: %s %s (see %s)", c.dir, err, lastLines(out, 2), tail, logFile)
	}
}

// stop stops the server (fast shutdown: open transactions roll back).
func (c *Cluster) stop(ctx context.Context) error {
	running, err := c.running(ctx)
	if err != nil || !running {
		return err
	}
	t0 := time.Now()
	out, err := c.pg(ctx, "pg_ctl", "stop", "-w", "-m", "fast", "-t", "60", "-D", c.dataDir)
	if err != nil {
		return fmt.Errorf("stop postgres cluster %s: %w: %s", c.dir, err, lastLines(out, 2))
	}
	c.log.Info("postgres stopped", "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// ensureDatabase creates the database "trovato" if missing, retrying while
// the server still starts up.
func (c *Cluster) ensureDatabase(ctx context.Context) error {
	var conn *pgx.Conn
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err = pgx.Connect(cctx, c.URL("postgres"))
		cancel()
		if err == nil {
			break
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "57P03" && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		return core.Errorf(core.EUnavailable, "postgres cluster %s does not answer: %v", c.dir, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", ClusterDatabase).Scan(&exists); err != nil {
		return fmt.Errorf("postgres cluster %s: %w", c.dir, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{ClusterDatabase}.Sanitize())
	var pgErr *pgconn.PgError
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P04") {
		return fmt.Errorf("create database %s: %w", ClusterDatabase, err)
	}
	return nil
}

// pg runs a server program, as the unprivileged system user when the
// process runs as root, and returns its combined output.
func (c *Cluster) pg(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	cmd.Dir = c.dir
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.runAs != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{
			Uid: uint32(c.runAs.uid), Gid: uint32(c.runAs.gid), Groups: c.runAs.groups,
		}
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.Bytes(), err
}

// cleanEnv returns the environment without libpq variables, which would
// point pg_ctl at another server.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

// chown gives path to the system user that runs the server (root only).
func (c *Cluster) chown(path string) error {
	if c.runAs == nil {
		return nil
	}
	if err := os.Chown(path, c.runAs.uid, c.runAs.gid); err != nil {
		return fmt.Errorf("chown %s to %s: %w", path, c.runAs.name, err)
	}
	return nil
}

// lastLines returns up to n trimmed last lines of b, joined by " | ".
func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, " | ")
}

// mkdirWritable creates dir if needed (mode 0755 whatever the umask, so
// the server's system user can traverse it) and checks that it is writable.
func mkdirWritable(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return notWritable(dir, err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return notWritable(dir, err)
		}
	}
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return notWritable(dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// notWritable turns a permission error on the data directory into a
// one-line error that says what to do.
func notWritable(dir string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if pe.Path != dir && !strings.HasPrefix(pe.Path, dir+"/") {
			dir = pe.Path
		}
		err = pe.Err
	}
	return core.Errorf(core.EInvalid, "data directory %s is not writable (%v): choose another with --data-dir or TROVATO_DATA_DIR, or make it writable for uid %d", dir, err, os.Geteuid())
}

// lookupCredential finds the system user that runs the server when the
// process runs as root.
func lookupCredential(name string) (*credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "running as root, the embedded PostgreSQL needs the unprivileged system user %q, which does not exist: install postgresql-common (it creates it) or run Trovato as a normal user", name)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user %s: bad uid %q or gid %q", name, u.Uid, u.Gid)
	}
	cred := &credential{name: name, uid: uid, gid: gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.Atoi(id); err == nil {
				cred.groups = append(cred.groups, uint32(g))
			}
		}
	}
	return cred, nil
}

// checkTraversable makes sure the system user can reach dir: every
// directory from / down to dir must grant it search (x) permission.
func checkTraversable(dir string, cred *credential) error {
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // to be created, with mode 0755
		} else if err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && !canSearch(fi.Mode(), st, cred) {
			return core.Errorf(core.EInvalid, "directory %s is not traversable by the %q user that runs PostgreSQL: chmod o+x %s, or choose a data directory outside it (--data-dir or TROVATO_DATA_DIR)", p, cred.name, p)
		}
		if p == "/" || p == filepath.Dir(p) {
			return nil
		}
	}
}

func canSearch(mode fs.FileMode, st *syscall.Stat_t, cred *credential) bool {
	perm := uint32(mode.Perm())
	if int(st.Uid) == cred.uid {
		return perm&0o100 != 0
	}
	inGroup := int(st.Gid) == cred.gid
	for _, g := range cred.groups {
		inGroup = inGroup || g == st.Gid
	}
	if inGroup {
		return perm&0o010 != 0
	}
	return perm&0o001 != 0
}
