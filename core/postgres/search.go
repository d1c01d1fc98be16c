package postgres

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// Snippet markers: private-use characters stripped from the text before
// ts_headline, so after HTML-escaping the snippet they can only be the
// highlight boundaries.
const (
	markStart = "\uE000"
	markStop  = "\uE001"
)

// Search runs a full-text search over the items stage shows (NilID: live)
// that the user in ctx may list, best first, SearchPerPage per page. q is
// read as websearch_to_tsquery does ("quoted phrases", or, -not); its
// words are stemmed in every configured language, so an item matches in its
// own language. A title hit ranks above a body hit (weights A and B).
// Live items use the stored vectors (GIN index); a stage's overrides are
// indexed on the fly. Every statement is bounded by DefaultQueryTimeout.
//
// Errors: EInvalid for a query over SearchMaxQuery bytes or not UTF-8
// ("q"), a page outside 1..GatherMaxPage ("page"), or a search that runs
// too long; ENotFound/EForbidden for a stage the user may not view. A blank
// query, or one of stop words only, finds nothing.
func (s *Store) Search(ctx context.Context, q string, stage core.ID, page int) (*core.SearchResult, error) {
	return s.Gathers().Search(ctx, q, stage, page)
}

// Search is Store.Search with this runner's timeout and extender.
func (gs *Gathers) Search(ctx context.Context, q string, stage core.ID, page int) (*core.SearchResult, error) {
	if len(q) > core.SearchMaxQuery {
		return nil, core.InvalidFields("search text too long", []core.FieldError{{Path: "q", Message: fmt.Sprintf("must be at most %d bytes", core.SearchMaxQuery)}})
	}
	if !utf8.ValidString(q) || strings.ContainsRune(q, 0) {
		return nil, core.InvalidFields("invalid search text", []core.FieldError{{Path: "q", Message: "must be UTF-8 text"}})
	}
	if page == 0 {
		page = 1
	}
	out := &core.SearchResult{Hits: []core.SearchHit{}, Page: page, Pages: 1, PerPage: core.SearchPerPage}
	if page < 1 || page > core.GatherMaxPage {
		return nil, core.InvalidFields("invalid page", []core.FieldError{{Path: "page", Message: fmt.Sprintf("must be between 1 and %d", core.GatherMaxPage)}})
	}
	q = strings.TrimSpace(q)
	if q == "" {
		return out, nil
	}
	g := &core.Gather{Name: "search", Label: "Search", Pager: core.GatherPager{PerPage: core.SearchPerPage},
		Filters: []core.GatherFilter{{Field: "search", Op: core.OpSearch, Exposed: &core.GatherExposed{Name: "q", Label: "Search"}}},
		Sorts:   []core.GatherSort{{Field: "rank"}, {Field: "created", Direction: "desc"}}}
	plain := *gs
	plain.ext = nil
	res, _, err := plain.run(ctx, g, stage, core.GatherArgs{Exposed: map[string]string{"q": q}, Page: page},
		func(ctx context.Context, tx pgx.Tx, items []*core.Item, tsq string) error {
			hits, err := snippets(ctx, tx, items, tsq)
			out.Hits = hits
			return err
		})
	if err != nil {
		if core.ErrorCode(err) == core.EUnavailable {
			return nil, core.InvalidFields("search took too long", []core.FieldError{{Path: "q", Message: "is too broad or complex; use fewer or more specific words"}})
		}
		if fe := core.ErrorFields(err); len(fe) > 0 && strings.HasPrefix(fe[0].Path, "exposed.q") {
			return nil, core.InvalidFields("invalid search text", []core.FieldError{{Path: "q", Message: fe[0].Message}})
		}
		return nil, err
	}
	out.Total, out.Pages = res.Total, res.Pages
	return out, nil
}

