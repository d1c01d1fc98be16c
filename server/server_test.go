package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	goredis "github.com/redis/go-redis/v9"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres/pgtest"
	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/core/redis/redistest"
	"github.com/trovato/trovato/server"
)

func TestMain(m *testing.M) {
	goredis.SetLogger(quietRedis{}) // TestRedisDown's failed dials are expected
	pgtest.Main(redistest.Wrap(m))
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

const articleType = `{"kind":"item_type","name":"article","label":"Article","fields":[
	{"name":"body","type":"long_text","format":"markdown"},
	{"name":"image","type":"image"},
	{"name":"tags","label":"Tags","type":"term_ref","vocabulary":"tags","cardinality":"unlimited"}]}`

// site is a kernel on its own database with a little content, and a
// server on it with Redis sessions, rate limits and cache.
type site struct {
	t      testing.TB
	k      *kernel.Kernel
	redis  *goredis.Client
	prefix string
	srv    *server.Server
	admin  context.Context
	tag    core.ID
	file   *core.File
	item   *core.Item // aliased at /blog/hello-world, promoted, in the main menu
	plain  *core.Item // no alias
	hidden *core.Item // unpublished
}

func newSite(t testing.TB, opts server.Options) *site {
	t.Helper()
	ctx := context.Background()
	cfg := kernel.DefaultConfig(t.TempDir())
	cfg.DatabaseURL = pgtest.NewDBURL(t)
	k, err := kernel.New(ctx, cfg, kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close(context.Background()) })
	c, prefix := redistest.New(t)
	if opts.Sessions == nil {
		opts.Sessions = redis.NewSessionStore(c, prefix, core.SessionTimeouts{})
	}
	if opts.Limiter == nil {
		opts.Limiter = redis.NewRateLimiter(c, prefix)
	}
	if opts.Cache == nil {
		opts.Cache = redis.NewCache(c, prefix)
	}
	if opts.Checks == nil {
		opts.Checks = map[string]func(context.Context) error{"redis": func(ctx context.Context) error { return c.Ping(ctx).Err() }}
	}
	srv, err := server.New(k, opts)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := k.AsUser(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, k: k, srv: srv, admin: admin, redis: c, prefix: prefix}
	s.seed()
	return s
}

func (s *site) put(kind, name, body string) {
	s.t.Helper()
	if _, err := s.k.Store.Config().PutConfig(s.admin, kind, name, json.RawMessage(body), 0); err != nil {
		s.t.Fatalf("put %s/%s: %v", kind, name, err)
	}
}

func (s *site) staged(kind string, stage core.ID, doc string) core.ID {
	s.t.Helper()
	d, err := s.k.Store.Staged().PutStaged(s.admin, kind, stage, core.NewID(), json.RawMessage(doc), nil, "")
	if err != nil {
		s.t.Fatalf("put %s: %v", kind, err)
	}
	return d.ID
}

func (s *site) newItem(stage core.ID, it *core.Item) *core.Item {
	s.t.Helper()
	if err := s.k.Store.Items().CreateItem(s.admin, stage, it, "create"); err != nil {
		s.t.Fatalf("create %q: %v", it.Title, err)
	}
	return it
}

func testPNG(w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

func (s *site) seed() {
	s.put("site", "site", `{"kind":"site","name":"site","site_name":"Test Site","base_url":"https://example.org"}`)
	s.put("vocabulary", "tags", `{"kind":"vocabulary","name":"tags","label":"Tags"}`)
	s.put("menu", "main", `{"kind":"menu","name":"main","label":"Main"}`)
	s.put("item_type", "article", articleType)
	s.tag = s.staged(core.KindTerm, core.LiveStageID, `{"vocabulary":"tags","name":"Go & Web"}`)
	f, err := s.k.Files().CreateFile(s.admin, "cat.png", bytes.NewReader(testPNG(1000, 500)))
	if err != nil {
		s.t.Fatal(err)
	}
	s.file = f
	s.item = s.newItem(core.LiveStageID, &core.Item{Type: "article", Title: "Hello <World>", Promote: true,
		Fields: json.RawMessage(`{"body":"Some **bold** text.\n\n<script>alert(1)</script>","image":{"id":"` + f.ID.String() + `","alt":"A cat"},"tags":[{"id":"` + s.tag.String() + `"}]}`)})
	s.staged(core.KindAlias, core.LiveStageID, `{"alias":"/blog/hello-world","path":"/item/`+s.item.ID.String()+`"}`)
	s.plain = s.newItem(core.LiveStageID, &core.Item{Type: "article", Title: "Plain page", Fields: json.RawMessage(`{"body":"Plain body"}`)})
	s.hidden = s.newItem(core.LiveStageID, &core.Item{Type: "article", Title: "Secret draft", Status: core.StatusUnpublished, Promote: true, Fields: json.RawMessage(`{}`)})
	blog := s.staged(core.KindMenuLink, core.LiveStageID, `{"menu":"main","title":"Blog","path":"/blog","weight":1}`)
	s.staged(core.KindMenuLink, core.LiveStageID, `{"menu":"main","title":"Hello","path":"/item/`+s.item.ID.String()+`","parent_id":"`+blog.String()+`"}`)
	s.staged(core.KindMenuLink, core.LiveStageID, `{"menu":"main","title":"Plain","path":"/item/`+s.plain.ID.String()+`","weight":2}`)
}

// get sends a request through the server (as from 192.0.2.1).
func (s *site) do(method, target string, hdr map[string]string, body io.Reader) *http.Response {
	s.t.Helper()
	req := httptest.NewRequest(method, target, body)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.srv.ServeHTTP(rec, req)
	return rec.Result()
}

func (s *site) get(target string, hdr map[string]string) (*http.Response, string) {
	s.t.Helper()
	res := s.do(http.MethodGet, target, hdr, nil)
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func wantStatus(t *testing.T, res *http.Response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d", res.Request.Method, res.Request.URL, res.StatusCode, want)
	}
}

func wantContains(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(body, sub) {
			t.Errorf("body lacks %q", sub)
		}
	}
}

