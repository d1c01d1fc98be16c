// Package conformance is the contract test suite of core.SessionStore,
// core.RateLimiter and core.Cache. core/memory and core/redis run it
// against their implementations, so both behave the same.
package conformance

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
)

// SessionStores runs the session contract. newStore returns an empty
// store with the given timeouts.
func SessionStores(t *testing.T, newStore func(t *testing.T, to core.SessionTimeouts) core.SessionStore) {
	ctx := context.Background()
	long := core.SessionTimeouts{Idle: time.Hour, Absolute: 24 * time.Hour}

	t.Run("SaveGet", func(t *testing.T) {
		st := newStore(t, long)
		uid := core.NewID()
		stage := core.NewID()
		s := &core.Session{UserID: uid, PreviewStageID: stage}
		if err := st.SaveSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		if !core.ValidSessionID(s.ID) || len(s.CSRFSecret) != 32 || s.CreatedAt.IsZero() {
			t.Fatalf("new session not prepared: %+v", s)
		}
		got, err := st.GetSession(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != s.ID || got.UserID != uid || got.PreviewStageID != stage || string(got.CSRFSecret) != string(s.CSRFSecret) {
			t.Fatalf("got %+v, want %+v", got, s)
		}
		if !got.CheckCSRFToken(s.NewCSRFToken()) {
			t.Fatal("token of the saved session does not check against the loaded one")
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		st := newStore(t, long)
		for _, id := range []string{"", "x", core.NewSessionID(), "../../etc/passwd", string(make([]byte, 43))} {
			if _, err := st.GetSession(ctx, id); core.ErrorCode(err) != core.ENotFound {
				t.Errorf("GetSession(%q) = %v, want not_found", id, err)
			}
		}
	})

	t.Run("UpdateKeepsID", func(t *testing.T) {
		st := newStore(t, long)
		s := &core.Session{}
		if err := st.SaveSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		id := s.ID
		s.PreviewStageID = core.NewID()
		if err := st.SaveSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		if s.ID != id {
			t.Fatal("saving an existing session changed its id")
		}
		got, err := st.GetSession(ctx, id)
		if err != nil || got.PreviewStageID != s.PreviewStageID {
			t.Fatalf("got %+v, %v", got, err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		st := newStore(t, long)
		s := &core.Session{}
		if err := st.SaveSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteSession(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetSession(ctx, s.ID); core.ErrorCode(err) != core.ENotFound {
			t.Fatalf("deleted session: %v", err)
		}
		if err := st.DeleteSession(ctx, s.ID); err != nil {
			t.Fatalf("deleting twice: %v", err)
		}
	})

	t.Run("Rotate", func(t *testing.T) {
		st := newStore(t, long)
		uid := core.NewID()
		s := &core.Session{UserID: uid}
		if err := st.SaveSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		oldID, oldSecret := s.ID, string(s.CSRFSecret)
		oldToken := s.NewCSRFToken()
		if err := st.RotateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		if s.ID == oldID || string(s.CSRFSecret) == oldSecret {
			t.Fatal("rotation kept the id or the CSRF secret")
		}
		if _, err := st.GetSession(ctx, oldID); core.ErrorCode(err) != core.ENotFound {
			t.Fatalf("old id still works: %v", err)
		}
		got, err := st.GetSession(ctx, s.ID)
		if err != nil || got.UserID != uid {
			t.Fatalf("rotated session: %+v, %v", got, err)
		}
		if got.CheckCSRFToken(oldToken) {
			t.Fatal("a token of the old id checks against the rotated session")
		}
		gone := &core.Session{ID: core.NewSessionID()}
		if err := st.RotateSession(ctx, gone); core.ErrorCode(err) != core.ENotFound {
			t.Fatalf("rotating a missing session: %v", err)
		}
	})

	t.Run("DeleteUserSessions", func(t *testing.T) {
		st := newStore(t, long)
		ann, bob := core.NewID(), core.NewID()
		var anns []*core.Session
		for range 3 {
			s := &core.Session{UserID: ann}
			if err := st.SaveSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			anns = append(anns, s)
		}
		if err := st.RotateSession(ctx, anns[0]); err != nil { // rotated sessions count too
			t.Fatal(err)
		}
		signedIn := &core.Session{} // anonymous, then signed in as ann
		if err := st.SaveSession(ctx, signedIn); err != nil {
			t.Fatal(err)
		}
		signedIn.UserID = ann
		if err := st.RotateSession(ctx, signedIn); err != nil {
			t.Fatal(err)
		}
		anns = append(anns, signedIn)
		bobs := &core.Session{UserID: bob}
		anon := &core.Session{}
		for _, s := range []*core.Session{bobs, anon} {
			if err := st.SaveSession(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		n, err := st.DeleteUserSessions(ctx, ann)
		if err != nil || n != 4 {
			t.Fatalf("DeleteUserSessions = %d, %v; want 4", n, err)
		}
		for _, s := range anns {
			if _, err := st.GetSession(ctx, s.ID); core.ErrorCode(err) != core.ENotFound {
				t.Fatalf("a session of the user survived: %v", err)
			}
		}
		for _, s := range []*core.Session{bobs, anon} {
			if _, err := st.GetSession(ctx, s.ID); err != nil {
				t.Fatalf("another session was deleted: %v", err)
			}
		}
		if n, err := st.DeleteUserSessions(ctx, ann); err != nil || n != 0 {
			t.Fatalf("second DeleteUserSessions = %d, %v", n, err)
		}
	})

	t.Run("IdleTimeout", func(t *testing.T) {
		st := newStore(t, core.SessionTimeouts{Idle: 300 * time.Millisecond, Absolute: time.Hour})
		s := &core.Session{}
		if err := st.SaveSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetSession(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(450 * time.Millisecond)
		if _, err := st.GetSession(ctx, s.ID); core.ErrorCode(err) != core.ENotFound {
			t.Fatalf("idle session still there: %v", err)
		}
	})

	t.Run("AbsoluteTimeout", func(t *testing.T) {
		st := newStore(t, core.SessionTimeouts{Idle: time.Hour, Absolute: 300 * time.Millisecond})
		s := &core.Session{}
		if err := st.SaveSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			time.Sleep(150 * time.Millisecond)
			s.PreviewStageID = core.NewID() // activity does not extend the absolute limit
			_ = st.SaveSession(ctx, s)
		}
		if _, err := st.GetSession(ctx, s.ID); core.ErrorCode(err) != core.ENotFound {
			t.Fatalf("session past its absolute timeout: %v", err)
		}
	})

	t.Run("CSRF", func(t *testing.T) {
		st := newStore(t, long)
		a, b := &core.Session{}, &core.Session{}
		if err := st.SaveSession(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveSession(ctx, b); err != nil {
			t.Fatal(err)
		}
		ta, ta2 := a.NewCSRFToken(), a.NewCSRFToken()
		if ta == ta2 {
			t.Fatal("tokens are not masked: two tokens are equal")
		}
		if !a.CheckCSRFToken(ta) || !a.CheckCSRFToken(ta2) {
			t.Fatal("own tokens refused")
		}
		if b.CheckCSRFToken(ta) {
			t.Fatal("a token of another session accepted")
		}
		for _, bad := range []string{"", "x", ta[:len(ta)-1], ta + "A", "!" + ta[1:]} {
			if a.CheckCSRFToken(bad) {
				t.Errorf("malformed token %q accepted", bad)
			}
		}
	})
}

// RateLimiters runs the rate-limit contract; newLimiters returns two
// limiters sharing one backend (two nodes).
func RateLimiters(t *testing.T, newLimiters func(t *testing.T) (core.RateLimiter, core.RateLimiter)) {
	ctx := context.Background()

	t.Run("LimitAndRetry", func(t *testing.T) {
		l, _ := newLimiters(t)
		for i := range 3 {
			ok, _, err := l.Allow(ctx, "k", 3, time.Minute)
			if err != nil || !ok {
				t.Fatalf("event %d refused: %v", i, err)
			}
		}
		ok, retry, err := l.Allow(ctx, "k", 3, time.Minute)
		if err != nil || ok {
			t.Fatalf("4th event: ok=%v err=%v", ok, err)
		}
		if retry <= 0 || retry > time.Minute {
			t.Fatalf("retryAfter = %s, want in (0, 1m]", retry)
		}
		if ok, _, _ := l.Allow(ctx, "other", 3, time.Minute); !ok {
			t.Fatal("another key is limited too")
		}
	})

	t.Run("SlidingWindow", func(t *testing.T) {
		l, _ := newLimiters(t)
		w := 400 * time.Millisecond
		for range 2 {
			if ok, _, err := l.Allow(ctx, "s", 2, w); !ok || err != nil {
				t.Fatalf("refused: %v", err)
			}
		}
		ok, retry, _ := l.Allow(ctx, "s", 2, w)
		if ok {
			t.Fatal("3rd event allowed")
		}
		time.Sleep(retry + 50*time.Millisecond)
		if ok, _, err := l.Allow(ctx, "s", 2, w); !ok || err != nil {
			t.Fatalf("refused after retryAfter (%s): %v", retry, err)
		}
	})

	t.Run("SharedAcrossNodes", func(t *testing.T) {
		a, b := newLimiters(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		allowed := 0
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l := a
				if i%2 == 1 {
					l = b
				}
				ok, _, err := l.Allow(ctx, "shared", 7, time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if allowed != 7 {
			t.Fatalf("%d of 20 concurrent events allowed across two nodes, want 7", allowed)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		l, _ := newLimiters(t)
		for _, c := range []struct {
			key    string
			limit  int
			window time.Duration
		}{{"", 1, time.Second}, {"k", 0, time.Second}, {"k", 1, 0}, {string(make([]byte, 600)), 1, time.Second}} {
			if _, _, err := l.Allow(ctx, c.key, c.limit, c.window); core.ErrorCode(err) != core.EInvalid {
				t.Errorf("Allow(%q, %d, %s) = %v, want invalid", c.key, c.limit, c.window, err)
			}
		}
	})
}

// Caches runs the cache contract.
func Caches(t *testing.T, newCache func(t *testing.T) core.Cache) {
	ctx := context.Background()
	t.Run("SetGetDelete", func(t *testing.T) {
		c := newCache(t)
		if _, ok, err := c.GetCache(ctx, "a"); ok || err != nil {
			t.Fatalf("empty cache: ok=%v err=%v", ok, err)
		}
		if err := c.SetCache(ctx, "a", []byte("1"), 0); err != nil {
			t.Fatal(err)
		}
		v, ok, err := c.GetCache(ctx, "a")
		if !ok || err != nil || string(v) != "1" {
			t.Fatalf("got %q %v %v", v, ok, err)
		}
		if err := c.DeleteCache(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := c.GetCache(ctx, "a"); ok {
			t.Fatal("deleted entry still there")
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		c := newCache(t)
		if err := c.SetCache(ctx, "e", []byte("x"), 200*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := c.GetCache(ctx, "e"); !ok {
			t.Fatal("fresh entry missing")
		}
		time.Sleep(300 * time.Millisecond)
		if _, ok, _ := c.GetCache(ctx, "e"); ok {
			t.Fatal("expired entry still there")
		}
		if err := c.SetCache(ctx, "e", nil, -time.Second); core.ErrorCode(err) != core.EInvalid {
			t.Fatalf("negative ttl: %v", err)
		}
	})
}
