package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
	"golang.org/x/text/unicode/norm"

	"github.com/trovato/trovato/core"
)

// aliasPattern is the part of an alias_pattern config document used here.
type aliasPattern struct {
	ItemType string `json:"item_type"`
	Pattern  string `json:"pattern"`
	Language string `json:"language"`
}

// patternFor returns the alias pattern for an item: one for its language
// first, then one for any language; "" when none applies.
func patternFor(ctx context.Context, q querier, it *core.Item) (string, error) {
	rows, err := q.Query(ctx, `SELECT body FROM config_doc WHERE kind = 'alias_pattern' AND body->>'item_type' = $1 ORDER BY name`, it.Type)
	if err != nil {
		return "", fmt.Errorf("alias patterns: %w", TranslateError(err))
	}
	defer rows.Close()
	var any, lang string
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return "", err
		}
		var p aliasPattern
		if json.Unmarshal(body, &p) != nil {
			continue
		}
		switch {
		case p.Language == "" && any == "":
			any = p.Pattern
		case p.Language != "" && p.Language == it.Language && lang == "":
			lang = p.Pattern
		}
	}
	if lang != "" {
		return lang, rows.Err()
	}
	return any, rows.Err()
}

var translit = map[rune]string{'ß': "ss", 'æ': "ae", 'Æ': "ae", 'ø': "o", 'Ø': "o", 'ł': "l", 'Ł': "l", 'đ': "d", 'Đ': "d",
	'þ': "th", 'Þ': "th", 'œ': "oe", 'Œ': "oe", 'ı': "i"}

// Slug turns text into a path segment: lowercase letters and digits of any
// script, accents removed from Latin letters, everything else folded into
// single hyphens; at most 80 characters.
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if t, ok := translit[r]; ok {
			b.WriteString(t)
			dash = false
			continue
		}
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if r := []rune(out); len(r) > 80 {
		out = strings.TrimRight(string(r[:80]), "-")
	}
	return out
}

