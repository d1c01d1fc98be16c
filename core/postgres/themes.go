package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// InstalledTheme is a site theme stored in the database: its manifest
// fields and the blob hash of each file (theme.yaml, templates/*.html,
// assets/...), so every node loads the same bytes.
type InstalledTheme struct {
	Name        string            `json:"name"`
	Label       string            `json:"label,omitempty"`
	Version     string            `json:"version,omitempty"`
	Base        string            `json:"base"`
	Regions     []string          `json:"regions"`
	Manifest    string            `json:"manifest"` // theme.yaml as installed
	Files       map[string]string `json:"files"`    // path -> SHA-256 (hex)
	Enabled     bool              `json:"enabled"`
	InstalledAt time.Time         `json:"installed_at"`
	ChangedAt   time.Time         `json:"changed_at"`
}

// ThemeInstall is what InstallTheme stores. The caller has parsed the
// manifest and built a renderer from the files, so only themes that load
// are stored.
type ThemeInstall struct {
	Name, Label, Version, Base string
	Regions                    []string
	Files                      map[string][]byte // theme.yaml included
}

// Themes stores site themes.
type Themes struct{ s *Store }

// Themes returns the theme registry.
func (s *Store) Themes() *Themes { return &Themes{s} }

const themeColumns = `name, label, version, base, regions, manifest_yaml, enabled, installed_at, changed_at,
	COALESCE((SELECT jsonb_object_agg(path, encode(hash, 'hex')) FROM theme_file f WHERE f.theme = t.name), '{}')`

func scanTheme(row pgx.Row) (*InstalledTheme, error) {
	t := &InstalledTheme{}
	if err := row.Scan(&t.Name, &t.Label, &t.Version, &t.Base, &t.Regions, &t.Manifest, &t.Enabled, &t.InstalledAt, &t.ChangedAt, &t.Files); err != nil {
		return nil, err
	}
	return t, nil
}

// FindThemes lists installed themes by name.
func (ts *Themes) FindThemes(ctx context.Context) ([]*InstalledTheme, error) {
	rows, err := ts.s.pool.Query(ctx, `SELECT `+themeColumns+` FROM theme t ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("find themes: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []*InstalledTheme
	for rows.Next() {
		t, err := scanTheme(rows)
		if err != nil {
			return nil, fmt.Errorf("find themes: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// FindTheme returns ENOTFOUND for a theme that is not installed.
func (ts *Themes) FindTheme(ctx context.Context, name string) (*InstalledTheme, error) {
	t, err := scanTheme(ts.s.pool.QueryRow(ctx, `SELECT `+themeColumns+` FROM theme t WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "theme %q is not installed (see: trovato theme list)", name)
	} else if err != nil {
		return nil, fmt.Errorf("find theme: %w", TranslateError(err))
	}
	return t, nil
}

// EnabledTheme returns the enabled theme; ENOTFOUND when none is (the
// default theme serves).
func (ts *Themes) EnabledTheme(ctx context.Context) (*InstalledTheme, error) {
	t, err := scanTheme(ts.s.pool.QueryRow(ctx, `SELECT `+themeColumns+` FROM theme t WHERE enabled`))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "no theme is enabled")
	} else if err != nil {
		return nil, fmt.Errorf("find enabled theme: %w", TranslateError(err))
	}
	return t, nil
}

