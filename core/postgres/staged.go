package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// The one staging mechanism. Every staged kind (items, aliases, menu links,
// terms, and kinds plugins declare) keeps immutable revisions and one head
// per (stage, kind, entity). Reading in stage S shows S's head where S has
// one, else live's; a live head move also updates the kind's live
// projection (the table visitors read) in the same transaction.

// projector maintains a kind's live projection. doc is nil when the entity
// left live.
type projector func(ctx context.Context, tx *txn, id core.ID, rev *revision) error

// kinds maps each kernel kind to its projector. Kinds without one (plugin
// kinds) are read through the heads only.
var projectors = map[string]projector{}

type revision struct {
	ID          core.ID
	Kind        string
	EntityID    core.ID
	ParentID    *core.ID
	StageID     core.ID
	AuthorID    core.ID
	CreatedAt   time.Time
	Log         string
	TypeVersion int
	Doc         []byte
}

func (r *revision) core() *core.Revision {
	return &core.Revision{ID: r.ID, Kind: r.Kind, EntityID: r.EntityID, ParentID: r.ParentID, StageID: r.StageID,
		AuthorID: r.AuthorID, CreatedAt: r.CreatedAt, Log: r.Log, TypeVersion: r.TypeVersion, Doc: r.Doc}
}

type head struct {
	StageID        core.ID
	Kind           string
	EntityID       core.ID
	RevisionID     core.ID
	BaseRevisionID *core.ID
	Deleted        bool
}

const revisionColumns = `r.id, r.kind, r.entity_id, r.parent_id, r.stage_id, r.author_id, r.created_at, r.log, r.type_version, r.doc`

