package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/trovato/trovato/core"
)

// PageDeps keeps the page dependency table (page_dep: path -> tags). Record
// only queues: the queue is written in one statement per batch, at most
// every FlushEvery, off the request path; a record whose tags equal what
// this process last wrote for the path is dropped before it is queued.
// Between nodes, an unchanged row is not rewritten (the upsert compares).
type PageDeps struct {
	s   *Store
	log *slog.Logger
	// FlushEvery is how long a record may wait; MaxPending bounds the
	// queue (records beyond it are dropped and logged until a flush
	// empties it).
	FlushEvery time.Duration
	MaxPending int

	mu      sync.Mutex
	pending map[string][]string
	timer   *time.Timer
	written map[string]uint64 // path -> hash of the tags last written
	dropped int
	seed    maphash.Seed
	flushMu sync.Mutex // one batch at a time
}

var _ core.PageDeps = (*PageDeps)(nil)

// maxWrittenPaths bounds the memory of what was written (it is a
// shortcut, not a truth: forgetting it only costs a no-op upsert).
const maxWrittenPaths = 200000

// NewPageDeps returns the page dependency recorder over the store's
// database. Close flushes it.
func NewPageDeps(s *Store, log *slog.Logger) *PageDeps {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &PageDeps{s: s, log: log, FlushEvery: 500 * time.Millisecond, MaxPending: 10000,
		pending: map[string][]string{}, written: map[string]uint64{}, seed: maphash.MakeSeed()}
}

func validPagePath(path string) error {
	if len(path) == 0 || path[0] != '/' || len(path) > 2048 || !utf8.ValidString(path) {
		return core.Errorf(core.EInvalid, "page path must be root-relative, valid UTF-8 and at most 2048 bytes")
	}
	return nil
}

func (d *PageDeps) hashTags(tags []string) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	for _, t := range tags {
		_, _ = h.WriteString(t)
		_ = h.WriteByte(0)
	}
	return h.Sum64()
}

// Record implements core.PageDeps: it queues the record and returns.
func (d *PageDeps) Record(ctx context.Context, path string, tags []string) error {
	if err := validPagePath(path); err != nil {
		return err
	}
	tags = append([]string(nil), tags...)
	sort.Strings(tags)
	h := d.hashTags(tags)
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.written[path]; ok && old == h {
		if _, queued := d.pending[path]; !queued {
			return nil
		}
	}
	if _, queued := d.pending[path]; !queued && len(d.pending) >= d.MaxPending {
		d.dropped++
		return nil
	}
	d.pending[path] = tags
	if d.timer == nil {
		d.timer = time.AfterFunc(d.FlushEvery, d.flushLater)
	}
	return nil
}

func (d *PageDeps) flushLater() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Flush(ctx); err != nil {
		d.log.Warn("page dependencies not recorded", "err", err)
	}
}

// Flush implements core.PageDeps: it writes the queue in one statement.
// A batch that fails is queued again (unless newer records replaced it).
func (d *PageDeps) Flush(ctx context.Context) error {
	d.flushMu.Lock()
	defer d.flushMu.Unlock()
	d.mu.Lock()
	batch, dropped := d.pending, d.dropped
	d.pending, d.dropped = map[string][]string{}, 0
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.mu.Unlock()
	if dropped > 0 {
		d.log.Warn("page dependency queue full; records dropped", "dropped", dropped)
	}
	if len(batch) == 0 {
		return nil
	}
	type row struct {
		P string   `json:"p"`
		G []string `json:"g"`
	}
	rows := make([]row, 0, len(batch))
	for p, g := range batch {
		rows = append(rows, row{p, g})
	}
	// Paths in one order on every node: concurrent batches cannot deadlock.
	sort.Slice(rows, func(i, j int) bool { return rows[i].P < rows[j].P })
	doc, err := json.Marshal(rows)
	if err == nil {
		_, err = d.s.pool.Exec(ctx, `INSERT INTO page_dep (path, tags)
			SELECT r.p, ARRAY(SELECT jsonb_array_elements_text(r.g)) FROM jsonb_to_recordset($1::jsonb) AS r(p text, g jsonb)
			ON CONFLICT (path) DO UPDATE SET tags = EXCLUDED.tags, recorded_at = now()
			WHERE page_dep.tags IS DISTINCT FROM EXCLUDED.tags`, doc)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		for p, g := range batch {
			if _, newer := d.pending[p]; !newer && len(d.pending) < d.MaxPending {
				d.pending[p] = g
			}
		}
		if d.timer == nil && len(d.pending) > 0 {
			d.timer = time.AfterFunc(d.FlushEvery, d.flushLater)
		}
		return fmt.Errorf("record page dependencies: %w", TranslateError(err))
	}
	if len(d.written)+len(batch) > maxWrittenPaths {
		d.written = map[string]uint64{}
	}
	for p, g := range batch {
		d.written[p] = d.hashTags(g)
	}
	return nil
}

// PagesFor implements core.PageDeps. It flushes this process's queue
// first, so it sees every record made before the call.
func (d *PageDeps) PagesFor(ctx context.Context, tags []string) ([]string, error) {
	if err := d.Flush(ctx); err != nil {
		return nil, err
	}
	rows, err := d.s.pool.Query(ctx, `SELECT path FROM page_dep WHERE tags && $1::text[] ORDER BY path`, tags)
	if err != nil {
		return nil, fmt.Errorf("pages for tags: %w", TranslateError(err))
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PageTags implements core.PageDeps.
func (d *PageDeps) PageTags(ctx context.Context, path string) ([]string, error) {
	if err := validPagePath(path); err != nil {
		return nil, err
	}
	if err := d.Flush(ctx); err != nil {
		return nil, err
	}
	var tags []string
	err := d.s.pool.QueryRow(ctx, `SELECT tags FROM page_dep WHERE path = $1`, path).Scan(&tags)
	if err != nil {
		return nil, fmt.Errorf("page tags of %s: %w", path, TranslateError(err))
	}
	return tags, nil
}

// Forget removes the records of paths that no longer exist (an export
// that found a page gone).
func (d *PageDeps) Forget(ctx context.Context, paths ...string) error {
	d.mu.Lock()
	for _, p := range paths {
		delete(d.pending, p)
		delete(d.written, p)
	}
	d.mu.Unlock()
	if _, err := d.s.pool.Exec(ctx, `DELETE FROM page_dep WHERE path = ANY($1::text[])`, paths); err != nil {
		return fmt.Errorf("forget pages: %w", TranslateError(err))
	}
	return nil
}

// Close writes what is queued.
func (d *PageDeps) Close(ctx context.Context) error { return d.Flush(ctx) }
