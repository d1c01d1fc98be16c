package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SiteSecret returns the site's secret called name: 32 random bytes made
// by the first caller on any node and stored in PostgreSQL, so that every
// node (and every restart) signs and checks with the same key.
func (s *Store) SiteSecret(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh) // never fails (crypto/rand panics instead)
	for attempt := 0; ; attempt++ {
		var key []byte
		err := s.pool.QueryRow(ctx, `WITH ins AS (
				INSERT INTO site_secret (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value)
			SELECT value FROM ins UNION ALL SELECT value FROM site_secret WHERE name = $1 LIMIT 1`, name, fresh).Scan(&key)
		if errors.Is(err, pgx.ErrNoRows) && attempt == 0 {
			// Another node inserted it after this statement's snapshot.
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("site secret %s: %w", name, TranslateError(err))
		}
		return key, nil
	}
}