func wantLacks(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if strings.Contains(body, sub) {
			t.Errorf("body contains %q", sub)
		}
	}
}

// session stores a session (for user, previewing stage) and returns its
// cookie header.
func (s *site) session(user core.ID, stage core.ID) (*core.Session, map[string]string) {
	s.t.Helper()
	sess := &core.Session{UserID: user, PreviewStageID: stage}
	if user != core.NilID {
		epoch, err := s.k.Accounts.SessionEpoch(context.Background(), user)
		if err != nil {
			s.t.Fatal(err)
		}
		sess.Epoch = epoch
	}
	if err := s.srv.Sessions().SaveSession(context.Background(), sess); err != nil {
		s.t.Fatal(err)
	}
	return sess, map[string]string{"Cookie": server.SessionCookie + "=" + sess.ID}
}

func TestItemPages(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{})
	alias := "/blog/hello-world"

	t.Run("ByAlias", func(t *testing.T) {
		res, body := s.get(alias, nil)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, body,
			`<h1 class="page-title">Hello &lt;World&gt;</h1>`,
			`<strong>bold</strong>`,
			`<title>Hello &lt;World&gt; | Test Site</title>`,
			`<link rel="canonical" href="https://example.org/blog/hello-world">`,
			`src="/files/styles/medium/`+s.file.Hash+`.png"`, `alt="A cat"`,
			`href="/files/`+s.file.Hash+`/cat.png"`,
			`href="/term/`+s.tag.String()+`"`, `Go &amp; Web`,
			`data-island="user-menu"`,
			`aria-current="page"`, // the menu link of this page
			`aria-label="Breadcrumb"`,
			`<meta property="og:image" content="https://example.org/files/styles/large/`+s.file.Hash+`.png">`,
			`<meta property="og:type" content="article">`,
			`<meta name="description" content="Some bold text.">`,
			`<article class="item item--article item--full"><p class="item__meta">By admin`,
		)
		wantLacks(t, body, "<script>alert", "https://example.org/item/")
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if res.Header.Get("ETag") == "" || res.Header.Get("Last-Modified") == "" {
			t.Error("no ETag or Last-Modified")
		}
		if cc := res.Header.Get("Cache-Control"); cc != "public, no-cache" {
			t.Errorf("Cache-Control %q", cc)
		}
		if strings.Index(body, "</article>") < strings.Index(body, "<strong>bold</strong>") {
			t.Error("the fields are not inside the article")
		}
		// The breadcrumb follows the menu trail: Home > Blog > the page.
		i, j := strings.Index(body, `aria-label="Breadcrumb"`), strings.Index(body, `>Blog<`)
		if i < 0 || j < 0 {
			t.Error("breadcrumb trail lacks the parent menu link")
		}
	})

	t.Run("ByIDRedirectsToAlias", func(t *testing.T) {
		res, _ := s.get("/item/"+s.item.ID.String(), nil)
		wantStatus(t, res, http.StatusMovedPermanently)
		if loc := res.Header.Get("Location"); loc != alias {
			t.Fatalf("Location %q, want %q", loc, alias)
		}
	})

	t.Run("ByIDWithoutAlias", func(t *testing.T) {
		res, body := s.get("/item/"+s.plain.ID.String(), nil)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, body, "Plain body", `<h1 class="page-title">Plain page</h1>`)
	})

	t.Run("FrontPage", func(t *testing.T) {
		res, body := s.get("/", nil)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, body, `href="/blog/hello-world"`, "Hello &lt;World&gt;")
		wantLacks(t, body, "Plain page</a></h2>", "Secret draft")
	})

	t.Run("UnpublishedIsNotFound", func(t *testing.T) {
		res, body := s.get("/item/"+s.hidden.ID.String(), nil)
		wantStatus(t, res, http.StatusNotFound)
		wantLacks(t, body, "Secret draft")
	})

	t.Run("TermPage", func(t *testing.T) {
		res, body := s.get("/term/"+s.tag.String(), nil)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, body, `<h1 class="page-title">Go &amp; Web</h1>`)
	})

	t.Run("TrailingSlashRedirects", func(t *testing.T) {
		res, _ := s.get(alias+"/", nil)
		wantStatus(t, res, http.StatusMovedPermanently)
		if loc := res.Header.Get("Location"); loc != alias {
			t.Fatalf("Location %q", loc)
		}
	})

	t.Run("NotFoundPageInTheme", func(t *testing.T) {
		for _, p := range []string{"/no/such/page", "/item/not-an-id", "/item/" + core.NewID().String(), "/item/" + strings.ToUpper(s.plain.ID.String()), "/term/" + core.NewID().String()} {
			res, body := s.get(p, nil)
			wantStatus(t, res, http.StatusNotFound)
			wantContains(t, body, "<title>Page not found | Test Site</title>", `<link rel="stylesheet" href="/assets/`, `class="site-nav"`)
			if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("%s: Cache-Control %q", p, cc)
			}
		}
	})

	t.Run("PreferredAlias", func(t *testing.T) {
		s.staged(core.KindAlias, core.LiveStageID, `{"alias":"/hi","path":"/item/`+s.item.ID.String()+`"}`)
		res, _ := s.get(alias, nil)
		wantStatus(t, res, http.StatusMovedPermanently)
		if loc := res.Header.Get("Location"); loc != "/hi" {
			t.Fatalf("Location %q, want /hi", loc)
		}
		res, body := s.get("/hi", nil)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, body, `<link rel="canonical" href="https://example.org/hi">`)
	})
}

