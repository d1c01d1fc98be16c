package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core/redis"
)

// node is one `trovato serve` process.
type node struct {
	url    string
	cmd    *exec.Cmd
	stderr *syncBuffer
}

// startNode runs the built binary's serve on a free port with REDIS_URL
// and returns once it listens (or fails the test with its output).
func startNode(t *testing.T, bin string, c *cli, redisURL string, wantFail bool) (*node, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--data-dir", c.dataDir, "--database-url", c.dbURL,
		"serve", "--addr", "127.0.0.1:0", "--invalidate-every", "1s")
	cmd.Env = append(os.Environ(), "REDIS_URL="+redisURL)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	n := &node{cmd: cmd, stderr: &syncBuffer{}}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); pw.Close(); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited })
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=serving url=(http://127\.0\.0\.1:\d+/)`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			_, _ = n.stderr.Write(append(sc.Bytes(), '\n'))
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case n.url = <-found:
		return n, nil
	case <-exited:
		if !wantFail {
			t.Fatalf("serve ended: %v\n%s", waitErr, n.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
		return n, waitErr
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start:\n%s", n.stderr.String())
	}
	return nil, nil
}

// get fetches a page and returns its body and X-Trovato-Cache header.
func (n *node) get(t *testing.T, path string) (string, string) {
	t.Helper()
	res, err := http.Get(strings.TrimSuffix(n.url, "/") + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s%s: %d\n%.300s", n.url, path, res.StatusCode, b)
	}
	return string(b), res.Header.Get("X-Trovato-Cache")
}

// TestScaleOut runs three `trovato serve` processes on one PostgreSQL and
// one Redis: pages warm on each node; a publish through node 1 reaches
// nodes 2 and 3 on their next request while an unrelated page stays
// cached; an edit made with the CLI reaches every node within one poll
// interval; a node on another Redis refuses to start.
func TestScaleOut(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three servers")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "trovato")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx := context.Background()
	rs, err := redis.StartServer(ctx, redis.ServerConfig{Dir: filepath.Join(t.TempDir(), "redis")})
	if err != nil {
		t.Skipf("no redis-server: %v", err)
	}
	t.Cleanup(func() { _ = rs.Close(context.Background()) })

	c := newCLI(t)
	c.must("demo", "load")
	token := c.must("token", "create", "--name", "scale-out", "--permission", "stage.view_any",
		"--permission", "stage.edit_any", "--permission", "stage.publish_any", "--permission", "content.administer")
	const (
		article = "/articles/staging-a-whole-site"     // 01900000-0000-7000-8000-000000000201
		other   = "/articles/why-fields-live-in-jsonb" // 01900000-0000-7000-8000-000000000202
		artID   = "01900000-0000-7000-8000-000000000201"
		otherID = "01900000-0000-7000-8000-000000000202"
	)
	var nodes []*node
	for range 3 {
		n, _ := startNode(t, bin, c, rs.URL(), false)
		nodes = append(nodes, n)
	}
	for i, n := range nodes {
		for _, p := range []string{article, other, "/"} {
			n.get(t, p)
			if _, hit := n.get(t, p); hit != "hit" {
				t.Fatalf("node %d %s: second request %q, want hit", i+1, p, hit)
			}
		}
	}

	// A stage changes the article; publish it through node 1's API.
	stageID := c.must("stage", "create", "spring")
	c.must("item", "update", artID, "--stage", "spring", "--field", "body=Published through node one.")
	req, _ := http.NewRequest(http.MethodPost, strings.TrimSuffix(nodes[0].url, "/")+"/api/v1/stages/"+stageID+"/publish", strings.NewReader(`{"on_conflict":"abort"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("publish: %d %s", res.StatusCode, b)
	}
	for i, n := range nodes {
		body, hit := n.get(t, article)
		if !strings.Contains(body, "Published through node one.") || hit != "miss" {
			// The local tier is evicted by pub/sub: allow the message a
			// moment to arrive before calling it stale.
			time.Sleep(200 * time.Millisecond)
			body, hit = n.get(t, article)
			if !strings.Contains(body, "Published through node one.") {
				t.Fatalf("node %d serves the old article after the publish (%s)", i+1, hit)
			}
		}
		if _, hit := n.get(t, other); hit != "hit" {
			t.Errorf("node %d: unrelated page %q after the publish, want hit", i+1, hit)
		}
	}

	// An edit made with the CLI (no node involved) reaches every node
	// within one poll interval of the invalidator.
	for _, n := range nodes {
		n.get(t, other)
	}
	c.must("item", "update", otherID, "--field", "body=Edited with the CLI.")
	start := time.Now()
	for i, n := range nodes {
		for {
			body, _ := n.get(t, other)
			if strings.Contains(body, "Edited with the CLI.") {
				t.Logf("node %d saw the CLI edit after %v", i+1, time.Since(start).Round(10*time.Millisecond))
				break
			}
			if time.Since(start) > 2*time.Second+500*time.Millisecond {
				t.Fatalf("node %d still serves the old page %v after a CLI edit (poll interval 1s)", i+1, time.Since(start))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// A fourth node on another Redis refuses to start, naming the problem.
	rs2, err := redis.StartServer(ctx, redis.ServerConfig{Dir: filepath.Join(t.TempDir(), "redis2")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs2.Close(context.Background()) })
	n4, err := startNode(t, bin, c, rs2.URL(), true)
	if err == nil {
		t.Fatalf("a node on another Redis started at %s", n4.url)
	}
	if out := n4.stderr.String(); !strings.Contains(out, "another Redis") {
		t.Fatalf("refusal does not name the problem:\n%s", out)
	}
}
