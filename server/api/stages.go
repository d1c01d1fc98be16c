package api

import (
	"bytes"
	"io"
	"net/http"
	"time"

	"github.com/trovato/trovato/core"
)

// findStage resolves the {stage} path parameter (name or id).
func (a *API) findStage(r *http.Request) (*core.Stage, error) {
	v := r.PathValue("stage")
	st, err := a.store.Stages().FindStage(r.Context(), v)
	if err != nil {
		return nil, hideDenied(err, "stage "+v+" not found")
	}
	return st, nil
}

func (a *API) listStages(w http.ResponseWriter, r *http.Request) error {
	closed, err := boolParam(r, "include_closed")
	if err != nil {
		return err
	}
	p, err := a.pageOf(r, scopeOf(r, "include_closed"))
	if err != nil {
		return err
	}
	all, err := a.store.Stages().FindStages(r.Context(), closed)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageSlice(a, p, all))
	return nil
}

type stageCreate struct {
	Name  string `json:"name"`
	Label string `json:"label"`
}

func (a *API) createStage(w http.ResponseWriter, r *http.Request) error {
	var in stageCreate
	if err := decode(r, &in); err != nil {
		return err
	}
	st := &core.Stage{Name: in.Name, Label: in.Label}
	if err := a.store.Stages().CreateStage(r.Context(), st); err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/stages/"+st.Name)
	writeJSON(w, http.StatusCreated, st)
	return nil
}

