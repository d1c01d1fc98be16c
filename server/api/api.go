// Package api is the editor API at /api/v1: JSON over HTTP, described by
// the embedded OpenAPI document (openapi.yaml, served as
// /api/v1/openapi.json). Browsers authenticate with the site's session
// cookie and send the session's CSRF token in X-CSRF-Token on every write;
// the desktop and scripts send a personal API token as
// "Authorization: Bearer ...". Every error is {code, message, fields?},
// with the status from the server's one code→status table. docs/api.md
// describes the conventions.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/render"
	"github.com/trovato/trovato/server"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// Options configure the API handler.
type Options struct {
	Kernel *kernel.Kernel
	Logger *slog.Logger
	// Sessions is the site's session store (server.Server.Sessions()), so
	// that a browser signed in to the site is signed in to the API.
	Sessions core.SessionStore
	// Accounts verifies bearer API tokens and serves the token and audit
	// routes; nil refuses bearer tokens (sessions only).
	Accounts core.AccountService
	// Site renders pages for the preview route (the server.Server); nil
	// leaves preview unavailable (503).
	Site http.Handler
	// Renderer formats text for POST /render (the site's renderer, so
	// previews match pages); nil builds one with the default theme.
	Renderer *render.Renderer
	// Limiter, when set, limits requests per user (or client address) to
	// RateLimit per minute.
	Limiter   core.RateLimiter
	RateLimit int
	// CursorKey signs paging cursors; empty means the site's shared key
	// (site_secret api_cursor in PostgreSQL), the same on every node.
	CursorKey []byte
	// ClientAddr returns the client's address of a request (behind
	// trusted proxies, from X-Forwarded-For); nil uses the peer address.
	// It keys the anonymous rate limit and goes into the audit log.
	ClientAddr func(*http.Request) string
	// MaxRequestBytes bounds JSON bodies; 0 means the kernel's setting.
	MaxRequestBytes int64
	// MaxUploadBytes bounds one upload; 0 means the kernel's setting.
	MaxUploadBytes int64
}

// API is the /api/v1 handler.
type API struct {
	k         *kernel.Kernel
	store     *postgres.Store
	log       *slog.Logger
	sessions  core.SessionStore
	accounts  core.AccountService
	site      http.Handler
	renderer  *render.Renderer
	limiter   core.RateLimiter
	rateLimit int
	cursorKey []byte
	maxBody   int64
	maxUpload int64
	addrOf    func(*http.Request) string
	mux       *http.ServeMux
	routes    []Route
	spec      []byte // the OpenAPI document as JSON
}

// Route is one served operation.
type Route struct {
	Method  string
	Pattern string // under Prefix, with {name} parameters
}

// New builds the API over a kernel.
func New(opts Options) (*API, error) {
	if opts.Kernel == nil || opts.Kernel.Store == nil {
		return nil, errors.New("api: a kernel with a store is required")
	}
	if opts.Sessions == nil {
		return nil, errors.New("api: a session store is required")
	}
	a := &API{
		k: opts.Kernel, store: opts.Kernel.Store, log: opts.Logger, sessions: opts.Sessions, accounts: opts.Accounts,
		site: opts.Site, renderer: opts.Renderer, limiter: opts.Limiter, rateLimit: opts.RateLimit, cursorKey: opts.CursorKey,
		maxBody: opts.MaxRequestBytes, maxUpload: opts.MaxUploadBytes, addrOf: opts.ClientAddr,
	}
	if a.addrOf == nil {
		a.addrOf = peerAddr
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.log = a.log.With("component", "api")
	if len(a.cursorKey) == 0 {
		// One key for every node and restart: a cursor from one node
		// pages on another.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		key, err := a.store.SiteSecret(ctx, "api_cursor")
		cancel()
		if err != nil {
			return nil, err
		}
		a.cursorKey = key
	}
	if a.maxBody <= 0 {
		a.maxBody = a.k.Config.MaxRequestBytes
	}
	if a.maxBody <= 0 {
		a.maxBody = 2 << 20
	}
	if a.maxUpload <= 0 {
		a.maxUpload = a.k.Config.MaxUploadBytes
	}
	if a.maxUpload <= 0 {
		a.maxUpload = 64 << 20
	}
	if a.rateLimit <= 0 {
		a.rateLimit = 1200
		// rate_limits may set the API's class: "api=off" or N/WINDOW (as
		// a per-minute rate).
		if l, err := kernel.ParseRateLimits(a.k.Config.RateLimits); err == nil {
			if rl, ok := l["api"]; ok && rl.Limit == 0 {
				a.limiter = nil
			} else if ok {
				a.rateLimit = max(1, int(float64(rl.Limit)*float64(time.Minute)/float64(rl.Window)))
			}
		}
	}
	if a.renderer == nil {
		r, err := render.New(render.DefaultTheme(), render.Options{Logger: a.log})
		if err != nil {
			return nil, err
		}
		a.renderer = r
	}
	spec, err := specJSON()
	if err != nil {
		return nil, err
	}
	a.spec = spec
	a.mux = http.NewServeMux()
	a.register()
	a.mux.Handle(Prefix+"/", a.wrap(false, func(w http.ResponseWriter, r *http.Request) error {
		return core.Errorf(core.ENotFound, "%s", noRoute)
	}))
	return a, nil
}

// noRoute is the message of a request no route serves.
const noRoute = "No API route has this method and path."

// Routes lists the operations the router serves.
func (a *API) Routes() []Route { return append([]Route(nil), a.routes...) }

// ServeHTTP implements http.Handler. It serves full paths (Prefix
// included): mount it with mux.Handle(api.Prefix+"/", a).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			a.fail(w, r, fmt.Errorf("panic: %v", p))
		}
	}()
	a.mux.ServeHTTP(w, r)
}

