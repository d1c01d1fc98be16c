package postgres

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// Sync is both halves of desktop sync (docs/sync.md): on a server it
// resolves the change feed into pull batches and applies pushed
// changesets; on a local site it applies pull batches, keeps the cursor,
// the known server revisions, pull conflicts, the push queue and the sync
// status.
type Sync struct{ s *Store }

// Sync returns the sync store.
func (s *Store) Sync() *Sync { return &Sync{s} }

// maxFeedRead is the most feed rows one read returns.
const maxFeedRead = 10000

// isStagedKind reports whether kind is items or another staged kind.
func isStagedKind(kind string) bool { return kind == core.KindItem || lookupKind(kind) != nil }

// ---- server side: pull ----

// ReadBatch reads up to limit feed rows after cur and returns the current
// state of every entity they name; EFORBIDDEN unless the user may create
// stages or administer content. Items the user may not view come as
// deletions. The first batch (cur 0) also carries the whole user directory
// and every role, which the first migration made without feed rows.
func (sy *Sync) ReadBatch(ctx context.Context, cur core.FeedCursor, limit int) (*core.SyncBatch, error) {
	u := core.UserFromContext(ctx)
	if u.IsAnonymous() {
		return nil, core.Errorf(core.EUnauthorized, "sign in to pull")
	}
	// A pull copies the user directory and unpublished content: it is for
	// editors.
	for i, perm := range []string{core.PermCreateStage, core.PermAdministerContent} {
		ok, err := sy.s.authz.HasPermission(ctx, u, perm)
		if err != nil {
			return nil, err
		}
		if ok {
			break
		}
		if i == 1 {
			return nil, core.Errorf(core.EForbidden, "pulling a site needs the permission %q or %q", core.PermCreateStage, core.PermAdministerContent)
		}
	}
	// Changes committed before this request (a push or an edit the client
	// just made) are in the batch, even while other transactions run.
	if err := sy.s.Feed().WaitSettled(ctx, 2*time.Second); err != nil {
		return nil, err
	}
	changes, next, err := sy.s.Feed().ReadChanges(ctx, cur, limit)
	if err != nil && limit < maxFeedRead {
		// One transaction (a large publish) may hold more rows than asked
		// for; batches end at transaction boundaries.
		changes, next, err = sy.s.Feed().ReadChanges(ctx, cur, maxFeedRead)
	}
	if err != nil {
		return nil, err
	}
	b := &core.SyncBatch{Entities: []core.SyncEntity{}, Changes: len(changes), Cursor: next}
	if err := sy.s.pool.QueryRow(ctx, `SELECT count(*) FROM change_feed WHERE xid >= $1::text::xid8`, fmt.Sprint(uint64(next))).Scan(&b.Pending); err != nil {
		return nil, fmt.Errorf("count pending changes: %w", TranslateError(err))
	}
	// Each entity once, in the order of its last change.
	type key struct{ kind, id string }
	last := map[key]int{}
	for i, c := range changes {
		if isStagedKind(c.Kind) && (c.StageID == nil || *c.StageID != core.LiveStageID) {
			continue // only live is pulled
		}
		last[key{c.Kind, c.EntityID}] = i
	}
	if cur == 0 {
		us, err := sy.directory(ctx)
		if err != nil {
			return nil, err
		}
		roles, err := sy.s.Users().FindRoles(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range roles {
			b.Entities = append(b.Entities, core.SyncEntity{Kind: core.KindRole, ID: r.Name, Role: r})
			delete(last, key{core.KindRole, r.Name})
		}
		for _, su := range us {
			b.Entities = append(b.Entities, core.SyncEntity{Kind: core.KindUser, ID: su.ID.String(), User: su})
			delete(last, key{core.KindUser, su.ID.String()})
		}
	}
	// Live revisions of the staged entities, in one query.
	var kinds []string
	var ids []core.ID
	for k := range last {
		if id, err := core.ParseID(k.id); err == nil && isStagedKind(k.kind) {
			kinds, ids = append(kinds, k.kind), append(ids, id)
		}
	}
	live, err := liveRevisions(ctx, sy.s.pool, kinds, ids)
	if err != nil {
		return nil, err
	}
	for i, c := range changes {
		if j, ok := last[key{c.Kind, c.EntityID}]; !ok || j != i {
			continue
		}
		e, ok, err := sy.resolve(ctx, u, c, live)
		if err != nil {
			return nil, err
		}
		if ok {
			b.Entities = append(b.Entities, e)
		}
	}
	return b, nil
}

// resolve returns the current state of what a change names; ok is false
// for kinds a pull does not copy (stages, releases, unknown kinds).
func (sy *Sync) resolve(ctx context.Context, u *core.User, c core.Change, live map[entityKey]*revision) (core.SyncEntity, bool, error) {
	e := core.SyncEntity{Kind: c.Kind, ID: c.EntityID}
	switch {
	case isStagedKind(c.Kind):
		id, err := core.ParseID(c.EntityID)
		if err != nil {
			return e, false, nil
		}
		r := live[entityKey{c.Kind, id}]
		if r == nil {
			e.Deleted = true
			return e, true, nil
		}
		if c.Kind == core.KindItem {
			it, err := itemFromRevision(r)
			if err != nil {
				return e, false, err
			}
			if err := sy.s.authz.Authorize(ctx, u, core.OpView, it); err != nil {
				if code := core.ErrorCode(err); code == core.EForbidden || code == core.ENotFound {
					e.Deleted = true
					return e, true, nil
				}
				return e, false, err
			}
		}
		e.Revision = r.core()
	case c.Kind == core.KindConfig:
		kind, name, ok := cutConfigID(c.EntityID)
		if !ok {
			return e, false, nil
		}
		d, err := findConfig(ctx, sy.s.pool, kind, name)
		if core.ErrorCode(err) == core.ENotFound {
			e.Deleted = true
		} else if err != nil {
			return e, false, err
		} else {
			e.Config = d
		}
	case c.Kind == core.KindFile:
		id, err := core.ParseID(c.EntityID)
		if err != nil {
			return e, false, nil
		}
		f, err := sy.s.Files(FileLimits{}).FindFileByID(ctx, id)
		if core.ErrorCode(err) == core.ENotFound {
			e.Deleted = true
		} else if err != nil {
			return e, false, err
		} else {
			e.File = f
		}
	case c.Kind == core.KindUser:
		id, err := core.ParseID(c.EntityID)
		if err != nil {
			return e, false, nil
		}
		uu, err := sy.s.Users().FindUserByID(ctx, id)
		if core.ErrorCode(err) == core.ENotFound {
			e.Deleted = true
		} else if err != nil {
			return e, false, err
		} else {
			e.User = &core.SyncUser{ID: uu.ID, Name: uu.Name, Status: uu.Status, Roles: nonNil(uu.Roles)}
		}
	case c.Kind == core.KindRole:
		// Role feed rows name the role by id (users.go) or by name (a
		// pull's own rows); the entity is named by name.
		name := c.EntityID
		if id, err := core.ParseID(c.EntityID); err == nil {
			if err := sy.s.pool.QueryRow(ctx, `SELECT name FROM roles WHERE id = $1`, id).Scan(&name); err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return e, false, TranslateError(err)
			}
		}
		e.ID = name
		r, err := sy.s.Users().FindRoleByName(ctx, name)
		if core.ErrorCode(err) == core.ENotFound {
			e.Deleted = true
		} else if err != nil {
			return e, false, err
		} else {
			e.Role = r
		}
	case c.Kind == core.KindPlugin:
		p, err := sy.s.Plugins().FindPlugin(ctx, c.EntityID)
		if core.ErrorCode(err) == core.ENotFound {
			e.Deleted = true
		} else if err != nil {
			return e, false, err
		} else {
			e.Plugin = &core.SyncPlugin{Name: p.Name, Version: p.Version, Manifest: p.Manifest, WasmHash: p.WasmHash, Enabled: p.Enabled, Approved: nonNil(p.Approved)}
		}
	case c.Kind == core.KindTheme:
		t, err := sy.s.Themes().FindTheme(ctx, c.EntityID)
		if core.ErrorCode(err) == core.ENotFound {
			e.Deleted = true
		} else if err != nil {
			return e, false, err
		} else {
			e.Theme = &core.SyncTheme{Name: t.Name, Label: t.Label, Version: t.Version, Base: t.Base, Regions: nonNil(t.Regions),
				Manifest: t.Manifest, Files: t.Files, Enabled: t.Enabled}
		}
	default:
		return e, false, nil
	}
	return e, true, nil
}