func scanRevision(row pgx.Row, extra ...any) (*revision, error) {
	r := &revision{}
	dest := append([]any{&r.ID, &r.Kind, &r.EntityID, &r.ParentID, &r.StageID, &r.AuthorID, &r.CreatedAt, &r.Log, &r.TypeVersion, &r.Doc}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	return r, nil
}

// findRevision loads one revision by id.
func findRevision(ctx context.Context, q querier, id core.ID) (*revision, error) {
	if tx, ok := q.(*txn); ok && tx.revs != nil {
		if r := tx.revs[id]; r != nil {
			return r, nil
		}
	}
	r, err := scanRevision(q.QueryRow(ctx, `SELECT `+revisionColumns+` FROM revision r WHERE r.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "revision %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find revision %s: %w", id, TranslateError(err))
	}
	return r, nil
}

// readStaged returns the revision stage shows for an entity, and whether it
// comes from the stage's own head. A tombstone or a missing entity is
// ENOTFOUND. lock takes row locks on the heads read (for writers).
func readStaged(ctx context.Context, q querier, kind string, stage, id core.ID, lock bool) (*revision, *head, error) {
	sql := `SELECT ` + revisionColumns + `, h.stage_id, h.base_revision_id, h.deleted
		FROM head h JOIN revision r ON r.id = h.revision_id
		WHERE h.kind = $1 AND h.entity_id = $2 AND h.stage_id IN ($3, $4)
		ORDER BY h.stage_id = $4 LIMIT 1`
	if lock {
		sql += ` FOR UPDATE OF h`
	}
	h := &head{Kind: kind, EntityID: id}
	r, err := scanRevision(q.QueryRow(ctx, sql, kind, id, stage, core.LiveStageID), &h.StageID, &h.BaseRevisionID, &h.Deleted)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && h.Deleted) {
		return nil, nil, core.Errorf(core.ENotFound, "%s %s not found", kind, id)
	} else if err != nil {
		return nil, nil, fmt.Errorf("read %s %s: %w", kind, id, TranslateError(err))
	}
	h.RevisionID = r.ID
	return r, h, nil
}

// liveHead returns live's head of an entity, or nil.
func liveHead(ctx context.Context, q querier, kind string, id core.ID, lock bool) (*head, error) {
	sql := `SELECT revision_id FROM head WHERE stage_id = $1 AND kind = $2 AND entity_id = $3`
	if lock {
		sql += ` FOR UPDATE`
	}
	h := &head{StageID: core.LiveStageID, Kind: kind, EntityID: id}
	err := q.QueryRow(ctx, sql, core.LiveStageID, kind, id).Scan(&h.RevisionID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read live %s %s: %w", kind, id, TranslateError(err))
	}
	return h, nil
}

// stagedWrite is one new revision of an entity in a stage.
type stagedWrite struct {
	Kind        string
	Stage       core.ID
	EntityID    core.ID
	Parent      *core.ID // the revision it was made from
	Doc         []byte
	TypeVersion int
	Log         string
	CreatedAt   time.Time // zero: now
}

// putStaged stores a new revision and moves the stage's head to it. In a
// named stage the first write of a live entity records live's revision as
// the base (copy-on-write); live itself is untouched until publish.
func (tx *txn) putStaged(ctx context.Context, w stagedWrite) (*revision, error) {
	author := core.UserFromContext(ctx).ID
	at := w.CreatedAt
	if at.IsZero() {
		at = tx.s.now()
	}
	r := &revision{ID: core.NewID(), Kind: w.Kind, EntityID: w.EntityID, ParentID: w.Parent, StageID: w.Stage,
		AuthorID: author, CreatedAt: at, Log: w.Log, TypeVersion: w.TypeVersion, Doc: w.Doc}
	if _, err := tx.Exec(ctx, `INSERT INTO revision (id, kind, entity_id, parent_id, stage_id, author_id, created_at, log, type_version, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.ID, r.Kind, r.EntityID, r.ParentID, r.StageID, r.AuthorID, r.CreatedAt, r.Log, r.TypeVersion, r.Doc); err != nil {
		return nil, fmt.Errorf("store %s revision: %w", w.Kind, TranslateError(err))
	}
	op := core.ChangeUpdate
	if w.Stage == core.LiveStageID {
		_, err := tx.Exec(ctx, `INSERT INTO head (stage_id, kind, entity_id, revision_id, changed_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (stage_id, kind, entity_id) DO UPDATE SET revision_id = EXCLUDED.revision_id, changed_at = EXCLUDED.changed_at`,
			w.Stage, w.Kind, w.EntityID, r.ID, at)
		if err != nil {
			return nil, fmt.Errorf("move live head: %w", TranslateError(err))
		}
		if w.Parent == nil {
			op = core.ChangeCreate
		}
		if p := projectors[w.Kind]; p != nil {
			if err := p(ctx, tx, w.EntityID, r); err != nil {
				return nil, err
			}
		}
	} else {
		live, err := liveHead(ctx, tx, w.Kind, w.EntityID, false)
		if err != nil {
			return nil, err
		}
		var base *core.ID
		if live != nil {
			base = &live.RevisionID
		} else {
			op = core.ChangeCreate
		}
		// An existing stage head keeps its base: the stage's changes are all
		// measured against the live revision the stage first copied.
		if _, err := tx.Exec(ctx, `INSERT INTO head (stage_id, kind, entity_id, revision_id, base_revision_id, changed_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (stage_id, kind, entity_id) DO UPDATE SET revision_id = EXCLUDED.revision_id, deleted = false, changed_at = EXCLUDED.changed_at`,
			w.Stage, w.Kind, w.EntityID, r.ID, base, at); err != nil {
			return nil, fmt.Errorf("move stage head: %w", TranslateError(err))
		}
		if _, err := tx.Exec(ctx, `UPDATE stage SET changed_at = $2 WHERE id = $1`, w.Stage, at); err != nil {
			return nil, fmt.Errorf("touch stage: %w", TranslateError(err))
		}
	}
	if err := tx.feed(ctx, w.Kind, w.EntityID.String(), &w.Stage, &r.ID, nil, op); err != nil {
		return nil, err
	}
	return r, nil
}

// deleteStaged deletes an entity from live, or tombstones it in a named
// stage. An entity created in the stage itself just loses its head.
func (tx *txn) deleteStaged(ctx context.Context, kind string, stage, id core.ID) error {
	cur, h, err := readStaged(ctx, tx, kind, stage, id, true)
	if err != nil {
		return err
	}
	if stage == core.LiveStageID {
		if _, err := tx.Exec(ctx, `DELETE FROM head WHERE stage_id = $1 AND kind = $2 AND entity_id = $3`, stage, kind, id); err != nil {
			return fmt.Errorf("delete %s: %w", kind, TranslateError(err))
		}
		if p := projectors[kind]; p != nil {
			if err := p(ctx, tx, id, nil); err != nil {
				return err
			}
		}
	} else {
		live, err := liveHead(ctx, tx, kind, id, false)
		if err != nil {
			return err
		}
		if live == nil {
			_, err = tx.Exec(ctx, `DELETE FROM head WHERE stage_id = $1 AND kind = $2 AND entity_id = $3`, stage, kind, id)
		} else {
			base := live.RevisionID
			if h.StageID == stage && h.BaseRevisionID != nil {
				base = *h.BaseRevisionID
			}
			_, err = tx.Exec(ctx, `INSERT INTO head (stage_id, kind, entity_id, revision_id, base_revision_id, deleted, changed_at)
				VALUES ($1, $2, $3, $4, $5, true, $6)
				ON CONFLICT (stage_id, kind, entity_id) DO UPDATE SET deleted = true, revision_id = EXCLUDED.revision_id, changed_at = EXCLUDED.changed_at`,
				stage, kind, id, cur.ID, base, tx.s.now())
		}
		if err != nil {
			return fmt.Errorf("tombstone %s: %w", kind, TranslateError(err))
		}
	}
	return tx.feed(ctx, kind, id.String(), &stage, &cur.ID, nil, core.ChangeDelete)
}

// preloadRevisions reads many revisions in one query into the
// transaction's cache.
func (tx *txn) preloadRevisions(ctx context.Context, ids []core.ID) error {
	if tx.revs == nil {
		tx.revs = map[core.ID]*revision{}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT `+revisionColumns+` FROM revision r WHERE r.id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("read revisions: %w", TranslateError(err))
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRevision(rows)
		if err != nil {
			return fmt.Errorf("read revisions: %w", err)
		}
		tx.revs[r.ID] = r
	}
	return rows.Err()
}
