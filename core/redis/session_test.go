package redis_test

import (
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/memory/conformance"
	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/core/redis/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

func TestSessionStore(t *testing.T) {
	conformance.SessionStores(t, func(t *testing.T, to core.SessionTimeouts) core.SessionStore {
		c, prefix := redistest.New(t)
		return redis.NewSessionStore(c, prefix, to)
	})
}

func TestRateLimiter(t *testing.T) {
	conformance.RateLimiters(t, func(t *testing.T) (core.RateLimiter, core.RateLimiter) {
		c1, prefix := redistest.New(t)
		c2, _ := redistest.New(t)
		return redis.NewRateLimiter(c1, prefix), redis.NewRateLimiter(c2, prefix)
	})
}

func TestCache(t *testing.T) {
	conformance.Caches(t, func(t *testing.T) core.Cache {
		c, prefix := redistest.New(t)
		return redis.NewCache(c, prefix)
	})
}
