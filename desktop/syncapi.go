package desktop

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/sitesync"
	"github.com/trovato/trovato/server"
)

// The desktop's own sync routes, beside the API's GET /api/v1/sync/status
// (docs/desktop.md): the editor's Sync screen pulls, pushes a stage and
// resolves conflicts through them. They exist only in the app, where the
// local site holds the server's address and token; they act as the local
// user, who needs site.administer, and take the session's CSRF token as
// every API write does.
const (
	SyncPullPath      = "/api/v1/sync/pull"      // POST: pull now
	SyncPushPath      = "/api/v1/sync/push"      // POST {"stage"}: push a stage
	SyncConflictsPath = "/api/v1/sync/conflicts" // GET: push and pull conflicts with both sides
	SyncResolvePath   = "/api/v1/sync/resolve"   // POST {"side","stage","kind","entity_id","choice"}
)

// pushConflicts keeps the last refused push report per stage, so the
// Sync screen can show the conflicts with both documents and settle
// them one by one. It is memory only: after a restart, pushing the stage
// again reports the same conflicts (nothing is applied meanwhile).
type pushConflicts struct {
	mu      sync.Mutex
	byStage map[core.ID]*PushConflicts
}

// PushConflicts are the entities of a stage the server refused.
type PushConflicts struct {
	StageID  core.ID                 `json:"stage_id"`
	Stage    string                  `json:"stage"`
	Problems []core.ChangesetProblem `json:"problems"`
}

// PullConflictView is a pulled change that met a local edit of live,
// with both documents and their differences (old: the server's, new:
// this computer's).
type PullConflictView struct {
	Kind           string             `json:"kind"`
	EntityID       core.ID            `json:"entity_id"`
	LocalRevision  *core.ID           `json:"local_revision_id,omitempty"`
	ServerRevision *core.ID           `json:"server_revision_id,omitempty"`
	MineDoc        json.RawMessage    `json:"mine_doc,omitempty"`
	TheirsDoc      json.RawMessage    `json:"theirs_doc,omitempty"`
	Diff           []core.FieldChange `json:"diff"`
}

// SyncConflicts is what GET /api/v1/sync/conflicts answers.
type SyncConflicts struct {
	Push []*PushConflicts   `json:"push"`
	Pull []PullConflictView `json:"pull"`
}

// ResolveRequest settles one conflict: side "push" (of Stage) or "pull".
type ResolveRequest struct {
	Side     string  `json:"side"`
	Stage    string  `json:"stage,omitempty"`
	Kind     string  `json:"kind"`
	EntityID core.ID `json:"entity_id"`
	Choice   string  `json:"choice"`
}

func isSyncRoute(p string) bool {
	return p == SyncPullPath || p == SyncPushPath || p == SyncConflictsPath || p == SyncResolvePath
}

// engine is the sync client on the open site, with the connector's
// options (retries, timeouts) when it is the sync client.
func (a *App) engine(site *Site) (*sitesync.Engine, error) {
	opts := sitesync.Options{}
	if c, ok := a.connector.(*SyncConnector); ok {
		opts = c.Options
	}
	opts.Store, opts.Logger = site.Kernel.Store, a.log
	opts.TokenFile = filepath.Join(site.Kernel.Config.DataDir, sitesync.TokenFileName)
	return sitesync.New(opts)
}

