package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/core/redis/redistest"
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

// benchPath is the demo article the site bench loads: Markdown body,
// image, category, tags, the main menu and breadcrumbs.
const benchPath = "/articles/staging-a-whole-site"

// loadTools finds wrk and nginx (skipping the benchmark when one is
// missing) and returns wrk's arguments: TROVATO_BENCH_WRK, else two
// threads, 32 connections for the given duration.
func loadTools(b *testing.B, duration string) (wrk, nginx string, args []string) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk is missing (build/deps.sh bench installs it)")
	}
	if nginx = findNginx(); nginx == "" {
		b.Skip("nginx is missing (build/deps.sh bench installs nginx-light)")
	}
	if args = strings.Fields(os.Getenv("TROVATO_BENCH_WRK")); len(args) == 0 {
		args = []string{"-t2", "-c32", "-d" + duration}
	}
	return wrk, nginx, args
}

// BenchmarkSite loads the demo and measures one item page over HTTP on
// 127.0.0.1 with wrk: served by trovato as `trovato serve` serves it
// (rendered on every request, no page cache), then the same bytes as a
// static file served by nginx, in the same run. It prints a table and reports trovato's figures. It runs
// once whatever b.N is (wrk decides the number of requests); it skips
// when wrk or nginx is missing (build/deps.sh bench installs them).
// TROVATO_BENCH_WRK overrides the wrk arguments (default "-t2 -c32 -d10s").
func BenchmarkSite(b *testing.B) {
	wrk, nginx, args := loadTools(b, "10s")
	_, _, srv := demoSite(b, server.Options{})
	hs := struct{ URL string }{serveLoopback(b, srv)} // as `trovato serve` serves it
	page := fetchPage(b, hs.URL+benchPath)

	nginxURL, _ := nginxPage(b, nginx, page)
	if got := fetchPage(b, nginxURL); !bytes.Equal(got, page) {
		b.Fatalf("nginx serves %d bytes, the site %d", len(got), len(page))
	}

	// Warm up the server (connection pool, plugin pools, memos), then
	// measure it, then nginx.
	runWrk(b, wrk, []string{"-t2", "-c32", "-d2s"}, hs.URL+benchPath)
	b.ResetTimer()
	site := runWrk(b, wrk, args, hs.URL+benchPath)
	static := runWrk(b, wrk, args, nginxURL)
	b.StopTimer()

	var t strings.Builder
	fmt.Fprintf(&t, "\nGET %s (%d bytes), wrk %s --latency on 127.0.0.1, %d CPUs\n", benchPath, len(page), strings.Join(args, " "), runtime.NumCPU())
	fmt.Fprintf(&t, "%-34s %10s %10s %10s %9s\n", "", "req/s", "p50", "p99", "errors")
	for _, r := range []struct {
		name string
		wrkResult
	}{{"trovato, uncached", site}, {"nginx, the same page as a file", static}} {
		fmt.Fprintf(&t, "%-34s %10.0f %10s %10s %9d\n", r.name, r.rps, fmtMS(r.p50), fmtMS(r.p99), r.errors)
	}
	fmt.Fprintf(&t, "trovato serves %.1f%% of nginx's rate\n", 100*site.rps/static.rps)
	fmt.Print(t.String())
	b.ReportMetric(site.rps, "req/s")
	b.ReportMetric(site.p50*1000, "p50-ms")
	b.ReportMetric(site.p99*1000, "p99-ms")
	b.ReportMetric(static.rps, "nginx-req/s")
	if site.errors > 0 {
		b.Errorf("trovato: %d errors or non-2xx answers", site.errors)
	}
}

func findNginx() string {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/nginx", "/sbin/nginx"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func fetchPage(b *testing.B, url string) []byte {
	b.Helper()
	res, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: status %d", url, res.StatusCode)
	}
	return body
}

// nginxPage serves page as a static file at benchPath from nginx
// (startNginx) and returns its URL and nginx's folder.
func nginxPage(b *testing.B, nginx string, page []byte) (url, dir string) {
	b.Helper()
	dir = b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "www", filepath.Dir(benchPath)), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "www", benchPath+".html"), page, 0o644); err != nil {
		b.Fatal(err)
	}
	return startNginx(b, nginx, dir) + benchPath, dir
}

// cachedDemo is the demo site with the page cache `trovato serve` has
// (Redis behind the in-process tier): its kernel, its handler without a
// page cache, and one with it (opts, PageCache set).
func cachedDemo(b *testing.B, opts server.Options) (*kernel.Kernel, *server.Server, *server.Server) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	c, prefix := redistest.New(b)
	local := redis.NewLocalTier(ctx, redis.NewTagCache(c, prefix), 10000)
	b.Cleanup(local.Close)
	k, _, plain := demoSite(b, server.Options{})
	opts.PageCache = local
	cached, err := server.New(k, opts)
	if err != nil {
		b.Fatal(err)
	}
	return k, plain, cached
}

// startNginx runs nginx as the current user on a free loopback port with
// a generated config under dir, serving dir/www; it stops at cleanup.
func startNginx(b *testing.B, nginx, dir string) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// As root, nginx's workers would switch to nobody, who cannot read
	// the temporary directory: keep them as the current user.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root root;"
	}
	conf := fmt.Sprintf(`daemon off;
%[3]s
worker_processes 2;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[1]s/tmp/body;
  proxy_temp_path %[1]s/tmp/proxy;
  fastcgi_temp_path %[1]s/tmp/fastcgi;
  uwsgi_temp_path %[1]s/tmp/uwsgi;
  scgi_temp_path %[1]s/tmp/scgi;
  types { text/html html; }
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  server {
    listen %[2]s;
    root %[1]s/www;
    location / { try_files $uri $uri.html =404; }
  }
}
`, dir, addr, user)
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		b.Fatal(err)
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"))
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt) // SIGINT: fast shutdown
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case err := <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			b.Fatalf("nginx stopped: %v\n%s%s", err, stderr.String(), log)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			b.Fatalf("nginx does not listen on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type wrkResult struct {
	rps      float64
	p50, p99 float64 // seconds
	errors   int
	requests int // completed in the run
}

var (
	reRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reLatency = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.0+)?%\s+([0-9.]+)(us|ms|s)\s*$`)
	reCount   = regexp.MustCompile(`(\d+) requests in`)
	reErrors  = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)|Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func runWrk(b *testing.B, wrk string, args []string, url string) wrkResult {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	full := append(append([]string{}, args...), "--latency", url)
	out, err := exec.CommandContext(ctx, wrk, full...).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk %s: %v\n%s", strings.Join(full, " "), err, out)
	}
	var r wrkResult
	m := reRPS.FindSubmatch(out)
	if m == nil {
		b.Fatalf("wrk output without Requests/sec:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	if m := reCount.FindSubmatch(out); m != nil {
		r.requests, _ = strconv.Atoi(string(m[1]))
	}
	for _, m := range reLatency.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		switch string(m[3]) {
		case "us":
			v /= 1e6
		case "ms":
			v /= 1e3
		}
		if string(m[1]) == "50" {
			r.p50 = v
		} else {
			r.p99 = v
		}
	}
	for _, m := range reErrors.FindAllSubmatch(out, -1) {
		for _, g := range m[1:] {
			n, _ := strconv.Atoi(string(g))
			r.errors += n
		}
	}
	return r
}

func fmtMS(s float64) string {
	return strconv.FormatFloat(s*1000, 'f', 2, 64) + " ms"
}
