package core_test

import (
	"context"
	"slices"
	"testing"

	"github.com/trovato/trovato/core"
)

type fixedDeltas []*core.ItemDelta

func (f fixedDeltas) ItemDeltas(context.Context, []core.Change) ([]*core.ItemDelta, error) {
	return f, nil
}

// TestTeaserTag: an item change bumps its teaser tag only when it changed
// what a teaser shows (title, created, status, language, type) or when
// what it changed is unknown; a field edit bumps item:ID alone.
func TestTeaserTag(t *testing.T) {
	id := "01900000-0000-7000-8000-0000000000aa"
	teaser := core.TeaserTag(id)
	for _, tc := range []struct {
		name  string
		delta *core.ItemDelta
		want  bool
	}{
		{"BodyEdit", &core.ItemDelta{Types: []string{"article"}, Changed: []string{"changed", "body"}}, false},
		{"StickyAndAuthor", &core.ItemDelta{Types: []string{"article"}, Changed: []string{"author", "changed", "sticky"}}, false},
		{"Title", &core.ItemDelta{Types: []string{"article"}, Changed: []string{"changed", "title"}}, true},
		{"Created", &core.ItemDelta{Types: []string{"article"}, Changed: []string{"changed", "created"}}, true},
		{"Published", &core.ItemDelta{Types: []string{"article"}, Members: true, Changed: []string{"status", "changed"}}, true},
		{"Retyped", &core.ItemDelta{Types: []string{"page", "article"}, Members: true}, true},
		{"Unknown", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := core.Change{Kind: core.KindItem, EntityID: id, Op: core.ChangeUpdate}
			tags, err := core.TagsForChanges(context.Background(), []core.Change{c}, fixedDeltas{tc.delta})
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(tags, teaser); got != tc.want {
				t.Fatalf("tags %v: teaser tag bumped = %v, want %v", tags, got, tc.want)
			}
			if !slices.Contains(tags, core.EntityTag(core.KindItem, id)) {
				t.Fatalf("tags %v: item:ID not bumped", tags)
			}
		})
	}
	// Without deltas every item change bumps the teaser.
	if tags := core.TagsForChange(core.Change{Kind: core.KindItem, EntityID: id}); !slices.Contains(tags, teaser) {
		t.Fatalf("TagsForChange %v: no teaser tag", tags)
	}
}
