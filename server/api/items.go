package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/trovato/trovato/core"
)

// stageParam resolves the "stage" query parameter (a stage name or id;
// empty or "live" for live). A stage the user may not view is not found.
func (a *API) stageParam(r *http.Request) (core.ID, error) {
	v := r.URL.Query().Get("stage")
	if v == "" || v == core.StageLive {
		return core.LiveStageID, nil
	}
	st, err := a.store.Stages().FindStage(r.Context(), v)
	if err != nil {
		return core.NilID, hideDenied(err, "stage "+v+" not found")
	}
	return st.ID, nil
}

// hideDenied turns a refused view (forbidden) into not found: nobody
// learns that a thing they may not see exists.
func hideDenied(err error, msg string) error {
	if core.ErrorCode(err) == core.EForbidden {
		return core.Errorf(core.ENotFound, "%s", msg)
	}
	return err
}

type itemCreate struct {
	Type     string          `json:"type"`
	Title    string          `json:"title"`
	Status   string          `json:"status"`
	Promote  bool            `json:"promote"`
	Sticky   bool            `json:"sticky"`
	Language string          `json:"language"`
	Fields   json.RawMessage `json:"fields"`
	Log      string          `json:"log"`
}

type itemUpdate struct {
	BaseRevisionID *core.ID        `json:"base_revision_id"`
	Title          *string         `json:"title"`
	Status         *string         `json:"status"`
	Promote        *bool           `json:"promote"`
	Sticky         *bool           `json:"sticky"`
	Language       *string         `json:"language"`
	Fields         json.RawMessage `json:"fields"`
	Log            string          `json:"log"`
}

func (u *itemUpdate) core() core.ItemUpdate {
	return core.ItemUpdate{Title: u.Title, Status: u.Status, Promote: u.Promote, Sticky: u.Sticky, Language: u.Language,
		Fields: u.Fields, Log: u.Log, IfRevision: u.BaseRevisionID}
}

