package api_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres/pgtest"
	"github.com/trovato/trovato/core/sitesync"
)

// newLocalSite is a fresh local site connected to p's server.
func (p *syncPair) newLocalSite(b *testing.B, opts sitesync.Options) (*kernel.Kernel, context.Context, *sitesync.Engine) {
	b.Helper()
	ctx := context.Background()
	cfg := kernel.DefaultConfig(b.TempDir())
	cfg.DatabaseURL = pgtest.NewDBURL(b)
	k, err := kernel.New(ctx, cfg, kernel.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { k.Close(context.Background()) })
	admin, err := k.AsUser(ctx, "admin")
	if err != nil {
		b.Fatal(err)
	}
	opts.Store, opts.TokenFile = k.Store, filepath.Join(cfg.DataDir, sitesync.TokenFileName)
	eng, err := sitesync.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := eng.Connect(ctx, p.ts.URL, p.token); err != nil {
		b.Fatal(err)
	}
	return k, admin, eng
}

// BenchmarkSyncPull10k pulls a 10,000-item site from a local server (over
// TCP, the real API) into an empty local site: items/s and the time of a
// whole pull.
func BenchmarkSyncPull10k(b *testing.B) {
	p := mustSyncPair(b, sitesync.Options{})
	p.srv.seedItems(b, 10000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		k, admin, eng := p.newLocalSite(b, sitesync.Options{BatchSize: 1000})
		b.StartTimer()
		res, err := eng.Pull(admin)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n := countLive(b, k); n != 10000 {
			b.Fatalf("pulled %d items (%+v)", n, res)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkSyncPush500 pushes a local stage of 500 new items to a server
// as one changeset.
func BenchmarkSyncPush500(b *testing.B) {
	p := mustSyncPair(b, sitesync.Options{})
	if _, err := p.eng.Pull(p.ladmin); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st := mustSyncStage(b, p.ladmin, p.local, fmt.Sprintf("bench-%d", i))
		for j := 0; j < 500; j++ {
			it := &core.Item{Type: "article", Title: fmt.Sprintf("Pushed %d", j), Status: core.StatusPublished}
			if err := p.local.Store.Items().CreateItem(p.ladmin, st.ID, it, ""); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		rep, err := p.eng.Push(p.ladmin, st.ID)
		if err != nil || !rep.Applied || rep.Entries != 500 {
			b.Fatalf("%+v %v", rep, err)
		}
	}
	b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "items/s")
}
