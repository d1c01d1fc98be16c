package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// Config documents, roles, plugins and themes are not revisioned: a pull
// knows them by a hash of the local copy taken right after it applied the
// server's state (sync_pulled). When the local copy no longer has that
// hash, it was changed here since, and a pulled change of it becomes a
// pull conflict (sync_doc_conflict) holding the server's entity until
// someone chooses.

// isPulledDocKind says whether a pulled kind is tracked by hash.
func isPulledDocKind(kind string) bool {
	return kind == core.KindConfig || kind == core.KindRole || kind == core.KindPlugin || kind == core.KindTheme
}

// localDocHash hashes the local copy of a config document, role, plugin
// or theme: what an editor can change, not bookkeeping (times, a plugin's
// table versions). nil when there is none.
func localDocHash(ctx context.Context, q querier, kind, id string) ([]byte, error) {
	var (
		sql  string
		args []any
	)
	switch kind {
	case core.KindConfig:
		k, name, ok := cutConfigID(id)
		if !ok {
			return nil, core.Errorf(core.EInvalid, "config id %q is not KIND/NAME", id)
		}
		sql, args = `SELECT sha256(convert_to(version::text || E'\n' || body::text, 'UTF8')) FROM config_doc WHERE kind = $1 AND name = $2`, []any{k, name}
	case core.KindRole:
		sql, args = `SELECT sha256(convert_to(r.label || E'\n' || COALESCE((SELECT string_agg(permission, E'\n' ORDER BY permission) FROM role_permission WHERE role_id = r.id), ''), 'UTF8'))
			FROM roles r WHERE r.name = $1`, []any{id}
	case core.KindPlugin:
		sql, args = `SELECT sha256(convert_to(version || E'\n' || manifest_toml || E'\n' || encode(hash, 'hex') || E'\n' || enabled::text || E'\n' || array_to_string(approved, ','), 'UTF8'))
			FROM plugin WHERE name = $1`, []any{id}
	case core.KindTheme:
		sql, args = `SELECT sha256(convert_to(label || E'\n' || version || E'\n' || base || E'\n' || array_to_string(regions, ',') || E'\n' || manifest_yaml || E'\n' || enabled::text || E'\n' ||
			COALESCE((SELECT string_agg(path || ' ' || encode(f.hash, 'hex'), E'\n' ORDER BY path) FROM theme_file f WHERE f.theme = t.name), ''), 'UTF8'))
			FROM theme t WHERE t.name = $1`, []any{id}
	default:
		return nil, fmt.Errorf("no local hash for kind %s", kind)
	}
	var h []byte
	if err := q.QueryRow(ctx, sql, args...).Scan(&h); errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("hash local %s %s: %w", kind, id, TranslateError(err))
	}
	return h, nil
}

// pulledHash is the hash sync_pulled holds (seen false: never pulled).
func pulledHash(ctx context.Context, q querier, kind, id string) (h []byte, seen bool, err error) {
	err = q.QueryRow(ctx, `SELECT hash FROM sync_pulled WHERE kind = $1 AND id = $2`, kind, id).Scan(&h)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("read pulled %s %s: %w", kind, id, TranslateError(err))
	}
	return h, true, nil
}

