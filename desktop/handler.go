package desktop

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/memory"
	"github.com/trovato/trovato/server"
	"github.com/trovato/trovato/server/admin"
	"github.com/trovato/trovato/server/api"
)

// Handler is the http.Handler the window's asset server calls: the
// server's URL space from the local kernel, with no TCP port. /admin/ is
// the editor, /api/v1 the API, everything else the site (server.Server,
// with the API and the editor mounted exactly as `trovato serve` mounts
// them).
//
// The editor and the API act as the local user without cookies: the
// handler holds one session of that user and adds it to every /admin/
// and /api/v1 request (a cookie the webview sent is dropped, and
// Set-Cookie never reaches the webview). The site is served as an
// anonymous visitor sees it, unless the editor chose a preview stage for
// the session (PUT /api/v1/session/preview): then every site request
// carries the session, so pages show the stage plus the preview banner,
// as the server shows a previewing editor.
type Handler struct {
	site     *server.Server
	sessions core.SessionStore
	user     *core.User
	epoch    func(context.Context) (int64, error)

	mu   sync.Mutex
	sess *core.Session
}

// HandlerOptions tune NewHandler.
type HandlerOptions struct {
	Logger *slog.Logger
}

// NewHandler builds the handler over the open site. It loads the enabled
// plugins first, so the first page already runs them.
func NewHandler(ctx context.Context, s *Site, opts HandlerOptions) (*Handler, error) {
	k := s.Kernel
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	actx, err := s.Act(ctx)
	if err != nil {
		return nil, err
	}
	user := core.UserFromContext(actx)
	if k.Plugins != nil && !k.Plugins.Loading() {
		if err := k.Plugins.Load(ctx); err != nil {
			return nil, err
		}
	}
	sessions := memory.NewSessionStore(core.SessionTimeouts{})
	sopts := server.Options{
		Logger:          log.With("component", "server"),
		Sessions:        sessions,
		Limiter:         memory.NewRateLimiter(),
		Cache:           memory.NewCache(0),
		MaxRequestBytes: k.Config.MaxRequestBytes,
	}
	h := &Handler{sessions: sessions, user: user, epoch: func(ctx context.Context) (int64, error) {
		return k.Accounts.SessionEpoch(ctx, user.ID)
	}}
	var site http.Handler
	apiH, err := api.New(api.Options{
		Kernel: k, Logger: log, Sessions: sessions, Accounts: k.Accounts, Limiter: sopts.Limiter,
		Site:            http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { site.ServeHTTP(w, r) }),
		MaxRequestBytes: k.Config.MaxRequestBytes, MaxUploadBytes: k.Config.MaxUploadBytes,
	})
	if err != nil {
		return nil, err
	}
	sopts.Mounts = map[string]http.Handler{api.Prefix + "/": apiH, admin.Prefix: admin.Handler()}
	srv, err := server.New(k, sopts)
	if err != nil {
		return nil, err
	}
	// Previews render with the enabled theme and follow theme changes.
	if err := srv.FollowThemes(ctx, 0); err != nil {
		return nil, err
	}
	site, h.site = srv, srv
	return h, nil
}

// Session returns the local user's session, making it again if it is
// gone (the editor signed out, or it expired).
func (h *Handler) Session(ctx context.Context) (*core.Session, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sess != nil {
		if s, err := h.sessions.GetSession(ctx, h.sess.ID); err == nil && s.UserID == h.user.ID {
			h.sess = s
			return s, nil
		}
	}
	epoch, err := h.epoch(ctx)
	if err != nil {
		return nil, err
	}
	s := &core.Session{UserID: h.user.ID, Epoch: epoch}
	if err := h.sessions.SaveSession(ctx, s); err != nil {
		return nil, err
	}
	h.sess = s
	return s, nil
}

// SetPreview makes the site show stage (core.NilID: live), as the
// editor's stage switcher does through the API.
func (h *Handler) SetPreview(ctx context.Context, stage core.ID) error {
	s, err := h.Session(ctx)
	if err != nil {
		return err
	}
	s.PreviewStageID = stage
	return h.sessions.SaveSession(ctx, s)
}

// User returns the local user.
func (h *Handler) User() *core.User { return h.user }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = r.Clone(r.Context())
	r.Header.Del("Cookie")
	if r.RemoteAddr == "" {
		r.RemoteAddr = "127.0.0.1:0"
	}
	sess, err := h.Session(r.Context())
	if err != nil {
		http.Error(w, "The local session cannot be opened: "+core.ErrorMessage(err), http.StatusInternalServerError)
		return
	}
	if editorPath(r.URL.Path) || (sess.PreviewStageID != core.NilID && sess.PreviewStageID != core.LiveStageID) {
		r.AddCookie(&http.Cookie{Name: server.SessionCookie, Value: sess.ID})
	}
	h.site.ServeHTTP(&noCookies{ResponseWriter: w}, r)
}

// editorPath reports whether p belongs to the editor or the API.
func editorPath(p string) bool {
	return p == api.Prefix || strings.HasPrefix(p, api.Prefix+"/") || p == "/admin" || strings.HasPrefix(p, admin.Prefix)
}

// noCookies drops Set-Cookie: the webview keeps no cookies, the handler
// holds the session.
type noCookies struct {
	http.ResponseWriter
	wrote bool
}

func (w *noCookies) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.Header().Del("Set-Cookie")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *noCookies) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *noCookies) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *noCookies) Unwrap() http.ResponseWriter { return w.ResponseWriter }