// serveSync answers the desktop's sync routes.
func (a *App) serveSync(w http.ResponseWriter, r *http.Request, h *Handler) {
	ctx := r.Context()
	out, status, err := func() (any, int, error) {
		site := a.Site()
		if site == nil {
			return nil, 0, core.Errorf(core.EUnavailable, "the local site is not open")
		}
		want := http.MethodPost
		if r.URL.Path == SyncConflictsPath {
			want = http.MethodGet
		}
		if r.Method != want {
			w.Header().Set("Allow", want)
			return nil, 0, core.Errorf(core.EInvalid, "%s takes %s", r.URL.Path, want)
		}
		sess, err := h.Session(ctx)
		if err != nil {
			return nil, 0, err
		}
		if want == http.MethodPost && !sess.CheckCSRFToken(r.Header.Get("X-CSRF-Token")) {
			return nil, 0, core.Errorf(core.EForbidden, "The request lacks this session's CSRF token (X-CSRF-Token).")
		}
		actx := core.NewContextWithUser(ctx, h.User())
		if err := site.Kernel.Store.Authorizer().Require(actx, h.User(), core.PermAdministerSite); err != nil {
			return nil, 0, err
		}
		if syncStatus(ctx, site) == nil {
			return nil, 0, core.Errorf(core.EInvalid, "this site is not connected to a server: it was made on this computer")
		}
		switch r.URL.Path {
		case SyncPullPath:
			res, err := a.Pull(actx)
			return res, http.StatusOK, err
		case SyncPushPath:
			var in struct {
				Stage string `json:"stage"`
			}
			if err := readJSON(r, &in); err != nil {
				return nil, 0, err
			}
			rep, err := a.Push(actx, in.Stage)
			return rep, http.StatusOK, err
		case SyncConflictsPath:
			c, err := a.Conflicts(actx)
			return c, http.StatusOK, err
		default:
			var in ResolveRequest
			if err := readJSON(r, &in); err != nil {
				return nil, 0, err
			}
			if err := a.Resolve(actx, in); err != nil {
				return nil, 0, err
			}
			c, err := a.Conflicts(actx)
			return c, http.StatusOK, err
		}
	}()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		status = server.HTTPStatus(err)
		body := map[string]any{"code": core.ErrorCode(err), "message": errText(err)}
		var ce *sitesync.ConflictError
		if errors.As(err, &ce) {
			body["report"] = ce.Report
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
		return
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return core.Errorf(core.EInvalid, "the request body cannot be read")
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return core.Errorf(core.EInvalid, "the request body is not the JSON this route takes: %v", err)
	}
	return nil
}

// Push sends a local stage (name or id) to the server. Applied: 200 and
// the server's report, and the stage's stored conflicts are gone. Refused
// for conflicts or invalid entities: the *sitesync.ConflictError, whose
// report is kept for Conflicts and Resolve; nothing was applied on either
// side. The server not answering: EUnavailable, the push is queued.
// ctx carries the local user.
func (a *App) Push(ctx context.Context, stage string) (*core.ChangesetReport, error) {
	site := a.Site()
	if site == nil {
		return nil, core.Errorf(core.EInvalid, "there is no local site yet")
	}
	if strings.TrimSpace(stage) == "" {
		return nil, core.InvalidFields("Name the stage to push.", []core.FieldError{{Path: "stage", Message: "required"}})
	}
	st, err := site.Kernel.Store.Stages().FindStage(ctx, stage)
	if err != nil {
		return nil, err
	}
	e, err := a.engine(site)
	if err != nil {
		return nil, err
	}
	rep, err := e.Push(ctx, st.ID)
	a.pushed.mu.Lock()
	defer a.pushed.mu.Unlock()
	if a.pushed.byStage == nil {
		a.pushed.byStage = map[core.ID]*PushConflicts{}
	}
	var ce *sitesync.ConflictError
	switch {
	case errors.As(err, &ce) && ce.Report != nil:
		a.pushed.byStage[st.ID] = &PushConflicts{StageID: st.ID, Stage: st.Name, Problems: ce.Report.Problems}
		return nil, err
	case err != nil:
		return nil, err
	}
	delete(a.pushed.byStage, st.ID)
	return rep, nil
}