// liveRevisions reads live's current revision of each (kind, id); the
// map lacks entities live does not have.
func liveRevisions(ctx context.Context, q querier, kinds []string, ids []core.ID) (map[entityKey]*revision, error) {
	out := make(map[entityKey]*revision, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT `+revisionColumns+` FROM head h JOIN revision r ON r.id = h.revision_id
		WHERE h.stage_id = $3 AND (h.kind, h.entity_id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))`, kinds, ids, core.LiveStageID)
	if err != nil {
		return nil, fmt.Errorf("read live revisions: %w", TranslateError(err))
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRevision(rows)
		if err != nil {
			return nil, fmt.Errorf("read live revisions: %w", err)
		}
		out[entityKey{r.Kind, r.EntityID}] = r
	}
	return out, rows.Err()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func cutConfigID(s string) (kind, name string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], i > 0 && i < len(s)-1
		}
	}
	return "", "", false
}

// directory lists every user as the user directory shows them.
func (sy *Sync) directory(ctx context.Context) ([]*core.SyncUser, error) {
	rows, err := sy.s.pool.Query(ctx, `SELECT u.id, u.name, u.status,
			COALESCE(array_agg(r.name ORDER BY r.name) FILTER (WHERE r.name IS NOT NULL), '{}')
		FROM users u LEFT JOIN user_role ur ON ur.user_id = u.id LEFT JOIN roles r ON r.id = ur.role_id
		GROUP BY u.id ORDER BY u.id`)
	if err != nil {
		return nil, fmt.Errorf("user directory: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []*core.SyncUser
	for rows.Next() {
		su := &core.SyncUser{}
		if err := rows.Scan(&su.ID, &su.Name, &su.Status, &su.Roles); err != nil {
			return nil, fmt.Errorf("user directory: %w", err)
		}
		out = append(out, su)
	}
	return out, rows.Err()
}

// HasBlob reports whether the blob store holds hash.
func (sy *Sync) HasBlob(ctx context.Context, hash string) (bool, error) {
	sum, err := hex.DecodeString(hash)
	if err != nil || len(sum) != 32 {
		return false, core.Errorf(core.EInvalid, "%q is not a SHA-256 hash", hash)
	}
	var ok bool
	if err := sy.s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blob WHERE hash = $1)`, sum).Scan(&ok); err != nil {
		return false, fmt.Errorf("find blob: %w", TranslateError(err))
	}
	return ok, nil
}

// ---- server side: push ----

// errRefused rolls back a changeset with problems; the report says why.
var errRefused = errors.New("changeset refused")

// ApplyChangeset applies a pushed stage in one transaction, as the user in
// ctx: to the stage with the changeset's id, made with that id and name if
// absent. Every entry whose base revision is not what the server's stage
// shows now is a conflict, and every entry the authorizer or validation
// refuses is a problem; with any problem nothing is applied and the report
// lists them all (Applied false). Returns ECONFLICT when an open stage
// has the name under another id, EFORBIDDEN without permission, EINVALID
// for a malformed changeset.
func (sy *Sync) ApplyChangeset(ctx context.Context, cs *core.Changeset) (*core.ChangesetReport, error) {
	u := core.UserFromContext(ctx)
	if err := checkChangeset(cs); err != nil {
		return nil, err
	}
	rep := &core.ChangesetReport{Entries: len(cs.Entries), Problems: []core.ChangesetProblem{}}
	err := sy.s.inTx(ctx, func(tx *txn) error {
		st, created, err := sy.stageForPush(ctx, tx, u, cs.Stage)
		if err != nil {
			return err
		}
		rep.Stage, rep.Created = st, created
		if err := sy.pushFiles(ctx, tx, u, cs.Files); err != nil {
			return err
		}
		heads, err := lockHeads(ctx, tx, st.ID, cs.Entries)
		if err != nil {
			return err
		}
		// First every head, then validation, so entries may refer to each
		// other in any order.
		var applied []core.ChangesetEntry
		for _, e := range cs.Entries {
			done, p, err := sy.pushEntry(ctx, tx, u, st.ID, e, heads[headKey{st.ID, e.Kind, e.EntityID}], heads[headKey{core.LiveStageID, e.Kind, e.EntityID}])
			if err != nil {
				return err
			}
			switch {
			case p != nil:
				rep.Problems = append(rep.Problems, *p)
			case done:
				rep.Skipped++
			default:
				applied = append(applied, e)
			}
		}
		for _, e := range applied {
			if p := sy.validatePushed(ctx, tx, st.ID, e); p != nil {
				rep.Problems = append(rep.Problems, *p)
			}
		}
		if len(rep.Problems) > 0 {
			return errRefused
		}
		if _, err := tx.Exec(ctx, `UPDATE stage SET changed_at = $2 WHERE id = $1`, st.ID, sy.s.now()); err != nil {
			return fmt.Errorf("touch stage: %w", TranslateError(err))
		}
		return nil
	})
	if errors.Is(err, errRefused) {
		rep.Applied, rep.Created = false, false // rolled back with the rest
		return rep, nil
	}
	if err != nil {
		return nil, err
	}
	rep.Applied = true
	return rep, nil
}

func checkChangeset(cs *core.Changeset) error {
	var problems []core.FieldError
	if cs.Stage.ID == core.NilID {
		problems = append(problems, core.FieldError{Path: "stage.id", Message: "is required"})
	} else if cs.Stage.ID == core.LiveStageID {
		// Live changes by publishing a stage, never by a push.
		problems = append(problems, core.FieldError{Path: "stage.id", Message: "must not be the live stage's; push a stage and publish it"})
	}
	if cs.Stage.Name == core.StageLive || !reStageName(cs.Stage.Name) {
		problems = append(problems, core.FieldError{Path: "stage.name", Message: "must be 1 to 64 of a-z, 0-9, - and _ (and not live)"})
	}
	seen := map[string]bool{}
	for i, e := range cs.Entries {
		p := fmt.Sprintf("entries[%d]", i)
		k := e.Kind + ":" + e.EntityID.String()
		switch {
		case !isStagedKind(e.Kind):
			problems = append(problems, core.FieldError{Path: p + ".kind", Message: fmt.Sprintf("%q is not a staged kind", e.Kind)})
		case e.EntityID == core.NilID:
			problems = append(problems, core.FieldError{Path: p + ".entity_id", Message: "is required"})
		case e.Revision.ID == core.NilID:
			problems = append(problems, core.FieldError{Path: p + ".revision.id", Message: "is required"})
		case e.Action != core.ChangeCreate && e.Action != core.ChangeUpdate && e.Action != core.ChangeDelete:
			problems = append(problems, core.FieldError{Path: p + ".action", Message: "must be create, update or delete"})
		case e.Action != core.ChangeDelete && !isJSONObject(e.Revision.Doc):
			problems = append(problems, core.FieldError{Path: p + ".revision.doc", Message: "must be a JSON object"})
		case seen[k]:
			problems = append(problems, core.FieldError{Path: p, Message: "names an entity a second time"})
		}
		seen[k] = true
	}
	for i, f := range cs.Files {
		if sum, err := hex.DecodeString(f.Hash); err != nil || len(sum) != 32 || f.ID == core.NilID || f.Name == "" {
			problems = append(problems, core.FieldError{Path: fmt.Sprintf("files[%d]", i), Message: "needs an id, a name and a SHA-256 hash"})
		}
	}
	if len(problems) > 0 {
		return core.InvalidFields("the changeset is not valid", problems)
	}
	return nil
}

func isJSONObject(b json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil && m != nil
}

// stageForPush finds the changeset's stage by id, or creates it; a stage
// of that name under another id is reported, never merged.
func (sy *Sync) stageForPush(ctx context.Context, tx *txn, u *core.User, cs core.ChangesetStage) (*core.Stage, bool, error) {
	st, err := findStage(ctx, tx, `id = $1`, cs.ID)
	if err == nil {
		st, err = sy.s.stageFor(ctx, tx, st.ID, core.OpEdit)
		return st, false, err
	}
	if core.ErrorCode(err) != core.ENotFound {
		return nil, false, err
	}
	if other, err := findStage(ctx, tx, `name = $1 AND state IN ('live', 'open')`, cs.Name); err == nil {
		return nil, false, core.Errorf(core.EConflict, "the server has another open stage named %q (id %s); rename the local stage and push again", cs.Name, other.ID)
	} else if core.ErrorCode(err) != core.ENotFound {
		return nil, false, err
	}
	if err := sy.s.authz.Require(ctx, u, core.PermCreateStage); err != nil {
		return nil, false, err
	}
	now := sy.s.now().UTC().Truncate(time.Microsecond)
	if _, err := tx.Exec(ctx, `INSERT INTO stage (id, name, label, state, created_by, created_at, changed_at) VALUES ($1, $2, $3, 'open', $4, $5, $5)`,
		cs.ID, cs.Name, cs.Label, u.ID, now); err != nil {
		return nil, false, fmt.Errorf("create stage %s: %w", cs.Name, TranslateError(err))
	}
	if err := tx.feed(ctx, core.KindStage, cs.ID.String(), &cs.ID, nil, nil, core.ChangeCreate); err != nil {
		return nil, false, err
	}
	st, err = sy.s.stageFor(ctx, tx, cs.ID, core.OpEdit)
	return st, true, err
}

// pushFiles stores the file entities a changeset needs; their blobs were
// uploaded before.
func (sy *Sync) pushFiles(ctx context.Context, tx *txn, u *core.User, files []core.File) error {
	if len(files) > 0 {
		if err := sy.s.authz.Require(ctx, u, core.PermUploadFiles); err != nil {
			return err
		}
	}
	for _, f := range files {
		sum, _ := hex.DecodeString(f.Hash)
		var have []byte
		err := tx.QueryRow(ctx, `SELECT hash FROM file WHERE id = $1`, f.ID).Scan(&have)
		if err == nil {
			if hex.EncodeToString(have) != f.Hash {
				return core.Errorf(core.EConflict, "file %s exists on the server with other content", f.ID)
			}
			continue
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("find file %s: %w", f.ID, TranslateError(err))
		}
		var size int64
		if err := tx.QueryRow(ctx, `SELECT size FROM blob WHERE hash = $1`, sum).Scan(&size); errors.Is(err, pgx.ErrNoRows) {
			return core.Errorf(core.EInvalid, "file %s (%s): its content %s was not uploaded", f.ID, f.Name, f.Hash)
		} else if err != nil {
			return fmt.Errorf("find blob %s: %w", f.Hash, TranslateError(err))
		}
		mime := f.MIME
		if mime == "" {
			mime = "application/octet-stream"
		}
		if _, err := tx.Exec(ctx, `INSERT INTO file (id, hash, size, mime, name, owner_id) VALUES ($1, $2, $3, $4, $5, $6)`,
			f.ID, sum, size, mime, f.Name, u.ID); err != nil {
			return fmt.Errorf("store file %s: %w", f.ID, TranslateError(err))
		}
		if err := tx.feed(ctx, core.KindFile, f.ID.String(), nil, nil, nil, core.ChangeCreate); err != nil {
			return err
		}
	}
	return nil
}

