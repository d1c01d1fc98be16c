package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/memory"
	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/core/redis/redistest"
)

// tagCacheContract is what every core.TagCache must do.
func tagCacheContract(t *testing.T, c core.TagCache) {
	ctx := context.Background()
	if _, ok, err := c.GetTagged(ctx, "page:/a"); ok || err != nil {
		t.Fatalf("empty cache hit: %v %v", ok, err)
	}
	if err := c.SetTagged(ctx, "page:/a", []byte("A"), []string{"item:1", "menu:*"}, nil, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := c.SetTagged(ctx, "page:/b", []byte("B"), []string{"item:2"}, nil, time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := c.GetTagged(ctx, "page:/a"); !ok || err != nil || string(v) != "A" {
		t.Fatalf("get = %q %v %v", v, ok, err)
	}
	if err := c.BumpTags(ctx, "menu:*"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.GetTagged(ctx, "page:/a"); ok {
		t.Fatal("hit after one of its tags was bumped")
	}
	if _, ok, _ := c.GetTagged(ctx, "page:/b"); !ok {
		t.Fatal("an unrelated entry was invalidated")
	}
	// A change while the page was being built: versions read before the
	// build make the entry stale at once.
	before, err := c.TagVersions(ctx, []string{"item:3"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.BumpTags(ctx, "item:3"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetTagged(ctx, "page:/c", []byte("C"), []string{"item:3"}, before, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.GetTagged(ctx, "page:/c"); ok {
		t.Fatal("an entry built from old versions was served")
	}
}

func TestTagCacheContract(t *testing.T) {
	t.Run("Memory", func(t *testing.T) { tagCacheContract(t, memory.NewTagCache(100)) })
	t.Run("Redis", func(t *testing.T) {
		client, prefix := redistest.New(t)
		tagCacheContract(t, redis.NewTagCache(client, prefix))
	})
	t.Run("RedisLocalTier", func(t *testing.T) {
		client, prefix := redistest.New(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		l := redis.NewLocalTier(ctx, redis.NewTagCache(client, prefix), 100)
		defer l.Close()
		time.Sleep(100 * time.Millisecond) // let the subscription start
		tagCacheContract(t, l)
	})
}

// TestLocalTierEvictedByOtherNode: a bump made through another node's
// cache (another process) evicts this node's in-process copy.
func TestLocalTierEvictedByOtherNode(t *testing.T) {
	client, prefix := redistest.New(t)
	ctx := context.Background()
	l := redis.NewLocalTier(ctx, redis.NewTagCache(client, prefix), 100)
	defer l.Close()
	other := redis.NewTagCache(client, prefix)
	time.Sleep(100 * time.Millisecond)
	if err := l.SetTagged(ctx, "k", []byte("v1"), []string{"item:9"}, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := other.BumpTags(ctx, "item:9"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, ok, err := l.GetTagged(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the in-process copy survived another node's bump")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