// expandPattern fills a pattern's tokens for an item.
func expandPattern(pattern string, it *core.Item) string {
	title := Slug(it.Title)
	if title == "" {
		title = it.ID.String()
	}
	r := strings.NewReplacer("[type]", Slug(it.Type), "[title]", title, "[id]", it.ID.String(), "[language]", it.Language,
		"[year]", it.CreatedAt.UTC().Format("2006"), "[month]", it.CreatedAt.UTC().Format("01"), "[day]", it.CreatedAt.UTC().Format("02"))
	segs := strings.Split(r.Replace(pattern), "/")
	out := segs[:0]
	for _, s := range segs {
		if s != "" && s != "." && s != ".." {
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

// autoAlias gives an item the alias its type's pattern makes, in the stage
// the item was written to: a new item without an alias gets one; an item
// whose alias was generated follows its title. A taken alias gets -2, -3,
// ... appended. Aliases edited by hand are left alone, and so is an item
// that has a language-neutral (und) alias.
func (tx *txn) autoAlias(ctx context.Context, stage core.ID, it *core.Item) error {
	pattern, err := patternFor(ctx, tx, it)
	if err != nil || pattern == "" {
		return err
	}
	path := "/item/" + it.ID.String()
	lang := it.Language
	var cur *core.Alias
	var curRev core.ID
	rows, err := tx.Query(ctx, `SELECT ov.entity_id, r.id, r.doc FROM `+overlay(core.KindAlias)+` ov JOIN revision r ON r.id = ov.revision_id
		WHERE r.kind = 'alias' AND r.doc->>'path' = $2 AND r.doc->>'language' IN ($3, 'und')
		ORDER BY r.doc->>'language' = $3 DESC, ov.entity_id LIMIT 1`, stage, path, lang)
	if err != nil {
		return fmt.Errorf("find alias: %w", TranslateError(err))
	}
	for rows.Next() {
		var id, rev core.ID
		var doc []byte
		if err := rows.Scan(&id, &rev, &doc); err != nil {
			rows.Close()
			return err
		}
		cur = &core.Alias{}
		_ = json.Unmarshal(doc, cur)
		cur.ID, curRev = id, rev
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return TranslateError(err)
	}
	if cur != nil && !cur.Auto {
		return nil // edited by hand
	}
	if cur != nil {
		lang = cur.Language
	}
	base := expandPattern(pattern, it)
	if base == "/" {
		return nil
	}
	want := base
	for n := 2; ; n++ {
		var owner core.ID
		err := tx.QueryRow(ctx, `SELECT ov.entity_id FROM `+overlay(core.KindAlias)+` ov JOIN revision r ON r.id = ov.revision_id
			WHERE r.kind = 'alias' AND r.doc->>'alias' = $2 AND r.doc->>'language' = $3 LIMIT 1`, stage, want, lang).Scan(&owner)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && cur != nil && owner == cur.ID) {
			break
		} else if err != nil {
			return fmt.Errorf("check alias: %w", TranslateError(err))
		}
		if n > 1000 {
			return core.Errorf(core.EConflict, "no free alias for %s", base)
		}
		want = base + "-" + strconv.Itoa(n)
	}
	if cur != nil && cur.Alias == want {
		return nil
	}
	a := core.Alias{Alias: want, Language: lang, Path: path, Auto: true}
	id := core.NewID()
	var parent *core.ID
	if cur != nil {
		id, parent = cur.ID, &curRev
	}
	a.ID = id
	doc, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = tx.putStaged(ctx, stagedWrite{Kind: core.KindAlias, Stage: stage, EntityID: id, Parent: parent, Doc: doc, Log: "automatic alias"})
	return err
}

// FindRedirect returns where a former live alias now points; ENOTFOUND if
// it is not a former alias.
func (s *Store) FindRedirect(ctx context.Context, path, language string) (string, error) {
	var target string
	err := s.pool.QueryRow(ctx, `SELECT target FROM path_redirect WHERE source = $1 AND language IN ($2, 'und') ORDER BY language = 'und' LIMIT 1`, path, language).Scan(&target)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", core.Errorf(core.ENotFound, "no redirect for %s", path)
	} else if err != nil {
		return "", fmt.Errorf("find redirect: %w", TranslateError(err))
	}
	return target, nil
}

// recordRedirect remembers that a live alias moved from old to new.
func (tx *txn) recordRedirect(ctx context.Context, old, new, language string) error {
	if old == "" || old == new {
		return nil
	}
	// The new alias is a real path now; any redirect from it is stale, and
	// redirects to the old alias follow it to the new one.
	if _, err := tx.Exec(ctx, `DELETE FROM path_redirect WHERE source = $1 AND language = $2`, new, language); err != nil {
		return TranslateError(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE path_redirect SET target = $2 WHERE target = $1 AND language = $3`, old, new, language); err != nil {
		return TranslateError(err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO path_redirect (source, language, target) VALUES ($1, $2, $3)
		ON CONFLICT (source, language) DO UPDATE SET target = EXCLUDED.target, created_at = now()`, old, language, new)
	return TranslateError(err)
}

var (
	_ core.AliasDeltas = (*Store)(nil)
	_ core.AliasDeltas = (*Feed)(nil)
)

// AliasDeltas implements core.AliasDeltas in one query: the paths of each
// alias change's revision and of the revision it replaced (the release
// entry's previous revision for a publish, else the revision's parent).
// A change in any stage is read the same way.
func (s *Store) AliasDeltas(ctx context.Context, changes []core.Change) ([]*core.AliasDelta, error) {
	out := make([]*core.AliasDelta, len(changes))
	every := func(core.Change) bool { return true }
	err := s.replacedRevisions(ctx, core.KindAlias, changes, every, func(i int, now, was []byte) {
		type paths struct {
			Alias *string `json:"alias"`
			Path  *string `json:"path"`
		}
		var n, w paths
		if now == nil || json.Unmarshal(now, &n) != nil || n.Alias == nil || n.Path == nil {
			return // not an alias document: unknown
		}
		if was != nil {
			_ = json.Unmarshal(was, &w) // an unreadable predecessor adds no paths
		}
		d := &core.AliasDelta{}
		for _, p := range []*string{n.Alias, n.Path, w.Alias, w.Path} {
			if p != nil && *p != "" && !slices.Contains(d.Paths, *p) {
				d.Paths = append(d.Paths, *p)
			}
		}
		out[i] = d
	})
	if err != nil {
		return nil, fmt.Errorf("alias deltas: %w", err)
	}
	return out, nil
}

// AliasDeltas implements core.AliasDeltas for the feed's readers.
func (f *Feed) AliasDeltas(ctx context.Context, changes []core.Change) ([]*core.AliasDelta, error) {
	return f.s.AliasDeltas(ctx, changes)
}
