package api

import (
	"net/http"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

// commentRoutes are the moderation routes (comments.administer). Every
// change is audited by the store and goes through the change feed, so
// every node's page cache drops the item's pages.
func (a *API) commentRoutes() {
	a.handle("GET", "/comments", a.listComments)
	a.handle("GET", "/comments/{id}", a.getComment)
	a.handle("PATCH", "/comments/{id}", a.updateComment)
	a.handle("DELETE", "/comments/{id}", a.deleteComment)
	a.handle("POST", "/comments/{id}/approve", a.setCommentStatus(postgres.CommentPublished))
	a.handle("POST", "/comments/{id}/unpublish", a.setCommentStatus(postgres.CommentPending))
}

// CommentDoc is a comment as moderators see it: the API's shape, which
// `trovato comment --json` prints too.
type CommentDoc struct {
	ID          core.ID   `json:"id"`
	ItemID      core.ID   `json:"item_id"`
	ItemTitle   string    `json:"item_title"`
	ParentID    *core.ID  `json:"parent_id,omitempty"`
	AuthorID    *core.ID  `json:"author_id,omitempty"`
	AuthorName  string    `json:"author_name"`
	AuthorEmail string    `json:"author_email,omitempty"`
	Anonymous   bool      `json:"anonymous"`
	ClientAddr  string    `json:"client_addr"`
	Body        string    `json:"body"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	ChangedAt   time.Time `json:"changed_at"`
}

// NewCommentDoc is c as a CommentDoc.
func NewCommentDoc(c *postgres.Comment) CommentDoc {
	return CommentDoc{ID: c.ID, ItemID: c.ItemID, ItemTitle: c.ItemTitle, ParentID: c.ParentID, AuthorID: c.AuthorID,
		AuthorName: c.AuthorName, AuthorEmail: c.AuthorEmail, Anonymous: c.Anonymous(), ClientAddr: c.ClientAddr,
		Body: c.Body, Status: c.Status, CreatedAt: c.CreatedAt, ChangedAt: c.ChangedAt}
}

// listComments is the moderation queue: ?status=pending|published,
// ?item=ID, newest first.
func (a *API) listComments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := a.pageOf(r, scopeOf(r, "status", "item"))
	if err != nil {
		return err
	}
	f := postgres.CommentFilter{Status: q.Get("status"), Offset: p.offset, Limit: p.limit}
	if v := q.Get("item"); v != "" {
		if f.ItemID, err = core.ParseID(v); err != nil {
			return core.InvalidFields("A query parameter is not valid.", []core.FieldError{{Path: "item", Message: "must be an item id"}})
		}
	}
	list, err := a.store.FindCommentQueue(r.Context(), f)
	if err != nil {
		return err
	}
	out := page[CommentDoc]{Items: make([]CommentDoc, 0, len(list))}
	for _, c := range list {
		out.Items = append(out.Items, NewCommentDoc(c))
	}
	if len(list) == p.limit {
		out.NextCursor = a.encodeCursor(p.scope, p.offset+p.limit)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getComment(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	c, err := a.store.FindCommentByID(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, NewCommentDoc(c))
	return nil
}

// commentPatch edits a comment: its text, its status, or both.
type commentPatch struct {
	Body   *string `json:"body"`
	Status *string `json:"status"`
}

func (a *API) updateComment(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	var in commentPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.store.UpdateComment(r.Context(), id, postgres.CommentUpdate{Body: in.Body, Status: in.Status})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, NewCommentDoc(c))
	return nil
}

func (a *API) setCommentStatus(status string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := idParam(r, "id")
		if err != nil {
			return err
		}
		c, err := a.store.SetCommentStatus(r.Context(), id, status)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, NewCommentDoc(c))
		return nil
	}
}

func (a *API) deleteComment(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.store.DeleteComment(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
