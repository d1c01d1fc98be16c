// Package server is Trovato's HTTP front: the public site (items at their
// aliases, files and image derivatives, theme assets, islands), health and
// metrics endpoints, sessions, CSRF and rate limits. Every page is a render
// tree turned into HTML by core/render; docs/site.md describes the routes
// and headers.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/memory"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/render"
)

// RateLimit is a number of requests per window for one client address.
type RateLimit struct {
	Limit  int
	Window time.Duration
}

// Route classes rate limits apply to.
const (
	ClassPage   = "page"   // pages, aliases, the front page
	ClassFile   = "file"   // files and theme assets
	ClassStyle  = "style"  // image derivatives (made on demand: expensive)
	ClassIsland = "island" // /_island/{name}
	ClassForm   = "form"   // every POST
)

// DefaultRateLimits apply per client address when Options.RateLimits
// does not name a class. Pages and files are not limited by default: they
// are cheap to revalidate and meant to be cached in front of the server.
var DefaultRateLimits = map[string]RateLimit{
	ClassStyle:  {Limit: 120, Window: time.Minute},
	ClassIsland: {Limit: 600, Window: time.Minute},
	ClassForm:   {Limit: 60, Window: time.Minute},
	ClassLogin:  {Limit: 10, Window: time.Minute},
	ClassReset:  {Limit: 5, Window: time.Minute},
}

// Options configure a Server. Zero values are usable: in-process
// sessions, rate limits and cache, the default theme.
type Options struct {
	Logger *slog.Logger
	// Sessions, Limiter and Cache default to core/memory (one node).
	Sessions core.SessionStore
	Limiter  core.RateLimiter
	Cache    core.Cache
	// Theme is the site theme to start with; nil means the default
	// theme. It extends the default theme file by file. LoadTheme and
	// FollowThemes switch to the theme enabled in the database.
	Theme fs.FS
	// RateLimits override DefaultRateLimits per class; a Limit of 0
	// turns a class's limit off.
	RateLimits map[string]RateLimit
	// Checks are what /readyz runs besides the database (name -> check),
	// for example "redis".
	Checks map[string]func(context.Context) error
	// SecureCookies sets Secure on cookies even without TLS on this hop
	// (behind a TLS-terminating proxy).
	SecureCookies bool
	// TrustedProxies are the networks of the load balancers and proxies
	// in front of the server: from their requests, the client address is
	// taken from X-Forwarded-For and TLS from X-Forwarded-Proto.
	TrustedProxies []netip.Prefix
	// SessionTimeouts are told to the cookie (Max-Age); the store
	// enforces them.
	SessionTimeouts core.SessionTimeouts
	// MaxRequestBytes bounds request bodies; 0 means the kernel's setting.
	MaxRequestBytes int64
	// PageTimeout bounds the work of one page; default 30 s.
	PageTimeout time.Duration
	// Mounts are handlers served under a path prefix ending in "/" (the
	// API at /api/v1/, the editor at /admin/). They get the security
	// headers, URL checks, request logs and metrics, but not the site's
	// session, CSRF and body-size handling: they do their own.
	Mounts map[string]http.Handler
	// PageCache keeps anonymous pages by the tags they used (pagecache.go);
	// nil turns the page cache off. PageTTL bounds an entry's life.
	PageCache core.TagCache
	PageTTL   time.Duration
	// PageDeps, when set, records the tags of every cached page built
	// (without a query string) where the static export can ask for them.
	PageDeps core.PageDeps
	// Stage, when set, serves every request in that open stage as an
	// anonymous visitor will see it once it is published (no preview
	// banner): the static export of a stage. Nothing in a request sets it.
	Stage *core.Stage
}

// Server is the site's http.Handler.
type Server struct {
	k        *kernel.Kernel
	log      *slog.Logger
	r        *themeSlot // the current theme's renderer (themes.go)
	sessions core.SessionStore
	limiter  core.RateLimiter
	cache    core.Cache
	limits   map[string]RateLimit
	checks   map[string]func(context.Context) error
	secure   bool
	proxies  []netip.Prefix
	timeouts core.SessionTimeouts
	maxBody  int64
	timeout  time.Duration
	mux      *http.ServeMux
	mounts   []mount
	metrics  *metrics

	tags         core.TagCache
	deps         core.PageDeps
	stage        *core.Stage // Options.Stage
	pc           pageCacheState
	pageTTL      time.Duration
	cacheMetrics *cacheMetrics

	types    typeCache
	parsed   parsedCache
	styles   singleflight.Group
	styleSem chan struct{}

	assetMu   sync.Mutex
	assetGzip map[string][]byte // asset hash + encoding -> compressed body
}

