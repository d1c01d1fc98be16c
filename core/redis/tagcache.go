package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trovato/trovato/core"
)

// TagCache implements core.TagCache on Redis. Tag versions are counters
// (<prefix>tv:<tag>); an entry keeps its body (<prefix>tc:<key>) and the
// versions it was built with (<prefix>tm:<key>). One script reads the
// entry and checks every version in one round trip.
type TagCache struct {
	c      goredis.UniversalClient
	prefix string
	get    *goredis.Script
}

var _ core.TagCache = (*TagCache)(nil)

// NewTagCache returns a tag cache on c.
func NewTagCache(c goredis.UniversalClient, prefix string) *TagCache {
	return &TagCache{c: c, prefix: prefix, get: goredis.NewScript(`
local meta = redis.call('GET', KEYS[1])
if not meta then return false end
local m = cjson.decode(meta)
for tag, v in pairs(m) do
  local cur = redis.call('GET', ARGV[1] .. 'tv:' .. tag) or '0'
  if tonumber(cur) ~= tonumber(v) then return false end
end
return redis.call('GET', KEYS[2])
`)}
}

// GetTagged implements core.TagCache.
func (t *TagCache) GetTagged(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := t.get.Run(ctx, t.c, []string{t.prefix + "tm:" + key, t.prefix + "tc:" + key}, t.prefix).Text()
	if errors.Is(err, goredis.Nil) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, unavailable("tag cache get", err)
	}
	return []byte(v), true, nil
}

// TagVersions implements core.TagCache.
func (t *TagCache) TagVersions(ctx context.Context, tags []string) (map[string]int64, error) {
	out := make(map[string]int64, len(tags))
	if len(tags) == 0 {
		return out, nil
	}
	keys := make([]string, len(tags))
	for i, tag := range tags {
		keys[i] = t.prefix + "tv:" + tag
	}
	vals, err := t.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, unavailable("tag versions", err)
	}
	for i, v := range vals {
		var n int64
		if s, ok := v.(string); ok {
			n, _ = strconv.ParseInt(s, 10, 64)
		}
		out[tags[i]] = n
	}
	return out, nil
}

// SetTagged implements core.TagCache.
func (t *TagCache) SetTagged(ctx context.Context, key string, value []byte, tags []string, versions map[string]int64, ttl time.Duration) error {
	if versions == nil {
		var err error
		if versions, err = t.TagVersions(ctx, tags); err != nil {
			return err
		}
	}
	meta := make(map[string]int64, len(tags))
	for _, tag := range tags {
		meta[tag] = versions[tag]
	}
	m, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("tag cache set: %w", err)
	}
	if len(meta) == 0 {
		m = []byte("{}") // cjson decodes [] and {} alike
	}
	pipe := t.c.TxPipeline()
	pipe.Set(ctx, t.prefix+"tc:"+key, value, ttl)
	pipe.Set(ctx, t.prefix+"tm:"+key, m, ttl)
	if _, err := pipe.Exec(ctx); err != nil {
		return unavailable("tag cache set", err)
	}
	return nil
}

// BumpTags implements core.TagCache: it increments each tag's version and
// announces the tags on the invalidation channel for in-process tiers.
func (t *TagCache) BumpTags(ctx context.Context, tags ...string) error {
	if len(tags) == 0 {
		return nil
	}
	pipe := t.c.Pipeline()
	for _, tag := range tags {
		pipe.Incr(ctx, t.prefix+"tv:"+tag)
	}
	b, _ := json.Marshal(tags)
	pipe.Publish(ctx, t.prefix+"invalidate", b)
	if _, err := pipe.Exec(ctx); err != nil {
		return unavailable("bump tags", err)
	}
	return nil
}

// LocalTier is an in-process cache in front of a TagCache. Pub/sub on the
// invalidation channel evicts its entries; losing the subscription (a
// Redis reconnect) flushes it whole, so it never outlives a missed message.
type LocalTier struct {
	next   *TagCache
	max    int
	mu     sync.Mutex
	items  map[string]localEntry
	byTag  map[string]map[string]struct{}
	subOK  bool
	cancel context.CancelFunc
}