// Conflicts lists what waits for a choice: the entities of refused
// pushes (both documents and the diff, as the server reported them) and
// pulled changes that met local edits of live (both revisions, read from
// the local database, and their diff).
func (a *App) Conflicts(ctx context.Context) (*SyncConflicts, error) {
	site := a.Site()
	if site == nil {
		return nil, core.Errorf(core.EInvalid, "there is no local site yet")
	}
	out := &SyncConflicts{Push: []*PushConflicts{}, Pull: []PullConflictView{}}
	a.pushed.mu.Lock()
	for _, pc := range a.pushed.byStage {
		if len(pc.Problems) > 0 {
			cp := *pc
			cp.Problems = append([]core.ChangesetProblem(nil), pc.Problems...)
			out.Push = append(out.Push, &cp)
		}
	}
	a.pushed.mu.Unlock()
	sy := site.Kernel.Store.Sync()
	pcs, err := sy.FindPullConflicts(ctx)
	if err != nil {
		return nil, err
	}
	var ids []core.ID
	for _, c := range pcs {
		for _, id := range []*core.ID{c.LocalRevision, c.ServerRevison} {
			if id != nil {
				ids = append(ids, *id)
			}
		}
	}
	docs, err := sy.RevisionDocs(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, c := range pcs {
		v := PullConflictView{Kind: c.Kind, EntityID: c.EntityID, LocalRevision: c.LocalRevision, ServerRevision: c.ServerRevison}
		if c.LocalRevision != nil {
			v.MineDoc = docs[*c.LocalRevision]
		}
		if c.ServerRevison != nil {
			v.TheirsDoc = docs[*c.ServerRevison]
		}
		v.Diff = core.DiffJSON("", v.TheirsDoc, v.MineDoc)
		if v.Diff == nil {
			v.Diff = []core.FieldChange{}
		}
		out.Pull = append(out.Pull, v)
	}
	return out, nil
}

// Resolve settles one conflict with the editor's choice (mine or theirs).
// A push conflict is settled locally (mine: the server's revision becomes
// the base, so the next push applies the local change over it; theirs:
// the local stage shows the server's version) and leaves the list; push
// the stage again to send the rest. A pull conflict is settled at once.
func (a *App) Resolve(ctx context.Context, in ResolveRequest) error {
	site := a.Site()
	if site == nil {
		return core.Errorf(core.EInvalid, "there is no local site yet")
	}
	if in.Choice != core.ResolveMine && in.Choice != core.ResolveTheirs {
		return core.InvalidFields("Choose mine or theirs.", []core.FieldError{{Path: "choice", Message: "must be mine or theirs"}})
	}
	e, err := a.engine(site)
	if err != nil {
		return err
	}
	switch in.Side {
	case "pull":
		return e.ResolvePullConflict(ctx, in.Kind, in.EntityID, in.Choice)
	case "push":
	default:
		return core.InvalidFields("Say which conflict this is.", []core.FieldError{{Path: "side", Message: "must be push or pull"}})
	}
	st, err := site.Kernel.Store.Stages().FindStage(ctx, in.Stage)
	if err != nil {
		return err
	}
	a.pushed.mu.Lock()
	defer a.pushed.mu.Unlock()
	pc := a.pushed.byStage[st.ID]
	idx := -1
	if pc != nil {
		for i, p := range pc.Problems {
			if p.Kind == in.Kind && p.EntityID == in.EntityID {
				idx = i
			}
		}
	}
	if idx < 0 {
		return core.Errorf(core.ENotFound, "no push conflict for %s %s in stage %s: push the stage to see its conflicts", in.Kind, in.EntityID, st.Name)
	}
	p := pc.Problems[idx]
	if p.Problem != "conflict" {
		return core.Errorf(core.EInvalid, "the server refused %s %s (%s): fix it in the stage and push again; there is no version to choose", p.Kind, p.EntityID, p.Message)
	}
	if err := e.ResolvePushConflict(ctx, st.ID, p, in.Choice); err != nil {
		return err
	}
	pc.Problems = append(pc.Problems[:idx:idx], pc.Problems[idx+1:]...)
	if len(pc.Problems) == 0 {
		delete(a.pushed.byStage, st.ID)
	}
	return nil
}