func TestHeadersAndEncoding(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{})

	t.Run("SecurityHeaders", func(t *testing.T) {
		for _, p := range []string{"/", "/blog/hello-world", "/missing", "/healthz"} {
			res, _ := s.get(p, nil)
			h := res.Header
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "object-src 'none'") ||
				!strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "base-uri 'none'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("%s: CSP %q", p, csp)
			}
			for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "strict-origin-when-cross-origin"} {
				if h.Get(k) != v {
					t.Errorf("%s: %s = %q, want %q", p, k, h.Get(k), v)
				}
			}
		}
	})

	t.Run("NoInlineScript", func(t *testing.T) {
		_, body := s.get("/blog/hello-world", nil)
		for _, chunk := range strings.Split(body, "<script")[1:] {
			if !strings.HasPrefix(chunk, ` src="/assets/`) {
				t.Errorf("script without a src: <script%s", chunk[:min(60, len(chunk))])
			}
		}
	})

	t.Run("Gzip", func(t *testing.T) {
		res, body := s.get("/blog/hello-world", map[string]string{"Accept-Encoding": "gzip"})
		wantStatus(t, res, http.StatusOK)
		if res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("Vary") != "Accept-Encoding, Cookie" {
			t.Fatalf("Content-Encoding %q Vary %q", res.Header.Get("Content-Encoding"), res.Header.Get("Vary"))
		}
		zr, err := gzip.NewReader(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		wantContains(t, string(plain), "Hello &lt;World&gt;")
	})

	t.Run("Brotli", func(t *testing.T) {
		res, body := s.get("/blog/hello-world", map[string]string{"Accept-Encoding": "gzip;q=0.5, br"})
		if res.Header.Get("Content-Encoding") != "br" {
			t.Fatalf("Content-Encoding %q", res.Header.Get("Content-Encoding"))
		}
		plain, err := io.ReadAll(brotli.NewReader(strings.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		wantContains(t, string(plain), "Hello &lt;World&gt;")
	})

	t.Run("BadAcceptEncodingIgnored", func(t *testing.T) {
		for _, ae := range []string{"br;q=abc", ";;;,,", "gzip;q=2", "identity;q=0", strings.Repeat("x,", 2000), "br;level=9", "\x01\x02"} {
			res, body := s.get("/blog/hello-world", map[string]string{"Accept-Encoding": ae})
			wantStatus(t, res, http.StatusOK)
			if res.Header.Get("Content-Encoding") != "" {
				t.Errorf("%q: encoded as %q", ae, res.Header.Get("Content-Encoding"))
			}
			wantContains(t, body, "Hello &lt;World&gt;")
		}
	})

	t.Run("ETag304", func(t *testing.T) {
		res, _ := s.get("/blog/hello-world", nil)
		tag := res.Header.Get("ETag")
		res, body := s.get("/blog/hello-world", map[string]string{"If-None-Match": tag})
		wantStatus(t, res, http.StatusNotModified)
		if body != "" {
			t.Error("304 with a body")
		}
		// The compressed variant's tag validates the same entity.
		gz, _ := s.get("/blog/hello-world", map[string]string{"Accept-Encoding": "gzip"})
		res, _ = s.get("/blog/hello-world", map[string]string{"If-None-Match": gz.Header.Get("ETag")})
		wantStatus(t, res, http.StatusNotModified)
		res, _ = s.get("/blog/hello-world", map[string]string{"If-None-Match": `"other"`})
		wantStatus(t, res, http.StatusOK)
		// Last-Modified is the item's change time, but a page depends on more
		// (menus, terms, the theme): only the ETag gives a 304.
		lm := res.Header.Get("Last-Modified")
		if lm == "" {
			t.Fatal("no Last-Modified")
		}
		res, _ = s.get("/blog/hello-world", map[string]string{"If-Modified-Since": lm})
		wantStatus(t, res, http.StatusOK)
		res, _ = s.get("/blog/hello-world", map[string]string{"If-Modified-Since": "yesterday-ish"})
		wantStatus(t, res, http.StatusOK)
	})

	t.Run("Assets", func(t *testing.T) {
		css := s.srv.Renderer().Asset("style.css")
		res, body := s.get(css, map[string]string{"Accept-Encoding": "br"})
		wantStatus(t, res, http.StatusOK)
		if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("Cache-Control %q", cc)
		}
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") || res.Header.Get("Content-Encoding") != "br" || body == "" {
			t.Errorf("Content-Type %q Content-Encoding %q", res.Header.Get("Content-Type"), res.Header.Get("Content-Encoding"))
		}
		res, _ = s.get("/assets/0000000000000000/style.css", nil)
		wantStatus(t, res, http.StatusOK)
		if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("old asset hash: Cache-Control %q", cc)
		}
		res, _ = s.get("/assets/x/nothing.css", nil)
		wantStatus(t, res, http.StatusNotFound)
	})

	t.Run("HealthAndMetrics", func(t *testing.T) {
		res, _ := s.get("/healthz", nil)
		wantStatus(t, res, http.StatusOK)
		res, body := s.get("/readyz", nil)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, body, "ready")
		res, body = s.get("/metrics", nil)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, body, `trovato_http_requests_total{route="alias",status="200"}`, "trovato_http_request_duration_seconds_bucket", "trovato_db_pool_connections")
	})
}

