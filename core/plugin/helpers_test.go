package plugin

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// testpluginsDir is plugins/testplugins relative to this package.
var testpluginsDir = filepath.Join("..", "..", "plugins", "testplugins")

var watCache struct {
	mu  sync.Mutex
	dir string
	bin map[string][]byte
}

// MustWAT compiles plugins/testplugins/<name>.wat with wat2wasm, once per
// test binary, and skips the test if wat2wasm is not installed.
func MustWAT(tb testing.TB, name string) []byte {
	tb.Helper()
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		tb.Skip("wat2wasm not found: install Debian's wabt (make test does) to run the WAT guest tests")
	}
	watCache.mu.Lock()
	defer watCache.mu.Unlock()
	if b, ok := watCache.bin[name]; ok {
		return b
	}
	if watCache.bin == nil {
		dir, err := os.MkdirTemp("", "trovato-wat-")
		if err != nil {
			tb.Fatal(err)
		}
		watCache.dir = dir
		watCache.bin = map[string][]byte{}
	}
	out := filepath.Join(watCache.dir, name+".wasm")
	cmd := exec.Command("wat2wasm", "--enable-all", filepath.Join(testpluginsDir, name+".wat"), "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("wat2wasm %s: %v\n%s", name, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	watCache.bin[name] = b
	return b
}

var compileCache struct {
	mu  sync.Mutex
	dir string
}

// sharedCacheDir is one wazero compilation cache directory for the whole
// test binary, so each guest is compiled once.
func sharedCacheDir(tb testing.TB) string {
	compileCache.mu.Lock()
	defer compileCache.mu.Unlock()
	if compileCache.dir == "" {
		dir, err := os.MkdirTemp("", "trovato-wazero-")
		if err != nil {
			tb.Fatal(err)
		}
		compileCache.dir = dir
	}
	return compileCache.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if watCache.dir != "" {
		os.RemoveAll(watCache.dir)
	}
	if compileCache.dir != "" {
		os.RemoveAll(compileCache.dir)
	}
	os.Exit(code)
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// MustHost returns a Host that is closed when the test ends, and its log.
func MustHost(tb testing.TB, cfg HostConfig) (*Host, *logBuffer) {
	tb.Helper()
	logs := &logBuffer{}
	if cfg.Limits.Deadline == 0 {
		// Generous: CI machines are busy. Tests of the deadline set their own.
		cfg.Limits.Deadline = 5 * time.Second
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = sharedCacheDir(tb)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h, err := NewHost(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close(context.Background()) })
	return h, logs
}

// testManifest is a valid manifest declaring taps (weight 0) and
// capabilities.
func testManifest(name string, taps []string, caps ...Capability) Manifest {
	m := Manifest{Name: name, Version: "1.0.0", APIVersion: APIVersion, Capabilities: caps}
	for _, t := range taps {
		m.Taps = append(m.Taps, TapDecl{Name: t})
	}
	return m
}

// MustLoad loads and enables a plugin with all its requested capabilities.
func MustLoad(tb testing.TB, h *Host, m Manifest, wasm []byte, lim Limits) {
	tb.Helper()
	if err := h.Load(context.Background(), m, wasm, lim); err != nil {
		tb.Fatalf("load %s: %v", m.Name, err)
	}
	if err := h.Enable(m.Name, m.Capabilities); err != nil {
		tb.Fatalf("enable %s: %v", m.Name, err)
	}
}

func moduleRoot(tb testing.TB) string {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
