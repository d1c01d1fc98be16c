package postgres_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

func TestTypeMigration(t *testing.T) {
	t.Parallel()
	s, ctx := MustSite(t)
	high := mustItem(t, ctx, s, core.LiveStageID, "High", `{"rating":4,"body":"text"}`)
	low := mustItem(t, ctx, s, core.LiveStageID, "Low", `{"rating":2,"body":"text"}`)
	st := mustStage(t, ctx, s, "edits")
	title := "Low, edited in a stage"
	if _, err := s.Items().UpdateItem(ctx, st.ID, low.ID, core.ItemUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}

	// Adding a field is instant.
	added := strings.Replace(articleType, `"fields":[`, `"fields":[{"name":"subtitle","type":"text"},`, 1)
	rep, err := s.ApplyType(ctx, json.RawMessage(added), false)
	if err != nil || !rep.Applied || !rep.Instant || len(rep.Converted) != 0 {
		t.Fatalf("add field = %+v, %v", rep, err)
	}

	// Tightening rating to at most 3 fails for High: nothing is written.
	tight := strings.Replace(added, `"max":5`, `"max":3`, 1)
	rep, err = s.ApplyType(ctx, json.RawMessage(tight), false)
	if err != nil || rep.Applied || len(rep.Failed) != 1 || rep.Failed[0].ItemID != high.ID {
		t.Fatalf("tighten = %+v, %v; want High reported", rep, err)
	}
	if d, _ := s.Config().FindConfig(ctx, "item_type", "article"); d.Version != 2 {
		t.Fatalf("type version %d after a refused migration, want 2", d.Version)
	}

	// Removing the body field converts every item in live and the stage.
	var doc map[string]any
	_ = json.Unmarshal([]byte(added), &doc)
	var kept []any
	for _, f := range doc["fields"].([]any) {
		if f.(map[string]any)["name"] != "body" {
			kept = append(kept, f)
		}
	}
	doc["fields"] = kept
	removed, _ := json.Marshal(doc)
	rep, err = s.ApplyType(ctx, removed, true)
	if err != nil || rep.Applied || len(rep.Converted) != 3 {
		t.Fatalf("dry run remove = %+v, %v; want 3 conversions (2 live, 1 staged)", rep, err)
	}
	rep, err = s.ApplyType(ctx, removed, false)
	if err != nil || !rep.Applied || len(rep.Converted) != 3 {
		t.Fatalf("remove = %+v, %v", rep, err)
	}
	it, err := s.Items().FindItemByID(ctx, core.LiveStageID, high.ID)
	if err != nil || strings.Contains(string(it.Fields), "body") || it.TypeVersion != 3 {
		t.Fatalf("high after migration = %s v%d, %v", it.Fields, it.TypeVersion, err)
	}
	staged, _ := s.Items().FindItemByID(ctx, st.ID, low.ID)
	if strings.Contains(string(staged.Fields), "body") || staged.Title != title {
		t.Fatalf("staged low after migration = %+v", staged)
	}
	// The migration alone causes no conflict.
	pub, err := s.Stages().PublishStage(ctx, st.ID, core.PublishOptions{})
	if err != nil || !pub.Applied {
		t.Fatalf("publish after migration = %+v, %v", pub, err)
	}
}