// ReadThemeFiles returns the bytes of every file of a theme, by path, in
// one query. ENOTFOUND for a theme that is not installed.
func (ts *Themes) ReadThemeFiles(ctx context.Context, name string) (map[string][]byte, error) {
	rows, err := ts.s.pool.Query(ctx, `SELECT f.path, f.hash, c.data FROM theme_file f
		JOIN blob b ON b.hash = f.hash JOIN blob_chunk c ON c.blob_id = b.blob_id
		WHERE f.theme = $1 ORDER BY f.path, c.n`, name)
	if err != nil {
		return nil, fmt.Errorf("read theme %s: %w", name, TranslateError(err))
	}
	defer rows.Close()
	files := map[string][]byte{}
	sums := map[string][]byte{}
	for rows.Next() {
		var p string
		var sum, data []byte
		if err := rows.Scan(&p, &sum, &data); err != nil {
			return nil, fmt.Errorf("read theme %s: %w", name, err)
		}
		files[p] = append(files[p], data...)
		sums[p] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read theme %s: %w", name, TranslateError(err))
	}
	// Empty files have no chunk: list the paths too.
	var paths []string
	if err := ts.s.pool.QueryRow(ctx, `SELECT COALESCE(array_agg(path), '{}') FROM theme_file WHERE theme = $1`, name).Scan(&paths); err != nil {
		return nil, fmt.Errorf("read theme %s: %w", name, TranslateError(err))
	}
	if len(paths) == 0 {
		return nil, core.Errorf(core.ENotFound, "theme %q is not installed (see: trovato theme list)", name)
	}
	for _, p := range paths {
		if _, ok := files[p]; !ok {
			files[p] = []byte{}
		}
	}
	for p, b := range files {
		if s := sums[p]; s != nil && !bytes.Equal(sha256Of(b), s) {
			return nil, core.Errorf(core.EInternal, "theme %s: file %s does not match its hash in the blob store", name, p)
		}
	}
	return files, nil
}

// InstallTheme stores (or replaces) a theme's files in the blob store and
// its row, in one transaction with a `theme` row in the change feed, so
// every node serving it reloads. A new version of the enabled theme stays
// enabled. Requires themes.administer. EINVALID for a bad name or base.
func (ts *Themes) InstallTheme(ctx context.Context, in ThemeInstall) (*InstalledTheme, error) {
	if err := ts.s.authz.Require(ctx, core.UserFromContext(ctx), core.PermAdministerThemes); err != nil {
		return nil, err
	}
	if in.Name == "" || in.Name == "default" {
		return nil, core.Errorf(core.EInvalid, "theme name %q is not allowed", in.Name)
	}
	manifest, ok := in.Files["theme.yaml"]
	if !ok {
		return nil, core.Errorf(core.EInvalid, "theme %s has no theme.yaml", in.Name)
	}
	if in.Base == "" {
		in.Base = "default"
	}
	if in.Regions == nil {
		in.Regions = []string{}
	}
	err := ts.s.inTx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('trovato.theme'))`); err != nil {
			return TranslateError(err)
		}
		if in.Base != "default" {
			if err := themeExists(ctx, tx, in.Base); err != nil {
				return err
			}
			if err := checkNoBaseCycle(ctx, tx, in.Name, in.Base); err != nil {
				return err
			}
		}
		op := core.ChangeCreate
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM theme WHERE name = $1)`, in.Name).Scan(&exists); err != nil {
			return TranslateError(err)
		}
		if exists {
			op = core.ChangeUpdate
		}
		now := ts.s.now()
		if _, err := tx.Exec(ctx, `INSERT INTO theme (name, label, version, base, regions, manifest_yaml, installed_at, changed_at, changed_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)
			ON CONFLICT (name) DO UPDATE SET label = EXCLUDED.label, version = EXCLUDED.version, base = EXCLUDED.base,
				regions = EXCLUDED.regions, manifest_yaml = EXCLUDED.manifest_yaml, changed_at = EXCLUDED.changed_at, changed_by = EXCLUDED.changed_by`,
			in.Name, in.Label, in.Version, in.Base, in.Regions, string(manifest), now, core.UserFromContext(ctx).ID); err != nil {
			return fmt.Errorf("install theme %s: %w", in.Name, TranslateError(err))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM theme_file WHERE theme = $1`, in.Name); err != nil {
			return TranslateError(err)
		}
		for p, b := range in.Files {
			hash, _, err := putBlob(ctx, tx, bytes.NewReader(b), 0)
			if err != nil {
				return fmt.Errorf("install theme %s: %s: %w", in.Name, p, err)
			}
			sum, _ := hex.DecodeString(hash)
			if _, err := tx.Exec(ctx, `INSERT INTO theme_file (theme, path, hash) VALUES ($1, $2, $3)`, in.Name, p, sum); err != nil {
				return fmt.Errorf("install theme %s: %s: %w", in.Name, p, TranslateError(err))
			}
		}
		return tx.feed(ctx, core.KindTheme, in.Name, nil, nil, nil, op)
	})
	if err != nil {
		return nil, err
	}
	return ts.FindTheme(ctx, in.Name)
}

func themeExists(ctx context.Context, tx *txn, name string) error {
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM theme WHERE name = $1)`, name).Scan(&ok); err != nil {
		return TranslateError(err)
	}
	if !ok {
		return core.Errorf(core.EInvalid, "base theme %s is not installed (install it first)", name)
	}
	return nil
}

