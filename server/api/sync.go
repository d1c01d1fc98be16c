package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

// Sync routes (docs/sync.md): a desktop pulls a site through the change
// feed, fetches and uploads blobs by hash, and pushes a stage as one
// changeset. GET /sync/status is the local side's sync state.

// MaxChangesetBytes bounds a pushed changeset's JSON (files travel apart,
// by hash), unless the upload limit is larger.
const MaxChangesetBytes = 64 << 20

func (a *API) syncRoutes() {
	a.handle("GET", "/sync/info", a.syncInfo)
	a.handle("GET", "/sync/changes", a.syncChanges)
	a.handle("GET", "/sync/blobs/{hash}", a.syncGetBlob)
	a.handle("PUT", "/sync/blobs/{hash}", a.syncPutBlob)
	a.handle("GET", "/sync/status", a.syncStatus)
	a.handle("POST", "/stages/{stage}/changeset", a.pushChangeset)
}

func (a *API) syncInfo(w http.ResponseWriter, r *http.Request) error {
	info := core.SyncInfo{SyncVersion: core.SyncVersion, User: core.UserFromContext(r.Context()).Name}
	if d, err := a.store.Config().FindConfig(r.Context(), "site", "site"); err == nil {
		var site struct {
			Name string `json:"site_name"`
		}
		_ = json.Unmarshal(d.Body, &site)
		info.SiteName = site.Name
	} else if core.ErrorCode(err) != core.ENotFound {
		return err
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

// syncChanges serves one pull batch: ?cursor= (from the previous batch;
// 0 or absent for the first) and ?limit= feed rows (default 500, at most
// 10000).
func (a *API) syncChanges(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var cur uint64
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return core.InvalidFields("A query parameter is not valid.", []core.FieldError{{Path: "cursor", Message: "must be a cursor from a previous batch"}})
		}
		cur = n
	}
	limit := 500
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return core.InvalidFields("A query parameter is not valid.", []core.FieldError{{Path: "limit", Message: "must be 1 to 10000"}})
		}
		limit = n
	}
	b, err := a.store.Sync().ReadBatch(r.Context(), core.FeedCursor(cur), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (a *API) syncGetBlob(w http.ResponseWriter, r *http.Request) error {
	rc, size, err := a.store.Blobs().OpenBlob(r.Context(), r.PathValue("hash"))
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	buf := make([]byte, 256<<10)
	for {
		n, rerr := rc.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return nil // the client went away
			}
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				// Headers are sent: cut the response so the client sees a
				// short body, and log why.
				a.log.Error("send blob", "hash", r.PathValue("hash"), "err", rerr)
				panic(http.ErrAbortHandler)
			}
			return nil
		}
	}
}

// syncPutBlob stores uploaded bytes; the path's hash must be their
// SHA-256. Uploading a blob the server has is a no-op.
func (a *API) syncPutBlob(w http.ResponseWriter, r *http.Request) error {
	u := core.UserFromContext(r.Context())
	if err := a.store.Authorizer().Require(r.Context(), u, core.PermUploadFiles); err != nil {
		return err
	}
	want := r.PathValue("hash")
	ok, err := a.store.Sync().HasBlob(r.Context(), want)
	if err != nil {
		return err
	}
	if !ok {
		if err := a.store.Sync().PutBlob(r.Context(), r.Body, a.maxUpload, want); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"hash": want})
	return nil
}

func (a *API) syncStatus(w http.ResponseWriter, r *http.Request) error {
	sy := a.store.Sync()
	st, err := sy.Status(r.Context())
	if err != nil {
		return err
	}
	// The state, plus the pull conflicts themselves (fields added to
	// core.SyncStatus's, which stays as it was).
	out := struct {
		*core.SyncStatus
		LiveConflicts []postgres.PullConflict `json:"live_conflicts"`
		DocConflicts  []postgres.DocConflict  `json:"doc_conflicts"`
	}{SyncStatus: st}
	if out.LiveConflicts, err = sy.FindPullConflicts(r.Context()); err != nil {
		return err
	}
	if out.DocConflicts, err = sy.FindDocConflicts(r.Context()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// mayPush refuses, before a changeset is read, a user who may neither
// edit the stage nor (when it does not exist) create one. ApplyChangeset
// checks again, entity by entity.
func (a *API) mayPush(r *http.Request, id core.ID) error {
	ctx := r.Context()
	u := core.UserFromContext(ctx)
	st, err := a.store.Stages().FindStage(ctx, id.String())
	switch {
	case err == nil:
		return a.store.Authorizer().Authorize(ctx, u, core.OpEdit, st)
	case core.ErrorCode(err) == core.ENotFound:
		return a.store.Authorizer().Require(ctx, u, core.PermCreateStage)
	}
	return err
}

// pushChangeset applies a pushed stage: 200 with the report when applied;
// 409 with it in `report` when any entity conflicts (nothing applied);
// 400 with it when the server refuses an entity as invalid or forbidden.
func (a *API) pushChangeset(w http.ResponseWriter, r *http.Request) error {
	id, err := core.ParseID(r.PathValue("stage"))
	if err != nil {
		return core.Errorf(core.EInvalid, "A changeset is pushed to the stage's id, not %q.", r.PathValue("stage"))
	}
	if err := a.mayPush(r, id); err != nil {
		return err
	}
	var cs core.Changeset
	if err := decode(r, &cs); err != nil {
		return err
	}
	if cs.Stage.ID != id {
		return core.InvalidFields("The changeset names another stage.", []core.FieldError{{Path: "stage.id", Message: "must be " + id.String()}})
	}
	rep, err := a.store.Sync().ApplyChangeset(r.Context(), &cs)
	if err != nil {
		return err
	}
	if rep.Applied {
		writeJSON(w, http.StatusOK, rep)
		return nil
	}
	conflicts, invalid := 0, 0
	for _, p := range rep.Problems {
		if p.Problem == "conflict" {
			conflicts++
		} else {
			invalid++
		}
	}
	body := errorBody{Code: core.EConflict, Report: rep,
		Message: fmt.Sprintf("%d of %d changes conflict with the server; nothing was applied.", conflicts, len(cs.Entries))}
	status := http.StatusConflict
	if conflicts == 0 {
		body.Code, status = core.EInvalid, http.StatusBadRequest
		body.Message = fmt.Sprintf("The server refused %d of %d changes; nothing was applied.", invalid, len(cs.Entries))
	}
	writeJSON(w, status, body)
	return nil
}
