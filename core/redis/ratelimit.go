package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trovato/trovato/core"
)

// RateLimiter is a sliding-window log in a sorted set per key, updated by
// one script so that every node sharing the Redis counts together. The
// clock is Redis's (TIME), so nodes with skewed clocks agree.
type RateLimiter struct {
	c      goredis.UniversalClient
	prefix string
}

var _ core.RateLimiter = (*RateLimiter)(nil)

// NewRateLimiter returns a limiter keeping its windows under <prefix>rl:.
func NewRateLimiter(c goredis.UniversalClient, prefix string) *RateLimiter {
	return &RateLimiter{c: c, prefix: prefix}
}

// allowScript: KEYS[1] the window, ARGV[1] limit, ARGV[2] window in ms,
// ARGV[3] a random member suffix. Scores are microseconds.
var allowScript = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local win = tonumber(ARGV[2]) * 1000
local limit = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)
local n = redis.call('ZCARD', KEYS[1])
if n >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + win - now}
end
redis.call('ZADD', KEYS[1], now, tostring(now) .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, 0}
`)

// Allow implements core.RateLimiter.
func (l *RateLimiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if err := core.CheckRateLimit(key, limit, window); err != nil {
		return false, 0, err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	res, err := allowScript.Run(ctx, l.c, []string{l.prefix + "rl:" + key}, limit, window.Milliseconds(), hex.EncodeToString(b[:])).Int64Slice()
	if err != nil {
		return false, 0, unavailable("rate limit", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("rate limit: unexpected reply %v", res)
	}
	if res[0] == 1 {
		return true, 0, nil
	}
	retry := time.Duration(res[1]) * time.Microsecond
	if retry <= 0 {
		retry = time.Millisecond
	}
	return false, retry, nil
}