// checkNoBaseCycle refuses a base that (through its own bases) leads back to name.
func checkNoBaseCycle(ctx context.Context, tx *txn, name, base string) error {
	for seen := map[string]bool{name: true}; base != "default"; {
		if seen[base] {
			return core.Errorf(core.EInvalid, "theme %s: its base chain loops through %s", name, base)
		}
		seen[base] = true
		if err := tx.QueryRow(ctx, `SELECT base FROM theme WHERE name = $1`, base).Scan(&base); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return core.Errorf(core.EInvalid, "base theme %s is not installed (install it first)", base)
			}
			return TranslateError(err)
		}
	}
	return nil
}

// EnableTheme makes name the site's theme (the one enabled before is
// disabled); "default" goes back to the built-in theme. Requires
// themes.administer. ENOTFOUND for a theme that is not installed.
func (ts *Themes) EnableTheme(ctx context.Context, name string) error {
	if err := ts.s.authz.Require(ctx, core.UserFromContext(ctx), core.PermAdministerThemes); err != nil {
		return err
	}
	return ts.s.inTx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('trovato.theme'))`); err != nil {
			return TranslateError(err)
		}
		var prev string
		err := tx.QueryRow(ctx, `SELECT name FROM theme WHERE enabled`).Scan(&prev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return TranslateError(err)
		}
		if prev == name || (prev == "" && name == "default") {
			return nil
		}
		by, now := core.UserFromContext(ctx).ID, ts.s.now()
		if prev != "" {
			if _, err := tx.Exec(ctx, `UPDATE theme SET enabled = false, changed_at = $2, changed_by = $3 WHERE name = $1`, prev, now, by); err != nil {
				return TranslateError(err)
			}
		}
		if name != "default" {
			tag, err := tx.Exec(ctx, `UPDATE theme SET enabled = true, changed_at = $2, changed_by = $3 WHERE name = $1`, name, now, by)
			if err != nil {
				return fmt.Errorf("enable theme %s: %w", name, TranslateError(err))
			}
			if tag.RowsAffected() == 0 {
				return core.Errorf(core.ENotFound, "theme %q is not installed (see: trovato theme list)", name)
			}
		}
		entity := name
		if name == "default" {
			entity = prev
		}
		return tx.feed(ctx, core.KindTheme, entity, nil, nil, nil, core.ChangeUpdate)
	})
}

// UninstallTheme removes a theme. The enabled theme and a theme another
// one extends are refused (ECONFLICT); ENOTFOUND when it is not installed.
// Its blobs stay (content-addressed, maybe shared).
func (ts *Themes) UninstallTheme(ctx context.Context, name string) error {
	if err := ts.s.authz.Require(ctx, core.UserFromContext(ctx), core.PermAdministerThemes); err != nil {
		return err
	}
	return ts.s.inTx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('trovato.theme'))`); err != nil {
			return TranslateError(err)
		}
		var enabled bool
		err := tx.QueryRow(ctx, `SELECT enabled FROM theme WHERE name = $1`, name).Scan(&enabled)
		if errors.Is(err, pgx.ErrNoRows) {
			return core.Errorf(core.ENotFound, "theme %q is not installed", name)
		} else if err != nil {
			return TranslateError(err)
		}
		if enabled {
			return core.Errorf(core.EConflict, "theme %s is enabled: enable another first (trovato theme enable default)", name)
		}
		var child string
		err = tx.QueryRow(ctx, `SELECT name FROM theme WHERE base = $1 ORDER BY name LIMIT 1`, name).Scan(&child)
		if err == nil {
			return core.Errorf(core.EConflict, "theme %s is the base of theme %s: uninstall that first", name, child)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return TranslateError(err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM theme WHERE name = $1`, name); err != nil {
			return fmt.Errorf("uninstall theme %s: %w", name, TranslateError(err))
		}
		return tx.feed(ctx, core.KindTheme, name, nil, nil, nil, core.ChangeDelete)
	})
}

func sha256Of(b []byte) []byte {
	sum := sha256.Sum256(b)
	return sum[:]
}
