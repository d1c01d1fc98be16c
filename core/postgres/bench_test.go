package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

// benchSite is one database with 10,000 articles, shared by the benchmarks.
var (
	benchStore *postgres.Store
	benchCtx   context.Context
	benchIDs   []core.ID
)

// BenchmarkContent runs every content benchmark on one database with
// 10,000 articles of about 8 KB (the database lives as long as this
// benchmark).
func BenchmarkContent(b *testing.B) {
	setupBenchSite(b)
	setupBenchStage(b)
	b.Run("ItemCreate", benchItemCreate)
	b.Run("ItemLoadLive", benchItemLoadLive)
	b.Run("ItemLoadStage", benchItemLoadStage)
	b.Run("ListStage50of500Overrides", benchListStage50)
	b.Run("RevisionDiff8KB", benchRevisionDiff8KB)
	b.Run("Publish1000", benchPublish1000)
}

const benchItems = 10000

func benchBody(i int) string {
	// About 8 KB of Markdown.
	var b strings.Builder
	for b.Len() < 8000 {
		fmt.Fprintf(&b, "## Section %d\n\nParagraph %d of item %d: the quick brown fox jumps over the lazy dog.\n\n", b.Len(), b.Len()/80, i)
	}
	return b.String()
}

func setupBenchSite(b *testing.B) {
	b.Helper()
	{
		s := MustStore(b)
		ctx := asAdmin(b, s)
		mustPut(b, ctx, s, "vocabulary", "tags", `{"kind":"vocabulary","name":"tags","label":"Tags"}`)
		mustPut(b, ctx, s, "item_type", "article", `{"kind":"item_type","name":"article","label":"Article","fields":[{"name":"body","type":"long_text","format":"markdown"},{"name":"rating","type":"integer"}]}`)
		ids := make([]core.ID, benchItems)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < benchItems; i += 4 {
					f, _ := json.Marshal(map[string]any{"body": benchBody(i), "rating": i % 5})
					it := &core.Item{Type: "article", Title: fmt.Sprintf("Article %d", i), Fields: f}
					if err := s.Items().CreateItem(ctx, core.LiveStageID, it, ""); err != nil {
						errs <- err
						return
					}
					ids[i] = it.ID
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
		// Serve's indexer indexes new items after commit; start from an
		// indexed site.
		if _, err := s.IndexSearch(ctx); err != nil {
			b.Fatal(err)
		}
		benchStore, benchCtx, benchIDs = s, ctx, ids
	}
}

func mustBenchSite(b *testing.B) (*postgres.Store, context.Context, []core.ID) {
	return benchStore, benchCtx, benchIDs
}

// timed runs fn b.N times and reports p50 and p95 in µs.
func timed(b *testing.B, fn func(i int)) {
	b.Helper()
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		fn(i)
		durs = append(durs, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(durs[len(durs)*95/100].Microseconds()), "p95-µs")
}

func benchItemCreate(b *testing.B) {
	s, ctx, _ := mustBenchSite(b)
	f, _ := json.Marshal(map[string]any{"body": benchBody(0)})
	timed(b, func(i int) {
		if err := s.Items().CreateItem(ctx, core.LiveStageID, &core.Item{Type: "article", Title: "Bench", Fields: f}, ""); err != nil {
			b.Fatal(err)
		}
	})
}

func benchItemLoadLive(b *testing.B) {
	s, ctx, ids := mustBenchSite(b)
	timed(b, func(i int) {
		if _, err := s.Items().FindItemByID(ctx, core.LiveStageID, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
	})
}

var benchStageID core.ID

// setupBenchStage makes a stage with 500 overrides of live items.
func setupBenchStage(b *testing.B) {
	s, ctx, ids := mustBenchSite(b)
	{
		st := mustStage(b, ctx, s, "bench")
		for i := 0; i < 500; i++ {
			title := fmt.Sprintf("Staged %d", i)
			if _, err := s.Items().UpdateItem(ctx, st.ID, ids[i*7], core.ItemUpdate{Title: &title}); err != nil {
				b.Fatal(err)
			}
		}
		benchStageID = st.ID
	}
}

func mustBenchStage(b *testing.B) (*postgres.Store, context.Context, []core.ID, core.ID) {
	return benchStore, benchCtx, benchIDs, benchStageID
}

func benchItemLoadStage(b *testing.B) {
	s, ctx, ids, st := mustBenchStage(b)
	timed(b, func(i int) {
		if _, err := s.Items().FindItemByID(ctx, st, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
	})
}

func benchListStage50(b *testing.B) {
	s, ctx, _, st := mustBenchStage(b)
	timed(b, func(i int) {
		items, _, err := s.Items().FindItems(ctx, core.ItemFilter{StageID: st, Limit: 50, Offset: (i % 20) * 50})
		if err != nil || len(items) != 50 {
			b.Fatal(err, len(items))
		}
	})
}

func benchRevisionDiff8KB(b *testing.B) {
	s, ctx, ids := mustBenchSite(b)
	it, _ := s.Items().FindItemByID(ctx, core.LiveStageID, ids[1])
	// The sub-benchmark runs more than once: make each run's edit unique.
	f, _ := json.Marshal(map[string]any{"body": strings.Replace(benchBody(1), "lazy", fmt.Sprintf("sleepy-%d", time.Now().UnixNano()), 20), "rating": 4})
	up, err := s.Items().UpdateItem(ctx, core.LiveStageID, it.ID, core.ItemUpdate{Fields: f})
	if err != nil {
		b.Fatal(err)
	}
	timed(b, func(i int) {
		a, err := s.Items().FindRevisionByID(ctx, it.RevisionID)
		if err != nil {
			b.Fatal(err)
		}
		c, err := s.Items().FindRevisionByID(ctx, up.RevisionID)
		if err != nil {
			b.Fatal(err)
		}
		if len(core.DiffJSON("", a.Doc, c.Doc)) == 0 {
			b.Fatal("no diff")
		}
	})
}

func benchPublish1000(b *testing.B) {
	s, ctx, ids := mustBenchSite(b)
	var durs, index []time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		st := mustStage(b, ctx, s, fmt.Sprintf("pub%d-%d", b.N, n))
		for i := 0; i < 1000; i++ {
			title := fmt.Sprintf("Published %d/%d/%d", b.N, n, i)
			if _, err := s.Items().UpdateItem(ctx, st.ID, ids[(i*9+n)%len(ids)], core.ItemUpdate{Title: &title}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		t0 := time.Now()
		rep, err := s.Stages().PublishStage(ctx, st.ID, core.PublishOptions{})
		durs = append(durs, time.Since(t0))
		if err != nil || !rep.Applied {
			b.Fatal(err, rep)
		}
		// The search vectors are computed after commit (serve's indexer).
		b.StopTimer()
		t0 = time.Now()
		if _, err := s.IndexSearch(ctx); err != nil {
			b.Fatal(err)
		}
		index = append(index, time.Since(t0))
		b.StartTimer()
	}
	b.StopTimer()
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	sort.Slice(index, func(i, j int) bool { return index[i] < index[j] })
	b.ReportMetric(float64(durs[len(durs)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(index[len(index)/2].Milliseconds()), "index-after-p50-ms")
}

// BenchmarkFile1GB streams a 1 GiB file into the blob store and back,
// reporting throughput and the peak heap.
func BenchmarkFile1GB(b *testing.B) {
	s, ctx := MustSite(b)
	files := s.Files(postgres.FileLimits{MaxSize: 2 << 30, Allowed: []string{"application/octet-stream"}})
	const size = 1 << 30
	var peak uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak {
					peak = m.HeapInuse
				}
			}
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		f, err := files.CreateFile(ctx, "big.bin", &patternReader{left: size})
		if err != nil {
			b.Fatal(err)
		}
		write := time.Since(t0)
		_, rc, err := files.OpenFile(ctx, f.ID)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if n, err := io.Copy(io.Discard, rc); err != nil || n != size {
			b.Fatal(n, err)
		}
		b.ReportMetric(float64(size>>20)/write.Seconds(), "write-MiB/s")
		b.ReportMetric(float64(size>>20)/time.Since(t1).Seconds(), "read-MiB/s")
	}
	b.StopTimer()
	close(stop)
	<-done
	b.ReportMetric(float64(peak>>20), "peak-heap-MiB")
}
