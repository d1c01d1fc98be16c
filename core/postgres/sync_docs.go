package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/trovato/trovato/core"
)

// RevisionDocs reads the documents of revisions by id, of any staged
// kind (the two sides of a pull conflict: the local live revision and the
// server's, stored but not applied). Ids with no revision are left out.
// It checks no access: callers show them to someone allowed to resolve
// sync conflicts.
func (sy *Sync) RevisionDocs(ctx context.Context, ids []core.ID) (map[core.ID]json.RawMessage, error) {
	out := make(map[core.ID]json.RawMessage, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := sy.s.pool.Query(ctx, `SELECT id, doc FROM revision WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read revisions: %w", TranslateError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id  core.ID
			doc []byte
		)
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, fmt.Errorf("read revisions: %w", err)
		}
		out[id] = doc
	}
	return out, rows.Err()
}
