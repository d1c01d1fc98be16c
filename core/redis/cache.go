package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trovato/trovato/core"
)

// Cache keeps bytes under <prefix>cache:<key> with Redis expiry.
type Cache struct {
	c      goredis.UniversalClient
	prefix string
}

var _ core.Cache = (*Cache)(nil)

// NewCache returns a cache on c.
func NewCache(c goredis.UniversalClient, prefix string) *Cache {
	return &Cache{c: c, prefix: prefix}
}

// GetCache implements core.Cache.
func (c *Cache) GetCache(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := c.c.Get(ctx, c.prefix+"cache:"+key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, unavailable("cache get", err)
	}
	return v, true, nil
}

// SetCache implements core.Cache.
func (c *Cache) SetCache(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl < 0 {
		return core.Errorf(core.EInvalid, "cache ttl must not be negative")
	}
	if err := c.c.Set(ctx, c.prefix+"cache:"+key, value, ttl).Err(); err != nil {
		return unavailable("cache set", err)
	}
	return nil
}

// DeleteCache implements core.Cache.
func (c *Cache) DeleteCache(ctx context.Context, key string) error {
	if err := c.c.Del(ctx, c.prefix+"cache:"+key).Err(); err != nil {
		return unavailable("cache delete", err)
	}
	return nil
}

// Dial connects to the Redis at url (redis://, rediss:// or unix://) and
// checks that it answers. EINVALID for a malformed URL, EUNAVAILABLE when
// it does not answer.
func Dial(ctx context.Context, url string) (*goredis.Client, error) {
	opt, err := goredis.ParseURL(url)
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "redis URL: %v (use redis://host:6379/0 or unix:///path/redis.sock)", err)
	}
	c := goredis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect to redis %s: %v: %w", opt.Addr, err, core.Errorf(core.EUnavailable, "Redis at %s does not answer; start it or unset REDIS_URL", opt.Addr))
	}
	return c, nil
}
