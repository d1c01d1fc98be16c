package plugin

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestPrecompile: Precompile fills the compilation cache directory with
// the modules it is given; bytes that are not a module are refused and
// the cache keeps only what compiled.
func TestPrecompile(t *testing.T) {
	t.Parallel()
	files := func(dir string) int {
		n := 0
		_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return nil
		})
		return n
	}
	t.Run("OK", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "wasm")
		if err := Precompile(context.Background(), dir, MustWAT(t, "minimal")); err != nil {
			t.Fatal(err)
		}
		if files(dir) == 0 {
			t.Error("the cache directory is empty after Precompile")
		}
	})
	t.Run("ErrNotWasm", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "wasm")
		if err := Precompile(context.Background(), dir, []byte("not a module")); err == nil {
			t.Fatal("a non-module was precompiled")
		}
		if n := files(dir); n != 0 {
			t.Errorf("%d files cached for a non-module", n)
		}
	})
}
