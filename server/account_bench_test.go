package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/core/redis/redistest"
	"github.com/trovato/trovato/server"
)

// BenchmarkSessionMiddleware measures what a signed-in visitor costs over
// an anonymous one on the same route: reading the session (serve's
// redis.SessionTier: Redis once per trust interval, else the process's
// copy), its user and session epoch (kernel.SessionUsers: PostgreSQL on a
// miss) and the authorizer's checks. It reports p50 and p95 of each, the
// p50 overhead and how many session reads reached Redis, for /healthz (the
// middleware alone) and an item page.
func BenchmarkSessionMiddleware(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	rc, prefix := redistest.New(b)
	tier := redis.NewSessionTier(ctx, redis.NewSessionStore(rc, prefix, core.SessionTimeouts{}), redis.SessionTierOptions{})
	b.Cleanup(tier.Close)
	s := newSite(b, server.Options{Sessions: tier})
	// As serve runs it: signed-in users cached while subscribed to the
	// invalidation channel.
	done := make(chan struct{})
	go func() { s.k.SessionUsers.Follow(ctx, s.redis, s.prefix, nil); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(5 * time.Second); !s.k.SessionUsers.Caching() || !tier.Subscribed(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the session user cache or the session tier never subscribed")
		}
	}
	epoch, err := s.k.Accounts.SessionEpoch(ctx, core.AdminUserID)
	if err != nil {
		b.Fatal(err)
	}
	sess := &core.Session{UserID: core.AdminUserID, Epoch: epoch}
	if err := s.srv.Sessions().SaveSession(ctx, sess); err != nil {
		b.Fatal(err)
	}
	cookie := server.SessionCookie + "=" + sess.ID
	for _, path := range []string{"/healthz", "/blog/hello-world"} {
		b.Run(path, func(b *testing.B) {
			run := func(cookie string) []time.Duration {
				d := make([]time.Duration, 0, b.N)
				for range b.N {
					req := httptest.NewRequest(http.MethodGet, path, nil)
					if cookie != "" {
						req.Header.Set("Cookie", cookie)
					}
					rec := httptest.NewRecorder()
					start := time.Now()
					s.srv.ServeHTTP(rec, req)
					d = append(d, time.Since(start))
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d", rec.Code)
					}
				}
				slices.Sort(d)
				return d
			}
			run("") // warm up
			b.ResetTimer()
			anon := run("")
			reads := tier.Reads()
			signed := run(cookie)
			reads = tier.Reads() - reads
			pct := func(d []time.Duration, p float64) float64 {
				return float64(d[int(float64(len(d)-1)*p)].Nanoseconds()) / 1e3
			}
			b.ReportMetric(pct(anon, .5), "anon-p50-µs")
			b.ReportMetric(pct(signed, .5), "signed-p50-µs")
			b.ReportMetric(pct(signed, .95), "signed-p95-µs")
			b.ReportMetric(pct(signed, .5)-pct(anon, .5), "overhead-p50-µs")
			b.ReportMetric(float64(reads), "session-redis-reads")
			if b.N > 100 {
				fmt.Printf("%-20s anon p50 %7.1f µs  signed-in p50 %7.1f µs  p95 %7.1f µs  overhead p50 %6.1f µs  session reads from Redis %d of %d\n",
					path, pct(anon, .5), pct(signed, .5), pct(signed, .95), pct(signed, .5)-pct(anon, .5), reads, len(signed))
			}
		})
	}
}
