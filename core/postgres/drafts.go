package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// MaxDraftBytes bounds one draft document.
const MaxDraftBytes = 1 << 20

// Draft is one user's unsaved edit of an item in a stage (autosave). It
// is mutable and never a revision: saving it writes a revision through
// the item service, and the draft goes away.
type Draft struct {
	ItemID         core.ID         `json:"item_id"`
	StageID        core.ID         `json:"stage_id"`
	UserID         core.ID         `json:"user_id"`
	BaseRevisionID core.ID         `json:"base_revision_id"`
	Doc            json.RawMessage `json:"doc"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

// Drafts stores the acting user's drafts.
type Drafts struct{ s *Store }

// Drafts returns the draft store.
func (s *Store) Drafts() *Drafts { return &Drafts{s} }

// draftUser is the acting user; anonymous users keep no drafts.
func draftUser(ctx context.Context) (*core.User, error) {
	u := core.UserFromContext(ctx)
	if u.IsAnonymous() {
		return nil, core.Errorf(core.EUnauthorized, "sign in to keep drafts")
	}
	return u, nil
}

// FindDraft returns the acting user's draft of item in stage; ENOTFOUND
// when there is none or the user may no longer view the item.
func (d *Drafts) FindDraft(ctx context.Context, stage, item core.ID) (*Draft, error) {
	u, err := draftUser(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := d.s.Items().FindItemByID(ctx, stage, item); err != nil {
		return nil, err
	}
	dr := &Draft{}
	var doc []byte
	err = d.s.pool.QueryRow(ctx, `SELECT item_id, stage_id, user_id, base_revision_id, doc, updated_at FROM item_draft
		WHERE user_id = $1 AND item_id = $2 AND stage_id = $3`, u.ID, item, draftStage(stage)).
		Scan(&dr.ItemID, &dr.StageID, &dr.UserID, &dr.BaseRevisionID, &doc, &dr.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "no draft of item %s", item)
	} else if err != nil {
		return nil, fmt.Errorf("find draft %s: %w", item, TranslateError(err))
	}
	dr.Doc = doc
	return dr, nil
}

// PutDraft creates or replaces the acting user's draft of item in stage,
// started from base (NilID: the item's current revision). The user must
// be allowed to edit the item in the stage (EFORBIDDEN otherwise; ENOTFOUND
// when they may not view it). EINVALID for a doc that is not a JSON object
// or is larger than MaxDraftBytes.
func (d *Drafts) PutDraft(ctx context.Context, stage, item, base core.ID, doc json.RawMessage) (*Draft, error) {
	u, err := draftUser(ctx)
	if err != nil {
		return nil, err
	}
	if len(doc) > MaxDraftBytes {
		return nil, core.Errorf(core.ETooLarge, "a draft must be at most %d bytes", MaxDraftBytes)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(doc, &obj); err != nil || obj == nil {
		return nil, core.InvalidFields("invalid draft", []core.FieldError{{Path: "doc", Message: "must be a JSON object"}})
	}
	stage = draftStage(stage)
	if _, err := d.s.stageFor(ctx, d.s.pool, stage, core.OpEdit); err != nil {
		return nil, err
	}
	it, err := d.s.Items().FindItemByID(ctx, stage, item)
	if err != nil {
		return nil, err
	}
	if err := d.s.authz.Authorize(ctx, u, core.OpUpdate, it); err != nil {
		return nil, err
	}
	if base == core.NilID {
		base = it.RevisionID
	}
	dr := &Draft{ItemID: item, StageID: stage, UserID: u.ID, BaseRevisionID: base, Doc: doc}
	err = d.s.pool.QueryRow(ctx, `INSERT INTO item_draft (user_id, item_id, stage_id, base_revision_id, doc, updated_at)
		SELECT $1, $2, $3, r.id, $5, now() FROM revision r WHERE r.id = $4 AND r.kind = 'item' AND r.entity_id = $2
		ON CONFLICT (user_id, item_id, stage_id) DO UPDATE SET base_revision_id = EXCLUDED.base_revision_id,
			doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at
		RETURNING updated_at`, u.ID, item, stage, base, []byte(doc)).Scan(&dr.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.InvalidFields("invalid draft", []core.FieldError{{Path: "base_revision_id", Message: "is not a revision of this item"}})
	} else if err != nil {
		return nil, fmt.Errorf("put draft %s: %w", item, TranslateError(err))
	}
	return dr, nil
}

// DeleteDraft removes the acting user's draft of item in stage; deleting
// a missing draft is not an error.
func (d *Drafts) DeleteDraft(ctx context.Context, stage, item core.ID) error {
	u, err := draftUser(ctx)
	if err != nil {
		return err
	}
	if _, err := d.s.pool.Exec(ctx, `DELETE FROM item_draft WHERE user_id = $1 AND item_id = $2 AND stage_id = $3`,
		u.ID, item, draftStage(stage)); err != nil {
		return fmt.Errorf("delete draft %s: %w", item, TranslateError(err))
	}
	return nil
}

func draftStage(id core.ID) core.ID {
	if id == core.NilID {
		return core.LiveStageID
	}
	return id
}
