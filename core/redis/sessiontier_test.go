package redis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/memory/conformance"
	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/core/redis/redistest"
)

// newTier returns a subscribed tier over a store on c.
func newTier(t *testing.T, c goredis.UniversalClient, prefix string, to core.SessionTimeouts, o redis.SessionTierOptions) (*redis.SessionTier, *redis.SessionStore) {
	t.Helper()
	st := redis.NewSessionStore(c, prefix, to)
	tier := redis.NewSessionTier(context.Background(), st, o)
	t.Cleanup(tier.Close)
	waitSubscribed(t, tier)
	return tier, st
}

func waitSubscribed(t *testing.T, tier *redis.SessionTier) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !tier.Subscribed(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the session tier never subscribed")
		}
	}
}

func TestSessionTierContract(t *testing.T) {
	conformance.SessionStores(t, func(t *testing.T, to core.SessionTimeouts) core.SessionStore {
		c, prefix := redistest.New(t)
		tier, _ := newTier(t, c, prefix, to, redis.SessionTierOptions{})
		return tier
	})
}

// TestSessionTierAcrossNodes: two nodes (two clients, two tiers) share one
// Redis. Once both hold a session, every change made on node 1 — log out
// everywhere, log out, rotation at sign-in, a new preview stage — is seen
// by node 2 on its very next read, without waiting.
func TestSessionTierAcrossNodes(t *testing.T) {
	ctx := context.Background()
	c1, prefix := redistest.New(t)
	c2, _ := redistest.New(t)
	long := redis.SessionTierOptions{Trust: time.Hour} // only messages evict
	n1, _ := newTier(t, c1, prefix, core.SessionTimeouts{}, long)
	n2, _ := newTier(t, c2, prefix, core.SessionTimeouts{}, long)
	user := core.NewID()
	// cached makes a session of user held by both nodes.
	cached := func(t *testing.T) *core.Session {
		t.Helper()
		s := &core.Session{UserID: user, Epoch: 1}
		if err := n1.SaveSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		for _, n := range []*redis.SessionTier{n1, n2} {
			if _, err := n.GetSession(ctx, s.ID); err != nil {
				t.Fatal(err)
			}
			before := n.Reads()
			if _, err := n.GetSession(ctx, s.ID); err != nil {
				t.Fatal(err)
			}
			if n.Reads() != before {
				t.Fatal("a held session was read from Redis again")
			}
		}
		return s
	}
	// Redis has sent the message to every subscriber by the time node
	// 1's call returns; node 2 applies it as soon as it reads its
	// socket. (Called directly, with no request in between, node 2 may
	// be a few microseconds behind: server/account_cache_test.go checks
	// the very next request.)
	gone := func(t *testing.T, id, what string) {
		t.Helper()
		start := time.Now()
		for {
			_, err := n2.GetSession(ctx, id)
			if core.ErrorCode(err) == core.ENotFound {
				if d := time.Since(start); d > time.Millisecond {
					t.Logf("node 2 refused the session %v after %s on node 1", d, what)
				}
				return
			}
			if err != nil || time.Since(start) > time.Second {
				t.Fatalf("node 2 after %s on node 1: %v, want not_found", what, err)
			}
			time.Sleep(20 * time.Microsecond)
		}
	}
	for i := range 5 {
		t.Run(fmt.Sprint("LogoutEverywhere", i), func(t *testing.T) {
			a, b := cached(t), cached(t)
			if _, err := n1.DeleteUserSessions(ctx, user); err != nil {
				t.Fatal(err)
			}
			gone(t, a.ID, "log out everywhere")
			gone(t, b.ID, "log out everywhere")
		})
		t.Run(fmt.Sprint("Logout", i), func(t *testing.T) {
			s := cached(t)
			if err := n1.DeleteSession(ctx, s.ID); err != nil {
				t.Fatal(err)
			}
			gone(t, s.ID, "log out")
		})
		t.Run(fmt.Sprint("Rotate", i), func(t *testing.T) {
			s := cached(t)
			old := s.ID
			if err := n1.RotateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			gone(t, old, "rotation")
			if got, err := n2.GetSession(ctx, s.ID); err != nil || !bytes.Equal(got.CSRFSecret, s.CSRFSecret) {
				t.Fatalf("node 2 reads the rotated session: %v", err)
			}
		})
		t.Run(fmt.Sprint("PreviewStage", i), func(t *testing.T) {
			s := cached(t)
			s.PreviewStageID = core.NewID()
			if err := n1.SaveSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			for start := time.Now(); ; time.Sleep(20 * time.Microsecond) {
				got, err := n2.GetSession(ctx, s.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.PreviewStageID == s.PreviewStageID {
					break
				}
				if time.Since(start) > time.Second {
					t.Fatal("node 2 kept the old preview stage")
				}
			}
		})
	}
	t.Run("CopiesAreCopies", func(t *testing.T) {
		s := cached(t)
		got, _ := n2.GetSession(ctx, s.ID)
		got.PreviewStageID, got.CSRFSecret[0] = core.NewID(), got.CSRFSecret[0]+1
		again, _ := n2.GetSession(ctx, s.ID)
		if again.PreviewStageID != core.NilID || again.CSRFSecret[0] != s.CSRFSecret[0] {
			t.Fatal("a caller's change to a returned session reached the tier's copy")
		}
	})
}

// TestSessionTierTrust: a copy is served for at most the trust interval;
// a change Redis got without a message (as if it were missed) is seen
// after it.
func TestSessionTierTrust(t *testing.T) {
	ctx := context.Background()
	c, prefix := redistest.New(t)
	tier, st := newTier(t, c, prefix, core.SessionTimeouts{}, redis.SessionTierOptions{Trust: 200 * time.Millisecond})
	s := &core.Session{}
	if err := st.SaveSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := tier.GetSession(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.Del(ctx, prefix+"sess:"+core.SessionKey(s.ID)).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := tier.GetSession(ctx, s.ID); err != nil {
		t.Fatalf("within the trust interval the copy is served: %v", err)
	}
	time.Sleep(250 * time.Millisecond)
	if _, err := tier.GetSession(ctx, s.ID); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("after the trust interval: %v, want not_found", err)
	}
}

// TestSessionTierSubscriptionLost: when the tier's subscription connection
// is killed, the tier is flushed; a session deleted meanwhile without a
// message reaching it (the message was missed) is not served from the
// copy, although the copy would still be trusted.
func TestSessionTierSubscriptionLost(t *testing.T) {
	ctx := context.Background()
	admin, prefix := redistest.New(t)
	opt, err := goredis.ParseURL(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	opt.ClientName = "tier-" + strings.Trim(prefix, ":t")
	c := goredis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	tier, _ := newTier(t, c, prefix, core.SessionTimeouts{}, redis.SessionTierOptions{Trust: time.Hour})
	s := &core.Session{UserID: core.NewID(), Epoch: 1}
	if err := tier.SaveSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := tier.GetSession(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	// Kill this tier's subscriber connection (only it: other tests'
	// subscriptions share the server).
	list, err := admin.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		f := map[string]string{}
		for _, kv := range strings.Fields(line) {
			k, v, _ := strings.Cut(kv, "=")
			f[k] = v
		}
		if f["name"] == opt.ClientName && f["sub"] != "0" && f["sub"] != "" {
			if err := admin.Do(ctx, "CLIENT", "KILL", "ID", f["id"]).Err(); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed != 1 {
		t.Fatalf("killed %d subscriber connections, want 1", killed)
	}
	if err := admin.Del(ctx, prefix+"sess:"+core.SessionKey(s.ID)).Err(); err != nil {
		t.Fatal(err)
	}
	// The tier reads the closed connection, flushes and subscribes again;
	// the copy, trusted for an hour, is gone.
	start := time.Now()
	for {
		_, err := tier.GetSession(ctx, s.ID)
		if core.ErrorCode(err) == core.ENotFound {
			t.Logf("flushed %v after the kill", time.Since(start))
			break
		}
		if err != nil || time.Since(start) > 3*time.Second {
			t.Fatalf("served a session deleted while the subscription was down: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	waitSubscribed(t, tier)
	if _, err := tier.GetSession(ctx, s.ID); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("after resubscribing: %v, want not_found", err)
	}
}

// TestSessionTierTimeoutsAndTouch: idle and absolute timeouts are checked
// on the copy; the idle touch is written behind, at most once per
// core.SessionTouchInterval, and never undoes a change made meanwhile.
func TestSessionTierTimeoutsAndTouch(t *testing.T) {
	ctx := context.Background()
	c, prefix := redistest.New(t)
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	to := core.SessionTimeouts{Idle: 10 * time.Minute, Absolute: time.Hour}
	st := redis.NewSessionStore(c, prefix, to)
	redis.SetClock(st, now)
	tier := redis.NewSessionTier(ctx, st, redis.SessionTierOptions{Trust: 24 * time.Hour})
	t.Cleanup(tier.Close)
	waitSubscribed(t, tier)
	stored := func(id string) core.Session {
		t.Helper()
		raw, err := c.Get(ctx, prefix+"sess:"+core.SessionKey(id)).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		var s core.Session
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := &core.Session{}
	if err := tier.SaveSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := tier.GetSession(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	reads := tier.Reads()
	// 9 minutes of requests, one every 30 s: the session stays alive
	// (idle 10 minutes), served from the copy, its touches written behind.
	for range 18 {
		advance(30 * time.Second)
		if _, err := tier.GetSession(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
	}
	if tier.Reads() != reads {
		t.Fatalf("%d reads from Redis, want none", tier.Reads()-reads)
	}
	want := now() // touched at every whole minute, the last at 9 minutes
	for deadline := time.Now().Add(5 * time.Second); !stored(s.ID).LastSeen.Equal(want); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("stored LastSeen %v, want %v", stored(s.ID).LastSeen, want)
		}
	}
	ttl, err := c.PTTL(ctx, prefix+"sess:"+core.SessionKey(s.ID)).Result()
	if err != nil || ttl < 9*time.Minute {
		t.Fatalf("the touch did not extend the idle expiry: ttl %v, %v", ttl, err)
	}
	// Idle on this node: the copy says it timed out; Redis is asked.
	advance(11 * time.Minute)
	if _, err := tier.GetSession(ctx, s.ID); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("idle session: %v, want not_found", err)
	}
	// Absolute: a session in use is still over after an hour.
	a := &core.Session{}
	if err := tier.SaveSession(ctx, a); err != nil {
		t.Fatal(err)
	}
	for range 61 {
		advance(time.Minute)
		_, err := tier.GetSession(ctx, a.ID)
		if err != nil && core.ErrorCode(err) != core.ENotFound {
			t.Fatal(err)
		}
	}
	if _, err := tier.GetSession(ctx, a.ID); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("session past its absolute timeout: %v, want not_found", err)
	}
	// A touch queued from an old copy does not undo a change made since.
	b := &core.Session{}
	if err := tier.SaveSession(ctx, b); err != nil {
		t.Fatal(err)
	}
	other := redis.NewSessionStore(c, prefix, to)
	redis.SetClock(other, now)
	if _, err := tier.GetSession(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	got, err := other.GetSession(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	got.PreviewStageID = core.NewID()
	if err := c.Set(ctx, prefix+"sess:"+core.SessionKey(b.ID), mustJSON(t, got), time.Hour).Err(); err != nil {
		t.Fatal(err) // changed without a message: the tier's copy is stale
	}
	advance(2 * time.Minute)
	if _, err := tier.GetSession(ctx, b.ID); err != nil { // queues a touch of the stale copy
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if stored(b.ID).PreviewStageID != got.PreviewStageID {
		t.Fatal("a touch wrote a stale copy over a newer session")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
