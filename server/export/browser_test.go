package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/server"
	"github.com/trovato/trovato/server/export"
)

var browserDir = filepath.Join("..", "..", "build", "browser")

// requireBrowser fails in CI and skips elsewhere when the browser tools
// (build/deps.sh test) are missing.
func requireBrowser(t *testing.T) {
	t.Helper()
	var missing []string
	for _, c := range []string{"node", "python3"} {
		if _, err := exec.LookPath(c); err != nil {
			missing = append(missing, c)
		}
	}
	chromium := os.Getenv("TROVATO_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, "chromium")
	}
	if _, err := os.Stat(filepath.Join(browserDir, "node_modules", "playwright-core")); err != nil {
		missing = append(missing, "playwright-core (npm ci in build/browser)")
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("missing %s: run build/deps.sh test", strings.Join(missing, ", "))
	}
	t.Skipf("missing %s", strings.Join(missing, ", "))
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// node runs a script with a JSON input file and decodes its JSON output.
func node(t *testing.T, script string, input, out any) {
	t.Helper()
	in, _ := json.Marshal(input)
	f := filepath.Join(t.TempDir(), "input.json")
	if err := os.WriteFile(f, in, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script, f)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stdout.String())
	}
}

var reRef = regexp.MustCompile(`(?:href|src|action)="([^"]+)"`)

// TestStaticSiteInBrowser serves the demo's export with python3 -m
// http.server and checks it as a visitor would: every link and asset of
// every page resolves, axe-core finds no serious violation, and the
// islands load from the dynamic server (CORS) — or stay plain links to it
// when it is down.
func TestStaticSiteInBrowser(t *testing.T) {
	requireBrowser(t)
	k, admin := demoKernel(t)
	ctx := context.Background()
	site, err := server.New(k, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dyn := httptest.NewServer(site)
	defer dyn.Close()
	port := freePort(t)
	static := fmt.Sprintf("http://127.0.0.1:%d", port)

	doc, err := k.Store.Config().FindConfig(ctx, "site", "site")
	if err != nil {
		t.Fatal(err)
	}
	var settings map[string]any
	if err := json.Unmarshal(doc.Body, &settings); err != nil {
		t.Fatal(err)
	}
	settings["base_url"], settings["island_origin"] = static, dyn.URL
	body, _ := json.Marshal(settings)
	if _, err := k.Store.Config().PutConfig(admin, "site", "site", body, doc.Version); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mustExport(t, k, dir)

	py := exec.Command("python3", "-m", "http.server", fmt.Sprint(port), "--bind", "127.0.0.1", "--directory", dir)
	if err := py.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = py.Process.Kill(); _ = py.Wait() }()
	for i := 0; ; i++ {
		if res, err := http.Get(static + "/"); err == nil {
			res.Body.Close()
			break
		}
		if i > 100 {
			t.Fatal("python3 -m http.server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// CORS on /_island/: the static site's origin, and no other.
	for origin, want := range map[string]string{static: static, "http://evil.example": ""} {
		req, _ := http.NewRequest(http.MethodGet, dyn.URL+"/_island/user-menu?path=/", nil)
		req.Header.Set("Origin", origin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != want || res.StatusCode != http.StatusOK {
			t.Errorf("island for Origin %s: %d, Access-Control-Allow-Origin %q, want %q", origin, res.StatusCode, got, want)
		}
	}

	// Every reference of every exported HTML file resolves on the static
	// server (redirect pages lead to the dynamic server's pages).
	m, _, err := export.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	checked := map[string]bool{}
	var pages []string
	for _, rel := range m.Paths() {
		if !strings.HasSuffix(rel, ".html") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		if en := m.Files[rel]; en.Kind == export.KindPage {
			pages = append(pages, static+en.URL)
		}
		for _, mm := range reRef.FindAllSubmatch(b, -1) {
			ref := strings.ReplaceAll(string(mm[1]), "&amp;", "&")
			switch {
			case strings.HasPrefix(ref, "/") && !strings.HasPrefix(ref, "//"):
				ref = static + ref
			case strings.HasPrefix(ref, static), strings.HasPrefix(ref, dyn.URL):
			default:
				continue // fragments, other sites
			}
			if i := strings.IndexByte(ref, '#'); i >= 0 {
				ref = ref[:i]
			}
			if checked[ref] {
				continue
			}
			checked[ref] = true
			res, err := http.Get(ref)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Errorf("%s links to %s: %d", rel, ref, res.StatusCode)
			}
		}
	}
	if len(checked) < 50 || len(pages) < 20 {
		t.Fatalf("checked %d references on %d pages", len(checked), len(pages))
	}

	// axe-core on a sample of pages (each kind of page once).
	sample := []string{static + "/", static + "/articles/page/2", static + "/404.html"}
	for _, p := range pages {
		if strings.Contains(p, "/articles/") && len(sample) < 4 || strings.Contains(p, "/term/") && len(sample) < 5 {
			sample = append(sample, p)
		}
	}
	var axe struct {
		Pages []struct {
			URL        string `json:"url"`
			Status     int    `json:"status"`
			Error      string `json:"error"`
			Violations []struct {
				ID, Impact, Help string
			} `json:"violations"`
		} `json:"pages"`
		Aborted []string `json:"aborted"`
	}
	node(t, filepath.Join(browserDir, "axe.mjs"), map[string]any{"urls": sample}, &axe)
	for _, p := range axe.Pages {
		if p.Status != http.StatusOK && !strings.HasSuffix(p.URL, "/404.html") || p.Error != "" {
			t.Errorf("%s: status %d %s", p.URL, p.Status, p.Error)
		}
		for _, v := range p.Violations {
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Errorf("%s: axe %s (%s): %s", p.URL, v.ID, v.Impact, v.Help)
			}
		}
	}
	if len(axe.Aborted) > 0 {
		t.Errorf("requests beyond loopback: %v", axe.Aborted)
	}

	// Islands: loaded from the dynamic server, their links pointing there.
	var isl struct {
		Islands, Loaded int
		Hrefs           []string
		Errors          []string
	}
	article := sample[3]
	node(t, filepath.Join("testdata", "islands.mjs"), map[string]any{"url": article}, &isl)
	t.Logf("%s: %d references checked on %d pages; axe on %d pages; islands %+v", static, len(checked), len(pages), len(axe.Pages), isl)
	if isl.Islands < 2 || isl.Loaded != isl.Islands || len(isl.Errors) > 0 {
		t.Errorf("%s: %d of %d islands loaded, errors %v", article, isl.Loaded, isl.Islands, isl.Errors)
	}
	for _, h := range isl.Hrefs {
		if !strings.HasPrefix(h, dyn.URL+"/") {
			t.Errorf("island link %q does not lead to the dynamic server", h)
		}
	}
	// The dynamic server down: plain links to it.
	dyn.Close()
	isl.Hrefs = nil
	node(t, filepath.Join("testdata", "islands.mjs"), map[string]any{"url": article, "wait": 1500}, &isl)
	t.Logf("dynamic server down: %+v", isl)
	if isl.Loaded != 0 || len(isl.Hrefs) < isl.Islands {
		t.Errorf("dynamic server down: %d islands loaded, links %v", isl.Loaded, isl.Hrefs)
	}
	for _, h := range isl.Hrefs {
		if !strings.HasPrefix(h, dyn.URL+"/") {
			t.Errorf("fallback link %q does not lead to the dynamic server", h)
		}
	}
}