// New builds the site over a kernel.
func New(k *kernel.Kernel, opts Options) (*Server, error) {
	if k == nil || k.Store == nil {
		return nil, errors.New("server: a kernel with a store is required")
	}
	s := &Server{
		k:         k,
		log:       opts.Logger,
		sessions:  opts.Sessions,
		limiter:   opts.Limiter,
		cache:     opts.Cache,
		checks:    opts.Checks,
		secure:    opts.SecureCookies,
		proxies:   opts.TrustedProxies,
		timeouts:  opts.SessionTimeouts,
		maxBody:   opts.MaxRequestBytes,
		timeout:   opts.PageTimeout,
		styleSem:  make(chan struct{}, 2),
		tags:      opts.PageCache,
		deps:      opts.PageDeps,
		stage:     opts.Stage,
		pageTTL:   opts.PageTTL,
		assetGzip: map[string][]byte{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.stage != nil && (s.stage.ID == core.LiveStageID || s.stage.State != core.StageOpen) {
		return nil, core.Errorf(core.EInvalid, "stage %q is %s: only an open stage can be served as published", s.stage.Name, s.stage.State)
	}
	if s.sessions == nil {
		s.sessions = memory.NewSessionStore(s.timeouts)
	}
	if s.limiter == nil {
		s.limiter = memory.NewRateLimiter()
	}
	if s.cache == nil {
		s.cache = memory.NewCache(0)
	}
	if s.timeouts.Idle == 0 {
		s.timeouts.Idle = core.DefaultSessionTimeouts.Idle
	}
	if s.timeouts.Absolute == 0 {
		s.timeouts.Absolute = core.DefaultSessionTimeouts.Absolute
	}
	if s.maxBody <= 0 {
		s.maxBody = k.Config.MaxRequestBytes
	}
	if s.maxBody <= 0 {
		s.maxBody = 2 << 20
	}
	if s.timeout <= 0 {
		s.timeout = 30 * time.Second
	}
	s.limits = map[string]RateLimit{}
	for c, l := range DefaultRateLimits {
		s.limits[c] = l
	}
	configured, err := kernel.ParseRateLimits(k.Config.RateLimits)
	if err != nil {
		return nil, err
	}
	for c, l := range configured {
		s.limits[c] = RateLimit(l)
	}
	for c, l := range opts.RateLimits {
		if l.Limit < 0 || (l.Limit > 0 && l.Window < time.Millisecond) {
			return nil, core.Errorf(core.EInvalid, "rate limit %s: limit must be ≥ 0 and window ≥ 1ms", c)
		}
		s.limits[c] = l
	}
	theme, base := opts.Theme, fs.FS(nil)
	if theme == nil {
		theme = render.DefaultTheme()
	} else {
		base = render.DefaultTheme()
	}
	name, regions := themeInfo(opts.Theme)
	r, err := render.New(theme, render.Options{Base: base, Logger: s.log.With("component", "render"), Name: name, Regions: regions})
	if err != nil {
		return nil, fmt.Errorf("load theme: %w", err)
	}
	s.r = &themeSlot{}
	s.r.p.Store(r)
	for prefix, h := range opts.Mounts {
		if !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") || len(prefix) < 3 || h == nil {
			return nil, core.Errorf(core.EInvalid, "mount %q: a prefix like /api/v1/ and a handler are required", prefix)
		}
		s.mounts = append(s.mounts, mount{prefix: prefix, h: h})
	}
	// Longest prefix first.
	sort.Slice(s.mounts, func(i, j int) bool { return len(s.mounts[i].prefix) > len(s.mounts[j].prefix) })
	s.metrics = newMetrics(k)
	s.cacheMetrics = newCacheMetrics(s.metrics.reg)
	if s.pageTTL <= 0 {
		s.pageTTL = DefaultPageTTL
	}
	s.routes()
	return s, nil
}

// Renderer returns the server's current renderer: a theme change
// (SetRenderer, LoadTheme, FollowThemes) replaces it.
func (s *Server) Renderer() *render.Renderer { return s.r.load() }

func (s *Server) routes() {
	m := http.NewServeMux()
	m.Handle("GET /{$}", s.page("front", s.frontPage))
	m.Handle("GET /item/{id}", s.page("item", s.itemByID))
	m.Handle("GET /term/{id}", s.page("term", s.termByID))
	m.Handle("GET /", s.page("alias", s.aliasPage))
	m.Handle("GET /files/{hash}/{name}", s.handle("file", ClassFile, s.serveFile))
	m.Handle("GET /files/styles/{style}/{file}", s.handle("style", ClassStyle, s.serveStyle))
	m.Handle("GET /assets/", s.handle("asset", ClassFile, s.serveAsset))
	m.Handle("GET /_island/{name}", s.handle("island", ClassIsland, s.serveIsland))
	m.Handle("GET /_preview/exit", s.handle("preview_exit", ClassPage, s.previewExitForm))
	m.Handle("POST /_preview/exit", s.handle("preview_exit", ClassForm, s.previewExit))
	s.accountRoutes(m)
	m.Handle("POST /comment/{id}", s.handle("comment", ClassForm, s.postComment))
	m.Handle("GET /healthz", s.handle("healthz", "", s.healthz))
	m.Handle("GET /readyz", s.handle("readyz", "", s.readyz))
	m.Handle("GET /metrics", s.metrics.handler())
	m.Handle("POST /", s.handle("post", "", func(w http.ResponseWriter, r *http.Request, _ *reqState) error {
		w.Header().Set("Allow", "GET, HEAD")
		s.errorPage(w, r, http.StatusMethodNotAllowed, "This address does not take forms.")
		return nil
	}))
	s.mux = m
}

// mount is a handler served under a path prefix.
type mount struct {
	prefix string
	h      http.Handler
}

// reqState is what the outer middleware learns about a request.
type reqState struct {
	route   string
	sess    *core.Session
	user    *core.User
	stage   core.ID     // the stage pages are read in: live, or the preview
	preview *core.Stage // the previewed stage, nil for live
	// previewDenied: the session names a stage the user may not view.
	previewDenied bool
	settings      *siteSettings // read once per request
	data          *postgres.PageData
	summary       *core.Node // the page's first formatted text (description)
	// cacheKey is set while a cacheable page is built; versions are the
	// tags it used, with the versions read before their data.
	cacheKey string
	versions map[string]int64
	page     int // the page of a paged term listing (/term/ID/page/N)
	// config is the request's parsed gathers and tiles (tiles.go);
	// tileType and tileGather are what tile visibility looks at.
	config               *siteConfig
	tileType, tileGather string
}

type stateKey struct{}

func stateOf(r *http.Request) *reqState {
	if st, ok := r.Context().Value(stateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{user: core.Anonymous, stage: core.LiveStageID}
}

// handler is a route that returns its error for the one error path.
type handler func(w http.ResponseWriter, r *http.Request, st *reqState) error

// handle wraps a route: names it for logs and metrics, applies its rate
// limit class, and renders a returned error.
func (s *Server) handle(route, class string, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := stateOf(r)
		st.route = route
		if class != "" && !s.allow(w, r, class) {
			return
		}
		if err := h(w, r, st); err != nil {
			s.fail(w, r, err)
		}
	})
}