// stageHeadOf reads stage's own head of an entity, or nil.
func stageHeadOf(ctx context.Context, q querier, kind string, stage, id core.ID) (*head, error) {
	h := &head{StageID: stage, Kind: kind, EntityID: id}
	err := q.QueryRow(ctx, `SELECT revision_id, base_revision_id, deleted FROM head WHERE stage_id = $1 AND kind = $2 AND entity_id = $3`,
		stage, kind, id).Scan(&h.RevisionID, &h.BaseRevisionID, &h.Deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", kind, id, TranslateError(err))
	}
	return h, nil
}

// pushEntry moves the stage's head of one entry. done: the stage has it
// already (a retried push). A conflict comes back as a problem.
// headKey names one head.
type headKey struct {
	stage core.ID
	kind  string
	id    core.ID
}

// lockHeads locks the heads of a changeset's entities in the stage and in
// live (in one order, so concurrent pushes cannot deadlock) and returns
// them.
func lockHeads(ctx context.Context, tx *txn, stage core.ID, entries []core.ChangesetEntry) (map[headKey]*head, error) {
	kinds := make([]string, len(entries))
	ids := make([]core.ID, len(entries))
	for i, e := range entries {
		kinds[i], ids[i] = e.Kind, e.EntityID
	}
	rows, err := tx.Query(ctx, `SELECT stage_id, kind, entity_id, revision_id, base_revision_id, deleted FROM head
		WHERE stage_id IN ($3, $4) AND (kind, entity_id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))
		ORDER BY stage_id, kind, entity_id FOR UPDATE`, kinds, ids, stage, core.LiveStageID)
	if err != nil {
		return nil, fmt.Errorf("lock heads: %w", TranslateError(err))
	}
	defer rows.Close()
	out := map[headKey]*head{}
	for rows.Next() {
		h := &head{}
		if err := rows.Scan(&h.StageID, &h.Kind, &h.EntityID, &h.RevisionID, &h.BaseRevisionID, &h.Deleted); err != nil {
			return nil, fmt.Errorf("lock heads: %w", err)
		}
		out[headKey{h.StageID, h.Kind, h.EntityID}] = h
	}
	return out, rows.Err()
}