type localEntry struct {
	value []byte
	tags  []string
	exp   time.Time
}

// NewLocalTier returns an in-process tier of at most max entries over
// next, subscribed to its invalidation channel until Close.
func NewLocalTier(ctx context.Context, next *TagCache, max int) *LocalTier {
	ctx, cancel := context.WithCancel(ctx)
	l := &LocalTier{next: next, max: max, items: map[string]localEntry{}, byTag: map[string]map[string]struct{}{}, cancel: cancel}
	go l.listen(ctx)
	return l
}

// Close stops the subscription.
func (l *LocalTier) Close() { l.cancel() }

func (l *LocalTier) listen(ctx context.Context) {
	f := &Follower{Client: l.next.c, Channel: l.next.prefix + "invalidate", Subscribed: l.flush,
		Message: func(payload string) {
			var tags []string
			if json.Unmarshal([]byte(payload), &tags) == nil {
				l.evict(tags)
			} else {
				l.flush(true)
			}
		}}
	f.Follow(ctx)
}

func (l *LocalTier) flush(subscribed bool) {
	l.mu.Lock()
	l.items = map[string]localEntry{}
	l.byTag = map[string]map[string]struct{}{}
	l.subOK = subscribed
	l.mu.Unlock()
}

func (l *LocalTier) evict(tags []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, tag := range tags {
		for key := range l.byTag[tag] {
			l.drop(key)
		}
	}
}

func (l *LocalTier) drop(key string) {
	e, ok := l.items[key]
	if !ok {
		return
	}
	delete(l.items, key)
	for _, tag := range e.tags {
		delete(l.byTag[tag], key)
		if len(l.byTag[tag]) == 0 {
			delete(l.byTag, tag)
		}
	}
}

// GetTagged implements core.TagCache: the local copy when subscribed, else
// Redis (whose answer is then kept locally).
func (l *LocalTier) GetTagged(ctx context.Context, key string) ([]byte, bool, error) {
	l.mu.Lock()
	if e, ok := l.items[key]; ok && l.subOK && (e.exp.IsZero() || time.Now().Before(e.exp)) {
		l.mu.Unlock()
		return e.value, true, nil
	}
	l.mu.Unlock()
	return l.next.GetTagged(ctx, key)
}

// SetTagged implements core.TagCache.
func (l *LocalTier) SetTagged(ctx context.Context, key string, value []byte, tags []string, versions map[string]int64, ttl time.Duration) error {
	if err := l.next.SetTagged(ctx, key, value, tags, versions, ttl); err != nil {
		return err
	}
	if versions != nil {
		// Keep a local copy only of an entry that is not stale already.
		cur, err := l.next.TagVersions(ctx, tags)
		if err != nil {
			return err
		}
		for _, tag := range tags {
			if cur[tag] != versions[tag] {
				return nil
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.subOK {
		return nil
	}
	if len(l.items) >= l.max {
		for k := range l.items { // evict an arbitrary entry
			l.drop(k)
			break
		}
	}
	e := localEntry{value: value, tags: append([]string(nil), tags...)}
	if ttl > 0 {
		e.exp = time.Now().Add(ttl)
	}
	l.drop(key)
	l.items[key] = e
	for _, tag := range tags {
		if l.byTag[tag] == nil {
			l.byTag[tag] = map[string]struct{}{}
		}
		l.byTag[tag][key] = struct{}{}
	}
	return nil
}

// TagVersions implements core.TagCache.
func (l *LocalTier) TagVersions(ctx context.Context, tags []string) (map[string]int64, error) {
	return l.next.TagVersions(ctx, tags)
}

// BumpTags implements core.TagCache.
func (l *LocalTier) BumpTags(ctx context.Context, tags ...string) error {
	l.evict(tags)
	return l.next.BumpTags(ctx, tags...)
}

var _ core.TagCache = (*LocalTier)(nil)