// handlerFunc is a route that returns its error for the one error path.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers an authenticated route.
func (a *API) handle(method, pattern string, h handlerFunc) {
	a.routes = append(a.routes, Route{Method: method, Pattern: pattern})
	a.mux.Handle(method+" "+Prefix+pattern, a.wrap(true, h))
}

// handlePublic registers a route anonymous callers may use.
func (a *API) handlePublic(method, pattern string, h handlerFunc) {
	a.routes = append(a.routes, Route{Method: method, Pattern: pattern})
	a.mux.Handle(method+" "+Prefix+pattern, a.wrap(false, h))
}

type authKey struct{}

// auth is what the request authenticated as.
type auth struct {
	user  *core.User
	sess  *core.Session // nil for bearer tokens
	token *core.APIToken
}

func authOf(r *http.Request) *auth {
	if au, ok := r.Context().Value(authKey{}).(*auth); ok {
		return au
	}
	return &auth{user: core.Anonymous}
}

// wrap authenticates (session cookie or bearer token), enforces CSRF for
// cookie sessions, applies the rate limit and the body limit, and renders
// a returned error.
func (a *API) wrap(needUser bool, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.serve(w, r, needUser, h); err != nil {
			a.fail(w, r, err)
		}
	})
}

func (a *API) serve(w http.ResponseWriter, r *http.Request, needUser bool, h handlerFunc) error {
	ctx := core.NewContextWithClientAddr(r.Context(), a.addrOf(r))
	au, err := a.authenticate(ctx, r)
	if err != nil {
		return err
	}
	if !au.user.IsAnonymous() {
		ctx = core.NewContextWithUser(ctx, au.user)
		if au.token != nil {
			ctx = core.NewContextWithTokenScope(ctx, au.token.Scope())
		}
	}
	ctx = context.WithValue(ctx, authKey{}, au)
	r = r.WithContext(ctx)
	if needUser && au.user.IsAnonymous() {
		return core.Errorf(core.EUnauthorized, "Sign in or send an API token.")
	}
	if au.sess != nil && !safeMethod(r.Method) {
		if t := r.Header.Get(server.CSRFHeader); t == "" || !au.sess.CheckCSRFToken(t) {
			return core.Errorf(core.EForbidden, "The %s header is missing or does not match the session.", server.CSRFHeader)
		}
	}
	if err := a.allow(w, r, au); err != nil {
		return err
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, a.bodyLimit(r))
	}
	return h(w, r)
}

func (a *API) bodyLimit(r *http.Request) int64 {
	if r.Method == http.MethodPost && r.URL.Path == Prefix+"/files" {
		// The multipart envelope around the file.
		return a.maxUpload + 64<<10
	}
	if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, Prefix+"/sync/blobs/") {
		return a.maxUpload // a file's bytes for a pushed changeset (docs/sync.md)
	}
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/changeset") {
		return max(a.maxUpload, MaxChangesetBytes)
	}
	if r.Method == http.MethodPost && r.URL.Path == Prefix+"/plugins" {
		return kernel.MaxPluginModuleBytes + 2<<20
	}
	return a.maxBody
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// authenticate finds the request's user: a bearer token wins over the
// cookie. A bad token is 401; a missing, expired or unreadable session is
// anonymous.
func (a *API) authenticate(ctx context.Context, r *http.Request) (*auth, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return nil, core.Errorf(core.EUnauthorized, "The Authorization header must be \"Bearer <token>\".")
		}
		if a.accounts == nil {
			return nil, core.Errorf(core.EUnauthorized, "API tokens are not accepted here.")
		}
		u, t, err := a.accounts.VerifyToken(ctx, strings.TrimSpace(tok))
		if err != nil {
			if c := core.ErrorCode(err); c == core.EInvalid || c == core.ENotFound {
				return nil, core.Errorf(core.EUnauthorized, "The API token is not valid.")
			}
			return nil, err
		}
		return &auth{user: u, token: t}, nil
	}
	au := &auth{user: core.Anonymous}
	c, err := r.Cookie(server.SessionCookie)
	if err != nil || !core.ValidSessionID(c.Value) {
		return au, nil
	}
	sess, err := a.sessions.GetSession(ctx, c.Value)
	if err != nil {
		if core.ErrorCode(err) != core.ENotFound {
			a.log.Warn("session store failed; treating the request as anonymous", "err", err)
		}
		return au, nil
	}
	// The same check as the site's: a session from before "log out
	// everywhere" or a new password has ended.
	u, ok, err := a.k.SessionUsers.Resolve(ctx, sess)
	if err != nil {
		return nil, err
	}
	if !ok {
		if err := a.sessions.DeleteSession(ctx, sess.ID); err != nil {
			a.log.Warn("delete an ended session", "err", err)
		}
		return au, nil
	}
	au.sess = sess
	if u != nil {
		au.user = u
	}
	return au, nil
}

// allow applies the per-user (or per-address) rate limit. A limiter that
// fails lets the request through.
func (a *API) allow(w http.ResponseWriter, r *http.Request, au *auth) error {
	if a.limiter == nil {
		return nil
	}
	key := "api:addr:" + a.addrOf(r)
	if !au.user.IsAnonymous() {
		key = "api:user:" + au.user.ID.String()
	}
	ok, retry, err := a.limiter.Allow(r.Context(), key, a.rateLimit, time.Minute)
	if err != nil {
		a.log.Warn("rate limiter failed; allowing the request", "err", err)
		return nil
	}
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
		return core.Errorf(core.ERateLimit, "Too many requests. Wait a moment and try again.")
	}
	return nil
}

// peerAddr is the address of the connection's peer.
func peerAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