func (sy *Sync) pushEntry(ctx context.Context, tx *txn, u *core.User, stage core.ID, e core.ChangesetEntry, sh, lh *head) (bool, *core.ChangesetProblem, error) {
	if sh != nil && sh.RevisionID == e.Revision.ID && sh.Deleted == (e.Action == core.ChangeDelete) {
		return true, nil, nil
	}
	var err error
	// What the server's stage shows now.
	var current *core.ID
	switch {
	case sh != nil && !sh.Deleted:
		current = &sh.RevisionID
	case sh == nil && lh != nil:
		current = &lh.RevisionID
	}
	if !sameID(current, e.BaseRevision) {
		p := &core.ChangesetProblem{Kind: e.Kind, EntityID: e.EntityID, Problem: "conflict", Base: e.BaseRevision, Theirs: current,
			Message: fmt.Sprintf("%s %s changed on the server since revision %s", e.Kind, e.EntityID, idOrNone(e.BaseRevision))}
		if e.Action != core.ChangeDelete {
			p.Mine, p.MineDoc = &e.Revision.ID, e.Revision.Doc
		}
		var theirs []byte
		if current != nil {
			r, err := findRevision(ctx, tx, *current)
			if err != nil {
				return false, nil, err
			}
			theirs, p.TheirsDoc = r.Doc, r.Doc
		}
		p.Diff = core.DiffJSON("", theirs, p.MineDoc)
		return false, p, nil
	}
	if e.Action == core.ChangeDelete {
		if current == nil {
			return true, nil, nil
		}
		if lh == nil {
			_, err = tx.Exec(ctx, `DELETE FROM head WHERE stage_id = $1 AND kind = $2 AND entity_id = $3`, stage, e.Kind, e.EntityID)
		} else {
			base := lh.RevisionID
			if sh != nil && sh.BaseRevisionID != nil {
				base = *sh.BaseRevisionID
			}
			_, err = tx.Exec(ctx, `INSERT INTO head (stage_id, kind, entity_id, revision_id, base_revision_id, deleted, changed_at)
				VALUES ($1, $2, $3, $4, $5, true, now())
				ON CONFLICT (stage_id, kind, entity_id) DO UPDATE SET deleted = true, revision_id = EXCLUDED.revision_id, changed_at = now()`,
				stage, e.Kind, e.EntityID, *current, base)
		}
		if err != nil {
			return false, nil, fmt.Errorf("tombstone %s %s: %w", e.Kind, e.EntityID, TranslateError(err))
		}
		if e.Kind == core.KindItem {
			if err := tx.dropGrants(ctx, stage, e.EntityID); err != nil {
				return false, nil, err
			}
		}
		return false, nil, tx.feed(ctx, e.Kind, e.EntityID.String(), &stage, current, nil, core.ChangeDelete)
	}
	rv := e.Revision
	at := rv.CreatedAt
	if at.IsZero() {
		at = sy.s.now()
	}
	tag, err := tx.Exec(ctx, `INSERT INTO revision (id, kind, entity_id, parent_id, stage_id, author_id, created_at, log, type_version, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
		rv.ID, e.Kind, e.EntityID, rv.ParentID, stage, u.ID, at, rv.Log, rv.TypeVersion, []byte(rv.Doc))
	if err != nil {
		return false, nil, fmt.Errorf("store %s revision: %w", e.Kind, TranslateError(err))
	}
	if tag.RowsAffected() == 0 {
		var kind string
		var entity core.ID
		var sameDoc bool
		if err := tx.QueryRow(ctx, `SELECT kind, entity_id, doc = $2::jsonb FROM revision WHERE id = $1`, rv.ID, []byte(rv.Doc)).Scan(&kind, &entity, &sameDoc); err != nil {
			return false, nil, fmt.Errorf("find revision %s: %w", rv.ID, TranslateError(err))
		}
		if kind != e.Kind || entity != e.EntityID {
			return false, &core.ChangesetProblem{Kind: e.Kind, EntityID: e.EntityID, Problem: "invalid",
				Message: fmt.Sprintf("revision %s belongs to another entity on the server", rv.ID)}, nil
		}
		if !sameDoc {
			// What is validated below is the pushed document: it must be
			// the one the stage will show.
			return false, &core.ChangesetProblem{Kind: e.Kind, EntityID: e.EntityID, Problem: "invalid",
				Message: fmt.Sprintf("revision %s exists on the server with another document", rv.ID)}, nil
		}
	}
	var base *core.ID
	switch {
	case sh != nil:
		base = sh.BaseRevisionID
	case lh != nil:
		base = &lh.RevisionID
	}
	if _, err := tx.Exec(ctx, `INSERT INTO head (stage_id, kind, entity_id, revision_id, base_revision_id, changed_at) VALUES ($1, $2, $3, $4, $5, now())
		ON CONFLICT (stage_id, kind, entity_id) DO UPDATE SET revision_id = EXCLUDED.revision_id, deleted = false, changed_at = now()`,
		stage, e.Kind, e.EntityID, rv.ID, base); err != nil {
		return false, nil, fmt.Errorf("move stage head: %w", TranslateError(err))
	}
	op := core.ChangeUpdate
	if current == nil {
		op = core.ChangeCreate
	}
	return false, nil, tx.feed(ctx, e.Kind, e.EntityID.String(), &stage, &rv.ID, nil, op)
}

func sameID(a, b *core.ID) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func idOrNone(id *core.ID) string {
	if id == nil {
		return "(none: new here)"
	}
	return id.String()
}

// validatePushed checks an applied entry with the authorizer and the
// kind's validation, against the stage as the changeset leaves it.
func (sy *Sync) validatePushed(ctx context.Context, tx *txn, stage core.ID, e core.ChangesetEntry) *core.ChangesetProblem {
	u := core.UserFromContext(ctx)
	problem := func(err error) *core.ChangesetProblem {
		return &core.ChangesetProblem{Kind: e.Kind, EntityID: e.EntityID, Problem: "invalid", Message: err.Error(), Base: e.BaseRevision, Mine: &e.Revision.ID}
	}
	if e.Kind != core.KindItem {
		spec := lookupKind(e.Kind)
		if spec == nil {
			return problem(core.Errorf(core.EInvalid, "unknown staged kind %q", e.Kind))
		}
		if err := sy.s.authz.Require(ctx, u, spec.perm); err != nil {
			return problem(err)
		}
		if e.Action == core.ChangeDelete {
			return nil
		}
		if _, err := spec.check(ctx, tx, stage, e.EntityID, e.Revision.Doc); err != nil {
			return problem(err)
		}
		return nil
	}
	// Items: the authorizer decides on the item as it was (update,
	// delete) or as it will be (create).
	var before *core.Item
	if e.BaseRevision != nil {
		r, err := findRevision(ctx, tx, *e.BaseRevision)
		if err != nil {
			return problem(err)
		}
		if before, err = itemFromRevision(r); err != nil {
			return problem(err)
		}
	}
	if e.Action == core.ChangeDelete {
		if before != nil {
			if err := sy.s.authz.Authorize(ctx, u, core.OpDelete, before); err != nil {
				return problem(err)
			}
		}
		return nil
	}
	it, err := itemFromRevision(&revision{ID: e.Revision.ID, Kind: e.Kind, EntityID: e.EntityID, Doc: e.Revision.Doc, TypeVersion: e.Revision.TypeVersion, CreatedAt: e.Revision.CreatedAt})
	if err != nil {
		return problem(core.Errorf(core.EInvalid, "the item document is not valid: %v", err))
	}
	if before == nil {
		err = sy.s.authz.Authorize(ctx, u, core.OpCreate, it)
	} else if it.Type != before.Type {
		// The update is authorized on the item as it was: its type stays.
		err = core.Errorf(core.EInvalid, "an item's type cannot change (%s to %s)", before.Type, it.Type)
	} else {
		err = sy.s.authz.Authorize(ctx, u, core.OpUpdate, before)
	}
	if err != nil {
		return problem(err)
	}
	if it.AuthorID != u.ID && (before == nil || before.AuthorID != it.AuthorID) {
		if err := sy.s.authz.Require(ctx, u, core.PermAdministerContent); err != nil {
			return problem(core.Errorf(core.EForbidden, "only content administrators may set an item's author to someone else"))
		}
	}
	if _, err := sy.s.validateItem(ctx, tx, stage, it); err != nil {
		return problem(err)
	}
	if err := tx.writeGrants(ctx, stage, it); err != nil {
		return problem(err)
	}
	return nil
}

// ---- local side ----

// Remote is the server a local site is connected to.
type Remote struct {
	URL string
	// LegacyToken is an API token stored in the database before tokens
	// moved to a file (migration 0013); the engine moves it out and calls
	// ForgetLegacyToken.
	LegacyToken string
	Cursor      core.FeedCursor
}

// Connect stores the server to sync with (its token is kept in a file by
// the caller, never here); a new URL starts pulling from the beginning,
// and what was pulled from the old one of config, roles, plugins and
// themes (and their conflicts) is forgotten: the first pull from the new
// server adopts its copies.
func (sy *Sync) Connect(ctx context.Context, url string) error {
	err := sy.s.inTx(ctx, func(tx *txn) error {
		var old string
		if err := tx.QueryRow(ctx, `SELECT url FROM sync_remote FOR UPDATE`).Scan(&old); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return TranslateError(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sync_remote (url, token) VALUES ($1, '')
			ON CONFLICT (one) DO UPDATE SET token = '', connected_at = now(),
				feed_cursor = CASE WHEN sync_remote.url = EXCLUDED.url THEN sync_remote.feed_cursor ELSE 0 END,
				url = EXCLUDED.url`, url); err != nil {
			return TranslateError(err)
		}
		if old != "" && old != url {
			if _, err := tx.Exec(ctx, `DELETE FROM sync_pulled`); err != nil {
				return TranslateError(err)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM sync_doc_conflict`); err != nil {
				return TranslateError(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store the server to sync with: %w", err)
	}
	return nil
}

// FindRemote returns ENOTFOUND when the site is not connected.
func (sy *Sync) FindRemote(ctx context.Context) (*Remote, error) {
	r := &Remote{}
	var cur int64
	err := sy.s.pool.QueryRow(ctx, `SELECT url, token, feed_cursor FROM sync_remote`).Scan(&r.URL, &r.LegacyToken, &cur)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "this site is not connected to a server; run trovato sync connect URL --token TOKEN")
	} else if err != nil {
		return nil, fmt.Errorf("read the sync server: %w", TranslateError(err))
	}
	r.Cursor = core.FeedCursor(cur)
	return r, nil
}

// ForgetLegacyToken blanks a token stored in the database (once it is
// in its file).
func (sy *Sync) ForgetLegacyToken(ctx context.Context) error {
	if _, err := sy.s.pool.Exec(ctx, `UPDATE sync_remote SET token = '' WHERE token <> ''`); err != nil {
		return fmt.Errorf("forget the stored sync token: %w", TranslateError(err))
	}
	return nil
}

// SaveStatus stores the sync status the editor shows.
func (sy *Sync) SaveStatus(ctx context.Context, st *core.SyncStatus) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if _, err := sy.s.pool.Exec(ctx, `UPDATE sync_remote SET status = $1`, b); err != nil {
		return fmt.Errorf("store sync status: %w", TranslateError(err))
	}
	return nil
}

// Status reads the sync status, with the queue and conflict counts.
func (sy *Sync) Status(ctx context.Context) (*core.SyncStatus, error) {
	st := &core.SyncStatus{State: core.SyncIdle, Queued: []string{}}
	var (
		b   []byte
		url string
		cur int64
	)
	err := sy.s.pool.QueryRow(ctx, `SELECT url, status, feed_cursor FROM sync_remote`).Scan(&url, &b, &cur)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, nil
	} else if err != nil {
		return nil, fmt.Errorf("read sync status: %w", TranslateError(err))
	}
	if len(b) > 2 {
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("read sync status: %w", err)
		}
	}
	if st.State == "" {
		st.State = core.SyncIdle
	}
	st.Remote, st.Cursor = url, core.FeedCursor(cur)
	st.Queued = []string{}
	rows, err := sy.s.pool.Query(ctx, `SELECT COALESCE(s.name, q.stage_id::text) FROM sync_queue q LEFT JOIN stage s ON s.id = q.stage_id ORDER BY q.queued_at`)
	if err != nil {
		return nil, fmt.Errorf("read sync queue: %w", TranslateError(err))
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		st.Queued = append(st.Queued, n)
	}
	rows.Close()
	if err := sy.s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM sync_conflict) + (SELECT count(*) FROM sync_doc_conflict)`).Scan(&st.Conflicts); err != nil {
		return nil, fmt.Errorf("count sync conflicts: %w", TranslateError(err))
	}
	return st, nil
}

// PullConflict is a pulled change that met a local edit of live.
type PullConflict struct {
	Kind          string   `json:"kind"`
	EntityID      core.ID  `json:"entity_id"`
	LocalRevision *core.ID `json:"local_revision_id,omitempty"`
	ServerRevison *core.ID `json:"server_revision_id,omitempty"`
}

// FindPullConflicts lists pulled changes waiting for a choice.
func (sy *Sync) FindPullConflicts(ctx context.Context) ([]PullConflict, error) {
	rows, err := sy.s.pool.Query(ctx, `SELECT kind, entity_id, local_revision_id, server_revision_id FROM sync_conflict ORDER BY at, kind, entity_id`)
	if err != nil {
		return nil, fmt.Errorf("read sync conflicts: %w", TranslateError(err))
	}
	defer rows.Close()
	out := []PullConflict{}
	for rows.Next() {
		var c PullConflict
		if err := rows.Scan(&c.Kind, &c.EntityID, &c.LocalRevision, &c.ServerRevison); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ApplyBatch applies a pulled batch to the local site in one transaction
// and moves the cursor to the batch's, but only when the stored cursor is
// still from (ECONFLICT otherwise: another pull got there first). Blobs
// of files and plugins must be stored before. A pulled live change of an
// entity whose local live head is not the server revision last pulled
// (edited here) is not applied: it is recorded as a pull conflict. It
// returns how many conflicts the batch added.
func (sy *Sync) ApplyBatch(ctx context.Context, from core.FeedCursor, b *core.SyncBatch) (int, error) {
	conflicts := 0
	err := sy.s.inTx(ctx, func(tx *txn) error {
		var cur int64
		if err := tx.QueryRow(ctx, `SELECT feed_cursor FROM sync_remote FOR UPDATE`).Scan(&cur); err != nil {
			return fmt.Errorf("read sync cursor: %w", TranslateError(err))
		}
		if core.FeedCursor(cur) != from {
			return core.Errorf(core.EConflict, "another pull moved the sync cursor; pull again")
		}
		// Roles before users, config before what it configures, staged
		// kinds last and together.
		for _, pass := range []func(core.SyncEntity) bool{
			func(e core.SyncEntity) bool { return e.Kind == core.KindRole },
			func(e core.SyncEntity) bool { return e.Kind == core.KindUser },
			func(e core.SyncEntity) bool {
				return e.Kind == core.KindConfig || e.Kind == core.KindFile || e.Kind == core.KindPlugin || e.Kind == core.KindTheme
			},
		} {
			for _, e := range b.Entities {
				if !pass(e) {
					continue
				}
				c, err := sy.applyEntity(ctx, tx, e)
				if err != nil {
					return fmt.Errorf("apply pulled %s %s: %w", e.Kind, e.ID, err)
				}
				if c {
					conflicts++
				}
			}
		}
		var staged []core.SyncEntity
		for _, e := range b.Entities {
			if isStagedKind(e.Kind) || e.Revision != nil {
				staged = append(staged, e)
			}
		}
		n, err := sy.applyStagedBatch(ctx, tx, staged)
		if err != nil {
			return err
		}
		conflicts += n
		if _, err := tx.Exec(ctx, `UPDATE sync_remote SET feed_cursor = $1`, int64(b.Cursor)); err != nil {
			return fmt.Errorf("store sync cursor: %w", TranslateError(err))
		}
		return nil
	})
	return conflicts, err
}

func (sy *Sync) applyEntity(ctx context.Context, tx *txn, e core.SyncEntity) (bool, error) {
	if isPulledDocKind(e.Kind) {
		return sy.applyPulledDoc(ctx, tx, e, pulledDocApplier(e.Kind))
	}
	switch {
	case e.Kind == core.KindUser:
		return false, applyUser(ctx, tx, e)
	case e.Kind == core.KindFile:
		if e.Deleted || e.File == nil {
			return false, nil // files are never deleted here; items stop referring to them
		}
		f := e.File
		sum, err := hex.DecodeString(f.Hash)
		if err != nil {
			return false, core.Errorf(core.EInvalid, "file %s: bad hash", f.ID)
		}
		_, err = tx.Exec(ctx, `INSERT INTO file (id, hash, size, mime, name, owner_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
			f.ID, sum, f.Size, f.MIME, f.Name, f.OwnerID, f.CreatedAt)
		if err != nil {
			return false, fmt.Errorf("store file: %w", TranslateError(err))
		}
		if err := tx.know(ctx, core.LiveStageID, core.KindFile, f.ID, &f.ID); err != nil {
			return false, err
		}
		return false, tx.feed(ctx, core.KindFile, f.ID.String(), nil, nil, nil, core.ChangeCreate)
	}
	return false, nil
}

func applyRole(ctx context.Context, tx *txn, e core.SyncEntity) error {
	if e.Deleted || e.Role == nil {
		_, err := tx.Exec(ctx, `DELETE FROM roles WHERE name = $1 AND NOT builtin`, e.ID)
		if err != nil {
			return TranslateError(err)
		}
		return tx.feed(ctx, core.KindRole, e.ID, nil, nil, nil, core.ChangeDelete)
	}
	r := e.Role
	var id core.ID
	if err := tx.QueryRow(ctx, `INSERT INTO roles (id, name, label, builtin) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET label = EXCLUDED.label RETURNING id`, r.ID, r.Name, r.Label, r.Builtin).Scan(&id); err != nil {
		return TranslateError(err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM role_permission WHERE role_id = $1`, id); err != nil {
		return TranslateError(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO role_permission (role_id, permission) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, id, r.Permissions); err != nil {
		return TranslateError(err)
	}
	return tx.feed(ctx, core.KindRole, r.Name, nil, nil, nil, core.ChangeUpdate)
}

func applyUser(ctx context.Context, tx *txn, e core.SyncEntity) error {
	if e.Deleted || e.User == nil {
		// Content keeps naming its authors: a user deleted on the server
		// is blocked here.
		id, err := core.ParseID(e.ID)
		if err != nil {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE users SET status = 'blocked', changed_at = now() WHERE id = $1`, id)
		return TranslateError(err)
	}
	su := e.User
	name := su.Name
	var other core.ID
	err := tx.QueryRow(ctx, `SELECT id FROM users WHERE lower(name) = lower($1) AND id <> $2`, name, su.ID).Scan(&other)
	if err == nil {
		// A local user has the name: keep both, the server's one renamed.
		name = fmt.Sprintf("%.51s~%.8s", su.Name, su.ID.String())
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return TranslateError(err)
	}
	status := su.Status
	if status != core.UserActive {
		status = core.UserBlocked
	}
	if _, err := tx.Exec(ctx, `INSERT INTO users (id, name, status) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, status = EXCLUDED.status, changed_at = now()`, su.ID, name, status); err != nil {
		return TranslateError(err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM user_role WHERE user_id = $1`, su.ID); err != nil {
		return TranslateError(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO user_role (user_id, role_id) SELECT $1, id FROM roles WHERE name = ANY($2) ON CONFLICT DO NOTHING`, su.ID, su.Roles); err != nil {
		return TranslateError(err)
	}
	return tx.feed(ctx, core.KindUser, su.ID.String(), nil, nil, nil, core.ChangeUpdate)
}

func applyConfig(ctx context.Context, tx *txn, e core.SyncEntity) error {
	kind, name, ok := cutConfigID(e.ID)
	if !ok {
		return core.Errorf(core.EInvalid, "config id %q is not KIND/NAME", e.ID)
	}
	if e.Deleted || e.Config == nil {
		if _, err := tx.Exec(ctx, `DELETE FROM config_doc WHERE kind = $1 AND name = $2`, kind, name); err != nil {
			return TranslateError(err)
		}
		return tx.feed(ctx, core.KindConfig, e.ID, nil, nil, nil, core.ChangeDelete)
	}
	d := e.Config
	if _, err := tx.Exec(ctx, `INSERT INTO config_doc (kind, name, version, body, changed_at, changed_by) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (kind, name) DO UPDATE SET version = EXCLUDED.version, body = EXCLUDED.body, changed_at = EXCLUDED.changed_at, changed_by = EXCLUDED.changed_by`,
		kind, name, d.Version, []byte(d.Body), d.ChangedAt, d.ChangedBy); err != nil {
		return TranslateError(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO config_doc_version (kind, name, version, body, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT DO NOTHING`, kind, name, d.Version, []byte(d.Body), d.ChangedAt, d.ChangedBy); err != nil {
		return TranslateError(err)
	}
	return tx.feed(ctx, core.KindConfig, e.ID, nil, nil, nil, core.ChangeUpdate)
}

func applyPlugin(ctx context.Context, tx *txn, e core.SyncEntity) error {
	if e.Deleted || e.Plugin == nil {
		if _, err := tx.Exec(ctx, `DELETE FROM plugin WHERE name = $1`, e.ID); err != nil {
			return TranslateError(err)
		}
		return tx.feed(ctx, core.KindPlugin, e.ID, nil, nil, nil, core.ChangeDelete)
	}
	p := e.Plugin
	sum, err := hex.DecodeString(p.WasmHash)
	if err != nil || len(sum) != 32 {
		return core.Errorf(core.EInvalid, "plugin %s: bad module hash", p.Name)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO plugin (name, version, manifest_toml, hash, enabled, approved, changed_by) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, manifest_toml = EXCLUDED.manifest_toml, hash = EXCLUDED.hash,
			enabled = EXCLUDED.enabled, approved = EXCLUDED.approved, changed_at = now(), changed_by = EXCLUDED.changed_by`,
		p.Name, p.Version, p.Manifest, sum, p.Enabled, nonNil(p.Approved), core.SystemUserID); err != nil {
		return TranslateError(err)
	}
	return tx.feed(ctx, core.KindPlugin, p.Name, nil, nil, nil, core.ChangeUpdate)
}

func applyTheme(ctx context.Context, tx *txn, e core.SyncEntity) error {
	if e.Deleted || e.Theme == nil {
		if _, err := tx.Exec(ctx, `DELETE FROM theme WHERE name = $1`, e.ID); err != nil {
			return TranslateError(err)
		}
		return tx.feed(ctx, core.KindTheme, e.ID, nil, nil, nil, core.ChangeDelete)
	}
	t := e.Theme
	if t.Enabled {
		// At most one theme is enabled: the server's enabling of this one
		// disabled the one before.
		if _, err := tx.Exec(ctx, `UPDATE theme SET enabled = false WHERE enabled AND name <> $1`, t.Name); err != nil {
			return TranslateError(err)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO theme (name, label, version, base, regions, manifest_yaml, enabled, changed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (name) DO UPDATE SET label = EXCLUDED.label, version = EXCLUDED.version, base = EXCLUDED.base, regions = EXCLUDED.regions,
			manifest_yaml = EXCLUDED.manifest_yaml, enabled = EXCLUDED.enabled, changed_at = now(), changed_by = EXCLUDED.changed_by`,
		t.Name, t.Label, t.Version, t.Base, nonNil(t.Regions), t.Manifest, t.Enabled, core.SystemUserID); err != nil {
		return fmt.Errorf("store theme %s: %w", t.Name, TranslateError(err))
	}
	if _, err := tx.Exec(ctx, `DELETE FROM theme_file WHERE theme = $1`, t.Name); err != nil {
		return TranslateError(err)
	}
	for path, hash := range t.Files {
		sum, err := hex.DecodeString(hash)
		if err != nil || len(sum) != 32 {
			return core.Errorf(core.EInvalid, "theme %s: file %s has a bad hash", t.Name, path)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO theme_file (theme, path, hash) VALUES ($1, $2, $3)`, t.Name, path, sum); err != nil {
			return fmt.Errorf("store theme %s file %s: %w", t.Name, path, TranslateError(err))
		}
	}
	return tx.feed(ctx, core.KindTheme, t.Name, nil, nil, nil, core.ChangeUpdate)
}

// know records the server revision last seen of an entity in a stage.
func (tx *txn) know(ctx context.Context, stage core.ID, kind string, id core.ID, rev *core.ID) error {
	_, err := tx.Exec(ctx, `INSERT INTO sync_known (stage_id, kind, entity_id, revision_id) VALUES ($1, $2, $3, $4)
		ON CONFLICT (stage_id, kind, entity_id) DO UPDATE SET revision_id = EXCLUDED.revision_id`, stage, kind, id, rev)
	if err != nil {
		return fmt.Errorf("record server revision: %w", TranslateError(err))
	}
	return nil
}

func knownRevision(ctx context.Context, q querier, stage core.ID, kind string, id core.ID) (rev *core.ID, ok bool, err error) {
	err = q.QueryRow(ctx, `SELECT revision_id FROM sync_known WHERE stage_id = $1 AND kind = $2 AND entity_id = $3`, stage, kind, id).Scan(&rev)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("read server revision: %w", TranslateError(err))
	}
	return rev, true, nil
}

// entityKey names a staged entity.
type entityKey struct {
	kind string
	id   core.ID
}

// applyStagedBatch moves local live to pulled revisions (or deletes the
// entities), keeping the revisions' ids, unless local live was edited here
// since the last pull: then it records a conflict. Reads and bookkeeping
// are one statement each for the whole batch; what remains per entity is
// its projection (and an item's grant rows).
func (sy *Sync) applyStagedBatch(ctx context.Context, tx *txn, ents []core.SyncEntity) (int, error) {
	if len(ents) == 0 {
		return 0, nil
	}
	kinds := make([]string, len(ents))
	ids := make([]core.ID, len(ents))
	var (
		rids, rentities, rparents, rstages, rauthors []*core.ID
		rkinds, rlogs, rdocs                         []string
		rtimes                                       []time.Time
		rversions                                    []int32
	)
	if tx.revs == nil {
		tx.revs = map[core.ID]*revision{}
	}
	server := make(map[entityKey]*core.ID, len(ents))
	for i, e := range ents {
		id, err := core.ParseID(e.ID)
		if err != nil {
			return 0, core.Errorf(core.EInvalid, "pulled %s id %q is not an id", e.Kind, e.ID)
		}
		kinds[i], ids[i] = e.Kind, id
		k := entityKey{e.Kind, id}
		server[k] = nil
		if e.Deleted || e.Revision == nil {
			continue
		}
		r := e.Revision
		if r.EntityID != id || r.Kind != e.Kind || !isJSONObject(r.Doc) {
			return 0, core.Errorf(core.EInvalid, "pulled revision %s is not a revision of %s %s", r.ID, e.Kind, id)
		}
		server[k] = &r.ID
		rids, rkinds, rentities, rparents = append(rids, &r.ID), append(rkinds, r.Kind), append(rentities, &r.EntityID), append(rparents, r.ParentID)
		rstages, rauthors, rtimes = append(rstages, &r.StageID), append(rauthors, &r.AuthorID), append(rtimes, r.CreatedAt)
		rlogs, rversions, rdocs = append(rlogs, r.Log), append(rversions, int32(r.TypeVersion)), append(rdocs, string(r.Doc))
		tx.revs[r.ID] = &revision{ID: r.ID, Kind: r.Kind, EntityID: r.EntityID, ParentID: r.ParentID, StageID: r.StageID,
			AuthorID: r.AuthorID, CreatedAt: r.CreatedAt, Log: r.Log, TypeVersion: r.TypeVersion, Doc: r.Doc}
	}
	if len(rids) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO revision (id, kind, entity_id, parent_id, stage_id, author_id, created_at, log, type_version, doc)
			SELECT id, kind, entity_id, parent_id, stage_id, author_id, created_at, log, type_version, doc::jsonb
			FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::timestamptz[], $8::text[], $9::int[], $10::text[])
				AS x(id, kind, entity_id, parent_id, stage_id, author_id, created_at, log, type_version, doc)
			ON CONFLICT (id) DO NOTHING`, rids, rkinds, rentities, rparents, rstages, rauthors, rtimes, rlogs, rversions, rdocs); err != nil {
			return 0, fmt.Errorf("store pulled revisions: %w", TranslateError(err))
		}
	}
	// Local live heads (locked) and the server revisions last pulled.
	local := map[entityKey]core.ID{}
	rows, err := tx.Query(ctx, `SELECT h.kind, h.entity_id, h.revision_id FROM head h
		WHERE h.stage_id = $3 AND (h.kind, h.entity_id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))
		ORDER BY h.kind, h.entity_id FOR UPDATE`, kinds, ids, core.LiveStageID)
	if err != nil {
		return 0, fmt.Errorf("read local live heads: %w", TranslateError(err))
	}
	for rows.Next() {
		var k entityKey
		var rev core.ID
		if err := rows.Scan(&k.kind, &k.id, &rev); err != nil {
			rows.Close()
			return 0, err
		}
		local[k] = rev
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read local live heads: %w", TranslateError(err))
	}
	known := map[entityKey]*core.ID{}
	rows, err = tx.Query(ctx, `SELECT kind, entity_id, revision_id FROM sync_known
		WHERE stage_id = $3 AND (kind, entity_id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))`, kinds, ids, core.LiveStageID)
	if err != nil {
		return 0, fmt.Errorf("read pulled revisions: %w", TranslateError(err))
	}
	for rows.Next() {
		var k entityKey
		var rev *core.ID
		if err := rows.Scan(&k.kind, &k.id, &rev); err != nil {
			rows.Close()
			return 0, err
		}
		known[k] = rev
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read pulled revisions: %w", TranslateError(err))
	}

	var (
		conflicts               int
		ckinds                  []string
		cids                    []core.ID
		clocal, cserver         []*core.ID
		hkinds, dkinds          []string
		hids, hrevs, dids       []core.ID
		kkinds                  []string
		kids                    []core.ID
		krevs                   []*core.ID
		fkinds, fentities, fops []string
		frevs                   []*core.ID
		items                   []*core.Item
	)
	for i := range ents {
		k := entityKey{kinds[i], ids[i]}
		srv := server[k]
		var lrev *core.ID
		if r, ok := local[k]; ok {
			lrev = &r
		}
		switch {
		case sameID(lrev, srv):
			// Already there.
		case !sameID(lrev, known[k]):
			conflicts++
			ckinds, cids, clocal, cserver = append(ckinds, k.kind), append(cids, k.id), append(clocal, lrev), append(cserver, srv)
			continue
		case srv == nil:
			dkinds, dids = append(dkinds, k.kind), append(dids, k.id)
			if p := projectors[k.kind]; p != nil {
				if err := p(ctx, tx, k.id, nil); err != nil {
					return 0, err
				}
			}
			if k.kind == core.KindItem {
				if err := tx.dropGrants(ctx, core.LiveStageID, k.id); err != nil {
					return 0, err
				}
			}
			fkinds, fentities, frevs, fops = append(fkinds, k.kind), append(fentities, k.id.String()), append(frevs, nil), append(fops, core.ChangeDelete)
		default:
			r := tx.revs[*srv]
			hkinds, hids, hrevs = append(hkinds, k.kind), append(hids, k.id), append(hrevs, r.ID)
			if k.kind == core.KindItem {
				it, err := itemFromRevision(r)
				if err != nil {
					return 0, err
				}
				items = append(items, it)
			} else if p := projectors[k.kind]; p != nil {
				if err := p(ctx, tx, k.id, r); err != nil {
					return 0, err
				}
			}
			op := core.ChangeUpdate
			if lrev == nil {
				op = core.ChangeCreate
			}
			fkinds, fentities, frevs, fops = append(fkinds, k.kind), append(fentities, k.id.String()), append(frevs, &r.ID), append(fops, op)
		}
		kkinds, kids, krevs = append(kkinds, k.kind), append(kids, k.id), append(krevs, srv)
	}
	if err := tx.projectItems(ctx, items); err != nil {
		return 0, err
	}
	if len(dids) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM head WHERE stage_id = $3 AND (kind, entity_id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))`,
			dkinds, dids, core.LiveStageID); err != nil {
			return 0, fmt.Errorf("delete pulled deletions: %w", TranslateError(err))
		}
	}
	if len(hids) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO head (stage_id, kind, entity_id, revision_id, changed_at)
			SELECT $4, kind, entity_id, revision_id, now() FROM unnest($1::text[], $2::uuid[], $3::uuid[]) AS x(kind, entity_id, revision_id)
			ON CONFLICT (stage_id, kind, entity_id) DO UPDATE SET revision_id = EXCLUDED.revision_id, changed_at = now()`,
			hkinds, hids, hrevs, core.LiveStageID); err != nil {
			return 0, fmt.Errorf("move live heads: %w", TranslateError(err))
		}
	}
	if len(kids) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO sync_known (stage_id, kind, entity_id, revision_id)
			SELECT $4, kind, entity_id, revision_id FROM unnest($1::text[], $2::uuid[], $3::uuid[]) AS x(kind, entity_id, revision_id)
			ON CONFLICT (stage_id, kind, entity_id) DO UPDATE SET revision_id = EXCLUDED.revision_id`,
			kkinds, kids, krevs, core.LiveStageID); err != nil {
			return 0, fmt.Errorf("record pulled revisions: %w", TranslateError(err))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sync_conflict WHERE (kind, entity_id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))`, kkinds, kids); err != nil {
			return 0, fmt.Errorf("clear sync conflicts: %w", TranslateError(err))
		}
	}
	if len(cids) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO sync_conflict (kind, entity_id, local_revision_id, server_revision_id)
			SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[])
			ON CONFLICT (kind, entity_id) DO UPDATE SET local_revision_id = EXCLUDED.local_revision_id,
				server_revision_id = EXCLUDED.server_revision_id, at = now()`, ckinds, cids, clocal, cserver); err != nil {
			return 0, fmt.Errorf("record sync conflicts: %w", TranslateError(err))
		}
	}
	if len(fkinds) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO change_feed (kind, entity_id, stage_id, revision_id, op)
			SELECT kind, entity_id, $5, revision_id, op FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[]) WITH ORDINALITY AS x(kind, entity_id, revision_id, op, n)
			ORDER BY n`, fkinds, fentities, frevs, fops, core.LiveStageID); err != nil {
			return 0, fmt.Errorf("append pulled changes: %w", TranslateError(err))
		}
		live := core.LiveStageID
		for i := range fkinds {
			tx.changes = append(tx.changes, core.Change{Kind: fkinds[i], EntityID: fentities[i], StageID: &live, RevisionID: frevs[i], Op: fops[i]})
		}
	}
	return conflicts, nil
}

