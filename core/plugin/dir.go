package plugin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/trovato/trovato/core"
)

// Bundle is a plugin as found on disk or in the blob store: its manifest
// and module.
type Bundle struct {
	Manifest Manifest
	Wasm     []byte
}

// ReadDir reads a plugin directory: plugin.toml and <name>.wasm beside it.
// EInvalid for a bad manifest or a missing module.
func ReadDir(dir string) (Bundle, error) {
	m, err := LoadManifest(dir)
	if err != nil {
		return Bundle{}, err
	}
	path := filepath.Join(dir, m.Name+".wasm")
	wasm, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Bundle{}, core.Errorf(core.EInvalid, "%s: module %s.wasm not found beside plugin.toml", dir, m.Name)
	}
	if err != nil {
		return Bundle{}, fmt.Errorf("read plugin module: %w", err)
	}
	return Bundle{Manifest: m, Wasm: wasm}, nil
}

// ReadPluginsDir reads every plugin directory directly under root
// (directories without a plugin.toml are skipped) and returns them in
// dependency order. Errors name the directory.
func ReadPluginsDir(root string) ([]Bundle, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("read plugins folder: %w", err)
	}
	byName := map[string]Bundle{}
	var manifests []Manifest
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err != nil {
			continue
		}
		b, err := ReadDir(dir)
		if err != nil {
			return nil, err
		}
		if _, dup := byName[b.Manifest.Name]; dup {
			return nil, core.Errorf(core.EInvalid, "%s: plugin %s is also in another directory", dir, b.Manifest.Name)
		}
		byName[b.Manifest.Name] = b
		manifests = append(manifests, b.Manifest)
	}
	ordered, err := ResolveOrder(manifests)
	if err != nil {
		return nil, err
	}
	out := make([]Bundle, len(ordered))
	for i, m := range ordered {
		out[i] = byName[m.Name]
	}
	return out, nil
}

// Watch watches a plugins folder (the development installer) and calls
// changed with the sorted names of the plugin directories under root whose
// files changed, once the folder has been quiet for debounce. It returns
// when ctx is done. The callback decides what to do, typically ReadDir and
// Host.Load, which keeps the old version running if the new one is
// invalid.
func Watch(ctx context.Context, root string, debounce time.Duration, logger *slog.Logger, changed func(dirs []string)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch plugins folder: %w", err)
	}
	defer w.Close()
	if err := w.Add(root); err != nil {
		return fmt.Errorf("watch plugins folder %s: %w", root, err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("watch plugins folder: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := w.Add(filepath.Join(root, e.Name())); err != nil {
				return fmt.Errorf("watch plugin folder %s: %w", e.Name(), err)
			}
		}
	}

	var mu sync.Mutex
	pending := map[string]bool{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			logger.Warn("plugins folder watch error", "err", err)
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			rel, err := filepath.Rel(root, ev.Name)
			if err != nil || rel == "." {
				continue
			}
			dir := rel
			if i := indexSep(rel); i >= 0 {
				dir = rel[:i]
			} else if ev.Has(fsnotify.Create) {
				// A new plugin directory: watch it too.
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					w.Add(ev.Name)
				}
			}
			mu.Lock()
			pending[dir] = true
			mu.Unlock()
			timer.Reset(debounce)
		case <-timer.C:
			mu.Lock()
			dirs := make([]string, 0, len(pending))
			for d := range pending {
				dirs = append(dirs, d)
			}
			pending = map[string]bool{}
			mu.Unlock()
			sort.Strings(dirs)
			if len(dirs) > 0 {
				changed(dirs)
			}
		}
	}
}

func indexSep(p string) int {
	for i := 0; i < len(p); i++ {
		if os.IsPathSeparator(p[i]) {
			return i
		}
	}
	return -1
}
