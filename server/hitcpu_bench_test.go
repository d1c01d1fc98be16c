package server_test

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trovato/trovato/server"
)

// BenchmarkCachedPageHTTP serves the demo item page from the page cache
// over HTTP on 127.0.0.1 under wrk (keep-alive, no Accept-Encoding, as
// BenchmarkSiteCache), then the same bytes as a static file from nginx,
// and reports the CPU time each costs per request: the server's (this
// process: net/http, the handler, syscalls), nginx's (its master and
// workers, from /proc) and wrk's own (the client, a waited-for child).
// CPU per request moves far less with the load of a shared machine than
// req/s does, and on a CPU-bound machine the req/s ratio follows it:
// "expected %" is (nginx + its wrk) / (trovato + its wrk).
// TROVATO_BENCH_LOG=1 logs every request as `trovato serve` does by
// default (text, info level; to a file). TROVATO_BENCH_CPUPROFILE=FILE writes the server's CPU profile of its
// measured run. TROVATO_BENCH_WRK overrides "-t2 -c32 -d5s".
func BenchmarkCachedPageHTTP(b *testing.B) {
	wrk, nginx, args := loadTools(b, "5s")
	opts := server.Options{}
	if os.Getenv("TROVATO_BENCH_LOG") != "" {
		// Request logs as `trovato serve` writes them by default (text,
		// info), to a file.
		f, err := os.Create(filepath.Join(b.TempDir(), "serve.log"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		opts.Logger = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	_, _, cached := cachedDemo(b, opts)
	siteBase := serveLoopback(b, cached)
	page := fetchPage(b, siteBase+benchPath)
	nginxURL, dir := nginxPage(b, nginx, page)
	nginxPID := nginxMaster(b, dir)
	siteURL := siteBase + benchPath
	runWrk(b, wrk, []string{"-t2", "-c32", "-d1s"}, siteURL) // warm
	runWrk(b, wrk, []string{"-t2", "-c32", "-d1s"}, nginxURL)

	b.ResetTimer()
	var prof *os.File
	if p := os.Getenv("TROVATO_BENCH_CPUPROFILE"); p != "" {
		var err error
		if prof, err = os.Create(p); err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(prof); err != nil {
			b.Fatal(err)
		}
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	self0, kids0 := rusage(b, syscall.RUSAGE_SELF), rusage(b, syscall.RUSAGE_CHILDREN)
	site := runWrk(b, wrk, args, siteURL)
	self1, kids1 := rusage(b, syscall.RUSAGE_SELF), rusage(b, syscall.RUSAGE_CHILDREN)
	runtime.ReadMemStats(&ms1)
	if prof != nil {
		pprof.StopCPUProfile()
		_ = prof.Close()
	}
	ng0 := treeCPU(b, nginxPID)
	static := runWrk(b, wrk, args, nginxURL)
	ng1, kids2 := treeCPU(b, nginxPID), rusage(b, syscall.RUSAGE_CHILDREN)
	b.StopTimer()

	per := func(d time.Duration, n int) float64 { return float64(d.Microseconds()) / float64(max(n, 1)) }
	siteCPU, siteWrk := per(self1-self0, site.requests), per(kids1-kids0, site.requests)
	ngCPU, ngWrk := per(ng1-ng0, static.requests), per(kids2-kids1, static.requests)
	var t strings.Builder
	fmt.Fprintf(&t, "\nGET %s (%d bytes), wrk %s on 127.0.0.1, %d CPUs, load %s\n", benchPath, len(page), strings.Join(args, " "), runtime.NumCPU(), loadAvg())
	fmt.Fprintf(&t, "%-28s %10s %12s %12s\n", "", "req/s", "server µs/req", "wrk µs/req")
	fmt.Fprintf(&t, "%-28s %10.0f %12.1f %12.1f\n", "trovato, cached", site.rps, siteCPU, siteWrk)
	fmt.Fprintf(&t, "%-28s %10.0f %12.1f %12.1f\n", "nginx, the page as a file", static.rps, ngCPU, ngWrk)
	allocs := float64(ms1.Mallocs-ms0.Mallocs) / float64(max(site.requests, 1))
	fmt.Fprintf(&t, "trovato: %.1f allocations per request (net/http's and the site's), %d GC cycles\n", allocs, ms1.NumGC-ms0.NumGC)
	fmt.Fprintf(&t, "req/s: trovato %.1f%% of nginx; by CPU per request (server + wrk): expected %.1f%%\n",
		100*site.rps/static.rps, 100*(ngCPU+ngWrk)/(siteCPU+siteWrk))
	fmt.Print(t.String())
	b.ReportMetric(siteCPU, "server-µs/req")
	b.ReportMetric(allocs, "server-allocs/req")
	b.ReportMetric(ngCPU, "nginx-µs/req")
	b.ReportMetric(100*(ngCPU+ngWrk)/(siteCPU+siteWrk), "expected-%-of-nginx")
	b.ReportMetric(100*site.rps/static.rps, "%-of-nginx")
	if site.errors > 0 || static.errors > 0 {
		b.Errorf("errors or non-2xx answers: trovato %d, nginx %d", site.errors, static.errors)
	}
}

// serveLoopback serves h on a free loopback port as `trovato serve` does
// (server.NewHTTPServer on server.Listener) until the benchmark ends, and
// returns its base URL.
func serveLoopback(tb testing.TB, h http.Handler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	hs := server.NewHTTPServer(ln.Addr().String(), h, slog.New(slog.DiscardHandler))
	go func() { _ = hs.Serve(server.Listener(ln)) }()
	tb.Cleanup(func() { _ = hs.Close() })
	return "http://" + ln.Addr().String()
}

func rusage(b *testing.B, who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// nginxMaster is the pid nginx wrote under dir.
func nginxMaster(b *testing.B, dir string) int {
	for range 100 {
		if s, err := os.ReadFile(filepath.Join(dir, "nginx.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(s))); err == nil {
				return pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatal("nginx wrote no pid file")
	return 0
}

// treeCPU is the CPU time (user + system) of pid and its children.
func treeCPU(b *testing.B, pid int) time.Duration {
	total := procCPU(b, pid)
	kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, f := range strings.Fields(string(kids)) {
		if k, err := strconv.Atoi(f); err == nil {
			total += procCPU(b, k)
		}
	}
	return total
}

func procCPU(b *testing.B, pid int) time.Duration {
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces): utime and
	// stime are the 14th and 15th fields of the line.
	rest := string(s[strings.LastIndexByte(string(s), ')')+2:])
	f := strings.Fields(rest)
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func loadAvg() string {
	s, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(s))
	return strings.Join(f[:3], " ")
}