func TestReadyzFailing(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{Checks: map[string]func(context.Context) error{
		"redis": func(context.Context) error { return core.Errorf(core.EUnavailable, "down") },
	}})
	res, body := s.get("/readyz", nil)
	wantStatus(t, res, http.StatusServiceUnavailable)
	wantContains(t, body, "redis")
}

func TestFiles(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{})
	ctx := s.admin

	t.Run("Original", func(t *testing.T) {
		res, body := s.get(server.FileURL(s.file), nil)
		wantStatus(t, res, http.StatusOK)
		if res.Header.Get("Content-Type") != "image/png" || res.Header.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(res.Header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "inline") {
			t.Fatalf("headers %v", res.Header)
		}
		if len(body) != int(s.file.Size) {
			t.Fatalf("got %d bytes, want %d", len(body), s.file.Size)
		}
		res, _ = s.get(server.FileURL(s.file), map[string]string{"If-None-Match": res.Header.Get("ETag")})
		wantStatus(t, res, http.StatusNotModified)
	})

	t.Run("NonImageDownloads", func(t *testing.T) {
		f, err := s.k.Files().CreateFile(ctx, "notes.txt", strings.NewReader("plain notes <script>alert(1)</script>"))
		if err != nil {
			t.Fatal(err)
		}
		res, _ := s.get(server.FileURL(f), nil)
		wantStatus(t, res, http.StatusOK)
		if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, "notes.txt") {
			t.Fatalf("Content-Disposition %q", cd)
		}
		if !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Fatal("file served without a sandbox CSP")
		}
	})

	t.Run("Ranges", func(t *testing.T) {
		content := make([]byte, 1<<20+1000) // two blob chunks
		for i := range content {
			content[i] = 'a' + byte(i%26)
		}
		f, err := s.k.Files().CreateFile(ctx, "big.txt", bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		u := server.FileURL(f)
		size := len(content)
		for name, tc := range map[string]struct {
			rng, ifRange string
			status       int
			from, to     int // expected bytes [from, to)
		}{
			"First":          {"bytes=0-9", "", http.StatusPartialContent, 0, 10},
			"AcrossChunks":   {"bytes=1048570-1048589", "", http.StatusPartialContent, 1048570, 1048590},
			"Open":           {"bytes=1048000-", "", http.StatusPartialContent, 1048000, size},
			"Suffix":         {"bytes=-5", "", http.StatusPartialContent, size - 5, size},
			"PastEndClamped": {"bytes=10-99999999", "", http.StatusPartialContent, 10, size},
			"Unsatisfiable":  {"bytes=99999999-", "", http.StatusRequestedRangeNotSatisfiable, 0, 0},
			"Several":        {"bytes=0-1,5-6", "", http.StatusOK, 0, size},
			"Malformed":      {"bytes=abc", "", http.StatusOK, 0, size},
			"OtherUnit":      {"items=0-1", "", http.StatusOK, 0, size},
			"StaleIfRange":   {"bytes=0-9", `"other"`, http.StatusOK, 0, size},
			"IfRange":        {"bytes=0-9", `"` + f.Hash + `"`, http.StatusPartialContent, 0, 10},
		} {
			t.Run(name, func(t *testing.T) {
				hdr := map[string]string{"Range": tc.rng}
				if tc.ifRange != "" {
					hdr["If-Range"] = tc.ifRange
				}
				res, body := s.get(u, hdr)
				wantStatus(t, res, tc.status)
				if tc.status == http.StatusRequestedRangeNotSatisfiable {
					if cr := res.Header.Get("Content-Range"); cr != "bytes */"+itoa(size) {
						t.Fatalf("Content-Range %q", cr)
					}
					return
				}
				if body != string(content[tc.from:tc.to]) {
					t.Fatalf("got %d bytes, want bytes %d-%d", len(body), tc.from, tc.to)
				}
				if tc.status == http.StatusPartialContent {
					if cr := res.Header.Get("Content-Range"); cr != "bytes "+itoa(tc.from)+"-"+itoa(tc.to-1)+"/"+itoa(size) {
						t.Fatalf("Content-Range %q", cr)
					}
				}
			})
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		for _, p := range []string{"/files/" + s.file.Hash + "/other.png", "/files/abc/cat.png", "/files/" + strings.ToUpper(s.file.Hash) + "/cat.png",
			"/files/" + strings.Repeat("0", 64) + "/cat.png"} {
			res, _ := s.get(p, nil)
			wantStatus(t, res, http.StatusNotFound)
		}
	})

	t.Run("Derivatives", func(t *testing.T) {
		for style, width := range server.Styles {
			u := server.StyleURL(style, s.file.Hash, s.file.MIME)
			res, body := s.get(u, nil)
			wantStatus(t, res, http.StatusOK)
			if res.Header.Get("Content-Type") != "image/png" || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
				t.Fatalf("%s: headers %v", style, res.Header)
			}
			img, err := png.Decode(strings.NewReader(body))
			if err != nil {
				t.Fatalf("%s: %v", style, err)
			}
			want := min(width, 1000) // never enlarged
			if b := img.Bounds(); b.Dx() != want || b.Dy() != want/2 {
				t.Fatalf("%s: %dx%d, want %dx%d", style, b.Dx(), b.Dy(), want, want/2)
			}
		}
		// Made once: the second request reads the stored derivative.
		_, before := s.get("/metrics", nil)
		u := server.StyleURL("thumbnail", s.file.Hash, s.file.MIME)
		res, first := s.get(u, nil)
		wantStatus(t, res, http.StatusOK)
		_, after := s.get("/metrics", nil)
		if metricValue(before, `trovato_image_derivatives_total{style="thumbnail"}`) != 1 || metricValue(after, `trovato_image_derivatives_total{style="thumbnail"}`) != 1 {
			t.Fatalf("thumbnail made again: before %v after %v", metricValue(before, `trovato_image_derivatives_total{style="thumbnail"}`), metricValue(after, `trovato_image_derivatives_total{style="thumbnail"}`))
		}
		// Another node (same Redis and database) serves it without making it.
		node2, err := server.New(s.k, server.Options{Cache: redis.NewCache(s.redis, s.prefix)})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		node2.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
		if rec.Code != http.StatusOK || rec.Body.String() != first {
			t.Fatalf("node 2: status %d, same bytes %v", rec.Code, rec.Body.String() == first)
		}
		rec = httptest.NewRecorder()
		node2.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if v := metricValue(rec.Body.String(), `trovato_image_derivatives_total{style="thumbnail"}`); v > 0 {
			t.Fatalf("node 2 made the thumbnail again (%v)", v)
		}
		for _, p := range []string{"/files/styles/huge/" + s.file.Hash + ".png", "/files/styles/medium/" + s.file.Hash + ".jpg",
			"/files/styles/medium/" + strings.Repeat("a", 64) + ".png", "/files/styles/medium/nothing", "/files/styles/medium/" + s.file.Hash} {
			res, _ := s.get(p, nil)
			wantStatus(t, res, http.StatusNotFound)
		}
		if first == "" {
			t.Fatal("empty derivative")
		}
	})
}

