package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// Staged implements core.StagedService for terms, aliases, menu links and
// plugin kinds: one mechanism, with a small spec per kind.
type Staged struct{ s *Store }

var _ core.StagedService = (*Staged)(nil)

// Staged returns the service for staged kinds other than items.
func (s *Store) Staged() *Staged { return &Staged{s} }

// kindSpec describes a staged kind other than items. A spec is never
// changed once published in kindSpecs: a plugin's new version replaces it.
type kindSpec struct {
	perm  string // permission guarding writes
	owner string // the plugin that registered it ("": the kernel's)
	// check validates and normalises a doc in the state stage shows.
	check func(ctx context.Context, tx *txn, stage, id core.ID, doc json.RawMessage) (json.RawMessage, error)
}

// kindSpecs is read by every staged request and written when a plugin
// loads (in the background, while requests run): kindsMu guards it.
var (
	kindsMu   sync.RWMutex
	kindSpecs = map[string]*kindSpec{
		core.KindTerm:     {perm: core.PermAdministerCategory, check: checkTerm},
		core.KindAlias:    {perm: core.PermAdministerAliases, check: checkAlias},
		core.KindMenuLink: {perm: core.PermAdministerMenus, check: checkMenuLink},
	}
)

// lookupKind returns the spec of a staged kind other than items, or nil.
func lookupKind(kind string) *kindSpec {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	return kindSpecs[kind]
}

func init() {
	projectors[core.KindTerm] = projectTerm
	projectors[core.KindAlias] = projectAlias
	projectors[core.KindMenuLink] = projectMenuLink
}

var reKind = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)

// RegisterKind declares a staged kind plugin owner owns, or changes the
// permission of one it registered before (a new version of the plugin
// may name another). Its documents are JSON objects; perm guards writes.
// The kernel's kinds and another plugin's cannot be registered.
func RegisterKind(kind, owner, perm string) error {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	if !reKind.MatchString(kind) || kind == core.KindItem || owner == "" {
		return core.Errorf(core.EInvalid, "staged kind %q is not a valid new kind name", kind)
	}
	if old := kindSpecs[kind]; old != nil && old.owner != owner {
		if old.owner == "" {
			return core.Errorf(core.EInvalid, "staged kind %q is the kernel's", kind)
		}
		return core.Errorf(core.EConflict, "staged kind %q belongs to plugin %s", kind, old.owner)
	}
	kindSpecs[kind] = &kindSpec{perm: perm, owner: owner, check: func(_ context.Context, _ *txn, _, _ core.ID, doc json.RawMessage) (json.RawMessage, error) {
		var m map[string]any
		if err := json.Unmarshal(doc, &m); err != nil {
			return nil, core.Errorf(core.EInvalid, "%s: document must be a JSON object", kind)
		}
		return doc, nil
	}}
	return nil
}

// KindPermission is the permission guarding writes to a staged kind
// other than items ("" for an unknown kind).
func KindPermission(kind string) string {
	if sp := lookupKind(kind); sp != nil {
		return sp.perm
	}
	return ""
}

// overlay is the one SQL shape for a staged kind as a stage shows it:
// live's heads, replaced by the stage's overrides, minus its tombstones,
// plus its creations. $1 is the stage id; kind is a validated constant.
func overlay(kind string) string {
	if !reKind.MatchString(kind) {
		panic("overlay: bad kind " + kind)
	}
	return `(
	SELECT h.entity_id, h.revision_id FROM head h
	WHERE h.stage_id = '` + core.LiveStageID.String() + `' AND h.kind = '` + kind + `'
	  AND NOT EXISTS (SELECT 1 FROM head o WHERE o.stage_id = $1 AND o.kind = h.kind AND o.entity_id = h.entity_id)
	UNION ALL
	SELECT h.entity_id, h.revision_id FROM head h WHERE h.stage_id = $1 AND h.kind = '` + kind + `' AND NOT h.deleted
)`
}

// stageTerms lists terms (id, vocabulary, parents) as stage $1 shows them.
var stageTerms = `(SELECT ov.entity_id AS id, r.doc->>'vocabulary' AS vocabulary, r.doc AS doc
	FROM ` + overlay(core.KindTerm) + ` ov JOIN revision r ON r.id = ov.revision_id)`