// projectItems writes live's projection and grant rows of many items in
// a few statements: what projectItem and writeGrants do one by one.
func (tx *txn) projectItems(ctx context.Context, items []*core.Item) error {
	if len(items) == 0 {
		return nil
	}
	n := len(items)
	var (
		ids, authors, tgroups, revs    = make([]core.ID, n), make([]core.ID, n), make([]core.ID, n), make([]core.ID, n)
		types, titles, statuses, langs = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		fields                         = make([]string, n)
		created, changed               = make([]time.Time, n), make([]time.Time, n)
		promote, sticky                = make([]bool, n), make([]bool, n)
		versions                       = make([]int32, n)
		gitems                         []core.ID
		grealms, ggids                 []string
		gview, gupdate, gdelete        []bool
	)
	for i, it := range items {
		ids[i], authors[i], tgroups[i], revs[i] = it.ID, it.AuthorID, it.TGroupID, it.RevisionID
		types[i], titles[i], statuses[i], langs[i], fields[i] = it.Type, it.Title, it.Status, it.Language, string(it.Fields)
		created[i], changed[i], promote[i], sticky[i], versions[i] = it.CreatedAt, it.ChangedAt, it.Promote, it.Sticky, int32(it.TypeVersion)
		grants, err := tx.s.itemGrants(ctx, it, core.LiveStageID)
		if err != nil {
			return err
		}
		// One row per (realm, gid), merged as writeGrants merges them.
		at := map[[2]string]int{}
		for _, g := range grants {
			if g.Realm == "" || g.GID == "" {
				continue
			}
			if j, ok := at[[2]string{g.Realm, g.GID}]; ok {
				gview[j], gupdate[j], gdelete[j] = gview[j] || g.View, gupdate[j] || g.Update, gdelete[j] || g.Delete
				continue
			}
			at[[2]string{g.Realm, g.GID}] = len(gitems)
			gitems, grealms, ggids = append(gitems, it.ID), append(grealms, g.Realm), append(ggids, g.GID)
			gview, gupdate, gdelete = append(gview, g.View), append(gupdate, g.Update), append(gdelete, g.Delete)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO item (id, type, title, status, author_id, created_at, changed_at, promote, sticky, language, tgroup_id, fields, revision_id, type_version)
		SELECT id, type, title, status, author_id, created_at, changed_at, promote, sticky, language, tgroup_id, fields::jsonb, revision_id, type_version
		FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::timestamptz[], $7::timestamptz[], $8::bool[], $9::bool[],
			$10::text[], $11::uuid[], $12::text[], $13::uuid[], $14::int[])
			AS x(id, type, title, status, author_id, created_at, changed_at, promote, sticky, language, tgroup_id, fields, revision_id, type_version)
		ON CONFLICT (id) DO UPDATE SET type = EXCLUDED.type, title = EXCLUDED.title, status = EXCLUDED.status, author_id = EXCLUDED.author_id,
			created_at = EXCLUDED.created_at, changed_at = EXCLUDED.changed_at, promote = EXCLUDED.promote, sticky = EXCLUDED.sticky,
			language = EXCLUDED.language, tgroup_id = EXCLUDED.tgroup_id, fields = EXCLUDED.fields, revision_id = EXCLUDED.revision_id,
			type_version = EXCLUDED.type_version`,
		ids, types, titles, statuses, authors, created, changed, promote, sticky, langs, tgroups, fields, revs, versions); err != nil {
		return fmt.Errorf("project pulled items: %w", TranslateError(err))
	}
	if _, err := tx.Exec(ctx, `DELETE FROM item_grant WHERE stage_id = $1 AND item_id = ANY($2)`, core.LiveStageID, ids); err != nil {
		return fmt.Errorf("write grants: %w", TranslateError(err))
	}
	if len(gitems) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO item_grant (stage_id, item_id, realm, gid, grant_view, grant_update, grant_delete)
			SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::bool[], $6::bool[], $7::bool[])`,
			core.LiveStageID, gitems, grealms, ggids, gview, gupdate, gdelete); err != nil {
			return fmt.Errorf("write grants: %w", TranslateError(err))
		}
	}
	return nil
}