// metricValue finds a sample's value in Prometheus text output (-1 if absent).
func metricValue(body, sample string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			var v float64
			if err := json.Unmarshal([]byte(strings.TrimSpace(rest)), &v); err == nil {
				return v
			}
		}
	}
	return -1
}

func TestPreview(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{})
	stage := &core.Stage{Name: "spring", Label: "Spring issue"}
	if err := s.k.Store.Stages().CreateStage(s.admin, stage); err != nil {
		t.Fatal(err)
	}
	if _, err := s.k.Store.Items().UpdateItem(s.admin, stage.ID, s.plain.ID, core.ItemUpdate{Title: ptr("Plain page, spring edition")}); err != nil {
		t.Fatal(err)
	}
	s.staged(core.KindAlias, stage.ID, `{"alias":"/spring/plain","path":"/item/`+s.plain.ID.String()+`"}`)
	editor := &core.User{Name: "ed", Email: "ed@example.org", Roles: []string{core.RoleEditor}}
	reader := &core.User{Name: "rea", Email: "rea@example.org"}
	for _, u := range []*core.User{editor, reader} {
		if err := s.k.Store.Users().CreateUser(s.admin, u); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("EditorSeesStage", func(t *testing.T) {
		_, hdr := s.session(editor.ID, stage.ID)
		res, body := s.get("/spring/plain", hdr)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, body, "Plain page, spring edition", `class="preview-banner"`, "Spring issue", `href="/_preview/exit"`)
		if cc := res.Header.Get("Cache-Control"); cc != "private, no-store" {
			t.Fatalf("Cache-Control %q", cc)
		}
		// Menu links follow the stage's aliases.
		_, body = s.get("/", hdr)
		wantContains(t, body, `href="/spring/plain"`, `class="preview-banner"`)
	})

	t.Run("AnonymousNeverSeesStage", func(t *testing.T) {
		res, body := s.get("/spring/plain", nil)
		wantStatus(t, res, http.StatusNotFound)
		wantLacks(t, body, "spring edition", "preview-banner")
		res, body = s.get("/item/"+s.plain.ID.String(), nil)
		wantStatus(t, res, http.StatusOK)
		wantLacks(t, body, "spring edition", "preview-banner")
		// An anonymous session carrying the stage is refused, not shown it.
		_, hdr := s.session(core.NilID, stage.ID)
		res, body = s.get("/item/"+s.plain.ID.String(), hdr)
		wantStatus(t, res, http.StatusNotFound)
		wantLacks(t, body, "spring edition", "preview-banner")
	})

	t.Run("UserWithoutPermissionGets404", func(t *testing.T) {
		_, hdr := s.session(reader.ID, stage.ID)
		res, body := s.get("/item/"+s.plain.ID.String(), hdr)
		wantStatus(t, res, http.StatusNotFound)
		wantLacks(t, body, "spring edition", "preview-banner")
	})

	t.Run("UnknownStage", func(t *testing.T) {
		_, hdr := s.session(editor.ID, core.NewID())
		res, body := s.get("/", hdr)
		wantStatus(t, res, http.StatusNotFound)
		wantLacks(t, body, "preview-banner")
	})

	t.Run("LeavePreview", func(t *testing.T) {
		sess, hdr := s.session(editor.ID, stage.ID)
		res, body := s.get("/_preview/exit", hdr)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, body, `name="csrf_token"`)
		res = s.do(http.MethodPost, "/_preview/exit", map[string]string{"Cookie": hdr["Cookie"], "Content-Type": "application/x-www-form-urlencoded"},
			strings.NewReader("csrf_token="+sess.NewCSRFToken()))
		wantStatus(t, res, http.StatusSeeOther)
		res, body = s.get("/item/"+s.plain.ID.String(), hdr)
		wantStatus(t, res, http.StatusOK)
		wantLacks(t, body, "spring edition", "preview-banner")
	})
}

