package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/trovato/trovato/core"
)

// MaxItemChanges is the most items one ChangeItems call takes.
const MaxItemChanges = 500

// ItemChange is one item of a batch: an update, or (Delete) a deletion.
type ItemChange struct {
	ID     core.ID
	Update core.ItemUpdate
	Delete bool
}

// ItemChangeResult is what a batch did to one item: its new revision, or
// the reason it could not be changed.
type ItemChangeResult struct {
	ID   core.ID
	Item *core.Item // updated: the item as saved; deleted: as it was
	Err  error
}

// errBatchRefused rolls a batch back once every item has been tried.
var errBatchRefused = errors.New("batch refused")

// ChangeItems applies every change in stage in one transaction: all of
// them, or none. Each item is tried under its own savepoint, so the
// results name every item that cannot be changed and why (ENOTFOUND,
// EFORBIDDEN, ECONFLICT for a stale Update.IfRevision, EINVALID), not
// just the first. When any fails nothing is applied; the error's code is
// the failures' code when they share one (ECONFLICT, EFORBIDDEN,
// ENOTFOUND), EINVALID otherwise; the results are returned either way. EINVALID for an empty batch, one over
// MaxItemChanges, or an item listed twice.
func (is *Items) ChangeItems(ctx context.Context, stage core.ID, changes []ItemChange) ([]ItemChangeResult, error) {
	if len(changes) == 0 || len(changes) > MaxItemChanges {
		return nil, core.InvalidFields("The batch is not valid.", []core.FieldError{{Path: "items", Message: fmt.Sprintf("must hold 1 to %d items", MaxItemChanges)}})
	}
	seen := make(map[core.ID]int, len(changes))
	for i, c := range changes {
		if j, dup := seen[c.ID]; dup {
			return nil, core.InvalidFields("The batch is not valid.", []core.FieldError{{Path: fmt.Sprintf("items[%d].id", i), Message: fmt.Sprintf("item %s is listed twice (also at %d)", c.ID, j)}})
		}
		seen[c.ID] = i
	}
	results := make([]ItemChangeResult, len(changes))
	failed, codes := 0, map[string]bool{}
	err := is.s.inTx(ctx, func(tx *txn) error {
		for i, c := range changes {
			results[i].ID = c.ID
			if _, err := tx.Exec(ctx, "SAVEPOINT item_change"); err != nil {
				return TranslateError(err)
			}
			var it *core.Item
			var err error
			if c.Delete {
				it, err = is.deleteItemTx(ctx, tx, stage, c.ID)
			} else {
				it, err = is.updateItemTx(ctx, tx, stage, c.ID, c.Update)
			}
			if err != nil {
				if _, rerr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT item_change"); rerr != nil {
					return TranslateError(rerr)
				}
				if core.ErrorCode(err) == core.EInternal {
					return err // not the item's fault: the whole batch fails
				}
				results[i].Err = err
				failed++
				codes[core.ErrorCode(err)] = true
				continue
			}
			if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT item_change"); err != nil {
				return TranslateError(err)
			}
			results[i].Item = it
		}
		if failed > 0 {
			return errBatchRefused
		}
		return nil
	})
	switch {
	case errors.Is(err, errBatchRefused):
		for i := range results {
			results[i].Item = nil
		}
		code := core.EInvalid
		if len(codes) == 1 {
			for c := range codes {
				code = c
			}
		}
		return results, core.Errorf(code, "%d of %d items cannot be changed; none was changed", failed, len(changes))
	case err != nil:
		return nil, fmt.Errorf("change items: %w", err)
	}
	if is.s.hooks != nil {
		for i, c := range changes {
			if c.Delete {
				is.s.hooks.ItemDeleted(ctx, stage, results[i].Item)
			} else {
				is.s.hooks.ItemSaved(ctx, stage, results[i].Item, false)
			}
		}
	}
	return results, nil
}