// moveLive points local live at rev (nil: deletes the entity) and records
// it as the server's.
func (sy *Sync) moveLive(ctx context.Context, tx *txn, kind string, id core.ID, rev *core.ID, existed bool) error {
	if rev == nil {
		if existed {
			if _, err := tx.Exec(ctx, `DELETE FROM head WHERE stage_id = $1 AND kind = $2 AND entity_id = $3`, core.LiveStageID, kind, id); err != nil {
				return fmt.Errorf("delete %s: %w", kind, TranslateError(err))
			}
			if p := projectors[kind]; p != nil {
				if err := p(ctx, tx, id, nil); err != nil {
					return err
				}
			}
			if kind == core.KindItem {
				if err := tx.dropGrants(ctx, core.LiveStageID, id); err != nil {
					return err
				}
			}
			if err := tx.feed(ctx, kind, id.String(), idPtr(core.LiveStageID), nil, nil, core.ChangeDelete); err != nil {
				return err
			}
		}
	} else {
		r, err := findRevision(ctx, tx, *rev)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO head (stage_id, kind, entity_id, revision_id, changed_at) VALUES ($1, $2, $3, $4, now())
			ON CONFLICT (stage_id, kind, entity_id) DO UPDATE SET revision_id = EXCLUDED.revision_id, changed_at = now()`,
			core.LiveStageID, kind, id, r.ID); err != nil {
			return fmt.Errorf("move live head: %w", TranslateError(err))
		}
		if p := projectors[kind]; p != nil {
			if err := p(ctx, tx, id, r); err != nil {
				return err
			}
		}
		if kind == core.KindItem {
			it, err := itemFromRevision(r)
			if err != nil {
				return err
			}
			if err := tx.writeGrants(ctx, core.LiveStageID, it); err != nil {
				return err
			}
		}
		op := core.ChangeUpdate
		if !existed {
			op = core.ChangeCreate
		}
		if err := tx.feed(ctx, kind, id.String(), idPtr(core.LiveStageID), &r.ID, nil, op); err != nil {
			return err
		}
	}
	if err := tx.know(ctx, core.LiveStageID, kind, id, rev); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM sync_conflict WHERE kind = $1 AND entity_id = $2`, kind, id)
	return TranslateError(err)
}

