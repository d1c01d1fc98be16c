package desktop

import (
	"context"
	"encoding/json"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/server"
	"github.com/trovato/trovato/server/export"
)

// Connector pulls a copy of a Trovato server into the empty local site
// (the sync client). Nil in a build without sync: the setup screen then
// offers only a new site.
type Connector interface {
	Connect(ctx context.Context, site *Site, serverURL, token string) error
}

// App is the desktop app without its window: the local site's life cycle
// (first-run setup, open, close) and the http.Handler the window's asset
// server calls. Paths under /_desktop/ are the app's own screens; every
// other path goes to the site's Handler once the site is open.
type App struct {
	cfg       Config
	log       *slog.Logger
	connector Connector

	opened  chan struct{} // closed once the site is open (or failed)
	mu      sync.RWMutex
	site    *Site
	handler *Handler
	broken  error // the site exists but cannot be opened
	stopBg  context.CancelFunc
	bgDone  chan struct{}

	// OnReady, when set, is called once the editor's first API request
	// succeeded (the window is editable): the bench and the tests use it.
	OnReady   func()
	readyOnce sync.Once
	// Report, when set, receives what a test script posts to
	// /_desktop/report (TROVATO_DESKTOP_TEST_SCRIPT).
	Report func(body []byte)

	pushed pushConflicts // refused pushes' reports, per stage (syncapi.go)
}

// Paths of the app's own screens.
const (
	SetupPath  = "/_desktop/setup"
	StatusPath = "/_desktop/status"
	ReportPath = "/_desktop/report"
)

// NewApp opens the local site in cfg.Kernel.DataDir if there is one. It
// does not fail for a site that cannot be opened: the app then shows the
// error on every screen (Err), and nothing in the data directory is
// changed. connector may be nil.
func NewApp(ctx context.Context, cfg Config, connector Connector) *App {
	a := StartApp(ctx, cfg, connector)
	a.Wait()
	return a
}

// StartApp is NewApp that opens the site in the background, so the
// window starts meanwhile; requests wait until the site is open.
func StartApp(ctx context.Context, cfg Config, connector Connector) *App {
	a := &App{cfg: cfg, log: cfg.Logger, connector: connector, opened: make(chan struct{})}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	go func() {
		defer close(a.opened)
		a.open(ctx)
	}()
	return a
}

// Wait waits until StartApp opened the site (or failed to).
func (a *App) Wait() { <-a.opened }

func (a *App) open(ctx context.Context) {
	info, err := Inspect(a.cfg.Kernel.DataDir)
	if err != nil {
		a.setBroken(err)
		return
	}
	if info == nil {
		return // first start: the setup screen
	}
	site, err := OpenSite(ctx, a.cfg)
	if err != nil {
		a.setBroken(err)
		return
	}
	if err := a.serve(ctx, site); err != nil {
		site.Close(context.WithoutCancel(ctx))
		a.setBroken(err)
	}
}

func (a *App) setBroken(err error) {
	a.mu.Lock()
	a.broken = err
	a.mu.Unlock()
}

// serve builds the handler over an open site and starts the scheduler,
// the export and deploy after publish, and the plugin watcher.
func (a *App) serve(ctx context.Context, site *Site) error {
	h, err := NewHandler(ctx, site, HandlerOptions{Logger: a.log})
	if err != nil {
		return err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			server.RunScheduler(bg, site.Kernel, a.log.With("component", "scheduler"), 10*time.Second)
		}()
		// "Export and deploy after publish": deploy_target documents with
		// on_publish, as trovato serve runs them (docs/export.md).
		wg.Add(1)
		go func() {
			defer wg.Done()
			export.DeployOnPublish(bg, site.Kernel, a.cfg.Kernel.DataDir, 5*time.Second, a.log.With("component", "deploy"))
		}()
		if site.Kernel.Plugins != nil {
			if err := site.Kernel.Plugins.Watch(bg, 0); err != nil && bg.Err() == nil {
				a.log.Error("plugin watcher stopped", "err", err)
			}
		}
		wg.Wait()
	}()
	a.mu.Lock()
	a.site, a.handler, a.stopBg, a.bgDone = site, h, cancel, done
	a.mu.Unlock()
	return nil
}

// Err returns why the local site cannot be opened, or nil.
func (a *App) Err() error {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.broken
}

// Site returns the open site, or nil (first start, or Err).
func (a *App) Site() *Site {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.site
}

// Handler returns the site's handler, or nil while there is no open site.
func (a *App) Handler() *Handler {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.handler
}

