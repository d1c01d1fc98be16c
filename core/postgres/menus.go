package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/trovato/trovato/core"
)

// MenuMove sets one menu link's parent (nil: top level) and weight.
type MenuMove struct {
	ID       core.ID  `json:"id"`
	ParentID *core.ID `json:"parent_id"`
	Weight   int      `json:"weight"`
}

// MoveMenuLinks applies a batch of parent and weight changes to links of
// one menu in stage, in one transaction: either every move is stored (a
// new revision per changed link) or none is. Moves apply in order and each
// is checked against the state the earlier ones left (a parent in another
// menu or a cycle is EINVALID naming moves[i]); ENOTFOUND for a link that
// does not exist in the stage; EFORBIDDEN without menus.administer.
func (st *Staged) MoveMenuLinks(ctx context.Context, stage core.ID, menu string, moves []MenuMove, log string) ([]*core.StagedDoc, error) {
	sp, err := st.spec(core.KindMenuLink)
	if err != nil {
		return nil, err
	}
	var out []*core.StagedDoc
	err = st.s.inTx(ctx, func(tx *txn) error {
		s, err := st.s.stageFor(ctx, tx, stage, core.OpEdit)
		if err != nil {
			return err
		}
		if err := st.s.authz.Require(ctx, core.UserFromContext(ctx), sp.perm); err != nil {
			return err
		}
		seen := map[core.ID]bool{}
		for i, mv := range moves {
			path := fmt.Sprintf("moves[%d]", i)
			if seen[mv.ID] {
				return core.InvalidFields("invalid moves", []core.FieldError{{Path: path + ".id", Message: "names a link moved earlier in the batch"}})
			}
			seen[mv.ID] = true
			if err := lockEntity(ctx, tx, core.KindMenuLink, s.ID, mv.ID); err != nil {
				return err
			}
			cur, _, err := readStaged(ctx, tx, core.KindMenuLink, s.ID, mv.ID, false)
			if err != nil {
				if core.ErrorCode(err) == core.ENotFound {
					return core.Errorf(core.ENotFound, "%s: menu link %s not found", path, mv.ID)
				}
				return err
			}
			var m core.MenuLink
			if err := json.Unmarshal(cur.Doc, &m); err != nil {
				return fmt.Errorf("decode menu link %s: %w", mv.ID, err)
			}
			if m.Menu != menu {
				return core.InvalidFields("invalid moves", []core.FieldError{{Path: path + ".id", Message: fmt.Sprintf("is in menu %q", m.Menu)}})
			}
			if samePtr(m.ParentID, mv.ParentID) && m.Weight == mv.Weight {
				continue
			}
			m.ParentID, m.Weight, m.ID, m.RevisionID = mv.ParentID, mv.Weight, core.NilID, core.NilID
			doc, err := json.Marshal(m)
			if err != nil {
				return err
			}
			norm, err := sp.check(ctx, tx, s.ID, mv.ID, doc)
			if err != nil {
				return prefixFields(err, path)
			}
			r, err := tx.putStaged(ctx, stagedWrite{Kind: core.KindMenuLink, Stage: s.ID, EntityID: mv.ID, Parent: &cur.ID, Doc: norm, Log: log})
			if err != nil {
				return err
			}
			out = append(out, &core.StagedDoc{Kind: core.KindMenuLink, ID: mv.ID, RevisionID: r.ID, Doc: r.Doc})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func samePtr(a, b *core.ID) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// prefixFields puts prefix before the field paths of an EINVALID error.
func prefixFields(err error, prefix string) error {
	fields := core.ErrorFields(err)
	if core.ErrorCode(err) != core.EInvalid || len(fields) == 0 {
		return err
	}
	out := make([]core.FieldError, len(fields))
	for i, f := range fields {
		out[i] = core.FieldError{Path: prefix + "." + f.Path, Message: f.Message}
	}
	return core.InvalidFields(core.ErrorMessage(err), out)
}