// ResolvePullConflict settles a pull conflict: "theirs" moves local live
// to the server's revision; "mine" keeps the local edit and records the
// server's revision as seen, so later pulls of other changes go on.
func (sy *Sync) ResolvePullConflict(ctx context.Context, kind string, id core.ID, choice string) error {
	return sy.s.inTx(ctx, func(tx *txn) error {
		var server *core.ID
		err := tx.QueryRow(ctx, `SELECT server_revision_id FROM sync_conflict WHERE kind = $1 AND entity_id = $2 FOR UPDATE`, kind, id).Scan(&server)
		if errors.Is(err, pgx.ErrNoRows) {
			return core.Errorf(core.ENotFound, "no pull conflict for %s %s", kind, id)
		} else if err != nil {
			return TranslateError(err)
		}
		switch choice {
		case core.ResolveTheirs:
			local, err := liveHead(ctx, tx, kind, id, true)
			if err != nil {
				return err
			}
			return sy.moveLive(ctx, tx, kind, id, server, local != nil)
		case core.ResolveMine:
			if err := tx.know(ctx, core.LiveStageID, kind, id, server); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `DELETE FROM sync_conflict WHERE kind = $1 AND entity_id = $2`, kind, id)
			return TranslateError(err)
		}
		return core.Errorf(core.EInvalid, "choose mine or theirs, not %q", choice)
	})
}

