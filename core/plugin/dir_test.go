package plugin

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
)

func writePlugin(tb testing.TB, root, name string, deps []string, wasm []byte) string {
	tb.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	toml := "name = \"" + name + "\"\nversion = \"1.0.0\"\napi_version = 1\n"
	if len(deps) > 0 {
		toml += "dependencies = [\"" + strings.Join(deps, "\", \"") + "\"]\n"
	}
	toml += "[[taps]]\nname = \"item_view\"\n"
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(toml), 0o644); err != nil {
		tb.Fatal(err)
	}
	if wasm != nil {
		if err := os.WriteFile(filepath.Join(dir, name+".wasm"), wasm, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func TestReadPluginsDir(t *testing.T) {
	wasm := MustWAT(t, "minimal")
	root := t.TempDir()
	writePlugin(t, root, "site", []string{"blog"}, wasm)
	writePlugin(t, root, "blog", nil, wasm)
	os.MkdirAll(filepath.Join(root, "not_a_plugin"), 0o755)
	bundles, err := ReadPluginsDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(bundles) != 2 || bundles[0].Manifest.Name != "blog" || bundles[1].Manifest.Name != "site" || len(bundles[0].Wasm) == 0 {
		t.Fatalf("bundles = %+v", bundles)
	}
	h, _ := MustHost(t, HostConfig{})
	for _, b := range bundles {
		MustLoad(t, h, b.Manifest, b.Wasm, Limits{})
	}
	if res := h.Invoke(context.Background(), "item_view", []byte(`1`)); len(res) != 2 {
		t.Fatalf("results = %+v", res)
	}

	missing := t.TempDir()
	writePlugin(t, missing, "nowasm", nil, nil)
	if _, err := ReadPluginsDir(missing); core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), "nowasm.wasm not found") {
		t.Fatalf("err = %v", err)
	}
}

func TestWatch(t *testing.T) {
	root := t.TempDir()
	writePlugin(t, root, "blog", nil, []byte("v1"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan []string, 4)
	errc := make(chan error, 1)
	go func() {
		errc <- Watch(ctx, root, 50*time.Millisecond, slog.New(slog.DiscardHandler), func(dirs []string) { got <- dirs })
	}()
	time.Sleep(100 * time.Millisecond) // let the watcher start
	// Several writes to two plugins become one debounced notification.
	os.WriteFile(filepath.Join(root, "blog", "blog.wasm"), []byte("v2"), 0o644)
	os.WriteFile(filepath.Join(root, "blog", ManifestFile), []byte("x"), 0o644)
	writePlugin(t, root, "tags", nil, []byte("v1"))
	select {
	case dirs := <-got:
		if !reflect.DeepEqual(dirs, []string{"blog", "tags"}) && !reflect.DeepEqual(dirs, []string{"blog"}) {
			t.Fatalf("changed %v", dirs)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported")
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
