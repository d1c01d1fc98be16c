package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/core/redis/redistest"
	"github.com/trovato/trovato/server"
)

// discardWriter is a ResponseWriter that keeps only the status: the
// handler's own cost, without a recorder's buffering.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }

// BenchmarkCachedPage serves the demo's item page from the page cache
// (Redis behind the in-process tier) through the whole handler, as an
// anonymous visitor asking for brotli: the hot path of a cached site.
func BenchmarkCachedPage(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, prefix := redistest.New(b)
	local := redis.NewLocalTier(ctx, redis.NewTagCache(c, prefix), 10000)
	defer local.Close()
	k, _, _ := demoSite(b, server.Options{})
	srv, err := server.New(k, server.Options{PageCache: local})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, benchPath, nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	for range 2 {
		srv.ServeHTTP(&discardWriter{h: http.Header{}}, req)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := &discardWriter{h: http.Header{}}
			srv.ServeHTTP(w, req)
			if w.status != http.StatusOK || w.h.Get(server.CacheHeader) != "hit" {
				b.Errorf("status %d, cache %q", w.status, w.h.Get(server.CacheHeader))
				return
			}
		}
	})
	// CPU time says more than wall time on a machine shared with others.
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the CPU time the process used so far (user + system).
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
