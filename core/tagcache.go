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
		return []string{EntityTag(c.Kind, c.EntityID), TeaserTag(c.EntityID), ListTag(c.Kind), ListTag(ListingKind)}
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
// instead of items:*; when deltas also reads alias deltas (AliasDeltas),
// an alias change bumps the AliasTag of its paths instead of alias:*.
// With deltas nil, or when reading them fails (the error is returned with
// the conservative tags), every item change bumps items:* and every alias
// change alias:*. The result holds each tag once.
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
	aliasTags, aerr := aliasChangeTags(ctx, changes, deltas, func(c Change) bool { return c.StageID == nil || *c.StageID == LiveStageID })
	if aerr != nil && err == nil {
		err = aerr
	}
	for i, c := range changes {
		if i < len(aliasTags) && aliasTags[i] != nil {
			add(aliasTags[i]...)
			continue
		}
		if !isLiveItemChange(c) {
			add(TagsForChange(c)...)
			continue
		}
		var d *ItemDelta
		if i < len(ds) {
			d = ds[i]
		}
		add(EntityTag(c.Kind, c.EntityID), ListTag(c.Kind))
		if TeaserChanged(d) {
			add(TeaserTag(c.EntityID))
		}
		add(DeltaTags(d)...)
	}
	return out, err
}

// TeaserTag is the tag of an item as a listing shows it (a teaser, a
// link in a tile): its title, type, created date and whether it is
// published — not its fields. A listing depends on it for each item it
// shows instead of item:ID, so an edit of a body re-renders the item's
// own pages, not every listing page the item is on. (Feeds and the
// sitemap, which show more, depend on item:ID.)
func TeaserTag(id string) string { return "teaser:" + id }

// teaserProps are the properties a teaser shows.
var teaserProps = map[string]bool{"title": true, "created": true, "status": true, "language": true, "type": true}

// TeaserChanged reports whether an item change changed what its teaser
// shows (true when the delta is unknown).
func TeaserChanged(d *ItemDelta) bool {
	if d == nil || len(d.Types) != 1 || d.Members {
		return true
	}
	for _, p := range d.Changed {
		if teaserProps[p] {
			return true
		}
	}
	return false
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

// Alias tags. Internal links (/item/ID, /term/ID) are rewritten to
// aliases on every page, and a path is served through the alias table:
//
//   - AliasTag(P) stands for the aliases of path P in both directions:
//     which alias internal path P has, and what alias P resolves to. A page
//     depends on it for each internal path it links to and for the path it
//     is served at (an alias created there would take it over);
//   - AliasesTag for the whole alias table (the sitemap, redirects);
//   - alias:* (ListTag) is in every page's tags and is bumped only when
//     an alias change's paths are unknown.
//
// An alias change with a known delta bumps alias:ID, AliasesTag and
// AliasTag of its alias and of its target path, before and after: adding
// or removing an item re-renders the pages that link to it, not every page.
func AliasTag(path string) string { return KindAlias + ":" + path }

// AliasesTag is bumped by every alias change (AliasTag paths start with
// a slash, entity ids are UUIDs: no tag collides).
const AliasesTag = KindAlias + ":(all)"

// AliasDelta is what one alias change touched.
type AliasDelta struct {
	// Paths are the alias and the internal path it points to, before and
	// after the change (each once).
	Paths []string
}

// AliasDeltas reads what alias changes did (one query for a batch).
type AliasDeltas interface {
	// AliasDeltas returns one delta per change, in order: nil for a
	// change that is not an alias change or whose documents are unknown.
	AliasDeltas(ctx context.Context, changes []Change) ([]*AliasDelta, error)
}

// aliasChangeTags are the tags of alias changes whose delta is known (nil
// when deltas cannot tell): for changes[i], out[i].
func aliasChangeTags(ctx context.Context, changes []Change, deltas ItemDeltas, counts func(Change) bool) ([][]string, error) {
	ad, ok := deltas.(AliasDeltas)
	if !ok {
		return nil, nil
	}
	var sel []Change
	var at []int
	for i, c := range changes {
		if c.Kind == KindAlias && counts(c) {
			sel, at = append(sel, c), append(at, i)
		}
	}
	if len(sel) == 0 {
		return nil, nil
	}
	ds, err := ad.AliasDeltas(ctx, sel)
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(changes))
	for j, d := range ds {
		if j >= len(at) || d == nil || len(d.Paths) == 0 {
			continue
		}
		tags := []string{EntityTag(KindAlias, changes[at[j]].EntityID), AliasesTag}
		for _, p := range d.Paths {
			tags = append(tags, AliasTag(p))
		}
		out[at[j]] = tags
	}
	return out, nil
}

// TagsForStageChanges is TagsForChanges for the pages of a stage as
// visitors will see it once it is published (a stage's export): a change
// in the stage counts as a change of live, and so does a change of live
// beneath it; changes of other stages count for nothing. Its item deltas
// compare each revision with its parent (the stage's previous revision,
// or the live one it was made from).
func TagsForStageChanges(ctx context.Context, changes []Change, stage ID, deltas ItemDeltas) ([]string, error) {
	var mine []Change
	for _, c := range changes {
		switch {
		case c.Kind == KindStage || c.Kind == KindRelease:
			// The stage's own record (its label, its state) shows on no
			// page; a release changes live, which the stage shows.
			if c.Kind == KindRelease {
				mine = append(mine, c)
			}
		case c.StageID == nil || *c.StageID == LiveStageID:
			mine = append(mine, c)
		case *c.StageID == stage:
			c.StageID = nil // as if live
			c.ReleaseID = nil
			mine = append(mine, c)
		}
	}
	if len(mine) == 0 {
		return nil, nil
	}
	return TagsForChanges(ctx, mine, deltas)
}

func isLiveItemChange(c Change) bool {
	return c.Kind == KindItem && (c.StageID == nil || *c.StageID == LiveStageID)
}