// BuildChangeset reads a local stage's changes as a changeset: each entry
// with the server revision it was made from (the one last pushed for the
// entity in this stage, else the live revision the stage copied), and the
// files the server has not got from here.
func (sy *Sync) BuildChangeset(ctx context.Context, stage core.ID) (*core.Changeset, error) {
	st, err := sy.s.stageFor(ctx, sy.s.pool, stage, core.OpView)
	if err != nil {
		return nil, err
	}
	if st.ID == core.LiveStageID {
		return nil, core.Errorf(core.EInvalid, "live is not pushed; push a stage")
	}
	if st.State != core.StageOpen {
		return nil, core.Errorf(core.EInvalid, "stage %q is %s; only open stages are pushed", st.Name, st.State)
	}
	cs := &core.Changeset{Stage: core.ChangesetStage{ID: st.ID, Name: st.Name, Label: st.Label}, Entries: []core.ChangesetEntry{}, Files: []core.File{}}
	hrows, err := sy.s.pool.Query(ctx, `SELECT h.kind, h.entity_id, h.base_revision_id, h.deleted, k.entity_id IS NOT NULL, k.revision_id,
			r.id, r.parent_id, r.created_at, r.log, r.type_version, r.doc
		FROM head h JOIN revision r ON r.id = h.revision_id
		LEFT JOIN sync_known k ON k.stage_id = h.stage_id AND k.kind = h.kind AND k.entity_id = h.entity_id
		WHERE h.stage_id = $1 ORDER BY h.kind, h.entity_id`, st.ID)
	if err != nil {
		return nil, fmt.Errorf("read stage %s: %w", st.Name, TranslateError(err))
	}
	for hrows.Next() {
		var (
			h       head
			isKnown bool
			known   *core.ID
			rv      core.ChangesetRevision
			doc     []byte
		)
		if err := hrows.Scan(&h.Kind, &h.EntityID, &h.BaseRevisionID, &h.Deleted, &isKnown, &known,
			&rv.ID, &rv.ParentID, &rv.CreatedAt, &rv.Log, &rv.TypeVersion, &doc); err != nil {
			hrows.Close()
			return nil, fmt.Errorf("read stage %s: %w", st.Name, err)
		}
		rv.Doc = doc
		action := (&stageHead{head: h}).action()
		base := h.BaseRevisionID
		if isKnown {
			base = known
		}
		cs.Entries = append(cs.Entries, core.ChangesetEntry{Kind: h.Kind, EntityID: h.EntityID, Action: action, BaseRevision: base, Revision: rv})
	}
	hrows.Close()
	if err := hrows.Err(); err != nil {
		return nil, fmt.Errorf("read stage %s: %w", st.Name, TranslateError(err))
	}
	rows, err := sy.s.pool.Query(ctx, `SELECT f.id, encode(f.hash, 'hex'), f.size, f.mime, f.name, f.owner_id, f.created_at FROM file f
		WHERE NOT EXISTS (SELECT 1 FROM sync_known k WHERE k.stage_id = $1 AND k.kind = 'file' AND k.entity_id = f.id) ORDER BY f.id`, core.LiveStageID)
	if err != nil {
		return nil, fmt.Errorf("list local files: %w", TranslateError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var f core.File
		if err := rows.Scan(&f.ID, &f.Hash, &f.Size, &f.MIME, &f.Name, &f.OwnerID, &f.CreatedAt); err != nil {
			return nil, err
		}
		cs.Files = append(cs.Files, f)
	}
	return cs, rows.Err()
}

// RecordPush records what an applied push left on the server: each
// entry's revision as the stage's known server revision, and the files.
func (sy *Sync) RecordPush(ctx context.Context, cs *core.Changeset) error {
	return sy.s.inTx(ctx, func(tx *txn) error {
		for _, e := range cs.Entries {
			var rev *core.ID
			if e.Action != core.ChangeDelete {
				rev = &e.Revision.ID
			}
			if err := tx.know(ctx, cs.Stage.ID, e.Kind, e.EntityID, rev); err != nil {
				return err
			}
		}
		for _, f := range cs.Files {
			if err := tx.know(ctx, core.LiveStageID, core.KindFile, f.ID, &f.ID); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `DELETE FROM sync_queue WHERE stage_id = $1`, cs.Stage.ID)
		return TranslateError(err)
	})
}

// ResolvePushConflict settles a push conflict of one entity. "mine" takes
// the server's current revision (p.Theirs) as the base, so the next push
// applies the local change over it. "theirs" makes the local stage show
// the server's version: it drops the local change when local live already
// has that revision, else stores the server's revision (its id kept) as
// the stage's.
func (sy *Sync) ResolvePushConflict(ctx context.Context, stage core.ID, p core.ChangesetProblem, choice string) error {
	if choice != core.ResolveMine && choice != core.ResolveTheirs {
		return core.Errorf(core.EInvalid, "choose mine or theirs, not %q", choice)
	}
	if !isStagedKind(p.Kind) {
		return core.Errorf(core.EInvalid, "%q is not a staged kind", p.Kind)
	}
	return sy.s.inTx(ctx, func(tx *txn) error {
		st, err := sy.s.stageFor(ctx, tx, stage, core.OpEdit)
		if err != nil {
			return err
		}
		if st.ID == core.LiveStageID {
			return core.Errorf(core.EInvalid, "push conflicts belong to a stage, not live")
		}
		if choice == core.ResolveMine {
			return tx.know(ctx, st.ID, p.Kind, p.EntityID, p.Theirs)
		}
		if err := lockEntity(ctx, tx, p.Kind, st.ID, p.EntityID); err != nil {
			return err
		}
		lh, err := liveHead(ctx, tx, p.Kind, p.EntityID, false)
		if err != nil {
			return err
		}
		sh, err := stageHeadOf(ctx, tx, p.Kind, st.ID, p.EntityID)
		if err != nil {
			return err
		}
		var live *core.ID
		if lh != nil {
			live = &lh.RevisionID
		}
		switch {
		case sameID(live, p.Theirs):
			if _, err := tx.Exec(ctx, `DELETE FROM head WHERE stage_id = $1 AND kind = $2 AND entity_id = $3`, st.ID, p.Kind, p.EntityID); err != nil {
				return fmt.Errorf("drop local change: %w", TranslateError(err))
			}
			if p.Kind == core.KindItem {
				if err := tx.dropGrants(ctx, st.ID, p.EntityID); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, `DELETE FROM sync_known WHERE stage_id = $1 AND kind = $2 AND entity_id = $3`, st.ID, p.Kind, p.EntityID); err != nil {
				return TranslateError(err)
			}
			return tx.feed(ctx, p.Kind, p.EntityID.String(), &st.ID, live, nil, core.ChangeUpdate)
		case p.Theirs == nil:
			// The server's stage does not have it (deleted there): so
			// neither does the local stage.
			if _, err := tx.Exec(ctx, `INSERT INTO head (stage_id, kind, entity_id, revision_id, base_revision_id, deleted, changed_at)
				VALUES ($1, $2, $3, $4, $4, true, now())
				ON CONFLICT (stage_id, kind, entity_id) DO UPDATE SET deleted = true, revision_id = EXCLUDED.revision_id, changed_at = now()`,
				st.ID, p.Kind, p.EntityID, *live); err != nil {
				return fmt.Errorf("tombstone %s: %w", p.Kind, TranslateError(err))
			}
			if p.Kind == core.KindItem {
				if err := tx.dropGrants(ctx, st.ID, p.EntityID); err != nil {
					return err
				}
			}
			if err := tx.know(ctx, st.ID, p.Kind, p.EntityID, nil); err != nil {
				return err
			}
			return tx.feed(ctx, p.Kind, p.EntityID.String(), &st.ID, live, nil, core.ChangeDelete)
		}
		if !isJSONObject(p.TheirsDoc) {
			return core.Errorf(core.EInvalid, "the conflict report lacks the server's document of %s %s", p.Kind, p.EntityID)
		}
		var parent *core.ID
		if sh != nil {
			parent = &sh.RevisionID
		}
		if _, err := tx.Exec(ctx, `INSERT INTO revision (id, kind, entity_id, parent_id, stage_id, author_id, created_at, log, doc)
			VALUES ($1, $2, $3, $4, $5, $6, now(), 'the server''s version', $7) ON CONFLICT (id) DO NOTHING`,
			*p.Theirs, p.Kind, p.EntityID, parent, st.ID, core.UserFromContext(ctx).ID, []byte(p.TheirsDoc)); err != nil {
			return fmt.Errorf("store the server's revision: %w", TranslateError(err))
		}
		base := live
		if sh != nil {
			base = sh.BaseRevisionID
		}
		if _, err := tx.Exec(ctx, `INSERT INTO head (stage_id, kind, entity_id, revision_id, base_revision_id, changed_at) VALUES ($1, $2, $3, $4, $5, now())
			ON CONFLICT (stage_id, kind, entity_id) DO UPDATE SET revision_id = EXCLUDED.revision_id, deleted = false, changed_at = now()`,
			st.ID, p.Kind, p.EntityID, *p.Theirs, base); err != nil {
			return fmt.Errorf("move stage head: %w", TranslateError(err))
		}
		if p.Kind == core.KindItem {
			r, err := findRevision(ctx, tx, *p.Theirs)
			if err != nil {
				return err
			}
			it, err := itemFromRevision(r)
			if err != nil {
				return err
			}
			if err := tx.writeGrants(ctx, st.ID, it); err != nil {
				return err
			}
		}
		if err := tx.know(ctx, st.ID, p.Kind, p.EntityID, p.Theirs); err != nil {
			return err
		}
		return tx.feed(ctx, p.Kind, p.EntityID.String(), &st.ID, p.Theirs, nil, core.ChangeUpdate)
	})
}

// QueuePush queues a stage to push when the server answers again.
func (sy *Sync) QueuePush(ctx context.Context, stage core.ID, attempts int, next time.Time, lastErr string) error {
	_, err := sy.s.pool.Exec(ctx, `INSERT INTO sync_queue (stage_id, attempts, next_at, last_error) VALUES ($1, $2, $3, $4)
		ON CONFLICT (stage_id) DO UPDATE SET attempts = EXCLUDED.attempts, next_at = EXCLUDED.next_at, last_error = EXCLUDED.last_error`,
		stage, attempts, next, lastErr)
	if err != nil {
		return fmt.Errorf("queue push: %w", TranslateError(err))
	}
	return nil
}

// QueuedPush is a push waiting for the server.
type QueuedPush struct {
	StageID  core.ID
	Attempts int
	NextAt   time.Time
}

// FindQueuedPushes lists queued pushes, oldest first.
func (sy *Sync) FindQueuedPushes(ctx context.Context) ([]QueuedPush, error) {
	rows, err := sy.s.pool.Query(ctx, `SELECT stage_id, attempts, next_at FROM sync_queue ORDER BY queued_at`)
	if err != nil {
		return nil, fmt.Errorf("read sync queue: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []QueuedPush
	for rows.Next() {
		var q QueuedPush
		if err := rows.Scan(&q.StageID, &q.Attempts, &q.NextAt); err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// DropQueuedPush removes a stage from the queue.
func (sy *Sync) DropQueuedPush(ctx context.Context, stage core.ID) error {
	_, err := sy.s.pool.Exec(ctx, `DELETE FROM sync_queue WHERE stage_id = $1`, stage)
	return TranslateError(err)
}
