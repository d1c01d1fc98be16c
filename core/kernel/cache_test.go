package kernel

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/memory"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/postgres/pgtest"
)

// TestInvalidatorFollowsFeed: an edit made by another process (another
// store on the same database) invalidates this node's cached page within
// a poll, and an unrelated page stays cached.
func TestInvalidatorFollowsFeed(t *testing.T) {
	url := pgtest.NewDBURL(t)
	open := func() *postgres.Store {
		pool, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return postgres.NewStore(postgres.StoreConfig{Pool: pool, ValidateConfig: core.CheckConfigDocument})
	}
	node, other := open(), open()
	ctx := context.Background()
	admin, err := other.Users().FindUserByName(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	actx := core.NewContextWithUser(ctx, admin)
	if _, err := other.Config().PutConfig(actx, "item_type", "page", json.RawMessage(`{"kind":"item_type","name":"page","label":"Page","fields":[]}`), 0); err != nil {
		t.Fatal(err)
	}
	a := &core.Item{Type: "page", Title: "A"}
	b := &core.Item{Type: "page", Title: "B"}
	for _, it := range []*core.Item{a, b} {
		if err := other.Items().CreateItem(actx, core.LiveStageID, it, ""); err != nil {
			t.Fatal(err)
		}
	}
	cache := memory.NewTagCache(100)
	inv := &Invalidator{Feed: node.Feed(), Cache: cache, Interval: 20 * time.Millisecond}
	cur, err := node.Feed().FeedHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = cache.SetTagged(ctx, "page:/a", []byte("A"), []string{core.EntityTag(core.KindItem, a.ID.String())}, nil, 0)
	_ = cache.SetTagged(ctx, "page:/b", []byte("B"), []string{core.EntityTag(core.KindItem, b.ID.String())}, nil, 0)
	title := "A2"
	if _, err := other.Items().UpdateItem(actx, core.LiveStageID, a.ID, core.ItemUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		next, _, err := inv.Poll(ctx, cur)
		if err != nil {
			t.Fatal(err)
		}
		cur = next
		if _, ok, _ := cache.GetTagged(ctx, "page:/a"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the edit never invalidated the cached page")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, ok, _ := cache.GetTagged(ctx, "page:/b"); !ok {
		t.Fatal("an unrelated page was invalidated")
	}
}

func TestNodeRegistryRefusesAnotherRedis(t *testing.T) {
	s := postgres.NewStore(postgres.StoreConfig{Pool: pgtest.NewDB(t)})
	ctx := context.Background()
	n1 := &postgres.Node{Hostname: "a", PID: 1, RedisID: "r1"}
	if err := s.RegisterNode(ctx, n1); err != nil {
		t.Fatal(err)
	}
	for name, rid := range map[string]string{"OtherRedis": "r2", "NoRedis": ""} {
		t.Run(name, func(t *testing.T) {
			err := s.RegisterNode(ctx, &postgres.Node{Hostname: "b", PID: 2, RedisID: rid})
			if core.ErrorCode(err) != core.EInvalid {
				t.Fatalf("second node with redis %q: %v", rid, err)
			}
		})
	}
	if err := s.RegisterNode(ctx, &postgres.Node{Hostname: "c", PID: 3, RedisID: "r1"}); err != nil {
		t.Fatalf("a node on the same Redis was refused: %v", err)
	}
	if err := s.UnregisterNode(ctx, n1.ID); err != nil {
		t.Fatal(err)
	}
	nodes, err := s.FindNodes(ctx)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes = %v, %v", nodes, err)
	}
}
