package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
)

// latencies records one duration per request and reports p50 and p95.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	b.ReportMetric(float64(l[len(l)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(l[len(l)*95/100].Microseconds())/1000, "p95-ms")
}

func (e *env) mustDo(b *testing.B, method, path, body string, want int) []byte {
	var raw []byte
	ctype := ""
	if body != "" {
		raw, ctype = []byte(body), "application/json"
	}
	res := e.do(method, path, ctype, raw, "admin", true)
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		b.Fatalf("%s %s: %d: %s", method, path, res.StatusCode, out)
	}
	return out
}

// seedItems creates n articles in live, eight writers at a time.
func (e *env) seedItems(b *testing.B, n int) []*core.Item {
	out := make([]*core.Item, n)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				it := &core.Item{Type: "article", Title: fmt.Sprintf("Item %05d", i), Status: core.StatusPublished,
					Fields: json.RawMessage(`{"body":"Some text for item ` + fmt.Sprint(i) + `."}`)}
				if err := e.k.Store.Items().CreateItem(e.admin, core.LiveStageID, it, ""); err != nil {
					errs <- err
					return
				}
				out[i] = it
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkAPI measures, through the handler with a signed-in session:
// listing 50 of 10,000 items, saving an item, and the diff of a stage
// with 100 changes. `make bench` prints the p50/p95 columns.
func BenchmarkAPI(b *testing.B) {
	e := mustEnv(b, 1<<30)
	items := e.seedItems(b, 10000)

	b.Run("ListItems50of10000", func(b *testing.B) {
		var lat latencies
		for i := 0; b.Loop(); i++ {
			start := time.Now()
			e.mustDo(b, "GET", "/items?type=article&limit=50", "", http.StatusOK)
			lat = append(lat, time.Since(start))
		}
		lat.report(b)
	})

	b.Run("SaveItem", func(b *testing.B) {
		it := items[0]
		rev := it.RevisionID.String()
		var lat latencies
		for i := 0; b.Loop(); i++ {
			start := time.Now()
			out := e.mustDo(b, "PATCH", "/items/"+it.ID.String(), fmt.Sprintf(`{"base_revision_id":%q,"title":"Saved %d","fields":{"body":"Body %d"}}`, rev, i, i), http.StatusOK)
			lat = append(lat, time.Since(start))
			var saved core.Item
			if err := json.Unmarshal(out, &saved); err != nil {
				b.Fatal(err)
			}
			rev = saved.RevisionID.String()
		}
		lat.report(b)
	})

	b.Run("StageDiff100", func(b *testing.B) {
		e.mustDo(b, "POST", "/stages", `{"name":"bench"}`, http.StatusCreated)
		for _, it := range items[100:200] {
			if _, err := e.k.Store.Items().UpdateItem(e.admin, mustStage(b, e, "bench"), it.ID, core.ItemUpdate{Title: ptr("Staged " + it.Title)}); err != nil {
				b.Fatal(err)
			}
		}
		var lat latencies
		for b.Loop() {
			start := time.Now()
			out := e.mustDo(b, "GET", "/stages/bench/diff?limit=200", "", http.StatusOK)
			lat = append(lat, time.Since(start))
			var p struct {
				Items []json.RawMessage `json:"items"`
			}
			if err := json.Unmarshal(out, &p); err != nil || len(p.Items) != 100 {
				b.Fatalf("%d changes, want 100 (%v)", len(p.Items), err)
			}
		}
		lat.report(b)
	})
}

func mustStage(b *testing.B, e *env, name string) core.ID {
	st, err := e.k.Store.Stages().FindStage(e.admin, name)
	if err != nil {
		b.Fatal(err)
	}
	return st.ID
}

func ptr[T any](v T) *T { return &v }
