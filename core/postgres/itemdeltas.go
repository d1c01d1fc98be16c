package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/trovato/trovato/core"
)

var _ core.ItemDeltas = (*Store)(nil)

// ItemDeltas implements core.ItemDeltas in one query: each live item
// change's revision is compared with the live revision it replaced — the
// release entry's previous revision for a publish, else the revision's
// parent (a live save is made from live's head). A delete, or a revision
// whose predecessor is not stored, has Members set.
func (s *Store) ItemDeltas(ctx context.Context, changes []core.Change) ([]*core.ItemDelta, error) {
	out := make([]*core.ItemDelta, len(changes))
	live := func(c core.Change) bool { return c.StageID == nil || *c.StageID == core.LiveStageID }
	err := s.replacedRevisions(ctx, core.KindItem, changes, live, func(i int, now, was []byte) {
		out[i] = itemDelta(changes[i].Op, now, was)
	})
	if err != nil {
		return nil, fmt.Errorf("item deltas: %w", err)
	}
	return out, nil
}

// replacedRevisions reads, in one query, the document of each change of
// kind that keep accepts and the document of the revision it replaced:
// the release entry's previous revision for a publish or rollback, else
// the revision's parent. each gets the change's index and both documents
// (nil when not stored).
func (s *Store) replacedRevisions(ctx context.Context, kind string, changes []core.Change, keep func(core.Change) bool, each func(i int, now, was []byte)) error {
	var (
		idx       []int32
		revs, rel []*core.ID
		ents      []string
	)
	for i, c := range changes {
		if c.Kind != kind || c.RevisionID == nil || !keep(c) {
			continue
		}
		idx = append(idx, int32(i))
		revs, rel, ents = append(revs, c.RevisionID), append(rel, c.ReleaseID), append(ents, c.EntityID)
	}
	if len(idx) == 0 {
		return nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT u.i, nr.doc, pr.doc
		FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::text[]) AS u(i, rev, rel, ent)
		LEFT JOIN revision nr ON nr.id = u.rev
		LEFT JOIN release_entry re ON u.rel IS NOT NULL AND re.release_id = u.rel AND re.kind = $5 AND re.entity_id::text = u.ent
		LEFT JOIN revision pr ON pr.id = CASE WHEN u.rel IS NOT NULL THEN re.prev_revision_id ELSE nr.parent_id END`,
		idx, revs, rel, ents, kind)
	if err != nil {
		return TranslateError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			i        int32
			now, was []byte
		)
		if err := rows.Scan(&i, &now, &was); err != nil {
			return err
		}
		each(int(i), now, was)
	}
	return rows.Err()
}

// itemDelta compares two item revision documents (was nil: none before).
func itemDelta(op string, now, was []byte) *core.ItemDelta {
	var n, w itemDoc
	if now == nil || json.Unmarshal(now, &n) != nil || n.Type == "" {
		return nil
	}
	d := &core.ItemDelta{Types: []string{n.Type}}
	if op == core.ChangeDelete || op == core.ChangeCreate || was == nil {
		// A delete's revision is the one it removed; a create, or a change
		// whose predecessor is unknown, may enter any listing.
		d.Members = true
		return d
	}
	if json.Unmarshal(was, &w) != nil || w.Type == "" {
		d.Members = true
		return d
	}
	if w.Type != n.Type {
		d.Types = append(d.Types, w.Type)
		d.Members = true
	}
	if w.Status != n.Status {
		d.Members = true
		d.Changed = append(d.Changed, "status")
	}
	// Every save is a new revision: its changed time moves.
	d.Changed = append(d.Changed, "changed")
	prop := func(name string, same bool) {
		if !same {
			d.Changed = append(d.Changed, name)
		}
	}
	prop("title", w.Title == n.Title)
	prop("author", w.AuthorID == n.AuthorID)
	prop("created", w.CreatedAt.Truncate(time.Microsecond).Equal(n.CreatedAt.Truncate(time.Microsecond)))
	prop("promote", w.Promote == n.Promote)
	prop("sticky", w.Sticky == n.Sticky)
	prop("language", w.Language == n.Language)
	var nf, wf map[string]json.RawMessage
	if json.Unmarshal(n.Fields, &nf) != nil || json.Unmarshal(w.Fields, &wf) != nil {
		d.Members = true
		return d
	}
	var fields []string
	for k, v := range nf {
		if o, ok := wf[k]; !ok || !sameJSON(o, v) {
			fields = append(fields, k)
		}
	}
	for k := range wf {
		if _, ok := nf[k]; !ok {
			fields = append(fields, k)
		}
	}
	sort.Strings(fields)
	d.Changed = append(d.Changed, fields...)
	return d
}

// sameJSON compares two JSON values as jsonb stores them (one spelling
// per value), tolerating whitespace.
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

var _ core.ItemDeltas = (*Feed)(nil)

// ItemDeltas implements core.ItemDeltas for the feed's readers.
func (f *Feed) ItemDeltas(ctx context.Context, changes []core.Change) ([]*core.ItemDelta, error) {
	return f.s.ItemDeltas(ctx, changes)
}