// Setup makes the local site on the first start (CreateSite), or with a
// server URL pulls a copy through the connector.
func (a *App) Setup(ctx context.Context, choice SetupChoice) error {
	a.Wait()
	a.mu.RLock()
	open, broken := a.site != nil, a.broken
	a.mu.RUnlock()
	switch {
	case broken != nil:
		return broken
	case open:
		return core.Errorf(core.EConflict, "the local site is already set up")
	}
	if choice.Server != "" {
		if a.connector == nil {
			return core.Errorf(core.EUnavailable, "this build cannot connect to a server yet (no sync client): make a new site instead")
		}
		u, err := url.Parse(choice.Server)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return core.Errorf(core.EInvalid, "the server address must be a URL like https://example.org/")
		}
		if strings.TrimSpace(choice.Token) == "" {
			return core.Errorf(core.EInvalid, "an API token of your account on the server is required")
		}
	}
	site, err := CreateSite(ctx, a.cfg, NewSiteOptions{Demo: choice.Demo, Server: choice.Server})
	if err != nil {
		return err
	}
	if choice.Server != "" {
		err := a.connector.Connect(ctx, site, choice.Server, choice.Token)
		if err == nil {
			err = site.CompleteSetup(a.cfg.Kernel.DataDir)
		}
		if err != nil {
			site.Close(context.WithoutCancel(ctx))
			return err
		}
	}
	if err := a.serve(ctx, site); err != nil {
		site.Close(context.WithoutCancel(ctx))
		return err
	}
	return nil
}

// SetupChoice is what the first-start screen asks.
type SetupChoice struct {
	Demo   bool   // a new site with the demo content
	Server string // connect to this server instead
	Token  string
}

// Close stops the background work and the site (the private cluster
// stops unless another process holds it).
func (a *App) Close(ctx context.Context) {
	a.Wait()
	a.mu.Lock()
	site, stop, done := a.site, a.stopBg, a.bgDone
	a.site, a.handler, a.stopBg = nil, nil, nil
	a.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	site.Close(ctx)
}

func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case <-a.opened:
	case <-r.Context().Done():
		return
	}
	switch r.URL.Path {
	case SetupPath:
		a.serveSetup(w, r)
		return
	case StatusPath:
		a.serveStatus(w, r)
		return
	case ReportPath:
		a.serveReport(w, r)
		return
	}
	a.mu.RLock()
	h, broken := a.handler, a.broken
	a.mu.RUnlock()
	switch {
	case broken != nil:
		a.page(w, http.StatusServiceUnavailable, pageData{Title: "The local site cannot be opened", Error: errText(broken), DataDir: a.cfg.Kernel.DataDir})
	case h == nil:
		http.Redirect(w, r, SetupPath, http.StatusSeeOther)
	case isSyncRoute(r.URL.Path):
		a.serveSync(w, r, h)
	default:
		if a.OnReady != nil && r.URL.Path == "/api/v1/session" {
			rec := &statusOf{ResponseWriter: w}
			h.ServeHTTP(rec, r)
			if rec.code == http.StatusOK {
				a.readyOnce.Do(a.OnReady)
			}
			return
		}
		h.ServeHTTP(w, r)
	}
}

type statusOf struct {
	http.ResponseWriter
	code int
}

