package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// SitemapEntry is one live item a sitemap lists: its public path (the
// preferred alias, else /item/ID) and when it last changed.
type SitemapEntry struct {
	ID        core.ID
	Path      string
	ChangedAt time.Time
}

// SitemapEntries lists the published live items the user in ctx may list
// (the same grants filter as FindItems), by id, with the total. Every
// statement is bounded by DefaultQueryTimeout (EUnavailable beyond it).
func (s *Store) SitemapEntries(ctx context.Context, offset, limit int) ([]SitemapEntry, int, error) {
	return s.SitemapEntriesIn(ctx, core.LiveStageID, offset, limit)
}

// SitemapEntriesIn is SitemapEntries in a stage: its items and aliases
// where it changed them, live's elsewhere (the stage's static export).
func (s *Store) SitemapEntriesIn(ctx context.Context, stage core.ID, offset, limit int) ([]SitemapEntry, int, error) {
	return s.sitemapEntries(ctx, stage, offset, limit, true)
}

// SitemapPartIn is SitemapEntriesIn without the total (a sitemap part
// needs none: no entries past its offset is its end): the statement reads
// items in id order up to offset+limit of them instead of counting every
// item first.
func (s *Store) SitemapPartIn(ctx context.Context, stage core.ID, offset, limit int) ([]SitemapEntry, error) {
	out, _, err := s.sitemapEntries(ctx, stage, offset, limit, false)
	return out, err
}

func (s *Store) sitemapEntries(ctx context.Context, stage core.ID, offset, limit int, withTotal bool) ([]SitemapEntry, int, error) {
	stage = stageOrLive(stage)
	keys, aliases := liveItemKeys, `SELECT alias FROM path_alias WHERE path = '/item/' || x.id::text
			ORDER BY language = 'und' DESC, length(alias), alias LIMIT 1`
	if stage != core.LiveStageID {
		keys, aliases = stageItemKeys, `SELECT sa.alias FROM `+aliasSource(stage)+` sa WHERE sa.path = '/item/' || x.id::text
			ORDER BY sa.language = 'und' DESC, length(sa.alias), sa.alias LIMIT 1`
	}
	if offset < 0 || limit < 1 || limit > 50000 {
		return nil, 0, core.Errorf(core.EInvalid, "sitemap: offset ≥ 0 and limit 1..50000")
	}
	acc, err := s.listAccess(ctx)
	if err != nil {
		return nil, 0, err
	}
	u := core.UserFromContext(ctx)
	var (
		out   []SitemapEntry
		total int
	)
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('statement_timeout', $1, true)`, strconv.FormatInt(DefaultQueryTimeout.Milliseconds(), 10)); err != nil {
			return err
		}
		args := []any{stage, "", core.StatusPublished, nil, "", acc.all, acc.grants, acc.unpublishedTypes, u.ID, acc.ownTypes}
		// One scan gives the page of entries and the total (a window
		// count before the limit); aliases are looked up for the page only.
		count := "count(*) OVER ()"
		if !withTotal {
			count = "0::bigint"
		}
		rows, err := tx.Query(ctx, `SELECT x.id, coalesce(a.alias, '/item/' || x.id::text), x.changed_at, x.total
			FROM (SELECT k.id, k.changed_at, `+count+` AS total FROM `+keys+` k
				WHERE `+itemFilterSQL+` ORDER BY k.id LIMIT $11 OFFSET $12) x
			LEFT JOIN LATERAL (`+aliases+`) a ON true
			ORDER BY x.id`, append(args, limit, offset)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var e SitemapEntry
			if err := rows.Scan(&e.ID, &e.Path, &e.ChangedAt, &total); err != nil {
				rows.Close()
				return err
			}
			out = append(out, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == 0 && offset > 0 && withTotal {
			// Past the end: the total still counts.
			return tx.QueryRow(ctx, `SELECT count(*) FROM `+keys+` k WHERE `+itemFilterSQL, args...).Scan(&total)
		}
		return nil
	})
	if err != nil {
		if timedOut(err) {
			return nil, 0, core.Errorf(core.EUnavailable, "sitemap: the query took too long")
		}
		return nil, 0, fmt.Errorf("sitemap entries: %w", TranslateError(err))
	}
	return out, total, nil
}