func (st *Staged) spec(kind string) (*kindSpec, error) {
	sp := lookupKind(kind)
	if sp == nil {
		return nil, core.Errorf(core.EInvalid, "unknown staged kind %q", kind)
	}
	return sp, nil
}

// FindStaged implements core.StagedService.
func (st *Staged) FindStaged(ctx context.Context, kind string, stage, id core.ID) (*core.StagedDoc, error) {
	if _, err := st.spec(kind); err != nil {
		return nil, err
	}
	s, err := st.s.stageFor(ctx, st.s.pool, stage, core.OpView)
	if err != nil {
		return nil, err
	}
	r, _, err := readStaged(ctx, st.s.pool, kind, s.ID, id, false)
	if err != nil {
		return nil, err
	}
	return &core.StagedDoc{Kind: kind, ID: id, RevisionID: r.ID, Doc: r.Doc}, nil
}

// FindStagedDocs implements core.StagedService.
func (st *Staged) FindStagedDocs(ctx context.Context, kind string, stage core.ID) ([]*core.StagedDoc, error) {
	if _, err := st.spec(kind); err != nil {
		return nil, err
	}
	s, err := st.s.stageFor(ctx, st.s.pool, stage, core.OpView)
	if err != nil {
		return nil, err
	}
	return listStaged(ctx, st.s.pool, kind, s.ID)
}

func listStaged(ctx context.Context, q querier, kind string, stage core.ID) ([]*core.StagedDoc, error) {
	rows, err := q.Query(ctx, `SELECT ov.entity_id, r.id, r.doc FROM `+overlay(kind)+` ov JOIN revision r ON r.id = ov.revision_id
		ORDER BY (r.doc->>'weight')::int NULLS FIRST, r.doc->>'name', r.doc->>'title', r.doc->>'alias', ov.entity_id`, stage)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, TranslateError(err))
	}
	defer rows.Close()
	var out []*core.StagedDoc
	for rows.Next() {
		d := &core.StagedDoc{Kind: kind}
		var doc []byte
		if err := rows.Scan(&d.ID, &d.RevisionID, &doc); err != nil {
			return nil, fmt.Errorf("list %s: %w", kind, err)
		}
		d.Doc = doc
		out = append(out, d)
	}
	return out, rows.Err()
}

// PutStaged implements core.StagedService.
func (st *Staged) PutStaged(ctx context.Context, kind string, stage, id core.ID, doc json.RawMessage, ifRevision *core.ID, log string) (*core.StagedDoc, error) {
	sp, err := st.spec(kind)
	if err != nil {
		return nil, err
	}
	if id == core.NilID {
		id = core.NewID()
	}
	var out *core.StagedDoc
	err = st.s.inTx(ctx, func(tx *txn) error {
		s, err := st.s.stageFor(ctx, tx, stage, core.OpEdit)
		if err != nil {
			return err
		}
		if err := st.s.authz.Require(ctx, core.UserFromContext(ctx), sp.perm); err != nil {
			return err
		}
		if err := lockEntity(ctx, tx, kind, s.ID, id); err != nil {
			return err
		}
		var parent *core.ID
		cur, _, err := readStaged(ctx, tx, kind, s.ID, id, false)
		switch {
		case err == nil:
			parent = &cur.ID
		case core.ErrorCode(err) != core.ENotFound:
			return err
		}
		if ifRevision != nil && (parent == nil || *parent != *ifRevision) {
			return core.Errorf(core.EConflict, "%s %s changed since revision %s", kind, id, *ifRevision)
		}
		norm, err := sp.check(ctx, tx, s.ID, id, doc)
		if err != nil {
			return err
		}
		r, err := tx.putStaged(ctx, stagedWrite{Kind: kind, Stage: s.ID, EntityID: id, Parent: parent, Doc: norm, Log: log})
		if err != nil {
			return err
		}
		out = &core.StagedDoc{Kind: kind, ID: id, RevisionID: r.ID, Doc: r.Doc}
		return nil
	})
	return out, err
}

