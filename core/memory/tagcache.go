package memory

import (
	"context"
	"sync"
	"time"

	"github.com/trovato/trovato/core"
)

// TagCache implements core.TagCache in one process (the desktop, one-shot
// commands, a single node without Redis).
type TagCache struct {
	mu       sync.Mutex
	max      int
	versions map[string]int64
	items    map[string]tagEntry
}

type tagEntry struct {
	value    []byte
	versions map[string]int64
	exp      time.Time
}

var _ core.TagCache = (*TagCache)(nil)

// NewTagCache returns a tag cache of at most max entries.
func NewTagCache(max int) *TagCache {
	return &TagCache{max: max, versions: map[string]int64{}, items: map[string]tagEntry{}}
}

// GetTagged implements core.TagCache.
func (c *TagCache) GetTagged(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok || (!e.exp.IsZero() && time.Now().After(e.exp)) {
		return nil, false, nil
	}
	for tag, v := range e.versions {
		if c.versions[tag] != v {
			delete(c.items, key)
			return nil, false, nil
		}
	}
	return e.value, true, nil
}

// SetTagged implements core.TagCache.
func (c *TagCache) SetTagged(_ context.Context, key string, value []byte, tags []string, versions map[string]int64, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := tagEntry{value: value, versions: make(map[string]int64, len(tags))}
	for _, tag := range tags {
		if versions != nil {
			e.versions[tag] = versions[tag]
		} else {
			e.versions[tag] = c.versions[tag]
		}
	}
	if ttl > 0 {
		e.exp = time.Now().Add(ttl)
	}
	if _, exists := c.items[key]; !exists && len(c.items) >= c.max {
		for k := range c.items {
			delete(c.items, k)
			break
		}
	}
	c.items[key] = e
	return nil
}

// TagVersions implements core.TagCache.
func (c *TagCache) TagVersions(_ context.Context, tags []string) (map[string]int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(tags))
	for _, tag := range tags {
		out[tag] = c.versions[tag]
	}
	return out, nil
}

// BumpTags implements core.TagCache.
func (c *TagCache) BumpTags(_ context.Context, tags ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, tag := range tags {
		c.versions[tag]++
	}
	return nil
}
