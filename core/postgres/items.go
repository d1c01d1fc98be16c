package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// Items implements core.ItemService.
type Items struct{ s *Store }

var _ core.ItemService = (*Items)(nil)

// Items returns the item service.
func (s *Store) Items() *Items { return &Items{s} }

func init() { projectors[core.KindItem] = projectItem }

// itemDoc is an item revision's document.
type itemDoc struct {
	Type      string          `json:"type"`
	Title     string          `json:"title"`
	Status    string          `json:"status"`
	AuthorID  core.ID         `json:"author_id"`
	CreatedAt time.Time       `json:"created_at"`
	Promote   bool            `json:"promote"`
	Sticky    bool            `json:"sticky"`
	Language  string          `json:"language"`
	TGroupID  core.ID         `json:"translation_group_id"`
	Fields    json.RawMessage `json:"fields"`
}

func docOf(it *core.Item) []byte {
	b, _ := json.Marshal(itemDoc{Type: it.Type, Title: it.Title, Status: it.Status, AuthorID: it.AuthorID, CreatedAt: it.CreatedAt.UTC(),
		Promote: it.Promote, Sticky: it.Sticky, Language: it.Language, TGroupID: it.TGroupID, Fields: it.Fields})
	return b
}

func itemFromRevision(r *revision) (*core.Item, error) {
	var d itemDoc
	if err := json.Unmarshal(r.Doc, &d); err != nil {
		return nil, fmt.Errorf("decode item revision %s: %w", r.ID, err)
	}
	if len(d.Fields) == 0 {
		d.Fields = json.RawMessage(`{}`)
	}
	return &core.Item{ID: r.EntityID, Type: d.Type, Title: d.Title, Status: d.Status, AuthorID: d.AuthorID, CreatedAt: d.CreatedAt,
		ChangedAt: r.CreatedAt, Promote: d.Promote, Sticky: d.Sticky, Language: d.Language, TGroupID: d.TGroupID, Fields: d.Fields,
		RevisionID: r.ID, TypeVersion: r.TypeVersion}, nil
}

