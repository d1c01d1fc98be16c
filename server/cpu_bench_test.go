package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/trovato/trovato/server"
)

// BenchmarkItemPageCPU is BenchmarkItemPage run serially, reporting the
// CPU time of this process per page (cpu-ns/op: the server's own work,
// without PostgreSQL's), which other load on the machine barely changes,
// unlike ns/op.
func BenchmarkItemPageCPU(b *testing.B) {
	s := newSite(b, server.Options{})
	b.ReportAllocs()
	b.ResetTimer()
	start := processCPU(b)
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		s.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/blog/hello-world", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkDemoArticleCPU is the page build/bench-site.sh loads (the demo
// article, through its plugin taps, no page cache) rendered serially,
// reporting this process's CPU time per page.
func BenchmarkDemoArticleCPU(b *testing.B) {
	_, _, srv := demoSite(b, server.Options{})
	b.ReportAllocs()
	b.ResetTimer()
	start := processCPU(b)
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, benchPath, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
}
