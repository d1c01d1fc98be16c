// Package lease lets several processes share one embedded service (a
// PostgreSQL cluster, a redis-server) that lives under a directory.
//
// Every process using the service holds a lease: a file
// <root>/leases/<pid>-<random> holding the pid and the process start time.
// A lease whose process is gone is stale and removed when leases are
// counted. The persistent lease <root>/leases/services is held by
// `trovato services start` until `trovato services stop`, across processes.
// Checking leases and starting or stopping the service happens under an
// exclusive flock on <root>/leases.lock, so two processes starting
// together do not both start the service.
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PersistentName is the file name of the persistent lease.
const PersistentName = "services"

// Dir is the lease bookkeeping of one service directory.
type Dir struct {
	root string
}

// New returns the lease bookkeeping of the service under root. It creates
// nothing.
func New(root string) Dir { return Dir{root: root} }

// Path returns the directory holding the lease files.
func (d Dir) Path() string { return filepath.Join(d.root, "leases") }

// LockPath returns the path of the flock file.
func (d Dir) LockPath() string { return filepath.Join(d.root, "leases.lock") }

// Lock is a held flock.
type Lock struct {
	f *os.File
}

// Unlock releases the lock. It is safe to call more than once.
func (l *Lock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
	l.f = nil
}

// Lock takes the exclusive lock of the directory, waiting until ctx is done.
// The root directory must exist.
func (d Dir) Lock(ctx context.Context) (*Lock, error) {
	f, err := os.OpenFile(d.LockPath(), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	delay := 5 * time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &Lock{f: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", d.LockPath(), err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", d.LockPath(), ctx.Err())
		case <-time.After(delay):
		}
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}

// Lease is one process's hold on the service.
type Lease struct {
	path string
}

// Acquire writes a new lease for the current process. Call it with the
// lock held.
func (d Dir) Acquire() (*Lease, error) {
	if err := os.MkdirAll(d.Path(), 0o755); err != nil {
		return nil, fmt.Errorf("create lease dir: %w", err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	pid := os.Getpid()
	path := filepath.Join(d.Path(), fmt.Sprintf("%d-%s", pid, hex.EncodeToString(b[:])))
	content := fmt.Sprintf("%d %s\n", pid, processStart(pid))
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return nil, fmt.Errorf("write lease: %w", err)
	}
	return &Lease{path: path}, nil
}

// Path returns the lease file.
func (l *Lease) Path() string { return l.path }

// Release removes the lease. Releasing an already released lease is not an
// error.
func (l *Lease) Release() error {
	if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove lease: %w", err)
	}
	return nil
}

// AcquirePersistent writes the persistent lease. It is idempotent.
func (d Dir) AcquirePersistent() error {
	if err := os.MkdirAll(d.Path(), 0o755); err != nil {
		return fmt.Errorf("create lease dir: %w", err)
	}
	content := fmt.Sprintf("held since %s by pid %d\n", time.Now().UTC().Format(time.RFC3339), os.Getpid())
	if err := os.WriteFile(filepath.Join(d.Path(), PersistentName), []byte(content), 0o644); err != nil {
		return fmt.Errorf("write persistent lease: %w", err)
	}
	return nil
}

// ReleasePersistent removes the persistent lease. It is idempotent.
func (d Dir) ReleasePersistent() error {
	err := os.Remove(filepath.Join(d.Path(), PersistentName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove persistent lease: %w", err)
	}
	return nil
}

// HasPersistent reports whether the persistent lease is held.
func (d Dir) HasPersistent() bool {
	_, err := os.Stat(filepath.Join(d.Path(), PersistentName))
	return err == nil
}

// Live returns the number of live leases (the persistent one included),
// removing the stale leases of processes that are gone. Call it with the
// lock held.
func (d Dir) Live() (int, error) {
	entries, err := os.ReadDir(d.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("read lease dir: %w", err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if name == PersistentName {
			n++
			continue
		}
		path := filepath.Join(d.Path(), name)
		if leaseAlive(path) {
			n++
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("remove stale lease: %w", err)
		}
	}
	return n, nil
}

// leaseAlive reports whether the process that wrote the lease file still
// runs. A lease that cannot be parsed counts as stale.
func leaseAlive(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return false
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil || pid <= 0 {
		return false
	}
	if !PidAlive(pid) {
		return false
	}
	// A recycled pid runs another process: its start time differs.
	if len(fields) > 1 && fields[1] != "" && fields[1] != "-" {
		if now := processStart(pid); now != "-" && now != fields[1] {
			return false
		}
	}
	return true
}

// PidAlive reports whether a process with this pid exists (zombies count as
// gone).
func PidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if f := statFields(string(st)); len(f) > 0 && f[0] == "Z" {
			return false
		}
	}
	return true
}

// processStart returns the start time of pid in clock ticks since boot
// (Linux), or "-" where it cannot be read.
func processStart(pid int) string {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "-"
	}
	f := statFields(string(st))
	// Fields after the command: state is field 3, starttime field 22.
	if len(f) < 20 {
		return "-"
	}
	return f[19]
}

// statFields returns the fields of /proc/<pid>/stat after the command name
// (which may itself hold spaces and parentheses).
func statFields(s string) []string {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}
