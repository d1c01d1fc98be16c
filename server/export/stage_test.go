package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/server/export"
)

// TestExportStage exports an open stage as visitors will see it once it
// is published, then publishes the stage and exports live: every file is
// the same bytes.
func TestExportStage(t *testing.T) {
	k, admin := demoKernel(t)
	st := &core.Stage{Name: "spring", Label: "Spring issue"}
	if err := k.Store.Stages().CreateStage(admin, st); err != nil {
		t.Fatal(err)
	}
	items := k.Store.Items()
	m := func() *export.Manifest {
		dir := t.TempDir()
		mustExport(t, k, dir)
		m, _, err := export.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}()
	id := itemIDOf(t, m, "articles/measuring-page-speed/index.html")
	if _, err := items.UpdateItem(admin, st.ID, id, core.ItemUpdate{Title: ptr("Measuring page speed, in spring"),
		Fields: json.RawMessage(`{"body":"Staged body."}`)}); err != nil {
		t.Fatal(err)
	}
	if err := items.CreateItem(admin, st.ID, &core.Item{Type: "article", Title: "Spring is here", Status: core.StatusPublished, Promote: true,
		Fields: json.RawMessage(`{"body":"A staged article."}`)}, "test"); err != nil {
		t.Fatal(err)
	}

	staged := t.TempDir()
	ex, err := export.New(k, export.Options{Stage: st})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ex.Export(context.Background(), staged)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Full {
		t.Error("a stage export is always full")
	}
	page, err := os.ReadFile(filepath.Join(staged, "articles/measuring-page-speed/index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte("in spring")) || !bytes.Contains(page, []byte("Staged body.")) {
		t.Error("the stage's edit is not in its export")
	}
	if bytes.Contains(page, []byte("Spring issue")) || bytes.Contains(page, []byte("/_preview/exit")) {
		t.Error("the stage's export carries the preview banner")
	}
	if _, err := os.Stat(filepath.Join(staged, "articles/spring-is-here/index.html")); err != nil {
		t.Errorf("the stage's new article: %v", err)
	}
	// Live is untouched by the stage's export.
	if live, err := items.FindItemByID(admin, core.LiveStageID, id); err != nil || strings.Contains(live.Title, "spring") {
		t.Fatalf("live: %v %v", live, err)
	}

	if rep, err := k.Store.Stages().PublishStage(admin, st.ID, core.PublishOptions{}); err != nil || !rep.Applied {
		t.Fatalf("publish: %+v %v", rep, err)
	}
	published := t.TempDir()
	mustExport(t, k, published)
	a, _, _ := export.ReadManifest(staged)
	b, _, _ := export.ReadManifest(published)
	if a.Stage != "spring" || b.Stage != "" {
		t.Errorf("manifest stages %q and %q", a.Stage, b.Stage)
	}
	for rel := range b.Files {
		if a.Files[rel] == nil {
			t.Errorf("%s: exported after the publish, not from the stage", rel)
		}
	}
	for rel, en := range a.Files {
		other := b.Files[rel]
		if other == nil {
			t.Errorf("%s: exported from the stage, not after the publish", rel)
			continue
		}
		if en.SHA256 != other.SHA256 {
			x, _ := os.ReadFile(filepath.Join(staged, rel))
			y, _ := os.ReadFile(filepath.Join(published, rel))
			t.Errorf("%s differs from the export after the publish:\n%s", rel, firstDiff(x, y))
		}
	}

	// A closed stage cannot be exported.
	closed, err := k.Store.Stages().FindStage(admin, st.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := export.New(k, export.Options{Stage: closed}); core.ErrorCode(err) != core.EInvalid {
		t.Errorf("the export of a published stage: %v", err)
	}
}

// firstDiff shows where two files start to differ.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	cut := func(x []byte) string {
		lo, hi := max(0, i-80), min(len(x), i+80)
		return string(x[lo:hi])
	}
	return "stage:     …" + cut(a) + "…\npublished: …" + cut(b) + "…"
}
