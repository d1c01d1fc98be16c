package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRunServesDemo runs `trovato run` in-process: it loads the demo,
// starts a private redis-server (or falls back to memory), serves the
// site, and stops cleanly when its context ends.
func TestRunServesDemo(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	a := &app{stdout: &out, stderr: &errb}
	root := a.root()
	root.SetArgs([]string{"--data-dir", c.dataDir, "--database-url", c.dbURL, "run", "--addr", "127.0.0.1:0"})
	done := make(chan error, 1)
	go func() {
		done <- root.ExecuteContext(ctx)
		a.close()
	}()
	re := regexp.MustCompile(`running at (http://127\.0\.0\.1:\d+/)`)
	var url string
	for deadline := time.Now().Add(60 * time.Second); url == ""; {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run ended early: %v\n%s\n%s", err, out.String(), errb.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("run did not start:\n%s\n%s", out.String(), errb.String())
		}
	}
	if !strings.Contains(out.String(), "Demo") {
		t.Errorf("run did not load the demo: %q", out.String())
	}
	for path, want := range map[string]int{"": 200, "healthz": 200, "readyz": 200, "no/such/page": 404,
		"admin/": 200, "api/v1/openapi.json": 200, "api/v1/no-such-route": 404} {
		res, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET /%s: %d, want %d\n%s", path, res.StatusCode, want, body)
		}
		if path == "" && !strings.Contains(string(body), "<html") {
			t.Errorf("front page is not a page: %.200s", body)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not shut down")
	}
	if _, err := http.Get(url + "healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}
