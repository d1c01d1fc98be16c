package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/server/export"
)

// tree maps every file under dir (but the deploy's own manifests) to its
// bytes.
func tree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == export.DeployManifestFile {
			return nil
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, a, b map[string][]byte, what string) {
	t.Helper()
	for p, x := range a {
		if y, ok := b[p]; !ok || !bytes.Equal(x, y) {
			t.Errorf("%s: %s differs", what, p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			t.Errorf("%s: %s only on one side", what, p)
		}
	}
}

// failingTarget fails the upload after a number of files.
type failingTarget struct {
	export.Target
	left int
}

var errInterrupted = errors.New("connection lost")

func (f *failingTarget) Upload(ctx context.Context, dir string, rels []string) error {
	if len(rels) > f.left {
		if err := f.Target.Upload(ctx, dir, rels[:f.left]); err != nil {
			return err
		}
		f.left = 0
		return errInterrupted
	}
	f.left -= len(rels)
	return f.Target.Upload(ctx, dir, rels)
}

// TestDeploy deploys the demo export to local folders: a first deploy,
// then a second one after an edit that is interrupted and resumed, which
// ends identical to an uninterrupted deploy; and the same through rsync.
func TestDeploy(t *testing.T) {
	k, admin := demoKernel(t)
	ctx := context.Background()
	src, dst, ref := t.TempDir(), t.TempDir(), t.TempDir()
	mustExport(t, k, src)

	rep, err := export.Deploy(ctx, src, &export.LocalTarget{Dir: dst}, export.DeployOptions{DryRun: true})
	if err != nil || len(rep.Uploaded) < 50 || len(tree(t, dst)) != 0 {
		t.Fatalf("dry run: %v, %d files would go up, %d in the target", err, len(rep.Uploaded), len(tree(t, dst)))
	}
	if _, err := export.Deploy(ctx, src, &export.LocalTarget{Dir: dst}, export.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	exported := tree(t, src)
	delete(exported, export.ManifestFile)
	delete(exported, export.ManifestLogFile)
	delete(exported, export.ManifestIndexFile)
	sameTree(t, exported, tree(t, dst), "first deploy")
	firstManifest, _ := os.ReadFile(filepath.Join(dst, export.DeployManifestFile))

	// Change the site: a new page title everywhere (menus, listings) and
	// a deleted item.
	items, _, err := k.Store.Items().FindItems(admin, core.ItemFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var articles []*core.Item
	for _, it := range items {
		if it.Type == "article" && it.Status == core.StatusPublished {
			articles = append(articles, it)
		}
	}
	if len(articles) < 2 {
		t.Fatalf("%d published articles", len(articles))
	}
	if err := k.Store.Items().DeleteItem(admin, core.LiveStageID, articles[0].ID); err != nil {
		t.Fatal(err)
	}
	title := "Renamed for the deploy test"
	if _, err := k.Store.Items().UpdateItem(admin, core.LiveStageID, articles[1].ID, core.ItemUpdate{Title: &title, Log: "deploy test"}); err != nil {
		t.Fatal(err)
	}
	rep2 := mustExport(t, k, src)
	if len(rep2.Changed) == 0 || len(rep2.Removed) == 0 {
		t.Fatalf("second export changed %d and removed %d files", len(rep2.Changed), len(rep2.Removed))
	}

	// Interrupted after 3 files: the target keeps its previous manifest.
	ft := &failingTarget{Target: &export.LocalTarget{Dir: dst}, left: 3}
	if _, err := export.Deploy(ctx, src, ft, export.DeployOptions{Batch: 2}); !errors.Is(err, errInterrupted) {
		t.Fatalf("interrupted deploy: %v", err)
	}
	if now, _ := os.ReadFile(filepath.Join(dst, export.DeployManifestFile)); !bytes.Equal(now, firstManifest) {
		t.Fatal("a failed deploy changed the target's manifest")
	}
	resumed, err := export.Deploy(ctx, src, &export.LocalTarget{Dir: dst}, export.DeployOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Resumed != 2 || len(resumed.Removed) == 0 {
		t.Errorf("resumed deploy: %d files not uploaded again (want the 2 of the recorded batch), %d removed", resumed.Resumed, len(resumed.Removed))
	}
	if _, err := export.Deploy(ctx, src, &export.LocalTarget{Dir: ref}, export.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	exported = tree(t, src)
	delete(exported, export.ManifestFile)
	delete(exported, export.ManifestLogFile)
	delete(exported, export.ManifestIndexFile)
	sameTree(t, tree(t, ref), tree(t, dst), "resumed against uninterrupted")
	sameTree(t, exported, tree(t, dst), "resumed against the export")
	var m export.Manifest
	raw, _ := os.ReadFile(filepath.Join(dst, export.DeployManifestFile))
	if err := json.Unmarshal(raw, &m); err != nil || len(m.Files) != len(exported) {
		t.Errorf("target manifest: %v, %d files for %d", err, len(m.Files), len(exported))
	}
	again, err := export.Deploy(ctx, src, &export.LocalTarget{Dir: dst}, export.DeployOptions{})
	if err != nil || len(again.Uploaded)+len(again.Removed) != 0 {
		t.Errorf("deploy without changes: %v, %+v", err, again)
	}

	t.Run("Rsync", func(t *testing.T) {
		if _, err := exec.LookPath("rsync"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("rsync missing: run build/deps.sh test")
			}
			t.Skip("rsync not installed")
		}
		out := t.TempDir()
		rt := &export.RsyncTarget{Dest: out}
		if _, err := export.Deploy(ctx, src, &failingTarget{Target: rt, left: 5}, export.DeployOptions{Batch: 4}); !errors.Is(err, errInterrupted) {
			t.Fatalf("interrupted: %v", err)
		}
		r, err := export.Deploy(ctx, src, rt, export.DeployOptions{})
		if err != nil || r.Resumed != 4 {
			t.Fatalf("resumed: %v, %+v", err, r)
		}
		sameTree(t, tree(t, ref), tree(t, out), "rsync against local")
		if _, err := export.Deploy(ctx, src, &export.RsyncTarget{Dest: "/nonexistent/deeper/" + "x"}, export.DeployOptions{}); err == nil {
			t.Error("rsync to a folder that cannot be made: no error")
		}
	})
}
