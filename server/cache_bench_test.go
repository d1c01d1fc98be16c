package server_test

import (
	"fmt"
	"net/http/httptest"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/trovato/trovato/server"
)

// BenchmarkSiteCache measures, with wrk on 127.0.0.1 in one run: a demo
// item page from the page cache (Redis behind the in-process tier), the
// front-page gather uncached and cached, a search (uncached), and nginx
// serving the item page as a static file. build/bench-cache.sh runs it.
func BenchmarkSiteCache(b *testing.B) {
	wrk, nginx, args := loadTools(b, "5s")
	_, plain, cached := cachedDemo(b, server.Options{})
	hsPlain := httptest.NewServer(plain)
	defer hsPlain.Close()
	// As `trovato serve` serves it (whole responses in one write).
	hsCached := struct{ URL string }{serveLoopback(b, cached)}

	page := fetchPage(b, hsCached.URL+benchPath)
	nginxURL, _ := nginxPage(b, nginx, page)

	cases := []struct{ name, url string }{
		{"item page, cached", hsCached.URL + benchPath},
		{"front-page gather, uncached", hsPlain.URL + "/"},
		{"front-page gather, cached", hsCached.URL + "/"},
		{"search ?q=staging, uncached", hsPlain.URL + "/search?q=staging"},
		{"nginx, the item page as a file", nginxURL},
	}
	for _, c := range cases {
		runWrk(b, wrk, []string{"-t2", "-c16", "-d1s"}, c.url) // warm
	}
	b.ResetTimer()
	results := make([]wrkResult, len(cases))
	for i, c := range cases {
		results[i] = runWrk(b, wrk, args, c.url)
	}
	b.StopTimer()
	var t strings.Builder
	fmt.Fprintf(&t, "\nwrk %s --latency on 127.0.0.1, %d CPUs\n", strings.Join(args, " "), runtime.NumCPU())
	fmt.Fprintf(&t, "%-34s %10s %10s %10s %9s\n", "", "req/s", "p50", "p99", "errors")
	for i, c := range cases {
		r := results[i]
		fmt.Fprintf(&t, "%-34s %10.0f %10s %10s %9d\n", c.name, r.rps, fmtMS(r.p50), fmtMS(r.p99), r.errors)
		if r.errors > 0 {
			b.Errorf("%s: %d errors or non-2xx answers", c.name, r.errors)
		}
	}
	fmt.Fprintf(&t, "cached item page: %.1f%% of nginx's rate\n", 100*results[0].rps/results[4].rps)
	// On a shared machine the load changes between the cases above; the
	// ratio is also taken from back-to-back pairs, alternating which goes
	// first, and the median of those is printed.
	short := []string{"-t2", "-c32", "-d2s"}
	var ratios []float64
	for i := range 5 {
		first, second := hsCached.URL+benchPath, nginxURL
		if i%2 == 1 {
			first, second = second, first
		}
		a, z := runWrk(b, wrk, short, first), runWrk(b, wrk, short, second)
		if i%2 == 1 {
			a, z = z, a
		}
		ratios = append(ratios, a.rps/z.rps)
	}
	sort.Float64s(ratios)
	fmt.Fprintf(&t, "cached item page over nginx, 5 alternating 2 s pairs: median %.1f%% (from %.1f%% to %.1f%%)\n",
		100*ratios[2], 100*ratios[0], 100*ratios[4])
	fmt.Print(t.String())
	b.ReportMetric(100*ratios[2], "cached-%-of-nginx")
	b.ReportMetric(results[0].rps, "cached-req/s")
	b.ReportMetric(results[0].p99*1000, "cached-p99-ms")
	b.ReportMetric(results[4].rps, "nginx-req/s")
}
