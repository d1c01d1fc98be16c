package export_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/server/export"
)

// TestExportStageIncremental: the export of a stage is incremental too.
// After an edit in the stage, and after an edit of live beneath it, the
// next export of the stage renders only the pages depending on the
// change (at most 15 URLs), and its folder equals a
// full export of the stage made then.
func TestExportStageIncremental(t *testing.T) {
	k, admin := demoKernel(t)
	st := &core.Stage{Name: "autumn"}
	if err := k.Store.Stages().CreateStage(admin, st); err != nil {
		t.Fatal(err)
	}
	exportStage := func(dir string, full bool) *export.Report {
		t.Helper()
		return mustExportWith(t, k, export.Options{Stage: st, Full: full}, dir)
	}
	dir := t.TempDir()
	if rep := exportStage(dir, false); !rep.Full {
		t.Fatal("the first export of a stage is not full")
	}
	m, _, err := export.ReadManifest(dir)
	if err != nil || m.Stage != "autumn" {
		t.Fatalf("manifest stage %q: %v", m.Stage, err)
	}
	speed := itemIDOf(t, m, "articles/measuring-page-speed/index.html")
	alt := itemIDOf(t, m, "articles/alt-text-that-helps/index.html")
	// sameAsFull compares the folder with a full export of the stage.
	sameAsFull := func() {
		t.Helper()
		fresh := t.TempDir()
		exportStage(fresh, true)
		a, _, _ := export.ReadManifest(dir)
		b, _, _ := export.ReadManifest(fresh)
		if !slices.Equal(a.Paths(), b.Paths()) {
			t.Errorf("files %d, a full export's %d", len(a.Files), len(b.Files))
		}
		for rel, en := range b.Files {
			x, _ := os.ReadFile(filepath.Join(dir, rel))
			y, _ := os.ReadFile(filepath.Join(fresh, rel))
			if a.Files[rel] == nil || a.Files[rel].SHA256 != en.SHA256 || !bytes.Equal(x, y) {
				t.Errorf("%s differs from a full export of the stage", rel)
			}
		}
	}
	edit := func(stage, id core.ID, body string) {
		t.Helper()
		if _, err := k.Store.Items().UpdateItem(admin, stage, id, core.ItemUpdate{Fields: json.RawMessage(`{"body":"` + body + `"}`)}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("EditInStage", func(t *testing.T) {
		edit(st.ID, speed, "Autumn body.")
		rep := exportStage(dir, false)
		if rep.Full || rep.Rendered > 15 {
			t.Errorf("full %v, rendered %v", rep.Full, rep.RenderedURLs)
		}
		if !slices.Contains(rep.Changed, "articles/measuring-page-speed/index.html") {
			t.Errorf("changed %v", rep.Changed)
		}
		sameAsFull()
	})
	t.Run("EditOfLiveBeneath", func(t *testing.T) {
		edit(core.LiveStageID, alt, "A live edit the stage shows.")
		rep := exportStage(dir, false)
		if rep.Full || rep.Rendered > 15 || !slices.Contains(rep.RenderedURLs, "/articles/alt-text-that-helps") {
			t.Errorf("full %v, rendered %v", rep.Full, rep.RenderedURLs)
		}
		if !slices.Contains(rep.Changed, "articles/alt-text-that-helps/index.html") {
			t.Errorf("changed %v", rep.Changed)
		}
		sameAsFull()
	})
	t.Run("EditOfAnotherStage", func(t *testing.T) {
		other := &core.Stage{Name: "winter"}
		if err := k.Store.Stages().CreateStage(admin, other); err != nil {
			t.Fatal(err)
		}
		edit(other.ID, alt, "Winter body.")
		rep := exportStage(dir, false)
		if rep.Full || rep.Rendered != 0 || len(rep.Changed)+len(rep.Added)+len(rep.Removed) != 0 {
			t.Errorf("full %v, rendered %v, changed %v", rep.Full, rep.RenderedURLs, rep.Changed)
		}
	})
	t.Run("LiveAfterStage", func(t *testing.T) {
		// The folder holds the stage's export: live's is full.
		if rep := mustExport(t, k, dir); !rep.Full {
			t.Error("live's export into a stage's folder is not full")
		}
	})
}