// page wraps a page route: as handle, plus the page time limit and the
// preview gate (a stage the user may not view is not found).
func (s *Server) page(route string, h handler) http.Handler {
	return s.handle(route, ClassPage, func(w http.ResponseWriter, r *http.Request, st *reqState) error {
		if st.previewDenied {
			return core.Errorf(core.ENotFound, "page not found")
		}
		if s.servePageFromCache(w, r, st) {
			return nil
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
		defer cancel()
		return h(w, r.WithContext(ctx), st)
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	st := &reqState{route: "other", user: core.Anonymous, stage: core.LiveStageID}
	r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
	s.metrics.inFlight.Inc()
	defer func() {
		p := recover()
		if p != nil && p != http.ErrAbortHandler {
			s.log.Error("panic serving request", "method", r.Method, "path", safePath(r), "panic", fmt.Sprint(p))
			if !rec.wrote {
				s.fail(rec, r, fmt.Errorf("panic: %v", p))
			}
		}
		s.metrics.inFlight.Dec()
		d := time.Since(start)
		s.metrics.observe(st.route, rec.status, d)
		level := slog.LevelInfo
		if st.route == "healthz" || st.route == "readyz" || st.route == "metrics" {
			level = slog.LevelDebug // probes
		}
		if s.log.Enabled(r.Context(), level) {
			s.log.LogAttrs(r.Context(), level, "request", slog.String("method", r.Method), slog.String("path", safePath(r)),
				slog.String("route", st.route), slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
				slog.Float64("duration_ms", float64(d.Microseconds())/1000), slog.String("remote", s.clientIP(r)))
		}
		if p == http.ErrAbortHandler {
			panic(p)
		}
	}()
	// s.https is true only with TLS or a trusted proxy's word.
	securityHeaders(rec.Header(), r.TLS != nil || (len(s.proxies) > 0 && s.https(r)))
	var mounted http.Handler
	for _, m := range s.mounts {
		if strings.HasPrefix(r.URL.Path, m.prefix) || r.URL.Path+"/" == m.prefix {
			st.route, mounted = strings.TrimSuffix(m.prefix, "/"), m.h
			break
		}
	}
	// Mounted handlers (the API) take every method; the site only GET,
	// HEAD and POST.
	if ok := s.checkRequest(rec, r, mounted != nil); !ok {
		return
	}
	if mounted != nil {
		mounted.ServeHTTP(rec, r)
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(rec, r.Body, s.maxBody)
	}
	s.loadSession(r, st)
	if s.stage != nil {
		st.stage = s.stage.ID
		r = r.WithContext(core.NewContextWithStageView(r.Context(), s.stage.ID))
	}
	if r.Method == http.MethodPost && !s.checkCSRF(rec, r, st) {
		return
	}
	if st.user != nil && !st.user.IsAnonymous() {
		r = r.WithContext(core.NewContextWithUser(r.Context(), st.user))
	}
	s.mux.ServeHTTP(rec, r)
}

// maxURLBytes bounds the request target.
const maxURLBytes = 2048

// checkRequest refuses malformed requests before any work: overlong
// URLs (414), unsupported methods (405), paths that are not valid UTF-8
// or hold control characters, and malformed query strings (400).
func (s *Server) checkRequest(w http.ResponseWriter, r *http.Request, anyMethod bool) bool {
	switch {
	case len(r.RequestURI) > maxURLBytes || len(r.URL.RawQuery) > maxURLBytes:
		s.errorPage(w, r, http.StatusRequestURITooLong, "The address is too long.")
		return false
	case !anyMethod && r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost:
		w.Header().Set("Allow", "GET, HEAD, POST")
		s.errorPage(w, r, http.StatusMethodNotAllowed, "This method is not allowed here.")
		return false
	case !validPath(r.URL.Path):
		s.fail(w, r, core.Errorf(core.EInvalid, "The address is malformed."))
		return false
	}
	if cp := cleanPath(r.URL.Path); cp != r.URL.Path {
		u := url.URL{Path: cp, RawQuery: r.URL.RawQuery}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
		return false
	}
	if r.URL.RawQuery != "" {
		if _, err := parseQuery(r.URL.RawQuery); err != nil {
			s.fail(w, r, core.Errorf(core.EInvalid, "The query string is malformed."))
			return false
		}
	}
	return true
}

// validPath reports whether p is a path worth looking up: absolute,
// valid UTF-8, no control characters or backslashes.
func validPath(p string) bool {
	if !strings.HasPrefix(p, "/") || !utf8Valid(p) {
		return false
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f || c == '\\' || (c >= 0x80 && c < 0xa0) {
			return false
		}
	}
	return true
}

// cleanPath removes dot segments and repeated slashes, keeping a
// trailing slash.
func cleanPath(p string) string {
	cp := path.Clean(p)
	if strings.HasSuffix(p, "/") && cp != "/" {
		cp += "/"
	}
	return cp
}

// recorder remembers the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (w *recorder) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// securityHeaders go on every response. Their values are shared,
// full slices (len == cap): an append by a later handler copies.
func securityHeaders(h http.Header, https bool) {
	for _, v := range securityHeaderValues {
		h[v.name] = v.value
	}
	if https {
		h["Strict-Transport-Security"] = hstsValue
	}
}

var (
	securityHeaderValues = []headerValue{
		{"Content-Security-Policy", full("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")},
		{"X-Content-Type-Options", full("nosniff")},
		{"Referrer-Policy", full("strict-origin-when-cross-origin")},
		{"X-Frame-Options", full("DENY")},
		{"Cross-Origin-Opener-Policy", full("same-origin")},
	}
	hstsValue = full("max-age=31536000")
)

// safePath is the path for logs: at most 200 bytes.
func safePath(r *http.Request) string {
	p := r.URL.EscapedPath()
	if len(p) > 200 {
		p = p[:200] + "…"
	}
	return p
}
