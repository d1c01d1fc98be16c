package redis

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/internal/lease"
)

// maxSocketPath is the longest unix socket path the kernel accepts.
const maxSocketPath = 107

// ServerConfig configures a private redis-server.
type ServerConfig struct {
	// Dir holds the server's pid file, log, leases/ and leases.lock, and
	// its socket when the path is short enough. For example
	// <data dir>/redis.
	Dir string
	// Logger receives start and stop events. Nil discards them.
	Logger *slog.Logger
	// Binary overrides the redis-server executable (default: found in PATH).
	Binary string
}

// Server is a private redis-server listening on a unix socket only, with
// no persistence (Redis holds only what may be lost). Processes share it
// through leases, like the embedded PostgreSQL cluster.
type Server struct {
	dir         string
	sock        string
	pidFile     string
	logFile     string
	log         *slog.Logger
	leases      lease.Dir
	lease       *lease.Lease
	startedByUs bool
}

// StartServer starts the redis-server under cfg.Dir, or joins the one
// running there, and takes a lease on it. Close releases the lease and
// stops the server when no other lease remains.
//
// Errors: EInvalid when redis-server is not installed (the message says
// what to install) or the directory is not writable; EUnavailable when the
// server does not start.
func StartServer(ctx context.Context, cfg ServerConfig) (*Server, error) {
	if cfg.Dir == "" {
		return nil, core.Errorf(core.EInvalid, "redis server: no directory given")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "redis server: bad directory %q: %v", cfg.Dir, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bin := cfg.Binary
	if bin == "" {
		bin = "redis-server"
	}
	if bin, err = exec.LookPath(bin); err != nil {
		return nil, core.Errorf(core.EInvalid, "redis-server is not installed: install it with `apt-get install redis-server`, or set REDIS_URL to use an existing Redis")
	}
	s := &Server{
		dir:     dir,
		sock:    socketPath(dir),
		pidFile: filepath.Join(dir, "redis.pid"),
		logFile: filepath.Join(dir, "redis.log"),
		log:     log.With("component", "redis", "dir", dir),
		leases:  lease.New(dir),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, notWritable(dir, err)
	}
	lock, err := s.leases.Lock(ctx)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, notWritable(dir, err)
		}
		return nil, fmt.Errorf("redis server %s: %w", dir, err)
	}
	defer lock.Unlock()

	if !s.running() {
		if err := s.start(ctx, bin); err != nil {
			return nil, err
		}
		s.startedByUs = true
	}
	if s.lease, err = s.leases.Acquire(); err != nil {
		if n, lerr := s.leases.Live(); lerr == nil && n == 0 && s.startedByUs {
			_ = s.stop(ctx)
		}
		return nil, fmt.Errorf("redis server %s: %w", dir, err)
	}
	return s, nil
}

// URL returns the server's address in the form go-redis parses
// (unix:///path/to/redis.sock).
func (s *Server) URL() string { return "unix://" + s.sock }

// SocketPath returns the server's unix socket.
func (s *Server) SocketPath() string { return s.sock }

// StartedByUs reports whether this StartServer started the server.
func (s *Server) StartedByUs() bool { return s.startedByUs }

// AcquirePersistentLease keeps the server running after every process
// closed it (`trovato services start`), until ReleasePersistentLease.
func (s *Server) AcquirePersistentLease(ctx context.Context) error {
	lock, err := s.leases.Lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	return s.leases.AcquirePersistent()
}

// ReleasePersistentLease drops the persistent lease; the next Close that
// leaves no live lease stops the server.
func (s *Server) ReleasePersistentLease(ctx context.Context) error {
	lock, err := s.leases.Lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	return s.leases.ReleasePersistent()
}

