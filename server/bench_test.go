package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/trovato/trovato/server"
)

// BenchmarkItemPage renders an aliased item page (menu, breadcrumbs,
// image, tags) uncached through the whole handler, on real PostgreSQL.
func BenchmarkItemPage(b *testing.B) {
	s := newSite(b, server.Options{})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			s.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/blog/hello-world", nil))
			if rec.Code != http.StatusOK {
				b.Errorf("status %d", rec.Code)
				return
			}
		}
	})
}