func (a *API) listItems(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	stage, err := a.stageParam(r)
	if err != nil {
		return err
	}
	sort := q.Get("sort")
	if sort != "" && !slices.Contains(core.ItemSorts, sort) {
		return core.InvalidFields("The sort is not valid.", []core.FieldError{{Path: "sort", Message: "must be one of " + strings.Join(core.ItemSorts, ", ")}})
	}
	f := core.ItemFilter{StageID: stage, Type: q.Get("type"), Status: q.Get("status"), Language: q.Get("language"), Sort: sort}
	if v := q.Get("author"); v != "" {
		id, err := core.ParseID(v)
		if err != nil {
			return core.InvalidFields("The author is not valid.", []core.FieldError{{Path: "author", Message: "must be a user id"}})
		}
		f.AuthorID = &id
	}
	p, err := a.pageOf(r, scopeOf(r, "stage", "type", "status", "author", "language", "sort"))
	if err != nil {
		return err
	}
	f.Limit, f.Offset = p.limit, p.offset
	items, total, err := a.store.Items().FindItems(r.Context(), f)
	if err != nil {
		return err
	}
	out := page[*core.Item]{Items: items, Total: &total}
	if out.Items == nil {
		out.Items = []*core.Item{}
	}
	if next := p.offset + len(items); len(items) > 0 && next < total {
		out.NextCursor = a.encodeCursor(p.scope, next)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getItem(w http.ResponseWriter, r *http.Request) error {
	stage, err := a.stageParam(r)
	if err != nil {
		return err
	}
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	it, err := a.store.Items().FindItemByID(r.Context(), stage, id)
	if err != nil {
		return hideDenied(err, "item not found")
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}

func (a *API) createItem(w http.ResponseWriter, r *http.Request) error {
	stage, err := a.stageParam(r)
	if err != nil {
		return err
	}
	var in itemCreate
	if err := decode(r, &in); err != nil {
		return err
	}
	it := &core.Item{Type: in.Type, Title: in.Title, Status: in.Status, Promote: in.Promote, Sticky: in.Sticky,
		Language: in.Language, Fields: in.Fields}
	if err := a.store.Items().CreateItem(r.Context(), stage, it, in.Log); err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/items/"+it.ID.String())
	writeJSON(w, http.StatusCreated, it)
	return nil
}

func (a *API) updateItem(w http.ResponseWriter, r *http.Request) error {
	stage, err := a.stageParam(r)
	if err != nil {
		return err
	}
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	var in itemUpdate
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.BaseRevisionID == nil {
		return core.InvalidFields("The update needs the revision it started from.", []core.FieldError{{Path: "base_revision_id", Message: "is required"}})
	}
	it, err := a.saveItem(r, stage, id, in.core())
	if err != nil {
		return err
	}
	// Saving promotes the user's draft: it is gone now.
	if err := a.store.Drafts().DeleteDraft(r.Context(), stage, id); err != nil {
		a.log.Warn("delete promoted draft", "item", id, "err", err)
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}

// saveItem updates an item; a stale base revision is a conflict that
// carries the item as it is now.
func (a *API) saveItem(r *http.Request, stage, id core.ID, upd core.ItemUpdate) (*core.Item, error) {
	it, err := a.store.Items().UpdateItem(r.Context(), stage, id, upd)
	if core.ErrorCode(err) == core.EConflict {
		if cur, ferr := a.store.Items().FindItemByID(r.Context(), stage, id); ferr == nil {
			return nil, &conflictError{err: err, current: cur}
		}
	}
	if err != nil {
		return nil, err
	}
	return it, nil
}

func (a *API) deleteItem(w http.ResponseWriter, r *http.Request) error {
	stage, err := a.stageParam(r)
	if err != nil {
		return err
	}
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.store.Items().FindItemByID(r.Context(), stage, id); err != nil {
		return hideDenied(err, "item not found")
	}
	if err := a.store.Items().DeleteItem(r.Context(), stage, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listRevisions(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	p, err := a.pageOf(r, scopeOf(r))
	if err != nil {
		return err
	}
	revs, err := a.store.Items().FindRevisions(r.Context(), id)
	if err != nil {
		return hideDenied(err, "item not found")
	}
	writeJSON(w, http.StatusOK, pageSlice(a, p, revs))
	return nil
}

func (a *API) findRevision(r *http.Request) (*core.Revision, error) {
	id, err := idParam(r, "id")
	if err != nil {
		return nil, err
	}
	rev, err := a.store.Items().FindRevisionByID(r.Context(), id)
	if err != nil {
		return nil, hideDenied(err, "revision not found")
	}
	return rev, nil
}

func (a *API) getRevision(w http.ResponseWriter, r *http.Request) error {
	rev, err := a.findRevision(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rev)
	return nil
}

// revisionDiff compares a revision with another of the same item (the
// "against" parameter) or, by default, with its parent.
type revisionDiff struct {
	From    *core.ID           `json:"from"`
	To      core.ID            `json:"to"`
	Changes []core.FieldChange `json:"changes"`
}

func (a *API) diffRevision(w http.ResponseWriter, r *http.Request) error {
	rev, err := a.findRevision(r)
	if err != nil {
		return err
	}
	var base *core.Revision
	against := r.URL.Query().Get("against")
	switch {
	case against != "":
		id, err := core.ParseID(against)
		if err != nil {
			return core.InvalidFields("The revision to compare with is not valid.", []core.FieldError{{Path: "against", Message: "must be a revision id"}})
		}
		if base, err = a.store.Items().FindRevisionByID(r.Context(), id); err != nil {
			return hideDenied(err, "revision not found")
		}
		if base.EntityID != rev.EntityID {
			return core.InvalidFields("The revisions belong to different items.", []core.FieldError{{Path: "against", Message: "must be a revision of the same item"}})
		}
	case rev.ParentID != nil:
		if base, err = a.store.Items().FindRevisionByID(r.Context(), *rev.ParentID); err != nil && core.ErrorCode(err) != core.ENotFound {
			return err
		}
	}
	out := revisionDiff{To: rev.ID, Changes: []core.FieldChange{}}
	var from json.RawMessage
	if base != nil {
		out.From, from = &base.ID, base.Doc
	}
	if d := core.DiffJSON("", from, rev.Doc); d != nil {
		out.Changes = d
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type restoreRequest struct {
	Log string `json:"log"`
}

func (a *API) restoreRevision(w http.ResponseWriter, r *http.Request) error {
	stage, err := a.stageParam(r)
	if err != nil {
		return err
	}
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	var in restoreRequest
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	it, err := a.store.Items().RestoreRevision(r.Context(), stage, id, in.Log)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}

// draftDoc is what a draft holds: the item fields being edited.
type draftDoc struct {
	Title    *string         `json:"title,omitempty"`
	Status   *string         `json:"status,omitempty"`
	Promote  *bool           `json:"promote,omitempty"`
	Sticky   *bool           `json:"sticky,omitempty"`
	Language *string         `json:"language,omitempty"`
	Fields   json.RawMessage `json:"fields,omitempty"`
}

type draftPut struct {
	BaseRevisionID *core.ID `json:"base_revision_id"`
	Doc            draftDoc `json:"doc"`
}

func (a *API) getDraft(w http.ResponseWriter, r *http.Request) error {
	stage, err := a.stageParam(r)
	if err != nil {
		return err
	}
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	d, err := a.store.Drafts().FindDraft(r.Context(), stage, id)
	if err != nil {
		return hideDenied(err, "draft not found")
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (a *API) putDraft(w http.ResponseWriter, r *http.Request) error {
	stage, err := a.stageParam(r)
	if err != nil {
		return err
	}
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	var in draftPut
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Doc.Fields != nil && (len(in.Doc.Fields) == 0 || in.Doc.Fields[0] != '{') {
		return core.InvalidFields("The draft is not valid.", []core.FieldError{{Path: "doc.fields", Message: "must be an object"}})
	}
	doc, err := json.Marshal(in.Doc)
	if err != nil {
		return err
	}
	base := core.NilID
	if in.BaseRevisionID != nil {
		base = *in.BaseRevisionID
	}
	d, err := a.store.Drafts().PutDraft(r.Context(), stage, id, base, doc)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (a *API) deleteDraft(w http.ResponseWriter, r *http.Request) error {
	stage, err := a.stageParam(r)
	if err != nil {
		return err
	}
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.store.Drafts().FindDraft(r.Context(), stage, id); err != nil {
		return hideDenied(err, "draft not found")
	}
	if err := a.store.Drafts().DeleteDraft(r.Context(), stage, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type promoteRequest struct {
	Log string `json:"log"`
}

// promoteDraft saves the user's draft as a new revision (against the
// revision the draft started from: a stale one is a conflict) and drops
// the draft.
func (a *API) promoteDraft(w http.ResponseWriter, r *http.Request) error {
	stage, err := a.stageParam(r)
	if err != nil {
		return err
	}
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	var in promoteRequest
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	d, err := a.store.Drafts().FindDraft(r.Context(), stage, id)
	if err != nil {
		return hideDenied(err, "draft not found")
	}
	var doc draftDoc
	if err := json.Unmarshal(d.Doc, &doc); err != nil {
		return errors.New("stored draft is not a draft document")
	}
	base := d.BaseRevisionID
	it, err := a.saveItem(r, stage, id, core.ItemUpdate{Title: doc.Title, Status: doc.Status, Promote: doc.Promote, Sticky: doc.Sticky,
		Language: doc.Language, Fields: doc.Fields, Log: in.Log, IfRevision: &base})
	if err != nil {
		return err
	}
	if err := a.store.Drafts().DeleteDraft(r.Context(), stage, id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}
