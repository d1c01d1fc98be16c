package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/server"
)

// countingListener counts the writes made to the connections it accepts.
type countingListener struct {
	net.Listener
	mu     sync.Mutex
	writes int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

func (l *countingListener) take() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.writes
	l.writes = 0
	return n
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.l.mu.Lock()
	c.l.writes++
	c.l.mu.Unlock()
	return c.Conn.Write(p)
}

// rawGet sends a GET (or HEAD) on a kept-alive connection and reads the
// response.
func rawGet(t *testing.T, c net.Conn, br *bufio.Reader, method, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req := method + " " + path + " HTTP/1.1\r\nHost: x\r\n" + strings.Join(hdr, "") + "\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// TestCachedHitOneWriteNoRedis: served as `trovato serve` serves (on
// server.Listener), a cached page larger than net/http's 4 KB buffer
// leaves in one write (gathered), in each encoding, with HEAD and 304
// answers intact; a hit from the in-process tier makes no Redis round
// trip and is counted in /metrics; an edit announced by another node
// (pub/sub) evicts the local copy: a miss with the new content follows.
func TestCachedHitOneWriteNoRedis(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSite(t, server.Options{})
	var cmds countHook
	c := goredis.NewClient(s.redis.Options())
	defer c.Close()
	c.AddHook(&cmds)
	local := redis.NewLocalTier(ctx, redis.NewTagCache(c, s.prefix), 100)
	defer local.Close()
	waitSubscribed(t, local, &cmds)
	srv, err := server.New(s.k, server.Options{PageCache: local, Sessions: s.srv.Sessions()})
	if err != nil {
		t.Fatal(err)
	}
	// A page larger than net/http's write buffer.
	fields, _ := json.Marshal(map[string]string{"body": strings.Repeat("A page that needs more than one buffer of net/http. ", 160)})
	if _, err := s.k.Store.Items().UpdateItem(s.admin, core.LiveStageID, s.plain.ID, core.ItemUpdate{Fields: fields}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	hs := server.NewHTTPServer(ln.Addr().String(), srv, slog.New(slog.DiscardHandler))
	go func() { _ = hs.Serve(server.Listener(cl)) }()
	defer hs.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	page := "/item/" + s.plain.ID.String()

	for _, enc := range []string{"", "gzip"} {
		ae := ""
		if enc != "" {
			ae = "Accept-Encoding: " + enc + "\r\n"
		}
		miss, missBody := rawGet(t, conn, br, "GET", page, ae)
		if miss.StatusCode != http.StatusOK || miss.Header.Get(server.CacheHeader) != "miss" {
			t.Fatalf("%q: first GET: %d, cache %q", enc, miss.StatusCode, miss.Header.Get(server.CacheHeader))
		}
		if enc == "" && len(missBody) < 8<<10 {
			t.Fatalf("the page has %d bytes: too small to need gathering", len(missBody))
		}
		cl.take()
		hit, hitBody := rawGet(t, conn, br, "GET", page, ae)
		if w := cl.take(); w != 1 {
			t.Errorf("%q: the hit (%d bytes) left in %d writes, want 1", enc, len(hitBody), w)
		}
		if hit.Header.Get(server.CacheHeader) != "hit" || string(hitBody) != string(missBody) ||
			hit.Header.Get("Content-Encoding") != enc || hit.Header.Get("Content-Length") != strconv.Itoa(len(hitBody)) {
			t.Errorf("%q: hit %v (%d bytes), built %d bytes", enc, hit.Header, len(hitBody), len(missBody))
		}
		if hit.Header.Get("Vary") != "Accept-Encoding, Cookie" || hit.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%q: hit headers %v", enc, hit.Header)
		}
		head, headBody := rawGet(t, conn, br, "HEAD", page, ae)
		if head.StatusCode != http.StatusOK || len(headBody) != 0 || head.Header.Get("Content-Length") != strconv.Itoa(len(hitBody)) {
			t.Errorf("%q: HEAD %d, %d bytes, Content-Length %q", enc, head.StatusCode, len(headBody), head.Header.Get("Content-Length"))
		}
		nm, nmBody := rawGet(t, conn, br, "GET", page, ae, "If-None-Match: "+hit.Header.Get("Etag")+"\r\n")
		if nm.StatusCode != http.StatusNotModified || len(nmBody) != 0 {
			t.Errorf("%q: If-None-Match: %d, %d bytes", enc, nm.StatusCode, len(nmBody))
		}
	}

	// A file (streamed, not gathered) still arrives whole on the same
	// connection, and the next page after it too.
	res, file := rawGet(t, conn, br, "GET", "/files/"+s.file.Hash+"/cat.png")
	if res.StatusCode != http.StatusOK || int64(len(file)) != s.file.Size {
		t.Fatalf("file: %d, %d bytes of %d", res.StatusCode, len(file), s.file.Size)
	}

	// Hits from the in-process tier: no Redis command, each counted.
	before := cacheHits(t, srv)
	cmds.reset()
	const n = 20
	for range n {
		if res, _ := rawGet(t, conn, br, "GET", page); res.Header.Get(server.CacheHeader) != "hit" {
			t.Fatalf("cache %q", res.Header.Get(server.CacheHeader))
		}
	}
	if got := cmds.reset(); got != 0 {
		t.Errorf("%d hits from the in-process tier made %d Redis commands", n, got)
	}
	if after := cacheHits(t, srv); after != before+n {
		t.Errorf("trovato_cache_hits_total went from %v to %v after %d hits", before, after, n)
	}

	// Another node edits and bumps: pub/sub evicts the local copy.
	title := "Edited elsewhere"
	if _, err := s.k.Store.Items().UpdateItem(s.admin, core.LiveStageID, s.plain.ID, core.ItemUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	other := redis.NewTagCache(s.redis, s.prefix)
	if err := other.BumpTags(ctx, core.TagsForChange(core.Change{Kind: core.KindItem, EntityID: s.plain.ID.String()})...); err != nil {
		t.Fatal(err)
	}
	// The message arrives a moment later.
	for deadline := time.Now().Add(5 * time.Second); ; {
		res, got := rawGet(t, conn, br, "GET", page)
		if strings.Contains(string(got), title) {
			if res.Header.Get(server.CacheHeader) != "miss" {
				t.Errorf("the edited page came from the cache (%q)", res.Header.Get(server.CacheHeader))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the edit announced on pub/sub never reached this node's cached page")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// countHook counts the Redis commands of a client (pipelines by command).
type countHook struct {
	mu sync.Mutex
	n  int
}

func (h *countHook) reset() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.n
	h.n = 0
	return n
}

func (h *countHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *countHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.mu.Lock()
		h.n++
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.mu.Lock()
		h.n += len(cmds)
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

// waitSubscribed waits until the tier keeps entries itself (its
// subscription is up: until then every read goes to Redis).
func waitSubscribed(t *testing.T, l *redis.LocalTier, cmds *countHook) {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err := l.SetTagged(ctx, "probe", []byte("x"), nil, nil, time.Minute); err != nil {
			t.Fatal(err)
		}
		cmds.reset()
		if v, ok, _ := l.GetTagged(ctx, "probe"); ok && string(v) == "x" && cmds.reset() == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the in-process tier never subscribed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cacheHits reads trovato_cache_hits_total from the server's /metrics.
func cacheHits(t *testing.T, h http.Handler) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	v := metricValue(rec.Body.String(), "trovato_cache_hits_total")
	if v < 0 {
		t.Fatal("trovato_cache_hits_total is not in /metrics")
	}
	return v
}
