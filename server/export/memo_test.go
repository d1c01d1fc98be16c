package export_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/server"
	"github.com/trovato/trovato/server/export"
)

// TestExportMemo: a full export reads each listing whole and serves its
// pages as slices, takes item pages' items from those listings and reads
// comments for many items at once (server.WithExportMemo); every page is
// still the server's answer. Articles sharing one created time (ties in
// the sort), a sticky one, listings many pages deep, published comments
// with a reply and a pending comment whose reply is hidden with it.
func TestExportMemo(t *testing.T) {
	k, admin := demoKernel(t)
	tags := termsOf(t, k, admin, "tags")
	when := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var ids []core.ID
	for i := range 24 {
		fields, _ := json.Marshal(map[string]any{"body": fmt.Sprintf("Body of article %d.", i),
			"tags": []map[string]string{{"id": tags[i%len(tags)].ID.String()}}})
		it := &core.Item{Type: "article", Title: fmt.Sprintf("Memo article %d", i), Status: core.StatusPublished, Promote: true,
			Sticky: i == 7, CreatedAt: when.Add(time.Duration(i/4) * time.Hour), Fields: fields}
		if err := k.Store.Items().CreateItem(admin, core.LiveStageID, it, "test"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, it.ID)
	}
	comment := func(item core.ID, parent *core.ID, body string) core.ID {
		c := &postgres.Comment{ItemID: item, ParentID: parent, Body: body}
		if err := k.Store.CreateComment(admin, c); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	first := comment(ids[3], nil, "First")
	comment(ids[3], &first, "A reply")
	comment(ids[5], nil, "Another")
	pending := comment(ids[5], nil, "Held back")
	comment(ids[5], &pending, "Hidden with its parent")
	if _, err := k.Store.SetCommentStatus(admin, pending, postgres.CommentPending); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	rep := mustExport(t, k, dir)
	if !rep.Full {
		t.Fatalf("export: %+v", rep)
	}
	srv, err := server.New(k, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := export.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"articles/page/7/index.html", "latest/page/4/index.html"} {
		if m.Files[want] == nil {
			t.Errorf("%s not exported", want)
		}
	}
	pages := 0
	for _, rel := range m.Paths() {
		en := m.Files[rel]
		if en.Kind != export.KindPage {
			continue
		}
		pages++
		file, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		res := get(t, srv, en.URL)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: the server answers %d", en.URL, res.StatusCode)
		}
		if b := body(t, res); !bytes.Equal(b, file) {
			t.Errorf("%s: %s differs from the server's %d bytes", en.URL, rel, len(b))
		}
	}
	if pages < 60 {
		t.Errorf("%d pages exported", pages)
	}
	// The comments reached the pages: a thread, and a teaser's count.
	var withThread, withCount bool
	for _, rel := range m.Paths() {
		b, _ := os.ReadFile(filepath.Join(dir, rel))
		withThread = withThread || bytes.Contains(b, []byte("A reply"))
		withCount = withCount || bytes.Contains(b, []byte("2 comments"))
		if bytes.Contains(b, []byte("Hidden with its parent")) || bytes.Contains(b, []byte("Held back")) {
			t.Errorf("%s shows a comment that is not published", rel)
		}
	}
	if !withThread || !withCount {
		t.Errorf("comment thread exported: %v, comment count: %v", withThread, withCount)
	}
}
