package postgres

import (
	"context"
	"fmt"

	"github.com/trovato/trovato/core"
)

// FindCommentsOfItems is FindComments for many items in one query (a
// static export's item pages): each item's comments of the status ("" for
// every status), oldest first, at most 1000 an item, without the
// author's e-mail and address. Items without any are absent. At most 1000
// ids.
func (s *Store) FindCommentsOfItems(ctx context.Context, items []core.ID, status string) (map[core.ID][]*Comment, error) {
	out := make(map[core.ID][]*Comment, len(items))
	if len(items) == 0 {
		return out, nil
	}
	if len(items) > 1000 {
		return nil, core.Errorf(core.EInvalid, "find comments: at most 1000 items, not %d", len(items))
	}
	rows, err := s.pool.Query(ctx, `SELECT `+commentColumns+`
		FROM (SELECT c.*, row_number() OVER (PARTITION BY c.item_id ORDER BY c.created_at, c.id) AS n
			FROM comment c WHERE c.item_id = ANY($1) AND ($2 = '' OR c.status = $2)) c
		LEFT JOIN users u ON u.id = c.author_id LEFT JOIN item i ON false
		WHERE c.n <= 1000 ORDER BY c.item_id, c.created_at, c.id`, items, status)
	if err != nil {
		return nil, fmt.Errorf("find comments: %w", TranslateError(err))
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanComment(rows)
		if err != nil {
			return nil, fmt.Errorf("find comments: %w", err)
		}
		c.AuthorEmail, c.ClientAddr = "", ""
		out[c.ItemID] = append(out[c.ItemID], c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find comments: %w", TranslateError(err))
	}
	return out, nil
}