func ptr[T any](v T) *T { return &v }

func itoa(n int) string { return strconv.Itoa(n) }

func TestCSRF(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{})
	sess, hdr := s.session(core.AdminUserID, core.LiveStageID)
	form := map[string]string{"Cookie": hdr["Cookie"], "Content-Type": "application/x-www-form-urlencoded"}
	other, _ := s.session(core.AdminUserID, core.LiveStageID)

	for name, tc := range map[string]struct {
		hdr  map[string]string
		body string
		want int
	}{
		"NoSession":    {map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "csrf_token=" + sess.NewCSRFToken(), http.StatusForbidden},
		"NoToken":      {form, "", http.StatusForbidden},
		"WrongToken":   {form, "csrf_token=abc", http.StatusForbidden},
		"OtherSession": {form, "csrf_token=" + other.NewCSRFToken(), http.StatusForbidden},
		"CrossOrigin":  {map[string]string{"Cookie": hdr["Cookie"], "Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"}, "csrf_token=" + sess.NewCSRFToken(), http.StatusForbidden},
		"BadForm":      {form, "csrf_token=%zz", http.StatusBadRequest},
		"TooLarge":     {form, "x=" + strings.Repeat("a", 3<<20), http.StatusRequestEntityTooLarge},
		"OK":           {form, "csrf_token=" + sess.NewCSRFToken(), http.StatusSeeOther},
		"OKHeader":     {map[string]string{"Cookie": hdr["Cookie"], server.CSRFHeader: sess.NewCSRFToken()}, "", http.StatusSeeOther},
	} {
		t.Run(name, func(t *testing.T) {
			res := s.do(http.MethodPost, "/_preview/exit", tc.hdr, strings.NewReader(tc.body))
			wantStatus(t, res, tc.want)
		})
	}
	res := s.do(http.MethodPost, "/blog/hello-world", form, strings.NewReader(""))
	wantStatus(t, res, http.StatusForbidden)
	body, _ := io.ReadAll(res.Body)
	wantContains(t, string(body), "<title>Access denied | Test Site</title>", `<link rel="stylesheet" href="/assets/`)
	// With a valid token, a page that takes no forms answers 405 in the theme.
	res = s.do(http.MethodPost, "/blog/hello-world", form, strings.NewReader("csrf_token="+sess.NewCSRFToken()))
	wantStatus(t, res, http.StatusMethodNotAllowed)
	body, _ = io.ReadAll(res.Body)
	wantContains(t, string(body), "<title>Method not allowed | Test Site</title>")
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{RateLimits: map[string]server.RateLimit{server.ClassPage: {Limit: 3, Window: time.Minute}}})
	for i := range 3 {
		res, _ := s.get("/blog/hello-world", nil)
		wantStatus(t, res, http.StatusOK)
		_ = i
	}
	res, body := s.get("/blog/hello-world", nil)
	wantStatus(t, res, http.StatusTooManyRequests)
	if ra := res.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
	wantContains(t, body, "Too many requests")
	// Other classes are counted apart.
	res, _ = s.get(s.srv.Renderer().Asset("style.css"), nil)
	wantStatus(t, res, http.StatusOK)
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{})
	for name, tc := range map[string]struct {
		method, target string
		want           int
	}{
		"MalformedQuery":     {http.MethodGet, "/blog/hello-world?a=%zz", http.StatusBadRequest},
		"SemicolonQuery":     {http.MethodGet, "/?a=1;b=2", http.StatusBadRequest},
		"HarmlessQuery":      {http.MethodGet, "/blog/hello-world?utm_source=x", http.StatusOK},
		"OverlongURL":        {http.MethodGet, "/" + strings.Repeat("a", 3000), http.StatusRequestURITooLong},
		"OverlongQuery":      {http.MethodGet, "/?q=" + strings.Repeat("a", 3000), http.StatusRequestURITooLong},
		"InvalidUTF8":        {http.MethodGet, "/%ff%fe", http.StatusBadRequest},
		"ControlChar":        {http.MethodGet, "/a%00b", http.StatusBadRequest},
		"Backslash":          {http.MethodGet, "/a%5Cb", http.StatusBadRequest},
		"EncodedSlash":       {http.MethodGet, "/blog%2Fhello-world", http.StatusOK},
		"DotSegments":        {http.MethodGet, "/blog/../blog/hello-world", http.StatusMovedPermanently},
		"LongAliasPath":      {http.MethodGet, "/" + strings.Repeat("b", 1500), http.StatusNotFound},
		"Method":             {"DELETE", "/", http.StatusMethodNotAllowed},
		"Head":               {http.MethodHead, "/blog/hello-world", http.StatusOK},
		"UnknownIsland":      {http.MethodGet, "/_island/nothing", http.StatusNotFound},
		"IslandBadPath":      {http.MethodGet, "/_island/user-menu?path=http://evil", http.StatusBadRequest},
		"IslandOK":           {http.MethodGet, "/_island/user-menu?path=%2Fblog", http.StatusOK},
		"BadStyle":           {http.MethodGet, "/files/styles/../../etc/passwd", http.StatusMovedPermanently},
		"FileNameTraversal":  {http.MethodGet, "/files/abc/..%2F..%2Fx", http.StatusMovedPermanently},
		"FileNameBad":        {http.MethodGet, "/files/abc/x", http.StatusNotFound},
		"ItemIDGarbage":      {http.MethodGet, "/item/%27%20OR%201=1", http.StatusNotFound},
		"TermIDGarbage":      {http.MethodGet, "/term/" + strings.Repeat("f", 200), http.StatusNotFound},
		"UnicodeAliasLookup": {http.MethodGet, "/caf%C3%A9", http.StatusNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			res := s.do(tc.method, tc.target, nil, nil)
			io.Copy(io.Discard, res.Body)
			if res.StatusCode != tc.want {
				t.Fatalf("%s %s: status %d, want %d", tc.method, tc.target, res.StatusCode, tc.want)
			}
		})
	}
}