// DeleteStaged implements core.StagedService.
func (st *Staged) DeleteStaged(ctx context.Context, kind string, stage, id core.ID) error {
	sp, err := st.spec(kind)
	if err != nil {
		return err
	}
	return st.s.inTx(ctx, func(tx *txn) error {
		s, err := st.s.stageFor(ctx, tx, stage, core.OpEdit)
		if err != nil {
			return err
		}
		if err := st.s.authz.Require(ctx, core.UserFromContext(ctx), sp.perm); err != nil {
			return err
		}
		if err := lockEntity(ctx, tx, kind, s.ID, id); err != nil {
			return err
		}
		return tx.deleteStaged(ctx, kind, s.ID, id)
	})
}

// strictDecode decodes doc into v, refusing unknown fields.
func strictDecode(kind string, doc json.RawMessage, v any) error {
	if !utf8.Valid(doc) {
		return core.Errorf(core.EInvalid, "%s: document is not valid UTF-8", kind)
	}
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return core.Errorf(core.EInvalid, "%s: %v", kind, err)
	}
	return nil
}

func configExists(ctx context.Context, q querier, kind, name string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM config_doc WHERE kind = $1 AND name = $2)`, kind, name).Scan(&ok)
	if err != nil {
		return false, TranslateError(err)
	}
	return ok, nil
}

func checkText(path, s string, max int) *core.FieldError {
	switch {
	case strings.TrimSpace(s) == "":
		return &core.FieldError{Path: path, Message: "must not be empty"}
	case utf8.RuneCountInString(s) > max:
		return &core.FieldError{Path: path, Message: fmt.Sprintf("must be at most %d characters", max)}
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return &core.FieldError{Path: path, Message: "must not contain control characters"}
		}
	}
	return nil
}

func checkTerm(ctx context.Context, tx *txn, stage, id core.ID, doc json.RawMessage) (json.RawMessage, error) {
	var t core.Term
	if err := strictDecode("term", doc, &t); err != nil {
		return nil, err
	}
	t.ID, t.RevisionID = id, core.NilID
	var problems []core.FieldError
	if fe := checkText("name", t.Name, 255); fe != nil {
		problems = append(problems, *fe)
	}
	if ok, err := configExists(ctx, tx, "vocabulary", t.Vocabulary); err != nil {
		return nil, err
	} else if !ok {
		problems = append(problems, core.FieldError{Path: "vocabulary", Message: fmt.Sprintf("vocabulary %q does not exist", t.Vocabulary)})
	}
	if t.Parents == nil {
		t.Parents = []core.ID{}
	}
	if len(t.Parents) > 0 {
		terms, err := stagedTermGraph(ctx, tx, stage)
		if err != nil {
			return nil, err
		}
		for i, p := range t.Parents {
			pt, ok := terms[p]
			switch {
			case p == id:
				problems = append(problems, core.FieldError{Path: fmt.Sprintf("parents[%d]", i), Message: "a term cannot be its own parent"})
			case !ok:
				problems = append(problems, core.FieldError{Path: fmt.Sprintf("parents[%d]", i), Message: fmt.Sprintf("term %s does not exist", p)})
			case pt.Vocabulary != t.Vocabulary:
				problems = append(problems, core.FieldError{Path: fmt.Sprintf("parents[%d]", i), Message: fmt.Sprintf("term %s is in vocabulary %q", p, pt.Vocabulary)})
			}
		}
		if len(problems) == 0 {
			terms[id] = &t
			if cyc := termCycle(terms, id); cyc != nil {
				problems = append(problems, core.FieldError{Path: "parents", Message: "would form a cycle: " + joinIDs(cyc)})
			}
		}
	}
	if len(problems) > 0 {
		return nil, core.InvalidFields("the term is not valid", problems)
	}
	return json.Marshal(t)
}

// stagedTermGraph loads every term as stage shows it.
func stagedTermGraph(ctx context.Context, q querier, stage core.ID) (map[core.ID]*core.Term, error) {
	docs, err := listStaged(ctx, q, core.KindTerm, stage)
	if err != nil {
		return nil, err
	}
	out := make(map[core.ID]*core.Term, len(docs))
	for _, d := range docs {
		t := &core.Term{}
		if err := json.Unmarshal(d.Doc, t); err != nil {
			return nil, fmt.Errorf("decode term %s: %w", d.ID, err)
		}
		t.ID = d.ID
		out[d.ID] = t
	}
	return out, nil
}

// termCycle returns a cycle through start in the parent graph, or nil.
func termCycle(terms map[core.ID]*core.Term, start core.ID) []core.ID {
	return findCycle(start, func(id core.ID) []core.ID {
		if t := terms[id]; t != nil {
			return t.Parents
		}
		return nil
	})
}

// findCycle walks parent edges from start and returns the path of a cycle
// that comes back to start, or nil.
func findCycle(start core.ID, parents func(core.ID) []core.ID) []core.ID {
	seen := map[core.ID]bool{}
	var path []core.ID
	var walk func(id core.ID) bool
	walk = func(id core.ID) bool {
		path = append(path, id)
		for _, p := range parents(id) {
			if p == start {
				path = append(path, p)
				return true
			}
			if !seen[p] {
				seen[p] = true
				if walk(p) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		return false
	}
	if walk(start) {
		return path
	}
	return nil
}

func joinIDs(ids []core.ID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, " -> ")
}

var reAlias = regexp.MustCompile(`^/[\p{L}\p{N}\-._~!$&'()*+,;=:@%/]*$`)

func checkPath(field, p string) *core.FieldError {
	switch {
	case !utf8.ValidString(p):
		return &core.FieldError{Path: field, Message: "must be valid UTF-8"}
	case len(p) > 1024:
		return &core.FieldError{Path: field, Message: "must be at most 1024 bytes"}
	case !reAlias.MatchString(p) || strings.Contains(p, "//") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") || strings.Contains(p, "/./"):
		return &core.FieldError{Path: field, Message: "must be a root-relative path such as /about (no spaces, query strings or dot segments)"}
	}
	return nil
}

func checkAlias(ctx context.Context, tx *txn, stage, id core.ID, doc json.RawMessage) (json.RawMessage, error) {
	var a core.Alias
	if err := strictDecode("alias", doc, &a); err != nil {
		return nil, err
	}
	a.ID, a.RevisionID = id, core.NilID
	if a.Language == "" {
		a.Language = "und"
	}
	a.Alias = strings.TrimSuffix(a.Alias, "/")
	var problems []core.FieldError
	if fe := checkPath("alias", a.Alias); fe != nil {
		problems = append(problems, *fe)
	} else if a.Alias == "" {
		problems = append(problems, core.FieldError{Path: "alias", Message: "must not be the front page"})
	}
	if fe := checkPath("path", a.Path); fe != nil {
		problems = append(problems, *fe)
	}
	if !validLanguage(a.Language) {
		problems = append(problems, core.FieldError{Path: "language", Message: "must be a language code or und"})
	}
	if len(problems) == 0 {
		var other core.ID
		err := tx.QueryRow(ctx, `SELECT ov.entity_id FROM `+overlay(core.KindAlias)+` ov JOIN revision r ON r.id = ov.revision_id
			WHERE r.kind = 'alias' AND r.doc->>'alias' = $2 AND r.doc->>'language' = $3 AND ov.entity_id <> $4 LIMIT 1`, stage, a.Alias, a.Language, id).Scan(&other)
		if err == nil {
			problems = append(problems, core.FieldError{Path: "alias", Message: fmt.Sprintf("%s is already used by alias %s", a.Alias, other)})
		} else if core.ErrorCode(TranslateError(err)) != core.ENotFound {
			return nil, fmt.Errorf("check alias: %w", TranslateError(err))
		}
	}
	if len(problems) > 0 {
		return nil, core.InvalidFields("the alias is not valid", problems)
	}
	return json.Marshal(a)
}

func checkMenuLink(ctx context.Context, tx *txn, stage, id core.ID, doc json.RawMessage) (json.RawMessage, error) {
	var m core.MenuLink
	if err := strictDecode("menu_link", doc, &m); err != nil {
		return nil, err
	}
	m.ID, m.RevisionID = id, core.NilID
	var problems []core.FieldError
	if fe := checkText("title", m.Title, 255); fe != nil {
		problems = append(problems, *fe)
	}
	if !strings.HasPrefix(m.Path, "https://") && !strings.HasPrefix(m.Path, "http://") {
		if fe := checkPath("path", m.Path); fe != nil {
			problems = append(problems, *fe)
		}
	} else if len(m.Path) > 2048 || strings.ContainsAny(m.Path, " \t\n<>\"") {
		problems = append(problems, core.FieldError{Path: "path", Message: "must be a valid URL"})
	}
	if ok, err := configExists(ctx, tx, "menu", m.Menu); err != nil {
		return nil, err
	} else if !ok {
		problems = append(problems, core.FieldError{Path: "menu", Message: fmt.Sprintf("menu %q does not exist", m.Menu)})
	}
	if m.ParentID != nil && len(problems) == 0 {
		links, err := stagedMenuGraph(ctx, tx, stage)
		if err != nil {
			return nil, err
		}
		p, ok := links[*m.ParentID]
		switch {
		case *m.ParentID == id:
			problems = append(problems, core.FieldError{Path: "parent_id", Message: "a link cannot be its own parent"})
		case !ok:
			problems = append(problems, core.FieldError{Path: "parent_id", Message: fmt.Sprintf("menu link %s does not exist", *m.ParentID)})
		case p.Menu != m.Menu:
			problems = append(problems, core.FieldError{Path: "parent_id", Message: fmt.Sprintf("menu link %s is in menu %q", *m.ParentID, p.Menu)})
		default:
			links[id] = &m
			if cyc := menuCycle(links, id); cyc != nil {
				problems = append(problems, core.FieldError{Path: "parent_id", Message: "would form a cycle: " + joinIDs(cyc)})
			}
		}
	}
	if len(problems) > 0 {
		return nil, core.InvalidFields("the menu link is not valid", problems)
	}
	return json.Marshal(m)
}

func stagedMenuGraph(ctx context.Context, q querier, stage core.ID) (map[core.ID]*core.MenuLink, error) {
	docs, err := listStaged(ctx, q, core.KindMenuLink, stage)
	if err != nil {
		return nil, err
	}
	out := make(map[core.ID]*core.MenuLink, len(docs))
	for _, d := range docs {
		m := &core.MenuLink{}
		if err := json.Unmarshal(d.Doc, m); err != nil {
			return nil, fmt.Errorf("decode menu link %s: %w", d.ID, err)
		}
		m.ID = d.ID
		out[d.ID] = m
	}
	return out, nil
}

func menuCycle(links map[core.ID]*core.MenuLink, start core.ID) []core.ID {
	return findCycle(start, func(id core.ID) []core.ID {
		if l := links[id]; l != nil && l.ParentID != nil {
			return []core.ID{*l.ParentID}
		}
		return nil
	})
}

func projectTerm(ctx context.Context, tx *txn, id core.ID, r *revision) error {
	if r == nil {
		_, err := tx.Exec(ctx, `DELETE FROM term WHERE id = $1`, id)
		return TranslateError(err)
	}
	var t core.Term
	if err := json.Unmarshal(r.Doc, &t); err != nil {
		return fmt.Errorf("project term %s: %w", id, err)
	}
	if t.Parents == nil {
		t.Parents = []core.ID{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO term (id, vocabulary, name, description, parents, weight, revision_id) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET vocabulary = EXCLUDED.vocabulary, name = EXCLUDED.name, description = EXCLUDED.description,
			parents = EXCLUDED.parents, weight = EXCLUDED.weight, revision_id = EXCLUDED.revision_id`,
		id, t.Vocabulary, t.Name, t.Description, t.Parents, t.Weight, r.ID)
	if err != nil {
		return fmt.Errorf("project term %s: %w", id, TranslateError(err))
	}
	return nil
}

func projectAlias(ctx context.Context, tx *txn, id core.ID, r *revision) error {
	if r == nil {
		_, err := tx.Exec(ctx, `DELETE FROM path_alias WHERE id = $1`, id)
		return TranslateError(err)
	}
	var a core.Alias
	if err := json.Unmarshal(r.Doc, &a); err != nil {
		return fmt.Errorf("project alias %s: %w", id, err)
	}
	var old, oldLang string
	switch err := tx.QueryRow(ctx, `SELECT alias, language FROM path_alias WHERE id = $1`, id).Scan(&old, &oldLang); {
	case err == nil:
		if oldLang == a.Language {
			if err := tx.recordRedirect(ctx, old, a.Alias, a.Language); err != nil {
				return fmt.Errorf("project alias %s: %w", id, err)
			}
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("project alias %s: %w", id, TranslateError(err))
	}
	_, err := tx.Exec(ctx, `INSERT INTO path_alias (id, alias, language, path, revision_id) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET alias = EXCLUDED.alias, language = EXCLUDED.language, path = EXCLUDED.path, revision_id = EXCLUDED.revision_id`,
		id, a.Alias, a.Language, a.Path, r.ID)
	if err != nil {
		if core.ErrorCode(TranslateError(err)) == core.EConflict {
			return core.Errorf(core.EConflict, "alias %s (%s) is already in use", a.Alias, a.Language)
		}
		return fmt.Errorf("project alias %s: %w", id, TranslateError(err))
	}
	return nil
}

func projectMenuLink(ctx context.Context, tx *txn, id core.ID, r *revision) error {
	if r == nil {
		_, err := tx.Exec(ctx, `DELETE FROM menu_link WHERE id = $1`, id)
		return TranslateError(err)
	}
	var m core.MenuLink
	if err := json.Unmarshal(r.Doc, &m); err != nil {
		return fmt.Errorf("project menu link %s: %w", id, err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO menu_link (id, menu, title, path, parent_id, weight, revision_id) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET menu = EXCLUDED.menu, title = EXCLUDED.title, path = EXCLUDED.path, parent_id = EXCLUDED.parent_id,
			weight = EXCLUDED.weight, revision_id = EXCLUDED.revision_id`,
		id, m.Menu, m.Title, m.Path, m.ParentID, m.Weight, r.ID)
	if err != nil {
		return fmt.Errorf("project menu link %s: %w", id, TranslateError(err))
	}
	return nil
}

// FindStagedRevisions lists the revisions of an entity of a staged kind
// other than items, newest first; ENOTFOUND when it has none. Terms,
// aliases and menu links are public, so anyone may read their history.
func (st *Staged) FindStagedRevisions(ctx context.Context, kind string, id core.ID) ([]*core.Revision, error) {
	if _, err := st.spec(kind); err != nil {
		return nil, err
	}
	rows, err := st.s.pool.Query(ctx, `SELECT `+revisionColumns+` FROM revision r WHERE r.kind = $1 AND r.entity_id = $2 ORDER BY r.created_at DESC, r.id DESC`, kind, id)
	if err != nil {
		return nil, fmt.Errorf("find %s revisions: %w", kind, TranslateError(err))
	}
	defer rows.Close()
	var out []*core.Revision
	for rows.Next() {
		r, err := scanRevision(rows)
		if err != nil {
			return nil, fmt.Errorf("find %s revisions: %w", kind, err)
		}
		out = append(out, r.core())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find %s revisions: %w", kind, TranslateError(err))
	}
	if len(out) == 0 {
		return nil, core.Errorf(core.ENotFound, "%s %s not found", kind, id)
	}
	return out, nil
}

// FindStagedRevision returns one revision of a staged kind other than
// items; ENOTFOUND if it does not exist or is of another kind.
func (st *Staged) FindStagedRevision(ctx context.Context, kind string, rev core.ID) (*core.Revision, error) {
	if _, err := st.spec(kind); err != nil {
		return nil, err
	}
	r, err := findRevision(ctx, st.s.pool, rev)
	if err != nil {
		return nil, err
	}
	if r.Kind != kind {
		return nil, core.Errorf(core.ENotFound, "%s revision %s not found", kind, rev)
	}
	return r.core(), nil
}