func projectItem(ctx context.Context, tx *txn, id core.ID, r *revision) error {
	if r == nil {
		_, err := tx.Exec(ctx, `DELETE FROM item WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("project item %s: %w", id, TranslateError(err))
		}
		return nil
	}
	it, err := itemFromRevision(r)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO item (id, type, title, status, author_id, created_at, changed_at, promote, sticky, language, tgroup_id, fields, revision_id, type_version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (id) DO UPDATE SET type = EXCLUDED.type, title = EXCLUDED.title, status = EXCLUDED.status, author_id = EXCLUDED.author_id,
			created_at = EXCLUDED.created_at, changed_at = EXCLUDED.changed_at, promote = EXCLUDED.promote, sticky = EXCLUDED.sticky,
			language = EXCLUDED.language, tgroup_id = EXCLUDED.tgroup_id, fields = EXCLUDED.fields, revision_id = EXCLUDED.revision_id,
			type_version = EXCLUDED.type_version`,
		it.ID, it.Type, it.Title, it.Status, it.AuthorID, it.CreatedAt, it.ChangedAt, it.Promote, it.Sticky, it.Language, it.TGroupID,
		[]byte(it.Fields), it.RevisionID, it.TypeVersion)
	if err != nil {
		return fmt.Errorf("project item %s: %w", id, TranslateError(err))
	}
	return nil
}

const itemColumns = `i.id, i.type, i.title, i.status, i.author_id, i.created_at, i.changed_at, i.promote, i.sticky, i.language, i.tgroup_id, i.fields, i.revision_id, i.type_version`

// revItemDoc takes an item revision r's document apart in one call (each
// ->> on a large document would decompress it again); revItemColumns then
// reads the same columns as itemColumns.
const revItemDoc = `CROSS JOIN LATERAL jsonb_to_record(r.doc) AS d(type text, title text, status text, author_id uuid,
	created_at timestamptz, promote boolean, sticky boolean, language text, translation_group_id uuid, fields jsonb)`

const revItemColumns = `r.entity_id AS id, d.type, d.title, d.status, d.author_id, d.created_at, r.created_at AS changed_at,
	COALESCE(d.promote, false) AS promote, COALESCE(d.sticky, false) AS sticky, COALESCE(d.language, 'und') AS language,
	d.translation_group_id AS tgroup_id, COALESCE(d.fields, '{}') AS fields, r.id AS revision_id, r.type_version`

// nullItem scans itemColumns that may all be NULL (an outer join).
type nullItem struct {
	id, author, tgroup, rev      *core.ID
	typ, title, status, language *string
	created, changed             *time.Time
	promote, sticky              *bool
	fields                       []byte
	typeVersion                  *int
}

func (n *nullItem) columns(alias string) string {
	cols := []string{"id", "type", "title", "status", "author_id", "created_at", "changed_at", "promote", "sticky", "language", "tgroup_id", "fields", "revision_id", "type_version"}
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

func (n *nullItem) dest() []any {
	return []any{&n.id, &n.typ, &n.title, &n.status, &n.author, &n.created, &n.changed, &n.promote, &n.sticky, &n.language, &n.tgroup, &n.fields, &n.rev, &n.typeVersion}
}

func (n *nullItem) valid() bool { return n.id != nil }

func (n *nullItem) item() *core.Item {
	it := &core.Item{ID: *n.id, Type: *n.typ, Title: *n.title, Status: *n.status, AuthorID: *n.author, CreatedAt: *n.created,
		ChangedAt: *n.changed, Promote: *n.promote, Sticky: *n.sticky, Language: *n.language, TGroupID: *n.tgroup, Fields: n.fields,
		RevisionID: *n.rev, TypeVersion: *n.typeVersion}
	if len(it.Fields) == 0 {
		it.Fields = json.RawMessage(`{}`)
	}
	return it
}

func scanItem(row pgx.Row) (*core.Item, error) {
	it := &core.Item{}
	var fields []byte
	if err := row.Scan(&it.ID, &it.Type, &it.Title, &it.Status, &it.AuthorID, &it.CreatedAt, &it.ChangedAt, &it.Promote, &it.Sticky,
		&it.Language, &it.TGroupID, &fields, &it.RevisionID, &it.TypeVersion); err != nil {
		return nil, err
	}
	it.Fields = fields
	return it, nil
}

// stageFor loads a stage for a read or write and checks the user may do op
// there. NilID means live.
func (s *Store) stageFor(ctx context.Context, q querier, id core.ID, op string) (*core.Stage, error) {
	if id == core.NilID {
		id = core.LiveStageID
	}
	st, err := findStage(ctx, q, `id = $1`, id)
	if err != nil {
		return nil, err
	}
	if err := s.authz.Authorize(ctx, core.UserFromContext(ctx), op, st); err != nil {
		return nil, err
	}
	if op != core.OpView && st.State != core.StageOpen && st.State != core.StageLive {
		return nil, core.Errorf(core.EInvalid, "stage %q is %s; nothing can change in it", st.Name, st.State)
	}
	return st, nil
}

// FindItemByID implements core.ItemService. A live read is one query on
// the live projection; a stage read is one query over the stage row and its
// overlay.
func (is *Items) FindItemByID(ctx context.Context, stage, id core.ID) (*core.Item, error) {
	var it *core.Item
	if stage == core.NilID || stage == core.LiveStageID {
		var err error
		it, err = scanItem(is.s.pool.QueryRow(ctx, `SELECT `+itemColumns+` FROM item i WHERE i.id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, core.Errorf(core.ENotFound, "item %s not found", id)
		} else if err != nil {
			return nil, fmt.Errorf("find item %s: %w", id, TranslateError(err))
		}
	} else {
		// One round trip: the stage row, the stage's own head of the item if
		// it has one (then its revision), else live's projection — so an
		// item the stage does not change costs what a live read costs.
		st := &core.Stage{}
		var (
			overridden, deleted *bool
			staged, live        nullItem
		)
		err := is.s.pool.QueryRow(ctx, `SELECT s.id, s.name, s.state, h.revision_id IS NOT NULL, h.deleted, `+staged.columns("x")+`, `+live.columns("i")+`
			FROM stage s
			LEFT JOIN head h ON h.stage_id = s.id AND h.kind = 'item' AND h.entity_id = $2
			LEFT JOIN LATERAL (SELECT `+revItemColumns+` FROM revision r `+revItemDoc+` WHERE r.id = h.revision_id AND NOT h.deleted) x ON true
			LEFT JOIN item i ON h.revision_id IS NULL AND i.id = $2
			WHERE s.id = $1`, stage, id).
			Scan(append(append([]any{&st.ID, &st.Name, &st.State, &overridden, &deleted}, staged.dest()...), live.dest()...)...)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, core.Errorf(core.ENotFound, "stage %s not found", stage)
		} else if err != nil {
			return nil, fmt.Errorf("find item %s: %w", id, TranslateError(err))
		}
		if err := is.s.authz.Authorize(ctx, core.UserFromContext(ctx), core.OpView, st); err != nil {
			return nil, err
		}
		switch {
		case staged.valid():
			it = staged.item()
		case live.valid() && (overridden == nil || !*overridden):
			it = live.item()
		default:
			return nil, core.Errorf(core.ENotFound, "item %s not found", id)
		}
	}
	if err := is.s.authz.Authorize(ctx, core.UserFromContext(ctx), core.OpView, it); err != nil {
		return nil, err
	}
	return it, nil
}

// itemKeys are the narrow columns items are filtered and sorted by, as a
// stage shows them: live's projection replaced by the stage's overrides,
// minus its tombstones, plus its creations (rev is NULL for rows read from
// the live projection). $1 is the stage id.
const stageItemKeys = `(
	SELECT i.id, NULL::uuid AS rev, i.type, i.status, i.author_id, i.language, i.sticky, i.created_at, '` + liveID + `'::uuid AS gst,
		i.title, i.changed_at FROM item i
	WHERE NOT EXISTS (SELECT 1 FROM head h WHERE h.stage_id = $1 AND h.kind = 'item' AND h.entity_id = i.id)
	UNION ALL
	-- OFFSET 0 keeps the planner from pushing filters on the documents down
	-- to a scan of every revision: each override is looked up by id.
	SELECT h.entity_id, x.id, x.type, x.status, x.author_id, x.language, x.sticky, x.created_at, $1, x.title, x.changed_at
	FROM head h CROSS JOIN LATERAL (
		SELECT r.id, d.type, d.status, d.author_id, d.language, d.sticky, d.created_at, d.title, r.created_at AS changed_at
		FROM revision r ` + revItemDoc + ` WHERE r.id = h.revision_id OFFSET 0) x
	WHERE h.stage_id = $1 AND h.kind = 'item' AND NOT h.deleted
)`

// liveItemKeys is the same shape for live: the projection alone.
const liveItemKeys = `(SELECT i.id, NULL::uuid AS rev, i.type, i.status, i.author_id, i.language, i.sticky, i.created_at, $1::uuid AS gst,
	i.title, i.changed_at FROM item i)`

const liveID = "01000000-0000-7000-8000-000000000010"

// itemFilterSQL filters keys k. List access: content administrators see
// everything; others see what a grant row of the stage the row comes from
// gives them ($7: the user's grants as realm:gid), plus unpublished items
// their role permissions open ($8: types, $10: own items of types).
const itemFilterSQL = `($2 = '' OR k.type = $2) AND ($3 = '' OR k.status = $3) AND ($4::uuid IS NULL OR k.author_id = $4) AND ($5 = '' OR k.language = $5)
	AND ($6 OR k.type = ANY($8) OR (k.author_id = $9 AND k.type = ANY($10))
		OR EXISTS (SELECT 1 FROM item_grant g WHERE g.item_id = k.id AND g.stage_id = k.gst AND g.grant_view AND g.realm || ':' || g.gid = ANY($7)))`

// FindItems implements core.ItemService. Filtering, sorting and paging run
// on narrow key columns; only the page's rows are read whole. Access is
// decided in SQL, never per row in Go.
func (is *Items) FindItems(ctx context.Context, f core.ItemFilter) ([]*core.Item, int, error) {
	if f.StageID == core.NilID {
		f.StageID = core.LiveStageID
	}
	if _, err := is.s.stageFor(ctx, is.s.pool, f.StageID, core.OpView); err != nil {
		return nil, 0, err
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > 1000 {
		return nil, 0, core.Errorf(core.EInvalid, "limit must be at most 1000")
	}
	if f.Offset < 0 {
		return nil, 0, core.Errorf(core.EInvalid, "offset must not be negative")
	}
	if f.Status != "" && f.Status != core.StatusPublished && f.Status != core.StatusUnpublished {
		return nil, 0, core.Errorf(core.EInvalid, "status must be %q or %q", core.StatusPublished, core.StatusUnpublished)
	}
	order, ok := itemOrders[f.Sort]
	if !ok {
		return nil, 0, core.InvalidFields("invalid sort", []core.FieldError{{Path: "sort", Message: "must be one of " + strings.Join(core.ItemSorts, ", ")}})
	}
	acc, err := is.s.listAccess(ctx)
	if err != nil {
		return nil, 0, err
	}
	keys := liveItemKeys
	if f.StageID != core.LiveStageID {
		keys = stageItemKeys
	}
	u := core.UserFromContext(ctx)
	var live, staged nullItem
	rows, err := is.s.pool.Query(ctx, `WITH page AS (
			SELECT k.id, k.rev, k.sticky, k.created_at, k.title, k.changed_at FROM `+keys+` k
			WHERE `+itemFilterSQL+`
			ORDER BY `+strings.ReplaceAll(order, "@", "k.")+` LIMIT $11 OFFSET $12)
		SELECT `+live.columns("i")+`, `+staged.columns("x")+`
		FROM page p LEFT JOIN item i ON p.rev IS NULL AND i.id = p.id
		LEFT JOIN LATERAL (SELECT `+revItemColumns+` FROM revision r `+revItemDoc+` WHERE r.id = p.rev) x ON true
		ORDER BY `+strings.ReplaceAll(order, "@", "p."),
		f.StageID, f.Type, f.Status, f.AuthorID, f.Language, acc.all, acc.grants, acc.unpublishedTypes, u.ID, acc.ownTypes, f.Limit, f.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("find items: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []*core.Item
	for rows.Next() {
		live, staged = nullItem{}, nullItem{}
		if err := rows.Scan(append(live.dest(), staged.dest()...)...); err != nil {
			return nil, 0, fmt.Errorf("find items: %w", err)
		}
		switch {
		case staged.valid():
			out = append(out, staged.item())
		case live.valid():
			out = append(out, live.item())
		}
		// Neither: the live row vanished between the query's halves.
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("find items: %w", TranslateError(err))
	}
	// A short page ends the list, so it gives the count; otherwise count
	// on the keys.
	total := f.Offset + len(out)
	if len(out) == f.Limit || (len(out) == 0 && f.Offset > 0) {
		total, err = is.count(ctx, keys, f, acc, u.ID)
	}
	return out, total, err
}

// itemOrders are the ORDER BY clauses of ItemFilter.Sort over key columns
// (@ stands for the relation); the id breaks ties, so pages are stable.
var itemOrders = map[string]string{
	"":         "@sticky DESC, @created_at DESC, @id DESC",
	"-created": "@sticky DESC, @created_at DESC, @id DESC",
	"created":  "@created_at, @id",
	"-changed": "@changed_at DESC, @id DESC",
	"changed":  "@changed_at, @id",
	"title":    "lower(@title), @title, @id",
	"-title":   "lower(@title) DESC, @title DESC, @id DESC",
}

func (is *Items) count(ctx context.Context, src string, f core.ItemFilter, acc *listAccess, me core.ID) (int, error) {
	var n int
	err := is.s.pool.QueryRow(ctx, `SELECT count(*) FROM `+src+` k WHERE `+itemFilterSQL,
		f.StageID, f.Type, f.Status, f.AuthorID, f.Language, acc.all, acc.grants, acc.unpublishedTypes, me, acc.ownTypes).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count items: %w", TranslateError(err))
	}
	return n, nil
}

// listAccess is what a user may list, as SQL parameters.
type listAccess struct {
	all              bool     // content.administer
	grants           []string // realm:gid the user holds for view
	unpublishedTypes []string // view_unpublished or edit_any
	ownTypes         []string // edit_own: own unpublished items
}

func (s *Store) listAccess(ctx context.Context) (*listAccess, error) {
	u := core.UserFromContext(ctx)
	acc := &listAccess{grants: []string{}, unpublishedTypes: []string{}, ownTypes: []string{}}
	var err error
	if acc.all, err = s.authz.HasPermission(ctx, u, core.PermAdministerContent); err != nil || acc.all {
		return acc, err
	}
	if acc.grants, err = s.userGrants(ctx, u, core.OpView); err != nil {
		return nil, err
	}
	types, err := s.Config().FindConfigs(ctx, "item_type")
	if err != nil {
		return nil, err
	}
	for _, t := range types {
		for _, p := range []string{"view_unpublished", "edit_any"} {
			if ok, err := s.authz.HasPermission(ctx, u, core.ItemPerm(t.Name, p)); err != nil {
				return nil, err
			} else if ok {
				acc.unpublishedTypes = append(acc.unpublishedTypes, t.Name)
				break
			}
		}
		if ok, err := s.authz.HasPermission(ctx, u, core.ItemPerm(t.Name, "edit_own")); err != nil {
			return nil, err
		} else if ok && !u.IsAnonymous() {
			acc.ownTypes = append(acc.ownTypes, t.Name)
		}
	}
	return acc, nil
}

// itemType loads and parses an item type with its config version.
func (s *Store) itemType(ctx context.Context, q querier, name string) (*core.ItemType, int, error) {
	tx, inTx := q.(*txn)
	if inTx && tx.types != nil {
		if c, ok := tx.types[name]; ok {
			return c.t, c.version, nil
		}
	}
	doc, err := findConfig(ctx, q, "item_type", name)
	if core.ErrorCode(err) == core.ENotFound {
		return nil, 0, core.InvalidFields("unknown item type", []core.FieldError{{Path: "type", Message: fmt.Sprintf("item type %q does not exist (see: trovato type list)", name)}})
	} else if err != nil {
		return nil, 0, err
	}
	t, err := core.ParseItemType(doc.Body)
	if err != nil {
		return nil, 0, fmt.Errorf("item type %q: %w", name, err)
	}
	if inTx && tx.types != nil {
		tx.types[name] = cachedType{t, doc.Version}
	}
	return t, doc.Version, nil
}

// validateItem checks an item against its type in the stage it is
// written to and normalises its fields.
func (s *Store) validateItem(ctx context.Context, q querier, stage core.ID, it *core.Item) (int, error) {
	t, version, err := s.itemType(ctx, q, it.Type)
	if err != nil {
		return 0, err
	}
	var problems []core.FieldError
	if err := core.ValidateTitle(it.Title); err != nil {
		problems = append(problems, core.FieldError{Path: "title", Message: core.ErrorMessage(err)})
	}
	if it.Status != core.StatusPublished && it.Status != core.StatusUnpublished {
		problems = append(problems, core.FieldError{Path: "status", Message: fmt.Sprintf("must be %q or %q", core.StatusPublished, core.StatusUnpublished)})
	}
	if !validLanguage(it.Language) {
		problems = append(problems, core.FieldError{Path: "language", Message: "must be a language code such as en or pt-br, or und"})
	}
	if len(it.Fields) == 0 {
		it.Fields = json.RawMessage(`{}`)
	}
	norm, err := t.ValidateFields(ctx, it.Fields, &refChecker{s: s, q: q, stage: stage})
	if err != nil {
		if core.ErrorCode(err) != core.EInvalid {
			return 0, err
		}
		problems = append(problems, core.ErrorFields(err)...)
		if len(core.ErrorFields(err)) == 0 {
			problems = append(problems, core.FieldError{Path: "fields", Message: core.ErrorMessage(err)})
		}
	}
	if len(problems) > 0 {
		return 0, core.InvalidFields(fmt.Sprintf("the %s item is not valid", it.Type), problems)
	}
	it.Fields = norm
	return version, nil
}

func validLanguage(l string) bool {
	if l == "und" {
		return true
	}
	if len(l) < 2 || len(l) > 12 {
		return false
	}
	for i, c := range l {
		if !(c >= 'a' && c <= 'z' || c == '-' && i > 1) {
			return false
		}
	}
	return true
}

// CreateItem implements core.ItemService.
func (is *Items) CreateItem(ctx context.Context, stage core.ID, it *core.Item, log string) error {
	u := core.UserFromContext(ctx)
	if it.ID == core.NilID {
		it.ID = core.NewID()
	}
	if it.AuthorID == core.NilID {
		it.AuthorID = u.ID
	}
	if it.Status == "" {
		it.Status = core.StatusPublished
	}
	if it.Language == "" {
		it.Language = "und"
	}
	if it.TGroupID == core.NilID {
		it.TGroupID = it.ID
	}
	// Only content administrators (imports, the demo) may backdate an
	// item; its first revision then carries the same time, so pages built
	// from imported content are stable.
	if !it.CreatedAt.IsZero() {
		if ok, err := is.s.authz.HasPermission(ctx, u, core.PermAdministerContent); err != nil {
			return err
		} else if !ok {
			it.CreatedAt = time.Time{}
		}
	}
	if is.s.hooks != nil {
		if err := is.s.hooks.PresaveItem(ctx, stage, it, true); err != nil {
			return err
		}
	}
	backdated := !it.CreatedAt.IsZero()
	if !backdated {
		it.CreatedAt = is.s.now()
	}
	it.CreatedAt = it.CreatedAt.UTC().Truncate(time.Microsecond)
	err := is.s.inTx(ctx, func(tx *txn) error {
		st, err := is.s.stageFor(ctx, tx, stage, core.OpEdit)
		if err != nil {
			return err
		}
		if err := is.s.authz.Authorize(ctx, u, core.OpCreate, it); err != nil {
			return err
		}
		if it.AuthorID != u.ID {
			if err := is.s.authz.Require(ctx, u, core.PermAdministerContent); err != nil {
				return core.Errorf(core.EForbidden, "only content administrators may create items for another author")
			}
		}
		if _, _, err := readStaged(ctx, tx, core.KindItem, st.ID, it.ID, false); err == nil {
			return core.Errorf(core.EConflict, "item %s exists already", it.ID)
		}
		version, err := is.s.validateItem(ctx, tx, st.ID, it)
		if err != nil {
			return err
		}
		w := stagedWrite{Kind: core.KindItem, Stage: st.ID, EntityID: it.ID, Doc: docOf(it), TypeVersion: version, Log: log}
		if backdated {
			w.CreatedAt = it.CreatedAt
		}
		r, err := tx.putStaged(ctx, w)
		if err != nil {
			return err
		}
		it.RevisionID, it.TypeVersion, it.ChangedAt = r.ID, version, r.CreatedAt
		if err := tx.autoAlias(ctx, st.ID, it); err != nil {
			return err
		}
		return tx.writeGrants(ctx, st.ID, it)
	})
	if err == nil && is.s.hooks != nil {
		is.s.hooks.ItemSaved(ctx, stage, it, true)
	}
	return err
}

// lockEntity takes row locks on the heads of an entity in stage and live,
// so concurrent writers of one entity run one after the other. Reads after
// it see what the previous writer committed.
func lockEntity(ctx context.Context, tx *txn, kind string, stage, id core.ID) error {
	_, err := tx.Exec(ctx, `SELECT 1 FROM head WHERE kind = $1 AND entity_id = $2 AND stage_id IN ($3, $4) FOR UPDATE`, kind, id, stage, core.LiveStageID)
	if err != nil {
		return fmt.Errorf("lock %s %s: %w", kind, id, TranslateError(err))
	}
	return nil
}

// lockForWrite opens a stage for editing, locks an item's heads there and
// in live, reads the item as the stage shows it, and checks the user may
// see it and do op (update or delete) to it.
func (is *Items) lockForWrite(ctx context.Context, tx *txn, stage, id core.ID, op string) (*core.Stage, *revision, *core.Item, error) {
	u := core.UserFromContext(ctx)
	st, err := is.s.stageFor(ctx, tx, stage, core.OpEdit)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := lockEntity(ctx, tx, core.KindItem, st.ID, id); err != nil {
		return nil, nil, nil, err
	}
	cur, _, err := readStaged(ctx, tx, core.KindItem, st.ID, id, false)
	if err != nil {
		return nil, nil, nil, err
	}
	it, err := itemFromRevision(cur)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := is.s.authz.Authorize(ctx, u, core.OpView, it); err != nil {
		return nil, nil, nil, err
	}
	if err := is.s.authz.Authorize(ctx, u, op, it); err != nil {
		return nil, nil, nil, err
	}
	return st, cur, it, nil
}

// UpdateItem implements core.ItemService.
func (is *Items) UpdateItem(ctx context.Context, stage, id core.ID, upd core.ItemUpdate) (*core.Item, error) {
	var out *core.Item
	err := is.s.inTx(ctx, func(tx *txn) error {
		var err error
		out, err = is.updateItemTx(ctx, tx, stage, id, upd)
		return err
	})
	if err == nil && is.s.hooks != nil {
		is.s.hooks.ItemSaved(ctx, stage, out, false)
	}
	return out, err
}

// updateItemTx writes an item's new revision inside tx (UpdateItem,
// ChangeItems); the caller runs the saved hook after the commit.
func (is *Items) updateItemTx(ctx context.Context, tx *txn, stage, id core.ID, upd core.ItemUpdate) (*core.Item, error) {
	u := core.UserFromContext(ctx)
	st, cur, it, err := is.lockForWrite(ctx, tx, stage, id, core.OpUpdate)
	if err != nil {
		return nil, err
	}
	if upd.IfRevision != nil && *upd.IfRevision != cur.ID {
		return nil, core.Errorf(core.EConflict, "item %s changed since revision %s; the current revision is %s", id, *upd.IfRevision, cur.ID)
	}
	if err := applyItemUpdate(it, upd); err != nil {
		return nil, err
	}
	if is.s.hooks != nil {
		if err := is.s.hooks.PresaveItem(ctx, st.ID, it, false); err != nil {
			return nil, err
		}
	}
	if upd.AuthorID != nil && *upd.AuthorID != cur.AuthorID {
		if err := is.s.authz.Require(ctx, u, core.PermAdministerContent); err != nil {
			return nil, core.Errorf(core.EForbidden, "only content administrators may change an item's author")
		}
	}
	version, err := is.s.validateItem(ctx, tx, st.ID, it)
	if err != nil {
		return nil, err
	}
	r, err := tx.putStaged(ctx, stagedWrite{Kind: core.KindItem, Stage: st.ID, EntityID: id, Parent: &cur.ID, Doc: docOf(it), TypeVersion: version, Log: upd.Log})
	if err != nil {
		return nil, err
	}
	it.RevisionID, it.TypeVersion, it.ChangedAt = r.ID, version, r.CreatedAt
	if err := tx.autoAlias(ctx, st.ID, it); err != nil {
		return nil, err
	}
	if err := tx.writeGrants(ctx, st.ID, it); err != nil {
		return nil, err
	}
	return it, nil
}

func applyItemUpdate(it *core.Item, upd core.ItemUpdate) error {
	if upd.Title != nil {
		it.Title = *upd.Title
	}
	if upd.Status != nil {
		it.Status = *upd.Status
	}
	if upd.Promote != nil {
		it.Promote = *upd.Promote
	}
	if upd.Sticky != nil {
		it.Sticky = *upd.Sticky
	}
	if upd.Language != nil {
		it.Language = *upd.Language
	}
	if upd.AuthorID != nil {
		it.AuthorID = *upd.AuthorID
	}
	if len(upd.Fields) > 0 {
		var cur, patch map[string]json.RawMessage
		if err := json.Unmarshal(it.Fields, &cur); err != nil || cur == nil {
			cur = map[string]json.RawMessage{}
		}
		if err := json.Unmarshal(upd.Fields, &patch); err != nil {
			return core.InvalidFields("fields must be a JSON object", []core.FieldError{{Path: "fields", Message: "must be a JSON object of field name to value"}})
		}
		for k, v := range patch {
			if string(v) == "null" {
				delete(cur, k)
			} else {
				cur[k] = v
			}
		}
		b, err := json.Marshal(cur)
		if err != nil {
			return core.InvalidFields("fields are not valid JSON", []core.FieldError{{Path: "fields", Message: err.Error()}})
		}
		it.Fields = b
	}
	return nil
}

// DeleteItem implements core.ItemService.
func (is *Items) DeleteItem(ctx context.Context, stage, id core.ID) error {
	var deleted *core.Item
	err := is.s.inTx(ctx, func(tx *txn) error {
		var err error
		deleted, err = is.deleteItemTx(ctx, tx, stage, id)
		return err
	})
	if err == nil && is.s.hooks != nil {
		is.s.hooks.ItemDeleted(ctx, stage, deleted)
	}
	return err
}

// deleteItemTx deletes (or, in a named stage, tombstones) an item inside
// tx and returns it as it was; the caller runs the deleted hook.
func (is *Items) deleteItemTx(ctx context.Context, tx *txn, stage, id core.ID) (*core.Item, error) {
	st, _, it, err := is.lockForWrite(ctx, tx, stage, id, core.OpDelete)
	if err != nil {
		return nil, err
	}
	if err := tx.dropGrants(ctx, st.ID, id); err != nil {
		return nil, err
	}
	return it, tx.deleteStaged(ctx, core.KindItem, st.ID, id)
}

// FindRevisions implements core.ItemService.
func (is *Items) FindRevisions(ctx context.Context, id core.ID) ([]*core.Revision, error) {
	rows, err := is.s.pool.Query(ctx, `SELECT `+revisionColumns+` FROM revision r WHERE r.kind = 'item' AND r.entity_id = $1 ORDER BY r.created_at DESC, r.id DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("find revisions: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []*core.Revision
	for rows.Next() {
		r, err := scanRevision(rows)
		if err != nil {
			return nil, fmt.Errorf("find revisions: %w", err)
		}
		out = append(out, r.core())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find revisions: %w", TranslateError(err))
	}
	if len(out) == 0 {
		return nil, core.Errorf(core.ENotFound, "item %s not found", id)
	}
	if err := is.authorizeRevision(ctx, out[0]); err != nil {
		return nil, err
	}
	return out, nil
}

// authorizeRevision lets a user read an item's history when they may view
// (or edit) its newest revision, and may view the stage it was made in.
func (is *Items) authorizeRevision(ctx context.Context, r *core.Revision) error {
	it, err := itemFromRevision(&revision{ID: r.ID, EntityID: r.EntityID, CreatedAt: r.CreatedAt, TypeVersion: r.TypeVersion, Doc: r.Doc})
	if err != nil {
		return err
	}
	u := core.UserFromContext(ctx)
	if err := is.s.authz.Authorize(ctx, u, core.OpView, it); err != nil {
		return err
	}
	if r.StageID != core.LiveStageID {
		if _, err := is.s.stageFor(ctx, is.s.pool, r.StageID, core.OpView); err != nil {
			return core.Errorf(core.ENotFound, "revision %s not found", r.ID)
		}
	}
	return nil
}

// FindRevisionByID implements core.ItemService.
func (is *Items) FindRevisionByID(ctx context.Context, id core.ID) (*core.Revision, error) {
	r, err := findRevision(ctx, is.s.pool, id)
	if err != nil {
		return nil, err
	}
	if r.Kind != core.KindItem {
		return nil, core.Errorf(core.ENotFound, "revision %s not found", id)
	}
	rev := r.core()
	if err := is.authorizeRevision(ctx, rev); err != nil {
		if core.ErrorCode(err) == core.ENotFound {
			return nil, core.Errorf(core.ENotFound, "revision %s not found", id)
		}
		return nil, err
	}
	return rev, nil
}

// RestoreRevision implements core.ItemService: the old content becomes a
// new revision on top of the current one, validated against today's type.
func (is *Items) RestoreRevision(ctx context.Context, stage, revID core.ID, log string) (*core.Item, error) {
	rev, err := is.FindRevisionByID(ctx, revID)
	if err != nil {
		return nil, err
	}
	old, err := itemFromRevision(&revision{ID: rev.ID, EntityID: rev.EntityID, Doc: rev.Doc})
	if err != nil {
		return nil, err
	}
	if log == "" {
		log = "Restored revision " + revID.String()
	}
	fields := old.Fields
	// Fields the old revision lacks are removed: send them as null.
	if cur, err := is.FindItemByID(ctx, stage, rev.EntityID); err == nil {
		var curMap, oldMap map[string]json.RawMessage
		_ = json.Unmarshal(cur.Fields, &curMap)
		_ = json.Unmarshal(old.Fields, &oldMap)
		if oldMap == nil {
			oldMap = map[string]json.RawMessage{}
		}
		for k := range curMap {
			if _, ok := oldMap[k]; !ok {
				oldMap[k] = json.RawMessage("null")
			}
		}
		fields, _ = json.Marshal(oldMap)
	} else {
		return nil, err
	}
	return is.UpdateItem(ctx, stage, rev.EntityID, core.ItemUpdate{Title: &old.Title, Status: &old.Status, Promote: &old.Promote,
		Sticky: &old.Sticky, Language: &old.Language, Fields: fields, Log: log})
}

// refChecker resolves references in the state a stage shows.
type refChecker struct {
	s     *Store
	q     querier
	stage core.ID
}

// ItemTypesOf returns the type of every id that exists in the stage.
func (rc *refChecker) ItemTypesOf(ctx context.Context, ids []core.ID) (map[core.ID]string, error) {
	out := map[core.ID]string{}
	if len(ids) == 0 {
		return out, nil
	}
	keys := liveItemKeys
	if rc.stage != core.LiveStageID {
		keys = stageItemKeys
	}
	rows, err := rc.q.Query(ctx, `SELECT k.id, k.type FROM `+keys+` k WHERE k.id = ANY($2)`, rc.stage, ids)
	if err != nil {
		return nil, fmt.Errorf("resolve item references: %w", TranslateError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var id core.ID
		var typ string
		if err := rows.Scan(&id, &typ); err != nil {
			return nil, err
		}
		out[id] = typ
	}
	return out, rows.Err()
}

// TermVocabularies returns the vocabulary of every term id that exists in
// the stage.
func (rc *refChecker) TermVocabularies(ctx context.Context, ids []core.ID) (map[core.ID]string, error) {
	out := map[core.ID]string{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := rc.q.Query(ctx, `SELECT t.id, t.vocabulary FROM `+stageTerms+` t WHERE t.id = ANY($2)`, rc.stage, ids)
	if err != nil {
		return nil, fmt.Errorf("resolve term references: %w", TranslateError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var id core.ID
		var voc string
		if err := rows.Scan(&id, &voc); err != nil {
			return nil, err
		}
		out[id] = voc
	}
	return out, rows.Err()
}

// FilesExist returns the MIME type and size of every file id that exists.
func (rc *refChecker) FilesExist(ctx context.Context, ids []core.ID) (map[core.ID]core.FileInfo, error) {
	out := map[core.ID]core.FileInfo{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := rc.q.Query(ctx, `SELECT id, mime, size FROM file WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("resolve file references: %w", TranslateError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var id core.ID
		var fi core.FileInfo
		if err := rows.Scan(&id, &fi.MIME, &fi.Size); err != nil {
			return nil, err
		}
		out[id] = fi
	}
	return out, rows.Err()
}
