package memory_test

import (
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/memory"
	"github.com/trovato/trovato/core/memory/conformance"
)

func TestSessionStore(t *testing.T) {
	conformance.SessionStores(t, func(_ *testing.T, to core.SessionTimeouts) core.SessionStore {
		return memory.NewSessionStore(to)
	})
}

func TestRateLimiter(t *testing.T) {
	conformance.RateLimiters(t, func(*testing.T) (core.RateLimiter, core.RateLimiter) {
		l := memory.NewRateLimiter()
		return l, l // one process: "two nodes" share the same limiter
	})
}

func TestCache(t *testing.T) {
	conformance.Caches(t, func(*testing.T) core.Cache { return memory.NewCache(0) })
}