func TestIsland(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{})
	res, body := s.get("/_island/user-menu", nil)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, body, `href="/user/login"`)
	if cc := res.Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Fatalf("Cache-Control %q", cc)
	}
	_, hdr := s.session(core.AdminUserID, core.NilID)
	_, body = s.get("/_island/user-menu", hdr)
	wantContains(t, body, "Signed in as admin", `action="/user/logout"`)
	// The page itself is the same bytes for a signed-in visitor.
	_, anon := s.get("/blog/hello-world", nil)
	res, signed := s.get("/blog/hello-world", hdr)
	if anon != signed {
		t.Fatal("the page differs for a signed-in visitor")
	}
	if cc := res.Header.Get("Cache-Control"); cc != "private, no-cache" {
		t.Fatalf("signed-in page Cache-Control %q", cc)
	}
	// An editor sees an unpublished item, marked, in a private response.
	res, body = s.get("/item/"+s.hidden.ID.String(), hdr)
	wantStatus(t, res, http.StatusOK)
	wantContains(t, body, "Secret draft", "item--unpublished", "not published")
	if cc := res.Header.Get("Cache-Control"); cc != "private, no-cache" {
		t.Fatalf("unpublished page Cache-Control %q", cc)
	}
}

func TestSignInCookie(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{})
	ctx := context.Background()

	// A new visitor gets a session and an HttpOnly, SameSite=Lax cookie;
	// Secure only over TLS.
	for _, tls := range []bool{false, true} {
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		if tls {
			req = httptest.NewRequest(http.MethodPost, "https://example.org/", nil)
		}
		rec := httptest.NewRecorder()
		sess, err := s.srv.SignIn(rec, req, core.AdminUserID)
		if err != nil {
			t.Fatal(err)
		}
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("%d cookies", len(cookies))
		}
		c := cookies[0]
		if c.Name != server.SessionCookie || c.Value != sess.ID || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != tls || c.Path != "/" {
			t.Fatalf("tls=%v: cookie %+v", tls, c)
		}
	}

	// Signing in with a session rotates its id.
	old, hdr := s.session(core.NilID, core.NilID)
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	req.Header.Set("Cookie", hdr["Cookie"])
	rec := httptest.NewRecorder()
	sess, err := s.srv.SignIn(rec, req, core.AdminUserID)
	if err != nil {
		t.Fatal(err)
	}
	if sess.ID == old.ID {
		t.Fatal("session id not rotated on sign-in")
	}
	if _, err := s.srv.Sessions().GetSession(ctx, old.ID); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("old session id still valid: %v", err)
	}
	_, body := s.get("/_island/user-menu", map[string]string{"Cookie": server.SessionCookie + "=" + sess.ID})
	wantContains(t, body, "Signed in as admin")

	// Signing out ends it.
	req = httptest.NewRequest(http.MethodPost, "/", nil)
	req.Header.Set("Cookie", server.SessionCookie+"="+sess.ID)
	rec = httptest.NewRecorder()
	if err := s.srv.SignOut(rec, req); err != nil {
		t.Fatal(err)
	}
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Fatalf("sign-out cookie %+v", c)
	}
	_, body = s.get("/_island/user-menu", map[string]string{"Cookie": server.SessionCookie + "=" + sess.ID})
	wantContains(t, body, `href="/user/login"`)
	wantLacks(t, body, "Signed in")
}

func TestServerErrorPage(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{})
	s.k.Pool.Close() // the database goes away
	res, body := s.get("/blog/hello-world", nil)
	wantStatus(t, res, http.StatusInternalServerError)
	wantContains(t, body, "<title>Error</title>", `<link rel="stylesheet" href="/assets/`, "Something went wrong on our side")
	wantLacks(t, body, "closed pool", "pgx")
	res, body = s.get("/readyz", nil)
	wantStatus(t, res, http.StatusServiceUnavailable)
	wantContains(t, body, "database")
}

