package core

import (
	"context"
	"time"
)

// TagCache is the render and page cache: every entry is stored with the
// version of each tag it was built from (items, gathers, menus, config,
// plugin versions), and a read checks those versions against the shared
// counters, so a missed invalidation message can never serve stale content.
type TagCache interface {
	// GetTagged returns the value and true when every tag still has the
	// version the entry was built with; a miss otherwise.
	GetTagged(ctx context.Context, key string) ([]byte, bool, error)
	// SetTagged stores value with the current versions of tags. versions,
	// when non-nil, are the versions read before the value was built (from
	// TagVersions), so a change during the build makes the entry stale at
	// once.
	SetTagged(ctx context.Context, key string, value []byte, tags []string, versions map[string]int64, ttl time.Duration) error
	// TagVersions reads the current versions of tags.
	TagVersions(ctx context.Context, tags []string) (map[string]int64, error)
	// BumpTags invalidates every entry built from any of tags.
	BumpTags(ctx context.Context, tags ...string) error
}

// Cache tags of kernel kinds. A change to an entity bumps its own tag and
// the list tag of its kind, so pages that list items of a kind are rebuilt.
func EntityTag(kind, id string) string { return kind + ":" + id }

// ListTag is the tag of every listing of a kind (gathers, menus, feeds).
func ListTag(kind string) string { return kind + ":*" }

// TagsForChange returns the cache tags a change-feed row invalidates.
// An item change bumps items:* (every listing): TagsForChanges, given the
// deltas, bumps only the listings the change can affect.
// Changes inside a named stage touch only that stage's previews, which
// are never cached as live, so they invalidate nothing.
func TagsForChange(c Change) []string {
	if c.StageID != nil && *c.StageID != LiveStageID && c.Kind != KindStage {
		return nil
	}
	switch c.Kind {
	case KindStage:
		return nil
	case KindRelease:
		return []string{ListTag(KindRelease)}
	case KindItem:
		// Without the change's delta every listing may be affected
		// (TagsForChanges knows better).
		return []string{EntityTag(c.Kind, c.EntityID), ListTag(c.Kind), ListTag(ListingKind)}
	}
	return []string{EntityTag(c.Kind, c.EntityID), ListTag(c.Kind)}
}

// Listing tags. A page that lists items (gathers, feeds, category pages,
// gather tiles) depends on item:ID for each item it shows and on the
// listing tags of what decides which items it shows and in which order:
//
//   - items:T for the set of items of type T (bumped by a create, a
//     delete, a publish-status change or a change of type);
//   - items:T/P for a property or field P that it filters or sorts on
//     (bumped when P's value changes on an item of type T);
//   - items:(all) and items:(all)/P for a listing of every type;
//   - items:* when the delta of a change is unknown (every listing).
//
// An edit of an item's body then bumps item:ID, item:* (the sitemap) and
// items:T/body, items:T/changed: only pages showing the item or sorting
// on those change.
const (
	ListingKind = "items"
	AllTypes    = "(all)" // no type name has parentheses
)

// ListingTag is the tag of the set of items of type typ (AllTypes: of
// every type).
func ListingTag(typ string) string { return ListingKind + ":" + typ }

// ListingFieldTag is the tag of property or field name of items of typ.
func ListingFieldTag(typ, name string) string { return ListingKind + ":" + typ + "/" + name }

// ItemDelta is what one item change did, as far as listings can tell.
type ItemDelta struct {
	// Types are the item's type before and after (one when unchanged).
	Types []string
	// Members is true when the item may have entered or left listings:
	// created, deleted, published or unpublished, or retyped.
	Members bool
	// Changed are the properties (title, status, author, created,
	// changed, promote, sticky, language) and field names whose values
	// differ from the previous live revision.
	Changed []string
}

// ItemDeltas reads what item changes did (one query for a batch).
type ItemDeltas interface {
	// ItemDeltas returns one delta per change, in order: nil for a change
	// that is not a live item change or whose previous revision is
	// unknown.
	ItemDeltas(ctx context.Context, changes []Change) ([]*ItemDelta, error)
}

// TagsForChanges is TagsForChange with the listing tags made precise by
// deltas: an item change bumps items:T and items:T/P for what it changed
// instead of items:*. With deltas nil, or when reading them fails (the
// error is returned with the conservative tags), every item change bumps
// items:*. The result holds each tag once.
func TagsForChanges(ctx context.Context, changes []Change, deltas ItemDeltas) ([]string, error) {
	var (
		ds  []*ItemDelta
		err error
	)
	if deltas != nil {
		for _, c := range changes {
			if isLiveItemChange(c) {
				ds, err = deltas.ItemDeltas(ctx, changes)
				break
			}
		}
		if err != nil {
			ds = nil
		}
	}
	seen := map[string]bool{}
	var out []string
	add := func(tags ...string) {
		for _, t := range tags {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	for i, c := range changes {
		if !isLiveItemChange(c) {
			add(TagsForChange(c)...)
			continue
		}
		var d *ItemDelta
		if i < len(ds) {
			d = ds[i]
		}
		add(EntityTag(c.Kind, c.EntityID), ListTag(c.Kind))
		add(DeltaTags(d)...)
	}
	return out, err
}

// DeltaTags are the listing tags one item delta bumps (nil: items:*).
func DeltaTags(d *ItemDelta) []string {
	if d == nil || len(d.Types) == 0 {
		return []string{ListTag(ListingKind)}
	}
	var out []string
	for _, typ := range append(d.Types, AllTypes) {
		if d.Members {
			out = append(out, ListingTag(typ))
		}
		for _, p := range d.Changed {
			out = append(out, ListingFieldTag(typ, p))
		}
	}
	return out
}

func isLiveItemChange(c Change) bool {
	return c.Kind == KindItem && (c.StageID == nil || *c.StageID == LiveStageID)
}
