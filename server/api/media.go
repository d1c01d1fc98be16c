package api

import (
	"net/http"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

// listFiles is the media library: stored files, newest first, narrowed by
// a name substring (name), a type prefix (type: "image/", "application/pdf")
// and mine=true (the caller's uploads). It needs files.upload, as uploading
// does: the list is what editors pick file and image values from.
func (a *API) listFiles(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	mine, err := boolParam(r, "mine")
	if err != nil {
		return err
	}
	p, err := a.pageOf(r, scopeOf(r, "name", "type", "mine"))
	if err != nil {
		return err
	}
	filter := postgres.FileFilter{Name: q.Get("name"), MIMEPrefix: q.Get("type"), Limit: p.limit, Offset: p.offset}
	if mine {
		id := core.UserFromContext(r.Context()).ID
		filter.Owner = &id
	}
	files, total, err := a.k.Files().FindFiles(r.Context(), filter)
	if err != nil {
		return err
	}
	out := page[fileView]{Items: make([]fileView, 0, len(files)), Total: &total}
	for _, f := range files {
		out.Items = append(out.Items, fileOut(f))
	}
	if end := p.offset + len(files); len(files) > 0 && end < total {
		out.NextCursor = a.encodeCursor(p.scope, end)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
