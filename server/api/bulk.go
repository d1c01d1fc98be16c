package api

import (
	"fmt"
	"net/http"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

// bulkRoutes: several items changed in one request and one transaction.
func (a *API) bulkRoutes() {
	a.handle("POST", "/items/bulk", a.bulkItems)
}

// bulkItem is one item of a bulk request: a change of status, promote or
// sticky, or a deletion. BaseRevisionID, when given, must still be the
// item's revision in the stage (a conflict otherwise).
type bulkItem struct {
	ID             core.ID  `json:"id"`
	BaseRevisionID *core.ID `json:"base_revision_id"`
	Delete         bool     `json:"delete"`
	Status         *string  `json:"status"`
	Promote        *bool    `json:"promote"`
	Sticky         *bool    `json:"sticky"`
}

type bulkRequest struct {
	Items []bulkItem `json:"items"`
	Log   string     `json:"log"`
}

// bulkResult is one changed item.
type bulkResult struct {
	ID         core.ID  `json:"id"`
	Title      string   `json:"title"`
	Deleted    bool     `json:"deleted,omitempty"`
	RevisionID *core.ID `json:"revision_id,omitempty"`
	Status     string   `json:"status,omitempty"`
}

// bulkItems applies every change in ?stage= in one transaction: all or
// none. A refusal is the API's error, with one field error per item that
// cannot be changed (items[i]: why) and the failures' code when they share
// one (a stale base revision: ECONFLICT), EINVALID otherwise; nothing is
// changed then.
func (a *API) bulkItems(w http.ResponseWriter, r *http.Request) error {
	stage, err := a.stageParam(r)
	if err != nil {
		return err
	}
	var in bulkRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	changes := make([]postgres.ItemChange, len(in.Items))
	var bad []core.FieldError
	for i, it := range in.Items {
		p := fmt.Sprintf("items[%d]", i)
		switch {
		case it.ID == core.NilID:
			bad = append(bad, core.FieldError{Path: p + ".id", Message: "is required"})
		case it.Delete && (it.Status != nil || it.Promote != nil || it.Sticky != nil):
			bad = append(bad, core.FieldError{Path: p, Message: "a deletion changes nothing else"})
		case !it.Delete && it.Status == nil && it.Promote == nil && it.Sticky == nil:
			bad = append(bad, core.FieldError{Path: p, Message: "must delete the item or change its status, promote or sticky"})
		}
		changes[i] = postgres.ItemChange{ID: it.ID, Delete: it.Delete, Update: core.ItemUpdate{
			Status: it.Status, Promote: it.Promote, Sticky: it.Sticky, IfRevision: it.BaseRevisionID, Log: in.Log}}
	}
	if len(bad) > 0 {
		return core.InvalidFields("The batch is not valid.", bad)
	}
	results, err := a.store.Items().ChangeItems(r.Context(), stage, changes)
	if err != nil {
		if results == nil {
			return err
		}
		e := &core.Error{Code: core.ErrorCode(err), Message: core.ErrorMessage(err) + "."}
		for i, res := range results {
			if res.Err != nil {
				e.Fields = append(e.Fields, core.FieldError{Path: fmt.Sprintf("items[%d]", i), Message: itemProblem(res.Err)})
			}
		}
		return e
	}
	out := make([]bulkResult, len(results))
	for i, res := range results {
		out[i] = bulkResult{ID: res.ID, Title: res.Item.Title, Deleted: changes[i].Delete}
		if !changes[i].Delete {
			rev := res.Item.RevisionID
			out[i].RevisionID, out[i].Status = &rev, res.Item.Status
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

// itemProblem is why one item of a batch cannot be changed, with the
// fields its validation named.
func itemProblem(err error) string {
	msg := core.ErrorMessage(err)
	for i, f := range core.ErrorFields(err) {
		if i == 0 {
			msg += ":"
		} else {
			msg += ";"
		}
		msg += " " + f.Path + " " + f.Message
	}
	return msg
}