// snippets ranks and highlights one page of hits in one statement.
func snippets(ctx context.Context, tx pgx.Tx, items []*core.Item, tsq string) ([]core.SearchHit, error) {
	n := len(items)
	types, langs, titles := make([]string, n), make([]string, n), make([]string, n)
	fields := make([]string, n)
	for i, it := range items {
		types[i], langs[i], titles[i], fields[i] = it.Type, it.Language, it.Title, string(it.Fields)
	}
	rows, err := tx.Query(ctx, `SELECT ts_rank(trovato_search_vector(h.type, h.lang, h.title, h.fields::jsonb), $5::tsquery),
		ts_headline(trovato_regconfig(h.lang),
			translate(COALESCE(NULLIF(trovato_search_text(h.type, h.fields::jsonb), ''), h.title), E'\uE000\uE001', ''),
			$5::tsquery, 'StartSel=`+markStart+`, StopSel=`+markStop+`, MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "')
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS h(type, lang, title, fields, n)
		ORDER BY h.n`, types, langs, titles, fields, tsq)
	if err != nil {
		return nil, gatherErr(err)
	}
	defer rows.Close()
	hits := make([]core.SearchHit, 0, n)
	for i := 0; rows.Next(); i++ {
		var rank float64
		var snip string
		if err := rows.Scan(&rank, &snip); err != nil {
			return nil, fmt.Errorf("search snippets: %w", err)
		}
		hits = append(hits, core.SearchHit{Item: items[i], Rank: rank, Snippet: highlight(snip)})
	}
	if err := rows.Err(); err != nil {
		return nil, gatherErr(err)
	}
	return hits, nil
}

// highlight escapes a ts_headline result and turns its markers into
// <mark> elements.
func highlight(s string) string {
	s = html.EscapeString(s)
	s = strings.ReplaceAll(s, markStart, "<mark>")
	return strings.ReplaceAll(s, markStop, "</mark>")
}

// SearchIndexBatch is how many queued items one indexing transaction
// takes (about 1.2 ms each for an 8 KB article on a 2-core machine).
const SearchIndexBatch = 200

// IndexSearch computes the stored search vectors of the items queued in
// search_pending (every write to the live projection queues its item) and
// removes them from the queue, SearchIndexBatch per transaction, until the
// queue is empty. Each batch commits the vectors and the removal together,
// so an indexer stopped half way (a crash, a cancelled ctx) leaves the rest
// queued; items another indexer holds are skipped. Search stays correct
// meanwhile: it computes a queued item's vector on the fly. It returns how
// many items it indexed.
func (s *Store) IndexSearch(ctx context.Context) (int, error) {
	total := 0
	for {
		tag, err := s.pool.Exec(ctx, `WITH done AS (
				DELETE FROM search_pending p WHERE p.item_id IN (
					SELECT item_id FROM search_pending ORDER BY queued_at LIMIT $1 FOR UPDATE SKIP LOCKED)
				RETURNING p.item_id)
			INSERT INTO item_search (item_id, doc)
			SELECT i.id, trovato_search_vector(i.type, i.language, i.title, i.fields) FROM item i JOIN done d ON d.item_id = i.id
			ON CONFLICT (item_id) DO UPDATE SET doc = EXCLUDED.doc`, SearchIndexBatch)
		if err != nil {
			return total, fmt.Errorf("index search: %w", TranslateError(err))
		}
		n := int(tag.RowsAffected())
		total += n
		if n == 0 {
			// Nothing taken; items another indexer holds are its own.
			return total, nil
		}
	}
}

// SearchPending returns how many items wait for IndexSearch.
func (s *Store) SearchPending(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM search_pending`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count search queue: %w", TranslateError(err))
	}
	return n, nil
}

// RunSearchIndexer runs IndexSearch whenever a write on any node queues
// items (PostgreSQL notifies channel trovato_search at commit) and at
// least every interval, until ctx ends; failures are logged and retried
// after a second. Several nodes may run it at once.
func (s *Store) RunSearchIndexer(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	for ctx.Err() == nil {
		err := s.followSearchQueue(ctx, interval)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("search indexer: retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// followSearchQueue listens on one connection and indexes on every
// notification (and every interval); it returns on the first error.
func (s *Store) followSearchQueue(ctx context.Context, interval time.Duration) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return TranslateError(err)
	}
	defer func() {
		// The connection goes back to the pool without the LISTEN.
		_, _ = conn.Exec(context.WithoutCancel(ctx), `UNLISTEN trovato_search`)
		conn.Release()
	}()
	if _, err := conn.Exec(ctx, `LISTEN trovato_search`); err != nil {
		return TranslateError(err)
	}
	for {
		// Listening first, then indexing: a commit after this pass
		// notifies, so nothing waits longer than a pass.
		if _, err := s.IndexSearch(ctx); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, interval)
		_, err := conn.Conn().WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && !errors.Is(err, context.DeadlineExceeded):
			return err
		}
		// Many commits notify; take the ones already here in one pass.
		for {
			dctx, cancel := context.WithTimeout(ctx, time.Millisecond)
			_, err := conn.Conn().WaitForNotification(dctx)
			cancel()
			if err != nil {
				break
			}
		}
	}
}
