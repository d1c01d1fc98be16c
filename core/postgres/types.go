package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/trovato/trovato/core"
)

// TypeMigration reports applying an item type: what changed, which items
// (in live and in every open stage) were converted, and which could not be.
type TypeMigration struct {
	Type        string              `json:"type"`
	FromVersion int                 `json:"from_version"`
	ToVersion   int                 `json:"to_version"`
	Plan        core.TypeChangePlan `json:"plan"`
	Instant     bool                `json:"instant"`
	Converted   []TypeMigrationItem `json:"converted"`
	Failed      []TypeMigrationItem `json:"failed"`
	Applied     bool                `json:"applied"`
	DryRun      bool                `json:"dry_run"`
}

// TypeMigrationItem is one item in one stage touched by a migration.
type TypeMigrationItem struct {
	ItemID   core.ID           `json:"item_id"`
	Stage    string            `json:"stage"`
	Title    string            `json:"title"`
	Problems []core.FieldError `json:"problems,omitempty"`
}

// ApplyType stores an item type document. Adding a type or a field is
// instant; a change that can affect stored items converts every affected
// item in live and in every open stage as new revisions, in one
// transaction, and moves stage bases forward so the migration alone never
// makes a publish conflict. When any item cannot be converted nothing is
// written and the report lists them.
func (s *Store) ApplyType(ctx context.Context, body json.RawMessage, dryRun bool) (*TypeMigration, error) {
	u := core.UserFromContext(ctx)
	if err := s.Config().requireWrite(ctx, "item_type"); err != nil {
		return nil, err
	}
	nt, err := core.ParseItemType(body)
	if err != nil {
		return nil, err
	}
	body, err = s.Config().check("item_type", nt.Name, body)
	if err != nil {
		return nil, err
	}
	for i, f := range nt.Fields {
		if f.Type != "term_ref" {
			continue
		}
		if ok, err := configExists(ctx, s.pool, "vocabulary", f.Vocabulary); err != nil {
			return nil, err
		} else if !ok {
			return nil, core.InvalidFields("invalid item type", []core.FieldError{{Path: fmt.Sprintf("fields[%d].vocabulary", i),
				Message: fmt.Sprintf("vocabulary %q does not exist (create it first: trovato category vocabulary create %s)", f.Vocabulary, f.Vocabulary)}})
		}
	}
	rep := &TypeMigration{Type: nt.Name, DryRun: dryRun, Converted: []TypeMigrationItem{}, Failed: []TypeMigrationItem{}}
	err = s.inTx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('trovato.item_type.' || $1))`, nt.Name); err != nil {
			return TranslateError(err)
		}
		cur, err := findConfig(ctx, tx, "item_type", nt.Name)
		if err != nil && core.ErrorCode(err) != core.ENotFound {
			return err
		}
		var rewrites []rewrite
		if cur != nil {
			old, err := core.ParseItemType(cur.Body)
			if err != nil {
				return fmt.Errorf("stored item type %s: %w", nt.Name, err)
			}
			rep.FromVersion = cur.Version
			rep.Plan = core.PlanTypeChange(old, nt)
			rep.Instant = rep.Plan.Instant()
			if !rep.Instant {
				if rewrites, err = planRewrites(ctx, tx, nt.Name, rep); err != nil {
					return err
				}
			}
		} else {
			rep.Instant = true
		}
		if len(rep.Failed) > 0 || dryRun {
			return errNotApplied
		}
		d, err := putConfig(ctx, tx, "item_type", nt.Name, body, 0)
		if err != nil {
			return err
		}
		rep.ToVersion = d.Version
		moved := map[core.ID]core.ID{}
		for _, rw := range rewrites {
			r, err := tx.putStaged(ctx, stagedWrite{Kind: core.KindItem, Stage: rw.stage, EntityID: rw.item, Parent: &rw.rev,
				Doc: rw.doc, TypeVersion: d.Version, Log: fmt.Sprintf("Migrated to %s type version %d", nt.Name, d.Version)})
			if err != nil {
				return err
			}
			if rw.stage == core.LiveStageID {
				moved[rw.rev] = r.ID
			}
			it, err := itemFromRevision(r)
			if err != nil {
				return err
			}
			if err := tx.writeGrants(ctx, rw.stage, it); err != nil {
				return err
			}
		}
		for oldRev, newRev := range moved {
			if _, err := tx.Exec(ctx, `UPDATE head SET base_revision_id = $2 WHERE base_revision_id = $1 AND stage_id <> $3`, oldRev, newRev, core.LiveStageID); err != nil {
				return fmt.Errorf("move stage bases: %w", TranslateError(err))
			}
		}
		_ = u
		rep.Applied = true
		return nil
	})
	if err == errNotApplied {
		return rep, nil
	}
	if err != nil {
		return nil, err
	}
	return rep, nil
}

type rewrite struct {
	stage, item, rev core.ID
	doc              []byte
}

// planRewrites converts every head of the type in live and open stages.
func planRewrites(ctx context.Context, tx *txn, typ string, rep *TypeMigration) ([]rewrite, error) {
	rows, err := tx.Query(ctx, `SELECT h.stage_id, s.name, h.entity_id, h.revision_id, r.doc FROM head h
		JOIN revision r ON r.id = h.revision_id JOIN stage s ON s.id = h.stage_id AND s.state IN ('live', 'open')
		WHERE h.kind = 'item' AND NOT h.deleted AND r.doc->>'type' = $1
		ORDER BY h.stage_id, h.entity_id FOR UPDATE OF h`, typ)
	if err != nil {
		return nil, fmt.Errorf("find items of type %s: %w", typ, TranslateError(err))
	}
	type row struct {
		stage     core.ID
		stageName string
		item, rev core.ID
		doc       []byte
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.stage, &r.stageName, &r.item, &r.rev, &r.doc); err != nil {
			rows.Close()
			return nil, err
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, TranslateError(err)
	}
	var out []rewrite
	for _, r := range all {
		var d itemDoc
		if err := json.Unmarshal(r.doc, &d); err != nil {
			return nil, fmt.Errorf("decode item %s: %w", r.item, err)
		}
		conv, problems := rep.Plan.Convert(d.Fields)
		if len(problems) == 0 && rep.Plan.New != nil {
			// Conversion knows nothing of references: narrowed target types,
			// another vocabulary or allowed MIME types are checked here.
			norm, err := rep.Plan.New.ValidateFields(ctx, conv, &refChecker{s: tx.s, q: tx, stage: r.stage})
			switch {
			case core.ErrorCode(err) == core.EInvalid:
				problems = core.ErrorFields(err)
			case err != nil:
				return nil, err
			default:
				conv = norm
			}
		}
		mi := TypeMigrationItem{ItemID: r.item, Stage: r.stageName, Title: d.Title, Problems: problems}
		if len(problems) > 0 {
			rep.Failed = append(rep.Failed, mi)
			continue
		}
		if bytes.Equal(conv, d.Fields) {
			continue
		}
		d.Fields = conv
		doc, _ := json.Marshal(d)
		out = append(out, rewrite{stage: r.stage, item: r.item, rev: r.rev, doc: doc})
		rep.Converted = append(rep.Converted, mi)
	}
	return out, nil
}
