package postgres

import (
	"slices"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

func TestItemDelta(t *testing.T) {
	const base = `{"type":"article","title":"A","status":"published","author_id":"01900000-0000-7000-8000-000000000001",
		"created_at":"2026-01-01T00:00:00Z","promote":true,"sticky":false,"language":"und","fields":{"body":"x","tags":[{"id":"1"}]}}`
	doc := func(old, new string) string {
		t.Helper()
		if strings.Count(base, old) != 1 {
			t.Fatalf("%q is not once in the document", old)
		}
		return strings.Replace(base, old, new, 1)
	}
	for name, tc := range map[string]struct {
		op, now, was string
		want         *core.ItemDelta
	}{
		"BodyEdit":   {core.ChangeUpdate, doc(`"body":"x"`, `"body":"y"`), base, &core.ItemDelta{Types: []string{"article"}, Changed: []string{"changed", "body"}}},
		"TitleEdit":  {core.ChangeUpdate, doc(`"title":"A"`, `"title":"B"`), base, &core.ItemDelta{Types: []string{"article"}, Changed: []string{"changed", "title"}}},
		"NoChange":   {core.ChangeUpdate, base, base, &core.ItemDelta{Types: []string{"article"}, Changed: []string{"changed"}}},
		"Sticky":     {core.ChangeUpdate, doc(`"sticky":false`, `"sticky":true`), base, &core.ItemDelta{Types: []string{"article"}, Changed: []string{"changed", "sticky"}}},
		"FieldAdded": {core.ChangeUpdate, doc(`"body":"x"`, `"body":"x","image":null`), base, &core.ItemDelta{Types: []string{"article"}, Changed: []string{"changed", "image"}}},
		"TagRemoved": {core.ChangeUpdate, doc(`,"tags":[{"id":"1"}]`, ``), base, &core.ItemDelta{Types: []string{"article"}, Changed: []string{"changed", "tags"}}},
		"Unpublish": {core.ChangeUpdate, doc(`"status":"published"`, `"status":"unpublished"`), base,
			&core.ItemDelta{Types: []string{"article"}, Members: true, Changed: []string{"status", "changed"}}},
		"Retyped": {core.ChangeUpdate, doc(`"type":"article"`, `"type":"page"`), base,
			&core.ItemDelta{Types: []string{"page", "article"}, Members: true, Changed: []string{"changed"}}},
		"Create":         {core.ChangeCreate, base, "", &core.ItemDelta{Types: []string{"article"}, Members: true}},
		"Delete":         {core.ChangeDelete, base, "", &core.ItemDelta{Types: []string{"article"}, Members: true}},
		"NoPredecessor":  {core.ChangeUpdate, base, "", &core.ItemDelta{Types: []string{"article"}, Members: true}},
		"ErrNotAnItem":   {core.ChangeUpdate, `{"alias":"/x"}`, base, nil},
		"ErrBadDocument": {core.ChangeUpdate, `[`, base, nil},
	} {
		t.Run(name, func(t *testing.T) {
			var now, was []byte
			if tc.now != "" {
				now = []byte(tc.now)
			}
			if tc.was != "" {
				was = []byte(tc.was)
			}
			got := itemDelta(tc.op, now, was)
			if (got == nil) != (tc.want == nil) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if got != nil && (!slices.Equal(got.Types, tc.want.Types) || got.Members != tc.want.Members || !slices.Equal(got.Changed, tc.want.Changed)) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
