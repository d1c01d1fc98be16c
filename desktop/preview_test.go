package desktop

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var reLoc = regexp.MustCompile(`<loc>([^<]+)</loc>`)

// TestOfflinePreview compares, for every URL of the demo site's sitemap,
// the sitemap itself, the feeds the front page links to, a search and a
// page that does not exist, the response of the handler the window gets
// with the response of `trovato serve` over TCP on the same database:
// same status, same body, byte for byte.
func TestOfflinePreview(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs trovato serve: not with -short")
	}
	t.Parallel()
	a := MustApp(t, true)
	cfg := a.cfg.Kernel

	bin := filepath.Join(t.TempDir(), "trovato")
	build := exec.Command("go", "build", "-o", bin, "./server/cmd/trovato")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build trovato: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dataDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	serve := exec.CommandContext(ctx, bin, "serve", "--addr", addr, "--data-dir", dataDir, "--database-url", cfg.DatabaseURL)
	serve.Env = appEnv()
	var log bytes.Buffer
	serve.Stdout, serve.Stderr = &log, &log
	serve.Cancel = func() error { return serve.Process.Signal(os.Interrupt) }
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = serve.Wait()
	})
	base := "http://" + addr
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := 0; ; i++ {
		res, err := client.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if i > 300 {
			t.Fatalf("trovato serve did not get ready: %v\n%s", err, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	local := func(p string) (int, []byte) {
		res, body := do(t, a, "GET", p, "", "", nil)
		return res.StatusCode, []byte(body)
	}
	remote := func(p string) (int, []byte) {
		res, err := client.Get(base + p)
		if err != nil {
			t.Fatalf("GET %s over TCP: %v", p, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}

	code, sitemap := local("/sitemap.xml")
	if code != 200 {
		t.Fatalf("sitemap: %d", code)
	}
	paths := []string{"/sitemap.xml", "/no-such-page-" + fmt.Sprint(time.Now().UnixNano()), "/search?q=spring"}
	for _, m := range reLoc.FindAllSubmatch(sitemap, -1) {
		u, err := url.Parse(string(m[1]))
		if err != nil {
			t.Fatalf("sitemap URL %q: %v", m[1], err)
		}
		paths = append(paths, u.RequestURI())
	}
	if len(paths) < 10 {
		t.Fatalf("the demo sitemap lists only %d URLs", len(paths)-3)
	}
	_, front := local("/")
	for _, m := range regexp.MustCompile(`<link rel="alternate"[^>]*href="(/[^"]+)"`).FindAllSubmatch(front, -1) {
		paths = append(paths, string(m[1]))
	}

	notFound := 0
	for _, p := range paths {
		lc, lb := local(p)
		var rc int
		var rb []byte
		// The server loads its plugins while it already answers; a page
		// it rendered before they were loaded is asked for again.
		for try := 0; ; try++ {
			rc, rb = remote(p)
			if (rc == lc && bytes.Equal(lb, rb)) || try == 10 {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		if lc == 404 {
			notFound++
		}
		if rc != lc {
			t.Errorf("%s: the window got %d, trovato serve %d", p, lc, rc)
			continue
		}
		if !bytes.Equal(lb, rb) {
			t.Errorf("%s: bodies differ (%d and %d bytes) at %s", p, len(lb), len(rb), firstDiff(lb, rb))
		}
	}
	if notFound != 1 {
		t.Errorf("%d of the compared pages were 404, want only the made-up one", notFound)
	}
	t.Logf("compared %d URLs", len(paths))
}

// firstDiff shows where a and b part.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-60)
	cut := func(x []byte) string { return strings.ReplaceAll(string(x[from:min(len(x), i+60)]), "\n", "⏎") }
	return fmt.Sprintf("byte %d:\n  window: %q\n  serve:  %q", i, cut(a), cut(b))
}
