package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// Stages implements core.StageService.
type Stages struct{ s *Store }

var _ core.StageService = (*Stages)(nil)

// Stages returns the stage service.
func (s *Store) Stages() *Stages { return &Stages{s} }

const stageColumns = `id, name, label, state, publish_at, created_by, created_at, changed_at`

func scanStage(row pgx.Row) (*core.Stage, error) {
	st := &core.Stage{}
	if err := row.Scan(&st.ID, &st.Name, &st.Label, &st.State, &st.PublishAt, &st.CreatedBy, &st.CreatedAt, &st.ChangedAt); err != nil {
		return nil, err
	}
	return st, nil
}

func findStage(ctx context.Context, q querier, where string, arg any) (*core.Stage, error) {
	st, err := scanStage(q.QueryRow(ctx, `SELECT `+stageColumns+` FROM stage WHERE `+where+` ORDER BY state IN ('live', 'open') DESC, created_at DESC LIMIT 1`, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "stage %v not found", arg)
	} else if err != nil {
		return nil, fmt.Errorf("find stage: %w", TranslateError(err))
	}
	return st, nil
}

// FindStage implements core.StageService. A name finds the open stage of
// that name (or the newest closed one).
func (ss *Stages) FindStage(ctx context.Context, nameOrID string) (*core.Stage, error) {
	if strings.TrimSpace(nameOrID) == "" {
		return nil, core.Errorf(core.EInvalid, "stage name must not be empty")
	}
	var (
		st  *core.Stage
		err error
	)
	if id, perr := core.ParseID(nameOrID); perr == nil {
		st, err = findStage(ctx, ss.s.pool, `id = $1`, id)
	} else {
		st, err = findStage(ctx, ss.s.pool, `name = $1`, nameOrID)
	}
	if err != nil {
		return nil, core.Errorf(core.ENotFound, "stage %q not found", nameOrID)
	}
	if err := ss.s.authz.Authorize(ctx, core.UserFromContext(ctx), core.OpView, st); err != nil {
		return nil, err
	}
	return st, nil
}

// FindStages implements core.StageService: the stages the user may view.
func (ss *Stages) FindStages(ctx context.Context, includeClosed bool) ([]*core.Stage, error) {
	rows, err := ss.s.pool.Query(ctx, `SELECT `+stageColumns+` FROM stage WHERE $1 OR state IN ('live', 'open') ORDER BY state <> 'live', created_at`, includeClosed)
	if err != nil {
		return nil, fmt.Errorf("find stages: %w", TranslateError(err))
	}
	defer rows.Close()
	var all []*core.Stage
	for rows.Next() {
		st, err := scanStage(rows)
		if err != nil {
			return nil, fmt.Errorf("find stages: %w", err)
		}
		all = append(all, st)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	u := core.UserFromContext(ctx)
	out := all[:0]
	for _, st := range all {
		if err := ss.s.authz.Authorize(ctx, u, core.OpView, st); err == nil {
			out = append(out, st)
		} else if core.ErrorCode(err) != core.ENotFound {
			return nil, err
		}
	}
	return out, nil
}

// CreateStage implements core.StageService.
func (ss *Stages) CreateStage(ctx context.Context, st *core.Stage) error {
	u := core.UserFromContext(ctx)
	if err := ss.s.authz.Require(ctx, u, core.PermCreateStage); err != nil {
		return err
	}
	if st.Name == core.StageLive {
		return core.Errorf(core.EInvalid, "the name %q is reserved", st.Name)
	}
	if !reStageName(st.Name) {
		return core.Errorf(core.EInvalid, "stage name %q: use 1 to 64 of a-z, 0-9, - and _, starting with a letter or digit", st.Name)
	}
	if st.ID == core.NilID {
		st.ID = core.NewID()
	}
	st.State, st.CreatedBy = core.StageOpen, u.ID
	st.CreatedAt = ss.s.now().UTC().Truncate(time.Microsecond)
	st.ChangedAt = st.CreatedAt
	return ss.s.inTx(ctx, func(tx *txn) error {
		_, err := tx.Exec(ctx, `INSERT INTO stage (id, name, label, state, created_by, created_at, changed_at) VALUES ($1, $2, $3, 'open', $4, $5, $5)`,
			st.ID, st.Name, st.Label, st.CreatedBy, st.CreatedAt)
		if err != nil {
			if core.ErrorCode(TranslateError(err)) == core.EConflict {
				return core.Errorf(core.EConflict, "an open stage named %q exists already", st.Name)
			}
			return fmt.Errorf("create stage: %w", TranslateError(err))
		}
		return tx.feed(ctx, core.KindStage, st.ID.String(), &st.ID, nil, nil, core.ChangeCreate)
	})
}

func reStageName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (c == '-' || c == '_') && i > 0) {
			return false
		}
	}
	return true
}

// stageHead is one entity a stage changes.
type stageHead struct {
	head
	live *core.ID // live's current revision, nil if absent
}

func (h *stageHead) key() string { return h.Kind + ":" + h.EntityID.String() }

func (h *stageHead) action() string {
	switch {
	case h.Deleted:
		return core.ChangeDelete
	case h.BaseRevisionID == nil:
		return core.ChangeCreate
	}
	return core.ChangeUpdate
}