func (w *statusOf) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusOf) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (a *App) serveSetup(w http.ResponseWriter, r *http.Request) {
	data := pageData{Title: "Welcome to Trovato", DataDir: a.cfg.Kernel.DataDir, CanConnect: a.connector != nil}
	if err := a.Err(); err != nil {
		a.page(w, http.StatusServiceUnavailable, pageData{Title: "The local site cannot be opened", Error: errText(err), DataDir: data.DataDir})
		return
	}
	if a.Handler() != nil {
		http.Redirect(w, r, "/admin/", http.StatusSeeOther)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		a.page(w, http.StatusOK, data)
	case http.MethodPost:
		if o := r.Header.Get("Origin"); o != "" && o != "null" {
			if u, err := url.Parse(o); err != nil || u.Host != r.Host {
				http.Error(w, "The form was sent from another site.", http.StatusForbidden)
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "The form could not be read.", http.StatusBadRequest)
			return
		}
		choice := SetupChoice{Demo: r.PostForm.Get("demo") != ""}
		if r.PostForm.Get("choice") == "connect" {
			choice.Server, choice.Token = strings.TrimSpace(r.PostForm.Get("server")), r.PostForm.Get("token")
			if choice.Server == "" {
				choice.Server = " " // asked to connect without an address
			}
		}
		if err := a.Setup(r.Context(), choice); err != nil {
			data.Error = errText(err)
			data.Server = strings.TrimSpace(choice.Server)
			a.page(w, http.StatusUnprocessableEntity, data)
			return
		}
		http.Redirect(w, r, "/admin/", http.StatusSeeOther)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// Status is what /_desktop/status answers.
type Status struct {
	State   string `json:"state"` // opening, setup, ready or error
	Message string `json:"message,omitempty"`
	DataDir string `json:"data_dir"`
	User    string `json:"user,omitempty"`
	Origin  string `json:"origin,omitempty"`
	Server  string `json:"server,omitempty"`
	Sync    string `json:"sync"` // "unavailable" in a build without the sync client
	// SyncState is the local site's sync with its server (pulling,
	// offline, failed with the last error, queued stages, conflicts);
	// nil for a site that never connected.
	SyncState *core.SyncStatus `json:"sync_state,omitempty"`
}

// Status reports the app's state.
func (a *App) Status() Status {
	a.mu.RLock()
	defer a.mu.RUnlock()
	st := Status{State: "setup", DataDir: a.cfg.Kernel.DataDir, Sync: "unavailable"}
	if a.connector != nil {
		st.Sync = "available"
	}
	select {
	case <-a.opened:
	default:
		st.State = "opening"
		return st
	}
	switch {
	case a.broken != nil:
		st.State, st.Message = "error", errText(a.broken)
	case a.site != nil:
		st.State, st.User = "ready", a.site.User()
		if a.site.Info != nil {
			st.Origin, st.Server = a.site.Info.Origin, a.site.Info.Server
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st.SyncState = syncStatus(ctx, a.site)
		cancel()
	}
	return st
}

func (a *App) serveStatus(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(a.Status())
}

func (a *App) serveReport(w http.ResponseWriter, r *http.Request) {
	if a.Report == nil || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read the report", http.StatusBadRequest)
		return
	}
	a.Report(b)
	w.WriteHeader(http.StatusNoContent)
}

type pageData struct {
	Title      string
	Error      string
	DataDir    string
	Server     string
	CanConnect bool
}

func (a *App) page(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if err := screens.Execute(w, d); err != nil {
		a.log.Error("render desktop screen", "err", err)
	}
}

var screens = template.Must(template.New("screen").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — Trovato</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1d2430}
fieldset{border:1px solid #c5ccd6;border-radius:6px;margin:1rem 0;padding:1rem}
label{display:block;margin:.4rem 0}input[type=url],input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}
button{font:inherit;padding:.5rem 1.2rem;margin-top:.5rem}
.error{border-left:4px solid #b3261e;background:#fdecea;padding:.6rem 1rem}
code{background:#eef1f5;padding:0 .2rem}
</style></head>
<body><main>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if eq .Title "Welcome to Trovato"}}
<p>Trovato keeps your site on this computer, in <code>{{.DataDir}}</code>, so you can write and preview offline.</p>
<form method="post" action="/_desktop/setup">
<fieldset><legend>Start a new site</legend>
<p>The default theme, the item types, menus and categories of a starter site, and the reference plugins.</p>
<label><input type="checkbox" name="demo" value="1"> Add the demo content (articles, pages, images)</label>
<button type="submit" name="choice" value="new">Create the site</button>
</fieldset>
</form>
<form method="post" action="/_desktop/setup">
<fieldset{{if not .CanConnect}} disabled{{end}}><legend>Connect to a Trovato server</legend>
{{if .CanConnect}}<p>Pull a copy of the site, then write offline and push your stages back.</p>{{else}}<p>This build has no sync client yet: connecting to a server is not available.</p>{{end}}
<label>Server address <input type="url" name="server" placeholder="https://example.org/" value="{{.Server}}" required></label>
<label>API token <input type="password" name="token" autocomplete="off" required></label>
<button type="submit" name="choice" value="connect">Connect</button>
</fieldset>
</form>
{{else}}
<p>Nothing in <code>{{.DataDir}}</code> was changed. Fix the problem, or move the directory away to start afresh (keep it: it holds your site), or restore a backup with <code>trovato restore FILE</code>; then start the app again.</p>
{{end}}
</main></body></html>
`))

// errText is the message the app shows: the user owns the site and its
// data directory, so an internal error is shown whole, not hidden as on
// the server.
func errText(err error) string {
	if core.ErrorCode(err) == core.EInternal {
		return strings.ReplaceAll(err.Error(), "\n", " ")
	}
	return core.ErrorMessage(err)
}
