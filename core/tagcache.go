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
	}
	return []string{EntityTag(c.Kind, c.EntityID), ListTag(c.Kind)}
}