func (tx *txn) rememberPulled(ctx context.Context, kind, id string) error {
	h, err := localDocHash(ctx, tx, kind, id)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO sync_pulled (kind, id, hash) VALUES ($1, $2, $3)
		ON CONFLICT (kind, id) DO UPDATE SET hash = EXCLUDED.hash`, kind, id, h); err != nil {
		return fmt.Errorf("record pulled %s %s: %w", kind, id, TranslateError(err))
	}
	return nil
}

// changedHere says whether the local copy differs from what the last pull
// left. Never pulled: not changed here (the first pull adopts the
// server's copy, as when a new local site connects).
func changedHere(ctx context.Context, q querier, kind, id string) (bool, []byte, error) {
	local, err := localDocHash(ctx, q, kind, id)
	if err != nil {
		return false, nil, err
	}
	known, seen, err := pulledHash(ctx, q, kind, id)
	if err != nil {
		return false, nil, err
	}
	return seen && !bytes.Equal(local, known), local, nil
}

// enabledThemes are the other locally enabled themes (at most one).
func enabledThemes(ctx context.Context, q querier, except string) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT name FROM theme WHERE enabled AND name <> $1`, except)
	if err != nil {
		return nil, TranslateError(err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// applyPulledDoc applies a pulled config document, role, plugin or theme
// unless the local copy was changed here since the last pull: then the
// server's entity is kept as a pull conflict (true). A server state equal
// to the local change is no conflict. Enabling a pulled theme disables the
// local one, so a local change of that one is a conflict too.
func (sy *Sync) applyPulledDoc(ctx context.Context, tx *txn, e core.SyncEntity, apply func(context.Context, *txn, core.SyncEntity) error) (bool, error) {
	if e.Kind == core.KindRole {
		if rid, err := core.ParseID(e.ID); err == nil {
			// A role deleted on the server, named by its id: the same id
			// here (pulled roles keep theirs).
			err := tx.QueryRow(ctx, `SELECT name FROM roles WHERE id = $1`, rid).Scan(&e.ID)
			if errors.Is(err, pgx.ErrNoRows) {
				return false, nil
			} else if err != nil {
				return false, TranslateError(err)
			}
		}
	}
	id := e.ID
	var pending bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sync_doc_conflict WHERE kind = $1 AND id = $2)`, e.Kind, id).Scan(&pending); err != nil {
		return false, TranslateError(err)
	}
	dirty, local, err := changedHere(ctx, tx, e.Kind, id)
	if err != nil {
		return false, err
	}
	var others []string
	if e.Kind == core.KindTheme && e.Theme != nil && e.Theme.Enabled && !e.Deleted {
		if others, err = enabledThemes(ctx, tx, id); err != nil {
			return false, err
		}
		for _, o := range others {
			d, _, err := changedHere(ctx, tx, core.KindTheme, o)
			if err != nil {
				return false, err
			}
			dirty = dirty || d
		}
	}
	if !pending && !dirty {
		if err := apply(ctx, tx, e); err != nil {
			return false, err
		}
		for _, o := range others {
			if err := tx.rememberPulled(ctx, core.KindTheme, o); err != nil {
				return false, err
			}
		}
		return false, tx.rememberPulled(ctx, e.Kind, id)
	}
	if !pending && len(others) == 0 {
		// The same change on both sides is no conflict.
		if _, err := tx.Exec(ctx, `SAVEPOINT pulled_doc`); err != nil {
			return false, TranslateError(err)
		}
		if err := apply(ctx, tx, e); err != nil {
			return false, err
		}
		after, err := localDocHash(ctx, tx, e.Kind, id)
		if err != nil {
			return false, err
		}
		if bytes.Equal(after, local) {
			if _, err := tx.Exec(ctx, `RELEASE SAVEPOINT pulled_doc`); err != nil {
				return false, TranslateError(err)
			}
			return false, tx.rememberPulled(ctx, e.Kind, id)
		}
		if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT pulled_doc`); err != nil {
			return false, TranslateError(err)
		}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO sync_doc_conflict (kind, id, local_hash, server) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, id) DO UPDATE SET server = EXCLUDED.server, at = now()`, e.Kind, id, local, b); err != nil {
		return false, fmt.Errorf("record pull conflict of %s %s: %w", e.Kind, id, TranslateError(err))
	}
	return !pending, nil
}

// DocConflict is a pulled config document, role, plugin or theme that met
// a local change; Server is what the server has (Deleted: it deleted it).
type DocConflict struct {
	Kind   string          `json:"kind"`
	ID     string          `json:"id"`
	Server core.SyncEntity `json:"server"`
}

// FindDocConflicts lists them, oldest first.
func (sy *Sync) FindDocConflicts(ctx context.Context) ([]DocConflict, error) {
	rows, err := sy.s.pool.Query(ctx, `SELECT kind, id, server FROM sync_doc_conflict ORDER BY at, kind, id`)
	if err != nil {
		return nil, fmt.Errorf("read sync conflicts: %w", TranslateError(err))
	}
	defer rows.Close()
	out := []DocConflict{}
	for rows.Next() {
		var (
			c DocConflict
			b []byte
		)
		if err := rows.Scan(&c.Kind, &c.ID, &b); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &c.Server); err != nil {
			return nil, fmt.Errorf("read sync conflict %s %s: %w", c.Kind, c.ID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ResolveDocConflict settles a pull conflict of a config document
// (id KIND/NAME), role, plugin or theme (id its name): "theirs" applies
// the server's copy over the local one, "mine" keeps the local copy (the
// server's next change of it is a conflict again).
//
// Errors: ENOTFOUND without such a conflict; EINVALID for another choice.
func (sy *Sync) ResolveDocConflict(ctx context.Context, kind, id, choice string) error {
	if choice != core.ResolveMine && choice != core.ResolveTheirs {
		return core.Errorf(core.EInvalid, "choose mine or theirs, not %q", choice)
	}
	return sy.s.inTx(ctx, func(tx *txn) error {
		var b []byte
		err := tx.QueryRow(ctx, `SELECT server FROM sync_doc_conflict WHERE kind = $1 AND id = $2 FOR UPDATE`, kind, id).Scan(&b)
		if errors.Is(err, pgx.ErrNoRows) {
			return core.Errorf(core.ENotFound, "no pull conflict for %s %s (see trovato sync conflicts)", kind, id)
		} else if err != nil {
			return TranslateError(err)
		}
		if choice == core.ResolveTheirs {
			var e core.SyncEntity
			if err := json.Unmarshal(b, &e); err != nil {
				return fmt.Errorf("read sync conflict %s %s: %w", kind, id, err)
			}
			var others []string
			if e.Kind == core.KindTheme && e.Theme != nil && e.Theme.Enabled && !e.Deleted {
				if others, err = enabledThemes(ctx, tx, id); err != nil {
					return err
				}
			}
			if err := pulledDocApplier(e.Kind)(ctx, tx, e); err != nil {
				return err
			}
			for _, o := range others {
				if err := tx.rememberPulled(ctx, core.KindTheme, o); err != nil {
					return err
				}
			}
			if err := tx.rememberPulled(ctx, kind, id); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `DELETE FROM sync_doc_conflict WHERE kind = $1 AND id = $2`, kind, id)
		return TranslateError(err)
	})
}

func pulledDocApplier(kind string) func(context.Context, *txn, core.SyncEntity) error {
	switch kind {
	case core.KindConfig:
		return applyConfig
	case core.KindRole:
		return applyRole
	case core.KindPlugin:
		return applyPlugin
	case core.KindTheme:
		return applyTheme
	}
	return func(context.Context, *txn, core.SyncEntity) error {
		return core.Errorf(core.EInvalid, "kind %s is not a config document, role, plugin or theme", kind)
	}
}
