package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
)

// TestAliasDeltaTags: an alias change bumps the alias tags of its paths,
// before and after (core.AliasTag), read from the revisions — a created
// item's generated alias, a retitle moving it, a stage's edit (for the
// stage's export only) and its publish, an alias deleted by hand — and
// alias:* only when the deltas are unknown.
func TestAliasDeltaTags(t *testing.T) {
	t.Parallel()
	s, ctx := MustSite(t)
	mustPut(t, ctx, s, "alias_pattern", "article", `{"kind":"alias_pattern","name":"article","item_type":"article","pattern":"articles/[title]"}`)
	feed := s.Feed()
	cur, err := feed.FeedHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// since returns the changes after the last call.
	since := func() []core.Change {
		t.Helper()
		if err := feed.WaitSettled(ctx, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		var out []core.Change
		for {
			rows, next, err := feed.ReadChanges(ctx, cur, 1000)
			if err != nil {
				t.Fatal(err)
			}
			cur = next
			if len(rows) == 0 {
				return out
			}
			out = append(out, rows...)
		}
	}
	check := func(what string, tags []string, want, not []string) {
		t.Helper()
		for _, w := range want {
			if !slices.Contains(tags, w) {
				t.Errorf("%s: %s not bumped (%v)", what, w, tags)
			}
		}
		for _, n := range not {
			if slices.Contains(tags, n) {
				t.Errorf("%s: %s bumped", what, n)
			}
		}
	}
	live := func(changes []core.Change) []string {
		t.Helper()
		tags, err := core.TagsForChanges(context.Background(), changes, s)
		if err != nil {
			t.Fatal(err)
		}
		return tags
	}
	all := core.ListTag(core.KindAlias)

	a := mustItem(t, ctx, s, core.LiveStageID, "Hello World", `{}`)
	item := "/item/" + a.ID.String()
	created := since()
	check("create", live(created), []string{core.AliasTag("/articles/hello-world"), core.AliasTag(item), core.AliasesTag}, []string{all})
	check("create, no deltas", mustTags(t, created, nil), []string{all}, nil)

	title := "Goodbye World"
	if _, err := s.Items().UpdateItem(ctx, core.LiveStageID, a.ID, core.ItemUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	check("retitle", live(since()), []string{core.AliasTag("/articles/hello-world"), core.AliasTag("/articles/goodbye-world"), core.AliasTag(item)}, []string{all})

	st := mustStage(t, ctx, s, "aliases")
	staged := "Staged Title"
	if _, err := s.Items().UpdateItem(ctx, st.ID, a.ID, core.ItemUpdate{Title: &staged}); err != nil {
		t.Fatal(err)
	}
	inStage := since()
	check("a stage's retitle, live", live(inStage), nil, []string{core.AliasTag("/articles/staged-title"), all})
	stageTags, err := core.TagsForStageChanges(context.Background(), inStage, st.ID, s)
	if err != nil {
		t.Fatal(err)
	}
	check("a stage's retitle, the stage", stageTags, []string{core.AliasTag("/articles/staged-title"), core.AliasTag("/articles/goodbye-world"),
		core.EntityTag(core.KindItem, a.ID.String())}, []string{all})
	other, err := core.TagsForStageChanges(context.Background(), inStage, core.NewID(), s)
	if err != nil || len(other) != 0 {
		t.Errorf("another stage's export: %v %v", other, err)
	}

	if rep, err := s.Stages().PublishStage(ctx, st.ID, core.PublishOptions{}); err != nil || !rep.Applied {
		t.Fatalf("publish = %+v, %v", rep, err)
	}
	check("publish", live(since()), []string{core.AliasTag("/articles/staged-title"), core.AliasTag("/articles/goodbye-world")}, []string{all})

	docs, err := s.Staged().FindStagedDocs(ctx, core.KindAlias, core.LiveStageID)
	if err != nil || len(docs) != 1 {
		t.Fatalf("aliases %v %v", docs, err)
	}
	if err := s.Staged().DeleteStaged(ctx, core.KindAlias, core.LiveStageID, docs[0].ID); err != nil {
		t.Fatal(err)
	}
	check("delete", live(since()), []string{core.AliasTag("/articles/staged-title"), core.AliasTag(item), core.AliasesTag}, []string{all})

	// An alias document the deltas cannot read is unknown: alias:*.
	ds, err := s.AliasDeltas(ctx, []core.Change{{Kind: core.KindAlias, EntityID: core.NewID().String(), RevisionID: ptrID(core.NewID())}})
	if err != nil || len(ds) != 1 || ds[0] != nil {
		t.Errorf("unknown revision: %v %v", ds, err)
	}
}

func mustTags(t *testing.T, changes []core.Change, deltas core.ItemDeltas) []string {
	t.Helper()
	tags, err := core.TagsForChanges(context.Background(), changes, deltas)
	if err != nil {
		t.Fatal(err)
	}
	return tags
}

func ptrID(id core.ID) *core.ID { return &id }
