package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// Redirect is a former live alias and where it points now.
type Redirect struct {
	Source   string
	Language string
	Target   string
}

// FindRedirects lists every former live alias (path_redirect), by source.
func (s *Store) FindRedirects(ctx context.Context) ([]Redirect, error) {
	rows, err := s.pool.Query(ctx, `SELECT source, language, target FROM path_redirect ORDER BY source, language`)
	if err != nil {
		return nil, fmt.Errorf("find redirects: %w", TranslateError(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Redirect, error) {
		var d Redirect
		return d, r.Scan(&d.Source, &d.Language, &d.Target)
	})
	if err != nil {
		return nil, fmt.Errorf("find redirects: %w", TranslateError(err))
	}
	return out, nil
}

// SaveExportManifest stores the manifest of an export (name: the export's
// folder or target) with the change-feed cursor it was built at.
func (s *Store) SaveExportManifest(ctx context.Context, name string, cursor core.FeedCursor, manifest json.RawMessage) error {
	if name == "" || !json.Valid(manifest) {
		return core.Errorf(core.EInvalid, "export manifest: a name and a JSON manifest are required")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO export_manifest (name, feed_cursor, manifest) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET feed_cursor = EXCLUDED.feed_cursor, manifest = EXCLUDED.manifest, exported_at = now()`,
		name, int64(cursor), manifest)
	if err != nil {
		return fmt.Errorf("save export manifest %s: %w", name, TranslateError(err))
	}
	return nil
}

// FindExportManifest returns the manifest stored for name and its cursor;
// ENOTFOUND when that export never finished.
func (s *Store) FindExportManifest(ctx context.Context, name string) (json.RawMessage, core.FeedCursor, error) {
	var (
		raw []byte
		cur int64
	)
	err := s.pool.QueryRow(ctx, `SELECT manifest, feed_cursor FROM export_manifest WHERE name = $1`, name).Scan(&raw, &cur)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, core.Errorf(core.ENotFound, "no export manifest for %s", name)
	} else if err != nil {
		return nil, 0, fmt.Errorf("find export manifest %s: %w", name, TranslateError(err))
	}
	return raw, core.FeedCursor(cur), nil
}
