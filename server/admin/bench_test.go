package admin_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// BenchmarkEditorTTI measures the editor's time to interactive, cold, in
// Debian's Chromium (frontend/e2e/tti.mjs: a fresh browser context per
// load, 1024×768, no throttling) against the site, API and embedded build
// on a fresh demo database, and the size of the build gzipped. Reported:
// p50 and p95 of the content list and of the item editor (with
// CodeMirror), first contentful paint, and the gzipped bytes of what the
// first screen loads (index.html's script and style) and of every asset.
// `make bench` runs it; TROVATO_TTI_RUNS sets the loads per screen
// (default 7).
func BenchmarkEditorTTI(b *testing.B) {
	node, fe, _ := browserTools(b)
	first, all := distGzipSizes(b, filepath.Join(fe, "dist"))
	es := startEditorSite(b, fe, false)
	runs := "7"
	if v := os.Getenv("TROVATO_TTI_RUNS"); v != "" {
		runs = v
	}
	var list, editor, fcp []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, node, filepath.Join(fe, "e2e", "tti.mjs"), es.URL, runs)
		cmd.Dir = fe
		cmd.Env = append(os.Environ(), "TROVATO_TTI_SESSION="+es.newSession())
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			b.Fatalf("tti.mjs: %v\n%s", err, out)
		}
		var r struct{ List, Editor, FCP []float64 }
		for _, line := range strings.Split(string(out), "\n") {
			if rest, ok := strings.CutPrefix(line, "TTI-RESULT "); ok {
				if err := json.Unmarshal([]byte(rest), &r); err != nil {
					b.Fatal(err)
				}
			}
		}
		if len(r.List) == 0 || len(r.Editor) == 0 {
			b.Fatalf("tti.mjs printed no result:\n%s", out)
		}
		list, editor, fcp = append(list, r.List...), append(editor, r.Editor...), append(fcp, r.FCP...)
	}
	b.StopTimer()
	b.ReportMetric(percentile(list, 50), "list-tti-p50-ms")
	b.ReportMetric(percentile(list, 95), "list-tti-p95-ms")
	b.ReportMetric(percentile(editor, 50), "editor-tti-p50-ms")
	b.ReportMetric(percentile(editor, 95), "editor-tti-p95-ms")
	b.ReportMetric(percentile(fcp, 50), "fcp-p50-ms")
	b.ReportMetric(float64(first), "first-load-gzip-B")
	b.ReportMetric(float64(all), "all-assets-gzip-B")
	b.ReportMetric(0, "ns/op") // one op is a batch of cold loads: not a useful figure
}

// percentile is the nearest-rank percentile of xs.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// distGzipSizes returns the gzipped size (best compression, as the
// handler serves it) of index.html with the script and style it names, and
// of every file of the build.
func distGzipSizes(tb testing.TB, dist string) (first, all int) {
	tb.Helper()
	gz := func(path string) int {
		data, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = w.Write(data)
		_ = w.Close()
		return buf.Len()
	}
	index, err := os.ReadFile(filepath.Join(dist, "index.html"))
	if err != nil {
		tb.Fatal(err)
	}
	first = gz(filepath.Join(dist, "index.html"))
	for _, m := range regexp.MustCompile(`(?:src|href)="/admin/(assets/[^"]+)"`).FindAllSubmatch(index, -1) {
		first += gz(filepath.Join(dist, string(m[1])))
	}
	err = filepath.WalkDir(dist, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		all += gz(p)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return first, all
}