func (a *API) getStage(w http.ResponseWriter, r *http.Request) error {
	st, err := a.findStage(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (a *API) diffStage(w http.ResponseWriter, r *http.Request) error {
	st, err := a.findStage(r)
	if err != nil {
		return err
	}
	p, err := a.pageOf(r, scopeOf(r))
	if err != nil {
		return err
	}
	changes, err := a.store.Stages().DiffStage(r.Context(), st.ID)
	if err != nil {
		return hideDenied(err, "stage not found")
	}
	writeJSON(w, http.StatusOK, pageSlice(a, p, changes))
	return nil
}

type publishRequest struct {
	OnConflict string            `json:"on_conflict"`
	Choices    map[string]string `json:"choices"`
	DryRun     bool              `json:"dry_run"`
	Message    string            `json:"message"`
}

func (p *publishRequest) options() (core.PublishOptions, error) {
	var bad []core.FieldError
	ok := func(v string) bool {
		return v == "" || v == core.ResolveAbort || v == core.ResolveMine || v == core.ResolveTheirs
	}
	if !ok(p.OnConflict) {
		bad = append(bad, core.FieldError{Path: "on_conflict", Message: "must be abort, mine or theirs"})
	}
	for k, v := range p.Choices {
		if !ok(v) || v == "" {
			bad = append(bad, core.FieldError{Path: "choices." + k, Message: "must be abort, mine or theirs"})
		}
	}
	if bad != nil {
		return core.PublishOptions{}, core.InvalidFields("The publish options are not valid.", bad)
	}
	return core.PublishOptions{OnConflict: p.OnConflict, Choices: p.Choices, DryRun: p.DryRun, Message: p.Message}, nil
}

// publishResult answers a publish or rollback: 200 with the report when
// applied or a dry run; a conflict carrying the report when problems were
// left unresolved (nothing changed).
func publishResult(w http.ResponseWriter, rep *core.PublishReport) error {
	if rep.Entries == nil {
		rep.Entries = []core.PublishEntry{}
	}
	if !rep.Applied && !rep.DryRun {
		return &conflictError{err: core.Errorf(core.EConflict, "Nothing was published: resolve the problems the report lists (choices: mine, theirs)."), report: rep}
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (a *API) publishStage(w http.ResponseWriter, r *http.Request) error {
	st, err := a.findStage(r)
	if err != nil {
		return err
	}
	var in publishRequest
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	opts, err := in.options()
	if err != nil {
		return err
	}
	rep, err := a.k.PublishStage(r.Context(), st.ID, opts)
	if err != nil {
		return err
	}
	return publishResult(w, rep)
}

func (a *API) discardStage(w http.ResponseWriter, r *http.Request) error {
	st, err := a.findStage(r)
	if err != nil {
		return err
	}
	if err := a.store.Stages().DiscardStage(r.Context(), st.ID); err != nil {
		return err
	}
	st, err = a.store.Stages().FindStage(r.Context(), st.ID.String())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

type scheduleRequest struct {
	PublishAt *time.Time `json:"publish_at"`
}

func (a *API) scheduleStage(w http.ResponseWriter, r *http.Request) error {
	st, err := a.findStage(r)
	if err != nil {
		return err
	}
	var in scheduleRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	st, err = a.store.Stages().ScheduleStage(r.Context(), st.ID, in.PublishAt)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (a *API) listReleases(w http.ResponseWriter, r *http.Request) error {
	p, err := a.pageOf(r, scopeOf(r))
	if err != nil {
		return err
	}
	// Releases come newest first; read up to the end of the page.
	all, err := a.store.Stages().FindReleases(r.Context(), min(p.offset+p.limit+1, 10000))
	if err != nil {
		return err
	}
	out := pageSlice(a, p, all)
	out.Total = nil
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getRelease(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	rel, err := a.store.Stages().FindReleaseByID(r.Context(), id)
	if err != nil {
		return hideDenied(err, "release not found")
	}
	writeJSON(w, http.StatusOK, rel)
	return nil
}

func (a *API) rollbackRelease(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	var in publishRequest
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	opts, err := in.options()
	if err != nil {
		return err
	}
	rep, err := a.k.RollbackRelease(r.Context(), id, opts)
	if err != nil {
		return hideDenied(err, "release not found")
	}
	return publishResult(w, rep)
}

// sessionInfo is what a signed-in caller learns about their session.
type sessionInfo struct {
	User           *core.User `json:"user"`
	CSRFToken      string     `json:"csrf_token,omitempty"`
	PreviewStageID *core.ID   `json:"preview_stage_id,omitempty"`
	TokenID        *core.ID   `json:"token_id,omitempty"`
}

func (a *API) getSession(w http.ResponseWriter, r *http.Request) error {
	au := authOf(r)
	out := sessionInfo{User: au.user}
	if au.sess != nil {
		out.CSRFToken = au.sess.NewCSRFToken()
		if p := au.sess.PreviewStageID; p != core.NilID && p != core.LiveStageID {
			out.PreviewStageID = &p
		}
	}
	if au.token != nil {
		out.TokenID = &au.token.ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type previewRequest struct {
	Stage *string `json:"stage"`
}

// setPreview sets (or with null clears) the stage the session browses
// the site in.
func (a *API) setPreview(w http.ResponseWriter, r *http.Request) error {
	au := authOf(r)
	var in previewRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if au.sess == nil {
		return core.Errorf(core.EInvalid, "The preview stage belongs to a browser session; API tokens have none.")
	}
	id := core.NilID
	if in.Stage != nil && *in.Stage != "" && *in.Stage != core.StageLive {
		st, err := a.store.Stages().FindStage(r.Context(), *in.Stage)
		if err != nil {
			return hideDenied(err, "stage "+*in.Stage+" not found")
		}
		if st.State != core.StageOpen {
			return core.InvalidFields("Only an open stage can be previewed.", []core.FieldError{{Path: "stage", Message: "is " + st.State}})
		}
		id = st.ID
	}
	au.sess.PreviewStageID = id
	if err := a.sessions.SaveSession(r.Context(), au.sess); err != nil {
		return err
	}
	return a.getSession(w, r)
}

// maxPreviewBytes bounds a previewed page.
const maxPreviewBytes = 16 << 20

// preview answers the HTML the site serves for a path when it is browsed
// in the stage: the site itself renders it, in a short-lived session of
// the caller whose preview stage is the stage.
func (a *API) preview(w http.ResponseWriter, r *http.Request) error {
	st, err := a.findStage(r)
	if err != nil {
		return err
	}
	if a.site == nil {
		return core.Errorf(core.EUnavailable, "Preview is not available in this process.")
	}
	path := r.URL.Query().Get("path")
	if err := checkSitePath(path); err != nil {
		return err
	}
	res, err := a.sitePage(r, r.Context(), st.ID, path)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxPreviewBytes))
	status := res.StatusCode
	switch {
	case status == http.StatusNotFound:
		return core.Errorf(core.ENotFound, "The site has no page at %s in stage %s.", path, st.Name)
	case status >= 300 && status < 400:
		writeJSON(w, http.StatusOK, map[string]any{"redirect": res.Header.Get("Location"), "status": status})
		return nil
	case status != http.StatusOK:
		return core.Errorf(core.EUnavailable, "The site answered %d for %s.", status, path)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", res.Header.Get("Content-Security-Policy"))
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, bytes.NewReader(body))
	return nil
}
