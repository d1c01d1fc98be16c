package postgres

import (
	"context"
	"fmt"
	"sort"

	"github.com/trovato/trovato/core"
)

// SetGrantsProvider installs the plugin grants provider (nil: the default
// realms). Call `RebuildGrants` after changing it.
func (s *Store) SetGrantsProvider(p core.GrantsProvider) { s.grants = p }

// userGrants returns the realm:gid pairs u holds for op.
func (s *Store) userGrants(ctx context.Context, u *core.User, op string) ([]string, error) {
	out := []string{}
	if ok, err := s.authz.HasPermission(ctx, u, core.PermAccessContent); err != nil {
		return nil, err
	} else if ok {
		out = append(out, core.RealmAll+":"+core.GIDAll)
	}
	if s.grants != nil {
		m, ok, err := s.grants.UserGrants(ctx, u, op)
		if err != nil {
			return nil, fmt.Errorf("user grants: %w", err)
		}
		if ok {
			realms := make([]string, 0, len(m))
			for r := range m {
				realms = append(realms, r)
			}
			sort.Strings(realms)
			for _, r := range realms {
				if r == core.RealmAll {
					continue // the kernel's realm: content.access decides
				}
				for _, g := range m[r] {
					out = append(out, r+":"+g)
				}
			}
		}
	}
	return out, nil
}

// itemGrants computes an item's grants in a stage.
func (s *Store) itemGrants(ctx context.Context, it *core.Item, stage core.ID) ([]core.Grant, error) {
	if s.grants != nil {
		g, ok, err := s.grants.ItemGrants(ctx, it, stage)
		if err != nil {
			return nil, fmt.Errorf("item grants: %w", err)
		}
		if ok {
			return g, nil
		}
	}
	return core.DefaultItemGrants(it), nil
}

// writeGrants replaces an item's grant rows in a stage.
func (tx *txn) writeGrants(ctx context.Context, stage core.ID, it *core.Item) error {
	grants, err := tx.s.itemGrants(ctx, it, stage)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM item_grant WHERE stage_id = $1 AND item_id = $2`, stage, it.ID); err != nil {
		return fmt.Errorf("write grants: %w", TranslateError(err))
	}
	for _, g := range grants {
		if g.Realm == "" || g.GID == "" {
			continue
		}
		if _, err := tx.Exec(ctx, `INSERT INTO item_grant (stage_id, item_id, realm, gid, grant_view, grant_update, grant_delete)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (stage_id, item_id, realm, gid) DO UPDATE SET grant_view = item_grant.grant_view OR EXCLUDED.grant_view,
				grant_update = item_grant.grant_update OR EXCLUDED.grant_update, grant_delete = item_grant.grant_delete OR EXCLUDED.grant_delete`,
			stage, it.ID, g.Realm, g.GID, g.View, g.Update, g.Delete); err != nil {
			return fmt.Errorf("write grants: %w", TranslateError(err))
		}
	}
	return nil
}

// dropGrants removes an item's grant rows in a stage.
func (tx *txn) dropGrants(ctx context.Context, stage, item core.ID) error {
	if _, err := tx.Exec(ctx, `DELETE FROM item_grant WHERE stage_id = $1 AND item_id = $2`, stage, item); err != nil {
		return fmt.Errorf("drop grants: %w", TranslateError(err))
	}
	return nil
}

// RebuildGrants recomputes the grant rows of every item in live and in
// every open stage (`trovato access rebuild`; run when a grants plugin is
// enabled or disabled). It returns how many items it wrote.
func (s *Store) RebuildGrants(ctx context.Context) (int, error) {
	if err := s.authz.Require(ctx, core.UserFromContext(ctx), core.PermAdministerContent); err != nil {
		return 0, err
	}
	n := 0
	err := s.inTx(ctx, func(tx *txn) error {
		rows, err := tx.Query(ctx, `SELECT h.stage_id, `+revItemColumns+` FROM head h JOIN revision r ON r.id = h.revision_id `+revItemDoc+`
			JOIN stage s ON s.id = h.stage_id AND s.state IN ('live', 'open')
			WHERE h.kind = 'item' AND NOT h.deleted ORDER BY h.stage_id, h.entity_id`)
		if err != nil {
			return fmt.Errorf("rebuild grants: %w", TranslateError(err))
		}
		type entry struct {
			stage core.ID
			it    *core.Item
		}
		var all []entry
		for rows.Next() {
			var st core.ID
			it, err := scanItem(rowWithPrefix{rows, &st})
			if err != nil {
				rows.Close()
				return fmt.Errorf("rebuild grants: %w", err)
			}
			all = append(all, entry{st, it})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return TranslateError(err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM item_grant`); err != nil {
			return TranslateError(err)
		}
		for _, e := range all {
			if err := tx.writeGrants(ctx, e.stage, e.it); err != nil {
				return err
			}
		}
		n = len(all)
		return nil
	})
	return n, err
}

// rowWithPrefix scans one extra leading column before an item's columns.
type rowWithPrefix struct {
	row interface{ Scan(...any) error }
	pre any
}

func (r rowWithPrefix) Scan(dest ...any) error { return r.row.Scan(append([]any{r.pre}, dest...)...) }
