package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/server"
)

// BenchmarkListingCommentsCPU builds a gather page of 10 articles with 3
// comments each (no page cache), serially, reporting this process's CPU
// time per page: the cost of the listing with its comment counts (one
// query for the page's counts).
func BenchmarkListingCommentsCPU(b *testing.B) {
	s := newSite(b, server.Options{})
	s.put("gather", "articles", `{"kind":"gather","name":"articles","label":"Articles","types":["article"],
		"filters":[{"field":"status","op":"eq","value":"published"}],
		"sorts":[{"field":"title"}], "pager":{"per_page":10},
		"displays":[{"name":"page","type":"page","path":"/articles"}]}`)
	for i := range 10 {
		it := s.newItem(core.LiveStageID, &core.Item{Type: "article", Title: fmt.Sprintf("A %02d", i), Fields: json.RawMessage(`{}`)})
		for range 3 {
			if err := s.k.Store.CreateComment(s.admin, &postgres.Comment{ItemID: it.ID, Body: "Words"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	rec := httptest.NewRecorder()
	s.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/articles", nil))
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d", rec.Code)
	}
	counted := strings.Contains(rec.Body.String(), "3 comments</a>")
	b.ReportAllocs()
	b.ResetTimer()
	start := processCPU(b)
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		s.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/articles", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
	if !counted {
		b.Log("the page shows no comment counts (a build without them)")
	}
}
