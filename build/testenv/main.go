// Command testenv runs a command (usually `go test ./...`) with one private
// PostgreSQL cluster (fsync off) and one private redis-server for the whole
// run:
//
//	go run ./build/testenv -- go test ./...
//
// It exports TROVATO_TEST_DATABASE_URL (the cluster's "trovato" database;
// pgtest creates its template and per-test databases on that server) and
// TROVATO_TEST_REDIS_URL, passes stdin, stdout and stderr through, stops
// both services when the command ends or on SIGINT/SIGTERM, and exits with
// the command's exit code.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/postgres/pgtest"
	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/core/redis/redistest"
)

// reaperEnv makes the binary a reaper (see startReaper).
const reaperEnv = "TROVATO_TESTENV_REAPER"

func main() {
	if dir := os.Getenv(reaperEnv); dir != "" {
		reap(dir)
		return
	}
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./build/testenv -- COMMAND [ARGS...]")
		os.Exit(2)
	}
	os.Exit(run(args))
}

func run(args []string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)

	t0 := time.Now()
	env, stop, err := startServices(log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	defer func() {
		if err := stop(); err != nil {
			fmt.Fprintln(os.Stderr, "testenv: stop services:", err)
		}
	}()
	fmt.Fprintf(os.Stderr, "testenv: PostgreSQL and Redis ready in %s\n", time.Since(t0).Round(time.Millisecond))

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 127
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-signals:
			// The command may be in our process group and have the signal
			// already; forwarding it again is harmless. Give it time to
			// clean up, then kill it.
			_ = cmd.Process.Signal(sig)
			go func() {
				time.Sleep(20 * time.Second)
				_ = cmd.Process.Kill()
			}()
		case err := <-done:
			return exitCode(err)
		}
	}
}

// startServices starts the cluster and redis-server in a fresh temporary
// directory and returns the environment to export and how to stop them.
func startServices(log *slog.Logger) (env []string, stop func() error, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp(pgtest.FastTempDir(), "trovato-testenv-")
	if err != nil {
		return nil, nil, err
	}
	// The postgres system user must traverse it when running as root.
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	reaper, err := startReaper(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	var cluster *postgres.Cluster
	var rds *redis.Server
	stop = func() error {
		defer reaper.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var errs []error
		if rds != nil {
			errs = append(errs, rds.Close(ctx))
		}
		if cluster != nil {
			errs = append(errs, cluster.Close(ctx))
		}
		errs = append(errs, os.RemoveAll(dir))
		return errors.Join(errs...)
	}
	cluster, err = postgres.OpenCluster(ctx, postgres.ClusterConfig{Dir: filepath.Join(dir, "pg"), FsyncOff: true, Logger: log})
	if err != nil {
		return nil, nil, errors.Join(err, stop())
	}
	rds, err = redis.StartServer(ctx, redis.ServerConfig{Dir: filepath.Join(dir, "redis"), Logger: log})
	if err != nil {
		return nil, nil, errors.Join(err, stop())
	}
	env = []string{
		pgtest.EnvDatabaseURL + "=" + cluster.URL(postgres.ClusterDatabase),
		redistest.EnvRedisURL + "=" + rds.URL(),
	}
	return env, stop, nil
}

// startReaper starts a copy of this program that waits until this process
// is gone, however it ends (kill -9 included), then stops the services in
// dir if they still run and removes dir. It has its own process group, so
// Ctrl-C does not reach it.
func startReaper(dir string) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
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

// reap waits until the parent is gone, then cleans up what it left.
func reap(dir string) {
	_, _ = io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The dead parent's leases are stale: Close stops what still runs.
	if _, err := os.Stat(filepath.Join(dir, "redis", "redis.pid")); err == nil {
		if s, err := redis.StartServer(ctx, redis.ServerConfig{Dir: filepath.Join(dir, "redis")}); err == nil {
			_ = s.Close(ctx)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pg", "data", "postmaster.pid")); err == nil {
		if c, err := postgres.OpenCluster(ctx, postgres.ClusterConfig{Dir: filepath.Join(dir, "pg"), FsyncOff: true}); err == nil {
			_ = c.Close(ctx)
		}
	}
	_ = os.RemoveAll(dir)
}

// exitCode returns the command's exit status, 128+signal when a signal
// ended it.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "testenv:", err)
	return 1
}
