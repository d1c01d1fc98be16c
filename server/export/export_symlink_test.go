package export_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trovato/trovato/server/export"
)

// An export folder whose subfolder is a symlink (planted by whoever may
// write there) never makes an export write or remove files outside it:
// neither a page written again under the symlink nor a file the (edited)
// manifest lists and the site no longer has.
func TestExportSymlinkedFolder(t *testing.T) {
	k, _ := demoKernel(t)
	dir, outside := t.TempDir(), t.TempDir()
	mustExport(t, k, dir)
	ex, err := export.New(k, export.Options{})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("ErrRemove", func(t *testing.T) {
		victim := filepath.Join(outside, "victim.html")
		if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(dir, "planted")); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filepath.Join(dir, "planted"))
		mf := filepath.Join(dir, export.ManifestFile)
		raw, err := os.ReadFile(mf)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		m["files"].(map[string]any)["planted/victim.html"] = map[string]any{"url": "/planted/victim", "kind": "page", "sha256": strings.Repeat("0", 64), "size": 4}
		raw, _ = json.Marshal(m)
		if err := os.WriteFile(mf, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		// Full: an incremental export with no change returns before it
		// removes anything; a full one removes what the manifest lists
		// and the site does not have.
		full, err := export.New(k, export.Options{Full: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := full.Export(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "symlink") {
			t.Errorf("export through a symlinked folder: err = %v, want a refusal naming the symlink", err)
		}
		if _, err := os.Stat(victim); err != nil {
			t.Fatalf("a file outside the export folder was removed: %v", err)
		}
	})

	t.Run("ErrWrite", func(t *testing.T) {
		// Swap a page's folder for a symlink to an empty folder outside
		// and export everything again (no manifest): the page is written,
		// which must not happen there.
		if err := os.Remove(filepath.Join(dir, export.ManifestFile)); err != nil {
			t.Fatal(err)
		}
		var sub string
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				if _, err := os.Stat(filepath.Join(dir, e.Name(), "index.html")); err == nil {
					sub = e.Name()
					break
				}
			}
		}
		if sub == "" {
			t.Fatal("the export has no page in a subfolder")
		}
		empty := filepath.Join(outside, "empty")
		if err := os.Mkdir(empty, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(empty, filepath.Join(dir, sub)); err != nil {
			t.Fatal(err)
		}
		if _, err := ex.Export(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "symlink") {
			t.Errorf("export through a symlinked folder: err = %v, want a refusal naming the symlink", err)
		}
		if got, _ := os.ReadDir(empty); len(got) > 0 {
			t.Errorf("the export wrote %d entries outside its folder (%s)", len(got), got[0].Name())
		}
	})
}