func TestScheduler(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{})
	stage := &core.Stage{Name: "tonight"}
	if err := s.k.Store.Stages().CreateStage(s.admin, stage); err != nil {
		t.Fatal(err)
	}
	it := s.newItem(stage.ID, &core.Item{Type: "article", Title: "Scheduled story", Fields: json.RawMessage(`{}`)})
	at := time.Now().Add(1500 * time.Millisecond)
	if _, err := s.k.Store.Stages().ScheduleStage(s.admin, stage.ID, &at); err != nil {
		t.Fatal(err)
	}
	res, _ := s.get("/item/"+it.ID.String(), nil)
	wantStatus(t, res, http.StatusNotFound)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { server.RunScheduler(ctx, s.k, slogDiscard(), 20*time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		res, body := s.get("/item/"+it.ID.String(), nil)
		if res.StatusCode == http.StatusOK {
			wantContains(t, body, "Scheduled story")
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the scheduled stage was not published")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestRedisDown: with Redis gone, pages still serve (anonymously), rate
// limits let requests through, derivatives are made without the cache,
// and /readyz says what is wrong.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	dead := goredis.NewClient(&goredis.Options{Network: "unix", Addr: t.TempDir() + "/none.sock", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { dead.Close() })
	s := newSite(t, server.Options{
		Sessions:   redis.NewSessionStore(dead, "x:", core.SessionTimeouts{}),
		Limiter:    redis.NewRateLimiter(dead, "x:"),
		Cache:      redis.NewCache(dead, "x:"),
		Checks:     map[string]func(context.Context) error{"redis": func(ctx context.Context) error { return dead.Ping(ctx).Err() }},
		RateLimits: map[string]server.RateLimit{server.ClassPage: {Limit: 1, Window: time.Minute}},
	})
	hdr := map[string]string{"Cookie": server.SessionCookie + "=" + core.NewSessionID()}
	for range 3 {
		res, body := s.get("/blog/hello-world", hdr)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, body, "Hello &lt;World&gt;")
		if cc := res.Header.Get("Cache-Control"); cc != "public, no-cache" {
			t.Fatalf("Cache-Control %q", cc)
		}
	}
	res, _ := s.get(server.StyleURL("thumbnail", s.file.Hash, s.file.MIME), nil)
	wantStatus(t, res, http.StatusOK)
	res, body := s.get("/readyz", nil)
	wantStatus(t, res, http.StatusServiceUnavailable)
	wantContains(t, body, "redis")
	wantLacks(t, body, "database")
}

func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	limit := map[string]server.RateLimit{server.ClassPage: {Limit: 1, Window: time.Minute}}
	direct := newSite(t, server.Options{RateLimits: limit})
	// httptest requests come from 192.0.2.1.
	res, _ := direct.get("/", map[string]string{"X-Forwarded-For": "10.0.0.1", "X-Forwarded-Proto": "https"})
	wantStatus(t, res, http.StatusOK)
	if res.Header.Get("Strict-Transport-Security") != "" {
		t.Error("an untrusted X-Forwarded-Proto turned on HSTS")
	}
	res, _ = direct.get("/", map[string]string{"X-Forwarded-For": "10.0.0.2"})
	wantStatus(t, res, http.StatusTooManyRequests) // a spoofed header does not escape the limit

	proxied := newSite(t, server.Options{RateLimits: limit, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	for _, tc := range []struct {
		xff  string
		want int
	}{
		{"10.0.0.1", http.StatusOK},
		{"10.0.0.2", http.StatusOK},
		{"10.0.0.1", http.StatusTooManyRequests},
		{"10.0.0.3, 192.0.2.9", http.StatusOK},   // the nearest untrusted hop is the client
		{"10.0.0.3", http.StatusTooManyRequests}, // ... the same one
		{"garbage, 10.0.0.4", http.StatusOK},     // malformed hops beyond the client are ignored
		{"not an address", http.StatusOK},        // the proxy itself is the client: its first request
		{"", http.StatusTooManyRequests},         // ... and again
	} {
		res, _ := proxied.get("/", map[string]string{"X-Forwarded-For": tc.xff})
		if res.StatusCode != tc.want {
			t.Fatalf("X-Forwarded-For %q: status %d, want %d", tc.xff, res.StatusCode, tc.want)
		}
	}
	res, _ = proxied.get("/healthz", map[string]string{"X-Forwarded-Proto": "https"})
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS behind a trusted TLS proxy")
	}
}

func TestMounts(t *testing.T) {
	t.Parallel()
	var got []string
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	s := newSite(t, server.Options{Mounts: map[string]http.Handler{"/api/v1/": api}})
	// The mount does its own authentication: no site CSRF check.
	res := s.do(http.MethodPost, "/api/v1/items", map[string]string{"Authorization": "Bearer x"}, strings.NewReader(`{}`))
	wantStatus(t, res, http.StatusOK)
	if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Content-Security-Policy") == "" {
		t.Fatal("mounted handler without the security headers")
	}
	res, _ = s.get("/api/v1/items?x=%zz", nil)
	wantStatus(t, res, http.StatusBadRequest) // URL checks still apply
	res, _ = s.get("/api/v2/items", nil)
	wantStatus(t, res, http.StatusNotFound)
	if len(got) != 1 || got[0] != "POST /api/v1/items" {
		t.Fatalf("mount saw %v", got)
	}
	_, body := s.get("/metrics", nil)
	wantContains(t, body, `trovato_http_requests_total{route="/api/v1",status="200"}`)
	if _, err := server.New(s.k, server.Options{Mounts: map[string]http.Handler{"api": api}}); core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("bad mount prefix: %v", err)
	}
}
