package desktop

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core/kernel"
)

// BenchmarkFirstRunSetup is the desktop's first-run setup of a new site
// on an empty data directory, with an empty plugin compilation cache:
// initdb and the private cluster, migrations, the starter structure and
// the reference plugins. It reports each phase (CreateSite's Phases) in
// ms, and the reference plugins' compile, install and enable, which run
// in the background after the setup returned (ms/plugins_background). build/bench-desktop.sh measures the same in the
// app.
//
//	go test ./desktop/ -run '^$' -bench FirstRunSetup -benchtime 3x
func BenchmarkFirstRunSetup(b *testing.B) {
	ctx := context.Background()
	sum := map[string]time.Duration{}
	var total, plugins time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := privateDir(b)
		cfg := Config{Kernel: kernel.DefaultConfig(dir)}
		cfg.Kernel.PluginCacheDir = filepath.Join(filepath.Dir(dir), "wasm")
		b.StartTimer()
		t0 := time.Now()
		site, err := CreateSite(ctx, cfg, NewSiteOptions{})
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
		b.StopTimer()
		for _, p := range site.Phases {
			sum[p.Name] += p.Took
		}
		// The reference plugins compile, install and enable after the
		// setup returned, in the background.
		if err := site.WaitPlugins(ctx); err != nil {
			b.Fatal(err)
		}
		plugins += site.PluginsTook()
		site.Close(ctx)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/setup")
	b.ReportMetric(float64(plugins.Milliseconds())/float64(b.N), "ms/plugins_background")
	for name, d := range sum {
		unit := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' {
				return r
			}
			return '_'
		}, strings.Fields(name)[0]+" "+strings.Fields(name)[1])
		b.ReportMetric(float64(d.Milliseconds())/float64(b.N), "ms/"+unit)
	}
}