// stageHeads loads a stage's heads with live's current revision of each.
func stageHeads(ctx context.Context, q querier, stage core.ID, lock bool) ([]*stageHead, error) {
	if lock {
		// Lock the stage's heads and live's heads of the same entities; the
		// read below then sees what any earlier writer committed.
		rows, err := q.Query(ctx, `SELECT 1 FROM head h WHERE h.stage_id = $1
			OR (h.stage_id = $2 AND (h.kind, h.entity_id) IN (SELECT kind, entity_id FROM head WHERE stage_id = $1))
			ORDER BY h.stage_id, h.kind, h.entity_id FOR UPDATE`, stage, core.LiveStageID)
		if err != nil {
			return nil, fmt.Errorf("lock stage heads: %w", TranslateError(err))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("lock stage heads: %w", TranslateError(err))
		}
	}
	rows, err := q.Query(ctx, `SELECT h.kind, h.entity_id, h.revision_id, h.base_revision_id, h.deleted, l.revision_id
		FROM head h LEFT JOIN head l ON l.stage_id = $2 AND l.kind = h.kind AND l.entity_id = h.entity_id
		WHERE h.stage_id = $1 ORDER BY h.kind, h.entity_id`, stage, core.LiveStageID)
	if err != nil {
		return nil, fmt.Errorf("read stage heads: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []*stageHead
	for rows.Next() {
		h := &stageHead{head: head{StageID: stage}}
		if err := rows.Scan(&h.Kind, &h.EntityID, &h.RevisionID, &h.BaseRevisionID, &h.Deleted, &h.live); err != nil {
			return nil, fmt.Errorf("read stage heads: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// DiffStage implements core.StageService.
func (ss *Stages) DiffStage(ctx context.Context, stage core.ID) ([]core.StageChange, error) {
	st, err := ss.s.stageFor(ctx, ss.s.pool, stage, core.OpView)
	if err != nil {
		return nil, err
	}
	heads, err := stageHeads(ctx, ss.s.pool, st.ID, false)
	if err != nil {
		return nil, err
	}
	revs, err := loadRevisions(ctx, ss.s.pool, headRevisionIDs(heads))
	if err != nil {
		return nil, err
	}
	return describeChanges(heads, revs)
}

// headRevisionIDs lists the stage's and live's revisions of heads.
func headRevisionIDs(heads []*stageHead) []core.ID {
	ids := make([]core.ID, 0, 2*len(heads))
	for _, h := range heads {
		ids = append(ids, h.RevisionID)
		if h.live != nil {
			ids = append(ids, *h.live)
		}
	}
	return ids
}

// loadRevisions reads revisions by id in one statement.
func loadRevisions(ctx context.Context, q querier, ids []core.ID) (map[core.ID]*revision, error) {
	rows, err := q.Query(ctx, `SELECT `+revisionColumns+` FROM revision r WHERE r.id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read revisions: %w", TranslateError(err))
	}
	defer rows.Close()
	out := make(map[core.ID]*revision, len(ids))
	for rows.Next() {
		r, err := scanRevision(rows)
		if err != nil {
			return nil, fmt.Errorf("read revisions: %w", err)
		}
		out[r.ID] = r
	}
	return out, rows.Err()
}

// describeChanges describes every head from revisions already loaded,
// decoding and diffing the documents on every CPU (it does no I/O, so a
// publish runs it while the database applies the heads).
func describeChanges(heads []*stageHead, revs map[core.ID]*revision) ([]core.StageChange, error) {
	out := make([]core.StageChange, len(heads))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(heads)/16))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(heads); i += workers {
				c, err := describeChange(heads[i], revs)
				if err != nil {
					errs[w] = err
					return
				}
				out[i] = c
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// describeChange labels a stage head and diffs it against live.
func describeChange(h *stageHead, revs map[core.ID]*revision) (core.StageChange, error) {
	c := core.StageChange{Kind: h.Kind, EntityID: h.EntityID, Action: h.action(), RevisionID: h.RevisionID,
		BaseRevision: h.BaseRevisionID, LiveRevision: h.live}
	r := revs[h.RevisionID]
	if r == nil {
		return c, fmt.Errorf("describe %s %s: revision %s not loaded", h.Kind, h.EntityID, h.RevisionID)
	}
	var top map[string]json.RawMessage
	_ = json.Unmarshal(r.Doc, &top) // a document that is not an object has no label
	c.Label = labelOf(top)
	var liveDoc []byte
	if h.live != nil {
		lr := revs[*h.live]
		if lr == nil {
			return c, fmt.Errorf("describe %s %s: live revision %s not loaded", h.Kind, h.EntityID, *h.live)
		}
		liveDoc = lr.Doc
	}
	newDoc := r.Doc
	if h.Deleted {
		newDoc = nil
	}
	liveDoc, newDoc, _ = pruneEqual(liveDoc, newDoc, top, 2)
	c.Diff = core.DiffJSON("", liveDoc, newDoc)
	return c, nil
}

// pruneEqual drops, down to depth levels of nested objects, the members
// whose encoded values are byte-equal on both sides, so that DiffJSON
// (which decodes everything) only decodes what may differ: an edited
// title no longer decodes an 8 KB body twice. The diff is the same, as
// equal bytes are equal values. bTop is b already split, or nil.
func pruneEqual(a, b []byte, bTop map[string]json.RawMessage, depth int) ([]byte, []byte, bool) {
	if depth == 0 || len(a) == 0 || len(b) == 0 {
		return a, b, false
	}
	var am map[string]json.RawMessage
	if json.Unmarshal(a, &am) != nil || am == nil {
		return a, b, false
	}
	bm := bTop
	if bm == nil && (json.Unmarshal(b, &bm) != nil || bm == nil) {
		return a, b, false
	}
	pruned := false
	for k, av := range am {
		bv, ok := bm[k]
		switch {
		case !ok:
		case string(av) == string(bv):
			delete(am, k)
			delete(bm, k)
			pruned = true
		default:
			if na, nb, ok := pruneEqual(av, bv, nil, depth-1); ok {
				am[k], bm[k], pruned = na, nb, true
			}
		}
	}
	if !pruned {
		return a, b, false
	}
	pa, err1 := json.Marshal(am)
	pb, err2 := json.Marshal(bm)
	if err1 != nil || err2 != nil {
		return a, b, false
	}
	return pa, pb, true
}

// labelOf picks a human label from a staged document's members.
func labelOf(top map[string]json.RawMessage) string {
	for _, k := range []string{"title", "name", "alias"} {
		var v string
		if raw, ok := top[k]; ok && json.Unmarshal(raw, &v) == nil && v != "" {
			return v
		}
	}
	return ""
}

// DiscardStage implements core.StageService.
func (ss *Stages) DiscardStage(ctx context.Context, stage core.ID) error {
	return ss.s.inTx(ctx, func(tx *txn) error {
		st, err := ss.lockOpenStage(ctx, tx, stage, core.OpEdit)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM head WHERE stage_id = $1`, st.ID); err != nil {
			return fmt.Errorf("discard stage: %w", TranslateError(err))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM item_grant WHERE stage_id = $1`, st.ID); err != nil {
			return fmt.Errorf("discard stage: %w", TranslateError(err))
		}
		if _, err := tx.Exec(ctx, `UPDATE stage SET state = 'discarded', publish_at = NULL, changed_at = $2 WHERE id = $1`, st.ID, ss.s.now()); err != nil {
			return fmt.Errorf("discard stage: %w", TranslateError(err))
		}
		return tx.feed(ctx, core.KindStage, st.ID.String(), &st.ID, nil, nil, core.ChangeDelete)
	})
}

// lockOpenStage locks a stage row and checks it is open and that the user
// may do op there.
func (ss *Stages) lockOpenStage(ctx context.Context, tx *txn, stage core.ID, op string) (*core.Stage, error) {
	st, err := scanStage(tx.QueryRow(ctx, `SELECT `+stageColumns+` FROM stage WHERE id = $1 FOR UPDATE`, stage))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "stage %s not found", stage)
	} else if err != nil {
		return nil, fmt.Errorf("lock stage: %w", TranslateError(err))
	}
	if err := ss.s.authz.Authorize(ctx, core.UserFromContext(ctx), op, st); err != nil {
		return nil, err
	}
	switch st.State {
	case core.StageLive:
		return nil, core.Errorf(core.EInvalid, "live is not a stage that can be published or discarded")
	case core.StagePublished, core.StageDiscarded:
		return nil, core.Errorf(core.EInvalid, "stage %q was %s already", st.Name, st.State)
	}
	return st, nil
}

// ScheduleStage implements core.StageService.
func (ss *Stages) ScheduleStage(ctx context.Context, stage core.ID, at *time.Time) (*core.Stage, error) {
	if at != nil && !at.After(ss.s.now()) {
		return nil, core.Errorf(core.EInvalid, "publish time %s is in the past", at.UTC().Format(time.RFC3339))
	}
	var out *core.Stage
	err := ss.s.inTx(ctx, func(tx *txn) error {
		st, err := ss.lockOpenStage(ctx, tx, stage, core.OpPublish)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE stage SET publish_at = $2, schedule_report = NULL, changed_at = $3 WHERE id = $1`, st.ID, at, ss.s.now()); err != nil {
			return fmt.Errorf("schedule stage: %w", TranslateError(err))
		}
		st.PublishAt = at
		out = st
		return tx.feed(ctx, core.KindStage, st.ID.String(), &st.ID, nil, nil, core.ChangeUpdate)
	})
	return out, err
}

// PublishStage implements core.StageService.
func (ss *Stages) PublishStage(ctx context.Context, stage core.ID, opts core.PublishOptions) (*core.PublishReport, error) {
	var rep *core.PublishReport
	err := ss.s.inTx(ctx, func(tx *txn) error {
		st, err := ss.lockOpenStage(ctx, tx, stage, core.OpPublish)
		if err != nil {
			return err
		}
		rep, err = ss.publish(ctx, tx, st, opts, nil)
		if err != nil {
			return err
		}
		if !rep.Applied {
			return errNotApplied
		}
		return nil
	})
	if errors.Is(err, errNotApplied) {
		return rep, nil
	}
	return rep, err
}

// errNotApplied rolls back a publish that was a dry run or left entries
// unresolved; the caller gets the report.
var errNotApplied = errors.New("publish not applied")

// publish promotes a locked open stage into live inside tx. It collects
// every conflict and violation, applies the caller's resolutions, and
// writes the release when every entry is resolved.
func (ss *Stages) publish(ctx context.Context, tx *txn, st *core.Stage, opts core.PublishOptions, rollbackOf *core.ID) (*core.PublishReport, error) {
	if opts.OnConflict == "" {
		opts.OnConflict = core.ResolveAbort
	}
	for k, v := range opts.Choices {
		if v != core.ResolveAbort && v != core.ResolveMine && v != core.ResolveTheirs {
			return nil, core.Errorf(core.EInvalid, "choice for %s must be abort, mine or theirs", k)
		}
	}
	if opts.OnConflict != core.ResolveAbort && opts.OnConflict != core.ResolveMine && opts.OnConflict != core.ResolveTheirs {
		return nil, core.Errorf(core.EInvalid, "on-conflict must be abort, mine or theirs")
	}
	heads, err := stageHeads(ctx, tx, st.ID, true)
	if err != nil {
		return nil, err
	}
	if err := tx.preloadRevisions(ctx, headRevisionIDs(heads)); err != nil {
		return nil, err
	}
	if tx.types == nil {
		tx.types = map[string]cachedType{}
	}
	// The report's labels and diffs are CPU work on the loaded revisions:
	// they are computed while the database applies and validates.
	type described struct {
		changes []core.StageChange
		err     error
	}
	desc := make(chan described, 1)
	loaded := tx.revs // only preloadRevisions writes it, and it is done
	go func() {
		c, err := describeChanges(heads, loaded)
		desc <- described{c, err}
	}()
	// Whatever happens below, the goroutine's result is awaited before
	// publish returns.
	var report []core.StageChange
	awaited := false
	await := func() error {
		if !awaited {
			d := <-desc
			awaited, report = true, d.changes
			return d.err
		}
		return nil
	}
	defer func() { _ = await() }()
	rep := &core.PublishReport{Stage: st, DryRun: opts.DryRun}
	entries := make([]core.PublishEntry, len(heads))
	skip := make([]bool, len(heads))
	for i, h := range heads {
		if msg := conflictOf(h); msg != "" {
			entries[i].Problem = "conflict"
			entries[i].Messages = []string{msg}
			entries[i].Resolution = resolution(opts, h.key())
			skip[i] = entries[i].Resolution != core.ResolveMine
		}
	}
	// Apply, validate the live state that results, and retry without the
	// entities whose violations the caller resolved as "theirs".
	for attempt := 0; ; attempt++ {
		if _, err := tx.Exec(ctx, `SAVEPOINT publish`); err != nil {
			return nil, TranslateError(err)
		}
		var items []*stageHead
		for i, h := range heads {
			switch {
			case skip[i]:
			case h.Kind == core.KindItem && !h.Deleted:
				items = append(items, h)
			default:
				if err := tx.applyHead(ctx, h); err != nil {
					return nil, err
				}
			}
		}
		if err := tx.applyItemHeads(ctx, items); err != nil {
			return nil, err
		}
		violations, err := ss.s.validateLive(ctx, tx, heads, skip)
		if err != nil {
			return nil, err
		}
		retry := false
		for i := range entries {
			if v := violations[i]; len(v) > 0 {
				if entries[i].Problem == "" {
					entries[i].Problem = "violation"
				}
				entries[i].Messages = appendUnique(entries[i].Messages, v...)
				entries[i].Resolution = resolution(opts, heads[i].key())
				if entries[i].Resolution == core.ResolveTheirs && !skip[i] {
					skip[i], retry = true, true
				}
				if entries[i].Resolution == core.ResolveMine {
					// "Mine" cannot make an invalid state valid.
					entries[i].Resolution = core.ResolveAbort
				}
			}
		}
		if !retry || attempt > len(heads) {
			break
		}
		if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT publish`); err != nil {
			return nil, TranslateError(err)
		}
	}
	if err := await(); err != nil {
		return nil, err
	}
	for i := range entries {
		entries[i].StageChange = report[i]
	}
	rep.Entries = entries
	if rep.Unresolved() || opts.DryRun {
		return rep, nil
	}
	// Write the release and close the stage.
	u := core.UserFromContext(ctx)
	rel := &core.Release{ID: core.NewID(), StageID: st.ID, StageName: st.Name, RollbackOf: rollbackOf, CreatedBy: u.ID,
		CreatedAt: ss.s.now().UTC().Truncate(time.Microsecond), Message: opts.Message}
	if _, err := tx.Exec(ctx, `INSERT INTO release (id, stage_id, stage_name, rollback_of, created_by, created_at, message) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		rel.ID, rel.StageID, rel.StageName, rel.RollbackOf, rel.CreatedBy, rel.CreatedAt, rel.Message); err != nil {
		return nil, fmt.Errorf("write release: %w", TranslateError(err))
	}
	var (
		kinds, ops         []string
		entities           []core.ID
		prevs, nexts, revs []*core.ID
	)
	live := core.LiveStageID
	for i, h := range heads {
		if skip[i] {
			continue
		}
		e := core.ReleaseEntry{Kind: h.Kind, EntityID: h.EntityID, PrevRevision: h.live}
		if !h.Deleted {
			e.NewRevision = &h.RevisionID
		}
		rel.Entries = append(rel.Entries, e)
		op := h.action()
		if h.live == nil && !h.Deleted {
			op = core.ChangeCreate
		}
		rev := h.RevisionID
		kinds, entities, prevs, nexts = append(kinds, e.Kind), append(entities, e.EntityID), append(prevs, e.PrevRevision), append(nexts, e.NewRevision)
		ops, revs = append(ops, op), append(revs, &rev)
		tx.changes = append(tx.changes, core.Change{Kind: h.Kind, EntityID: h.EntityID.String(), StageID: &live, RevisionID: &rev, ReleaseID: &rel.ID, Op: op})
	}
	// One statement each for the release's entries and their feed rows.
	if _, err := tx.Exec(ctx, `INSERT INTO release_entry (release_id, kind, entity_id, prev_revision_id, new_revision_id)
		SELECT $1, k, e, p, n FROM unnest($2::text[], $3::uuid[], $4::uuid[], $5::uuid[]) AS u(k, e, p, n)`,
		rel.ID, kinds, entities, prevs, nexts); err != nil {
		return nil, fmt.Errorf("write release entries: %w", TranslateError(err))
	}
	if _, err := tx.Exec(ctx, `INSERT INTO change_feed (kind, entity_id, stage_id, revision_id, release_id, op)
		SELECT k, e::text, $1, r, $2, o FROM unnest($3::text[], $4::uuid[], $5::uuid[], $6::text[]) WITH ORDINALITY AS u(k, e, r, o, n) ORDER BY n`,
		live, rel.ID, kinds, entities, revs, ops); err != nil {
		return nil, fmt.Errorf("append changes: %w", TranslateError(err))
	}
	if _, err := tx.Exec(ctx, `DELETE FROM head WHERE stage_id = $1`, st.ID); err != nil {
		return nil, fmt.Errorf("close stage: %w", TranslateError(err))
	}
	if _, err := tx.Exec(ctx, `DELETE FROM item_grant WHERE stage_id = $1`, st.ID); err != nil {
		return nil, fmt.Errorf("close stage: %w", TranslateError(err))
	}
	if _, err := tx.Exec(ctx, `UPDATE stage SET state = 'published', publish_at = NULL, changed_at = $2 WHERE id = $1`, st.ID, rel.CreatedAt); err != nil {
		return nil, fmt.Errorf("close stage: %w", TranslateError(err))
	}
	if err := tx.feed(ctx, core.KindRelease, rel.ID.String(), &st.ID, nil, &rel.ID, core.ChangeCreate); err != nil {
		return nil, err
	}
	rep.Release, rep.Applied = rel, true
	return rep, nil
}

func appendUnique(list []string, more ...string) []string {
outer:
	for _, m := range more {
		for _, l := range list {
			if l == m {
				continue outer
			}
		}
		list = append(list, m)
	}
	return list
}

func resolution(opts core.PublishOptions, key string) string {
	if c, ok := opts.Choices[key]; ok {
		return c
	}
	return opts.OnConflict
}

// conflictOf says why live moved since the stage's base, or "".
func conflictOf(h *stageHead) string {
	switch {
	case h.BaseRevisionID == nil && h.live != nil:
		return fmt.Sprintf("%s %s was created in live since the stage made it", h.Kind, h.EntityID)
	case h.BaseRevisionID != nil && h.live == nil && !h.Deleted:
		return fmt.Sprintf("%s %s was deleted in live after the stage changed it", h.Kind, h.EntityID)
	case h.BaseRevisionID != nil && h.live != nil && *h.live != *h.BaseRevisionID:
		return fmt.Sprintf("%s %s changed in live since the stage copied it (stage base %s, live now %s)", h.Kind, h.EntityID, *h.BaseRevisionID, *h.live)
	}
	return ""
}

// applyHead moves live's head of one entity to the stage's revision (or
// removes it for a tombstone) and updates the live projection.
func (tx *txn) applyHead(ctx context.Context, h *stageHead) error {
	if h.Deleted {
		if h.live == nil {
			return nil
		}
		if _, err := tx.Exec(ctx, `DELETE FROM head WHERE stage_id = $1 AND kind = $2 AND entity_id = $3`, core.LiveStageID, h.Kind, h.EntityID); err != nil {
			return fmt.Errorf("publish %s %s: %w", h.Kind, h.EntityID, TranslateError(err))
		}
		if h.Kind == core.KindItem {
			if err := tx.dropGrants(ctx, core.LiveStageID, h.EntityID); err != nil {
				return err
			}
		}
		if p := projectors[h.Kind]; p != nil {
			return p(ctx, tx, h.EntityID, nil)
		}
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO head (stage_id, kind, entity_id, revision_id, changed_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (stage_id, kind, entity_id) DO UPDATE SET revision_id = EXCLUDED.revision_id, changed_at = EXCLUDED.changed_at`,
		core.LiveStageID, h.Kind, h.EntityID, h.RevisionID, tx.s.now()); err != nil {
		return fmt.Errorf("publish %s %s: %w", h.Kind, h.EntityID, TranslateError(err))
	}
	if p := projectors[h.Kind]; p != nil {
		r, err := findRevision(ctx, tx, h.RevisionID)
		if err != nil {
			return err
		}
		if err := p(ctx, tx, h.EntityID, r); err != nil {
			return err
		}
		if h.Kind == core.KindItem {
			it, err := itemFromRevision(r)
			if err != nil {
				return err
			}
			return tx.writeGrants(ctx, core.LiveStageID, it)
		}
	}
	return nil
}

// validateLive checks the live state after the applied heads: required
// fields under today's types, references that resolve (including to
// entities this publish deletes), unique aliases, acyclic terms and menus.
// It returns the messages per head index.
func (s *Store) validateLive(ctx context.Context, tx *txn, heads []*stageHead, skip []bool) (map[int][]string, error) {
	out := map[int][]string{}
	live := core.LiveStageID
	var termsChanged, menusChanged bool
	for i, h := range heads {
		if skip[i] {
			continue
		}
		switch {
		case h.Deleted:
			refs, err := referrers(ctx, tx, h.EntityID)
			if err != nil {
				return nil, err
			}
			for _, r := range refs {
				out[i] = append(out[i], fmt.Sprintf("%s %s is still referenced by item %s", h.Kind, h.EntityID, r))
			}
		case h.Kind == core.KindItem:
			it, err := liveItemOf(ctx, tx, h)
			if err != nil {
				return nil, err
			}
			if _, err := s.validateItem(ctx, tx, live, it); err != nil {
				if core.ErrorCode(err) != core.EInvalid {
					return nil, err
				}
				for _, fe := range core.ErrorFields(err) {
					out[i] = append(out[i], fe.Path+": "+fe.Message)
				}
				if len(core.ErrorFields(err)) == 0 {
					out[i] = append(out[i], core.ErrorMessage(err))
				}
			}
		case h.Kind == core.KindAlias:
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM path_alias a JOIN path_alias b ON a.alias = b.alias AND a.language = b.language
				WHERE a.id = $1`, h.EntityID).Scan(&n); err != nil {
				return nil, fmt.Errorf("check aliases: %w", TranslateError(err))
			}
			if n > 1 {
				var alias string
				_ = tx.QueryRow(ctx, `SELECT alias FROM path_alias WHERE id = $1`, h.EntityID).Scan(&alias)
				out[i] = append(out[i], fmt.Sprintf("alias %s is already used in live", alias))
			}
		case h.Kind == core.KindTerm:
			termsChanged = true
		case h.Kind == core.KindMenuLink:
			menusChanged = true
		}
	}
	if termsChanged {
		terms, err := stagedTermGraph(ctx, tx, live)
		if err != nil {
			return nil, err
		}
		for i, h := range heads {
			if skip[i] || h.Kind != core.KindTerm || h.Deleted {
				continue
			}
			for _, p := range terms[h.EntityID].Parents {
				if terms[p] == nil {
					out[i] = append(out[i], fmt.Sprintf("parent term %s does not exist in live", p))
				}
			}
			if cyc := termCycle(terms, h.EntityID); cyc != nil {
				out[i] = append(out[i], "term parents form a cycle: "+joinIDs(cyc))
			}
		}
	}
	if menusChanged {
		links, err := stagedMenuGraph(ctx, tx, live)
		if err != nil {
			return nil, err
		}
		for i, h := range heads {
			if skip[i] || h.Kind != core.KindMenuLink || h.Deleted {
				continue
			}
			if p := links[h.EntityID].ParentID; p != nil && links[*p] == nil {
				out[i] = append(out[i], fmt.Sprintf("parent link %s does not exist in live", *p))
			}
			if cyc := menuCycle(links, h.EntityID); cyc != nil {
				out[i] = append(out[i], "menu links form a cycle: "+joinIDs(cyc))
			}
		}
	}
	return out, nil
}

// liveItemOf is the live item an applied head made: its projection is
// the head's revision (applyItemHeads), so it is decoded from the
// preloaded revision with the projection's defaults instead of read back.
func liveItemOf(ctx context.Context, tx *txn, h *stageHead) (*core.Item, error) {
	r, err := findRevision(ctx, tx, h.RevisionID)
	if err != nil {
		return nil, err
	}
	it, err := itemFromRevision(r)
	if err != nil {
		return nil, err
	}
	if it.Language == "" {
		it.Language = "und"
	}
	return it, nil
}

// referrers lists live items whose fields reference id.
func referrers(ctx context.Context, q querier, id core.ID) ([]core.ID, error) {
	rows, err := q.Query(ctx, `SELECT i.id FROM item i WHERE i.id <> $1 AND jsonb_path_exists(i.fields, '$.** ? (@.id == $id)', jsonb_build_object('id', $1::text)) ORDER BY i.id LIMIT 20`, id)
	if err != nil {
		return nil, fmt.Errorf("find references to %s: %w", id, TranslateError(err))
	}
	defer rows.Close()
	var out []core.ID
	for rows.Next() {
		var r core.ID
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// FindReleases implements core.StageService.
func (ss *Stages) FindReleases(ctx context.Context, limit int) ([]*core.Release, error) {
	if err := ss.s.authz.Require(ctx, core.UserFromContext(ctx), core.PermViewAnyStage); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := ss.s.pool.Query(ctx, `SELECT id, stage_id, stage_name, rollback_of, created_by, created_at, message FROM release ORDER BY created_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("find releases: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []*core.Release
	for rows.Next() {
		r := &core.Release{}
		if err := rows.Scan(&r.ID, &r.StageID, &r.StageName, &r.RollbackOf, &r.CreatedBy, &r.CreatedAt, &r.Message); err != nil {
			return nil, fmt.Errorf("find releases: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// FindReleaseByID implements core.StageService.
func (ss *Stages) FindReleaseByID(ctx context.Context, id core.ID) (*core.Release, error) {
	if err := ss.s.authz.Require(ctx, core.UserFromContext(ctx), core.PermViewAnyStage); err != nil {
		return nil, err
	}
	return findRelease(ctx, ss.s.pool, id)
}

func findRelease(ctx context.Context, q querier, id core.ID) (*core.Release, error) {
	r := &core.Release{}
	err := q.QueryRow(ctx, `SELECT id, stage_id, stage_name, rollback_of, created_by, created_at, message FROM release WHERE id = $1`, id).
		Scan(&r.ID, &r.StageID, &r.StageName, &r.RollbackOf, &r.CreatedBy, &r.CreatedAt, &r.Message)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "release %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find release: %w", TranslateError(err))
	}
	rows, err := q.Query(ctx, `SELECT kind, entity_id, prev_revision_id, new_revision_id FROM release_entry WHERE release_id = $1 ORDER BY kind, entity_id`, id)
	if err != nil {
		return nil, fmt.Errorf("find release: %w", TranslateError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var e core.ReleaseEntry
		if err := rows.Scan(&e.Kind, &e.EntityID, &e.PrevRevision, &e.NewRevision); err != nil {
			return nil, err
		}
		r.Entries = append(r.Entries, e)
	}
	return r, rows.Err()
}

// RollbackRelease implements core.StageService: a publish of a stage whose
// heads are the release's previous revisions, based on its new ones, so a
// later change to any of those entities is a conflict.
func (ss *Stages) RollbackRelease(ctx context.Context, id core.ID, opts core.PublishOptions) (*core.PublishReport, error) {
	u := core.UserFromContext(ctx)
	if err := ss.s.authz.Require(ctx, u, core.PermRollback); err != nil {
		return nil, err
	}
	var rep *core.PublishReport
	err := ss.s.inTx(ctx, func(tx *txn) error {
		rel, err := findRelease(ctx, tx, id)
		if err != nil {
			return err
		}
		now := ss.s.now().UTC().Truncate(time.Microsecond)
		st := &core.Stage{ID: core.NewID(), Name: "rollback-" + strings.ReplaceAll(rel.ID.String(), "-", "")[:20], Label: "Rollback of release " + rel.ID.String(),
			State: core.StageOpen, CreatedBy: u.ID, CreatedAt: now, ChangedAt: now}
		if _, err := tx.Exec(ctx, `INSERT INTO stage (id, name, label, state, created_by, created_at, changed_at) VALUES ($1, $2, $3, 'open', $4, $5, $5)`,
			st.ID, st.Name, st.Label, st.CreatedBy, now); err != nil {
			if core.ErrorCode(TranslateError(err)) == core.EConflict {
				return core.Errorf(core.EConflict, "a rollback of release %s is already open", rel.ID)
			}
			return fmt.Errorf("rollback: %w", TranslateError(err))
		}
		entries := append([]core.ReleaseEntry(nil), rel.Entries...)
		sort.Slice(entries, func(i, j int) bool { return entries[i].Kind < entries[j].Kind })
		for _, e := range entries {
			var rev core.ID
			var base *core.ID
			deleted := false
			switch {
			case e.PrevRevision != nil:
				rev, base = *e.PrevRevision, e.NewRevision
			case e.NewRevision != nil:
				// Created by the release: roll back by deleting it.
				rev, base, deleted = *e.NewRevision, e.NewRevision, true
			default:
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO head (stage_id, kind, entity_id, revision_id, base_revision_id, deleted, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				st.ID, e.Kind, e.EntityID, rev, base, deleted, now); err != nil {
				return fmt.Errorf("rollback: %w", TranslateError(err))
			}
		}
		if opts.Message == "" {
			opts.Message = "Rollback of release " + rel.ID.String()
		}
		rep, err = ss.publish(ctx, tx, st, opts, &rel.ID)
		if err != nil {
			return err
		}
		if !rep.Applied {
			return errNotApplied
		}
		return tx.feed(ctx, core.KindStage, st.ID.String(), &st.ID, nil, &rep.Release.ID, core.ChangeCreate)
	})
	if errors.Is(err, errNotApplied) {
		return rep, nil
	}
	return rep, err
}

// RunScheduled publishes every open stage whose publish-at time has come,
// each exactly once even with several processes running: the stage row is
// locked with SKIP LOCKED and the publish happens in that transaction. A
// publish that cannot be applied is not retried; its report is stored on
// the stage. It acts as the system user.
func (ss *Stages) RunScheduled(ctx context.Context) ([]*core.PublishReport, error) {
	ctx = core.NewContextWithUser(ctx, &core.User{ID: core.SystemUserID, Name: "system", Status: core.UserActive})
	var out []*core.PublishReport
	for {
		var rep *core.PublishReport
		found := false
		err := ss.s.inTx(ctx, func(tx *txn) error {
			st, err := scanStage(tx.QueryRow(ctx, `SELECT `+stageColumns+` FROM stage
				WHERE state = 'open' AND publish_at IS NOT NULL AND publish_at <= $1
				ORDER BY publish_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`, ss.s.now()))
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			} else if err != nil {
				return fmt.Errorf("scheduler: %w", TranslateError(err))
			}
			found = true
			if _, err := tx.Exec(ctx, `SAVEPOINT scheduled`); err != nil {
				return TranslateError(err)
			}
			rep, err = ss.publish(ctx, tx, st, core.PublishOptions{OnConflict: core.ResolveAbort, Message: "Scheduled publish"}, nil)
			if err != nil {
				return err
			}
			if !rep.Applied {
				if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT scheduled`); err != nil {
					return TranslateError(err)
				}
				b, _ := json.Marshal(rep)
				if _, err := tx.Exec(ctx, `UPDATE stage SET publish_at = NULL, schedule_report = $2, changed_at = $3 WHERE id = $1`, st.ID, b, ss.s.now()); err != nil {
					return TranslateError(err)
				}
				return tx.feed(ctx, core.KindStage, st.ID.String(), &st.ID, nil, nil, core.ChangeUpdate)
			}
			return nil
		})
		if err != nil {
			return out, err
		}
		if !found {
			return out, nil
		}
		out = append(out, rep)
	}
}

// applyItemHeads moves live's heads of many items to the stage's revisions
// with one statement each for the heads, the live projection and (with the
// default realms) the grant rows.
func (tx *txn) applyItemHeads(ctx context.Context, hs []*stageHead) error {
	if len(hs) == 0 {
		return nil
	}
	ents := make([]core.ID, len(hs))
	revs := make([]core.ID, len(hs))
	for i, h := range hs {
		ents[i], revs[i] = h.EntityID, h.RevisionID
	}
	live := core.LiveStageID
	if _, err := tx.Exec(ctx, `INSERT INTO head (stage_id, kind, entity_id, revision_id, changed_at)
		SELECT $1, 'item', e, r, $4 FROM unnest($2::uuid[], $3::uuid[]) AS u(e, r)
		ON CONFLICT (stage_id, kind, entity_id) DO UPDATE SET revision_id = EXCLUDED.revision_id, changed_at = EXCLUDED.changed_at`,
		live, ents, revs, tx.s.now()); err != nil {
		return fmt.Errorf("publish items: %w", TranslateError(err))
	}
	if _, err := tx.Exec(ctx, `INSERT INTO item (id, type, title, status, author_id, created_at, changed_at, promote, sticky, language, tgroup_id, fields, revision_id, type_version)
		SELECT `+revItemColumns+` FROM revision r `+revItemDoc+` WHERE r.id = ANY($1)
		ON CONFLICT (id) DO UPDATE SET type = EXCLUDED.type, title = EXCLUDED.title, status = EXCLUDED.status, author_id = EXCLUDED.author_id,
			created_at = EXCLUDED.created_at, changed_at = EXCLUDED.changed_at, promote = EXCLUDED.promote, sticky = EXCLUDED.sticky,
			language = EXCLUDED.language, tgroup_id = EXCLUDED.tgroup_id, fields = EXCLUDED.fields, revision_id = EXCLUDED.revision_id,
			type_version = EXCLUDED.type_version`, revs); err != nil {
		return fmt.Errorf("publish items: %w", TranslateError(err))
	}
	if tx.s.grants == nil {
		if _, err := tx.Exec(ctx, `DELETE FROM item_grant WHERE stage_id = $1 AND item_id = ANY($2)`, live, ents); err != nil {
			return fmt.Errorf("publish grants: %w", TranslateError(err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO item_grant (stage_id, item_id, realm, gid, grant_view)
			SELECT $1, id, $3, $4, true FROM item WHERE id = ANY($2) AND status = 'published'`, live, ents, core.RealmAll, core.GIDAll); err != nil {
			return fmt.Errorf("publish grants: %w", TranslateError(err))
		}
		return nil
	}
	for _, h := range hs {
		r, err := findRevision(ctx, tx, h.RevisionID)
		if err != nil {
			return err
		}
		it, err := itemFromRevision(r)
		if err != nil {
			return err
		}
		if err := tx.writeGrants(ctx, live, it); err != nil {
			return err
		}
	}
	return nil
}
