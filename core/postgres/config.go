package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// Config implements core.ConfigService.
type Config struct{ s *Store }

var _ core.ConfigService = (*Config)(nil)

// Config returns the config store.
func (s *Store) Config() *Config { return &Config{s} }

// configPerm is the permission that guards writes to a kind, besides
// config.administer which guards every kind.
func configPerm(kind string) string {
	switch kind {
	case "item_type":
		return core.PermAdministerTypes
	case "vocabulary":
		return core.PermAdministerCategory
	case "menu":
		return core.PermAdministerMenus
	case "alias_pattern":
		return core.PermAdministerAliases
	case "site":
		return core.PermAdministerSite
	}
	return core.PermAdministerConfig
}

func (c *Config) requireWrite(ctx context.Context, kind string) error {
	u := core.UserFromContext(ctx)
	ok, err := c.s.authz.HasPermission(ctx, u, core.PermAdministerConfig)
	if err != nil || ok {
		return err
	}
	return c.s.authz.Require(ctx, u, configPerm(kind))
}

const configColumns = `kind, name, version, body, changed_at, changed_by`

func scanConfig(row pgx.Row) (*core.ConfigDocument, error) {
	d := &core.ConfigDocument{}
	var body []byte
	if err := row.Scan(&d.Kind, &d.Name, &d.Version, &body, &d.ChangedAt, &d.ChangedBy); err != nil {
		return nil, err
	}
	d.Body = body
	return d, nil
}

// FindConfig implements core.ConfigService.
func (c *Config) FindConfig(ctx context.Context, kind, name string) (*core.ConfigDocument, error) {
	return findConfig(ctx, c.s.pool, kind, name)
}

func findConfig(ctx context.Context, q querier, kind, name string) (*core.ConfigDocument, error) {
	d, err := scanConfig(q.QueryRow(ctx, `SELECT `+configColumns+` FROM config_doc WHERE kind = $1 AND name = $2`, kind, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "%s %q not found", kind, name)
	} else if err != nil {
		return nil, fmt.Errorf("find config %s/%s: %w", kind, name, TranslateError(err))
	}
	return d, nil
}

// FindConfigs implements core.ConfigService.
func (c *Config) FindConfigs(ctx context.Context, kind string) ([]*core.ConfigDocument, error) {
	rows, err := c.s.pool.Query(ctx, `SELECT `+configColumns+` FROM config_doc WHERE $1 = '' OR kind = $1 ORDER BY kind, name`, kind)
	if err != nil {
		return nil, fmt.Errorf("find config: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []*core.ConfigDocument
	for rows.Next() {
		d, err := scanConfig(rows)
		if err != nil {
			return nil, fmt.Errorf("find config: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// PutConfig implements core.ConfigService.
func (c *Config) PutConfig(ctx context.Context, kind, name string, body json.RawMessage, ifVersion int) (*core.ConfigDocument, error) {
	if err := c.requireWrite(ctx, kind); err != nil {
		return nil, err
	}
	body, err := c.check(kind, name, body)
	if err != nil {
		return nil, err
	}
	var out *core.ConfigDocument
	err = c.s.inTx(ctx, func(tx *txn) error {
		out, err = putConfig(ctx, tx, kind, name, body, ifVersion)
		return err
	})
	return out, err
}

func (c *Config) check(kind, name string, body json.RawMessage) (json.RawMessage, error) {
	if !json.Valid(body) {
		return nil, core.Errorf(core.EInvalid, "%s %q: body is not valid JSON", kind, name)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, core.Errorf(core.EInvalid, "%s %q: body must be a JSON object", kind, name)
	}
	if c.s.validate != nil {
		return c.s.validate(kind, name, body)
	}
	return body, nil
}

// putConfig stores body as the next version inside tx. An identical body
// is a no-op that returns the current document.
func putConfig(ctx context.Context, tx *txn, kind, name string, body json.RawMessage, ifVersion int) (*core.ConfigDocument, error) {
	cur, err := findConfig(ctx, tx, kind, name)
	if err != nil && core.ErrorCode(err) != core.ENotFound {
		return nil, err
	}
	version := 1
	if cur != nil {
		if ifVersion != 0 && cur.Version != ifVersion {
			return nil, core.Errorf(core.EConflict, "%s %q is at version %d, not %d", kind, name, cur.Version, ifVersion)
		}
		var same bool
		if err := tx.QueryRow(ctx, `SELECT $1::jsonb = $2::jsonb`, []byte(cur.Body), []byte(body)).Scan(&same); err != nil {
			return nil, fmt.Errorf("compare config: %w", TranslateError(err))
		}
		if same {
			return cur, nil
		}
		version = cur.Version + 1
	} else if ifVersion != 0 {
		return nil, core.Errorf(core.EConflict, "%s %q does not exist (expected version %d)", kind, name, ifVersion)
	} else if err := tx.QueryRow(ctx, `SELECT COALESCE(max(version), 0) + 1 FROM config_doc_version WHERE kind = $1 AND name = $2`,
		kind, name).Scan(&version); err != nil {
		return nil, fmt.Errorf("put config %s/%s: %w", kind, name, TranslateError(err))
	}
	user := core.UserFromContext(ctx).ID
	now := tx.s.now()
	d := &core.ConfigDocument{}
	var raw []byte
	err = tx.QueryRow(ctx, `INSERT INTO config_doc (kind, name, version, body, changed_at, changed_by) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (kind, name) DO UPDATE SET version = EXCLUDED.version, body = EXCLUDED.body, changed_at = EXCLUDED.changed_at, changed_by = EXCLUDED.changed_by
		RETURNING `+configColumns, kind, name, version, []byte(body), now, user).
		Scan(&d.Kind, &d.Name, &d.Version, &raw, &d.ChangedAt, &d.ChangedBy)
	if err != nil {
		return nil, fmt.Errorf("put config %s/%s: %w", kind, name, TranslateError(err))
	}
	d.Body = raw
	if kind == "item_type" && tx.types != nil {
		delete(tx.types, name)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO config_doc_version (kind, name, version, body, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)`,
		kind, name, version, []byte(body), now, user); err != nil {
		return nil, fmt.Errorf("put config %s/%s: %w", kind, name, TranslateError(err))
	}
	op := core.ChangeUpdate
	if cur == nil {
		op = core.ChangeCreate
	}
	return d, tx.feed(ctx, core.KindConfig, kind+"/"+name, nil, nil, nil, op)
}

// DeleteConfig implements core.ConfigService.
func (c *Config) DeleteConfig(ctx context.Context, kind, name string) error {
	if err := c.requireWrite(ctx, kind); err != nil {
		return err
	}
	return c.s.inTx(ctx, func(tx *txn) error {
		var version int
		err := tx.QueryRow(ctx, `DELETE FROM config_doc WHERE kind = $1 AND name = $2 RETURNING version`, kind, name).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			return core.Errorf(core.ENotFound, "%s %q not found", kind, name)
		} else if err != nil {
			return fmt.Errorf("delete config %s/%s: %w", kind, name, TranslateError(err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO config_doc_version (kind, name, version, body, created_by) VALUES ($1, $2, $3, NULL, $4)`,
			kind, name, version+1, core.UserFromContext(ctx).ID); err != nil {
			return fmt.Errorf("delete config %s/%s: %w", kind, name, TranslateError(err))
		}
		return tx.feed(ctx, core.KindConfig, kind+"/"+name, nil, nil, nil, core.ChangeDelete)
	})
}