// Close releases this process's lease and stops the server when no live
// lease remains. Closing twice is a no-op.
func (s *Server) Close(ctx context.Context) error {
	if s == nil || s.lease == nil {
		return nil
	}
	lock, err := s.leases.Lock(ctx)
	if err != nil {
		return fmt.Errorf("close redis server: %w", err)
	}
	defer lock.Unlock()
	if err := s.lease.Release(); err != nil {
		return err
	}
	s.lease = nil
	n, err := s.leases.Live()
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.Debug("redis left running", "leases", n)
		return nil
	}
	return s.stop(ctx)
}

// socketPath returns <dir>/redis.sock, or a path under /tmp derived from
// dir when that is too long for a unix socket.
func socketPath(dir string) string {
	p := filepath.Join(dir, "redis.sock")
	if len(p) <= maxSocketPath {
		return p
	}
	sum := sha256.Sum256([]byte(dir))
	return "/tmp/trovato-redis-" + hex.EncodeToString(sum[:6]) + ".sock"
}

// pid returns the pid in the pid file, or 0.
func (s *Server) pid() int {
	b, err := os.ReadFile(s.pidFile)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// running reports whether our server answers; it clears the pid file and
// socket of a server that is gone.
func (s *Server) running() bool {
	pid := s.pid()
	if pid > 0 && s.ours(pid) && ping(s.sock) == nil {
		return true
	}
	if pid > 0 && s.ours(pid) {
		// Alive but not answering (still starting, or wedged): stop it
		// rather than start a second server on the same socket.
		s.log.Warn("redis does not answer, restarting it", "pid", pid)
		s.kill(pid)
	}
	_ = os.Remove(s.pidFile)
	_ = os.Remove(s.sock)
	return false
}

// ours reports whether pid is alive and runs this directory's
// redis-server, not a process that got a recycled pid: redis-server runs
// in its --dir. Where /proc cannot tell, a live pid counts.
func (s *Server) ours(pid int) bool {
	if !lease.PidAlive(pid) {
		return false
	}
	if _, err := os.Stat("/proc/self/cwd"); err != nil {
		return true
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(comm)), "redis") {
		return false
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		return false
	}
	dir, err := filepath.EvalSymlinks(s.dir)
	if err != nil {
		dir = s.dir
	}
	return cwd == dir
}

func (s *Server) start(ctx context.Context, bin string) error {
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, bin,
		"--port", "0",
		"--unixsocket", s.sock,
		"--unixsocketperm", "700",
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "yes",
		"--pidfile", s.pidFile,
		"--logfile", s.logFile,
		"--dir", s.dir,
	)
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return core.Errorf(core.EUnavailable, "redis-server did not start in %s: %v: %s %s", s.dir, err, strings.TrimSpace(string(out)), s.logTail())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := ping(s.sock)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return core.Errorf(core.EUnavailable, "redis-server in %s does not answer on %s: %v %s", s.dir, s.sock, err, s.logTail())
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.log.Info("redis started", "socket", s.sock, "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// stop stops the server: SIGTERM (no snapshot is configured, so nothing is
// saved), then SIGKILL after 10 s.
func (s *Server) stop(ctx context.Context) error {
	pid := s.pid()
	if pid == 0 || !s.ours(pid) {
		_ = os.Remove(s.pidFile)
		_ = os.Remove(s.sock)
		return nil
	}
	t0 := time.Now()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop redis (pid %d): %w", pid, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for lease.PidAlive(pid) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.kill(pid)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = os.Remove(s.pidFile)
	_ = os.Remove(s.sock)
	s.log.Info("redis stopped", "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

func (s *Server) kill(pid int) {
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 200 && lease.PidAlive(pid); i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logFile)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return "(log: " + strings.Join(lines, " | ") + ")"
}

// ping sends PING over the socket and expects PONG.
func ping(sock string) error {
	conn, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

func notWritable(dir string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return core.Errorf(core.EInvalid, "data directory %s is not writable (%v): choose another with --data-dir or TROVATO_DATA_DIR, or make it writable for uid %d", dir, err, os.Geteuid())
}
