package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/trovato/trovato/core"
)

// recordingHooks stands in for the plugin host: it changes titles on
// presave, refuses "forbidden" titles, and records what happened.
type recordingHooks struct {
	mu     sync.Mutex
	events []string
}

func (h *recordingHooks) PresaveItem(ctx context.Context, stage core.ID, it *core.Item, isNew bool) error {
	if strings.Contains(it.Title, "forbidden") {
		return core.InvalidFields("refused by a plugin", []core.FieldError{{Path: "title", Message: "not allowed"}})
	}
	it.Title = strings.TrimSpace(it.Title) + " (checked)"
	return nil
}

func (h *recordingHooks) ItemSaved(ctx context.Context, stage core.ID, it *core.Item, isNew bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	op := "update"
	if isNew {
		op = "insert"
	}
	h.events = append(h.events, op+":"+it.Title)
}

func (h *recordingHooks) ItemDeleted(ctx context.Context, stage core.ID, it *core.Item) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, "delete:"+it.Title)
}

func TestItemHooks(t *testing.T) {
	t.Parallel()
	s, ctx := MustSite(t)
	h := &recordingHooks{}
	s.SetItemHooks(h)
	it := mustItem(t, ctx, s, core.LiveStageID, "Hello", `{}`)
	if it.Title != "Hello (checked)" {
		t.Fatalf("presave did not change the title: %q", it.Title)
	}
	bad := &core.Item{Type: "article", Title: "forbidden words"}
	wantCode(t, s.Items().CreateItem(ctx, core.LiveStageID, bad, ""), core.EInvalid)
	title := "Again"
	if _, err := s.Items().UpdateItem(ctx, core.LiveStageID, it.ID, core.ItemUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	if err := s.Items().DeleteItem(ctx, core.LiveStageID, it.ID); err != nil {
		t.Fatal(err)
	}
	want := "insert:Hello (checked),update:Again (checked),delete:Again (checked)"
	if got := strings.Join(h.events, ","); got != want {
		t.Fatalf("events = %s, want %s", got, want)
	}
}
