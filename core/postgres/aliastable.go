package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// AliasTable is every path alias of a stage read at once, answering as
// ResolveAlias and AliasesOf do: for a static export, whose pages would
// otherwise look aliases up once each.
type AliasTable struct {
	paths     map[string]string // alias -> its internal path (language-neutral first)
	preferred map[string]string // internal path -> its preferred alias
}

// LoadAliases reads stage's alias table in one round trip. The orders are
// ResolveAlias's and AliasesOf's, applied by PostgreSQL (its collation
// breaks ties as it does for them).
func (si *Site) LoadAliases(ctx context.Context, stage core.ID) (*AliasTable, error) {
	t := &AliasTable{paths: map[string]string{}, preferred: map[string]string{}}
	src := aliasSource(stage)
	b := &pgx.Batch{}
	scan := func(into map[string]string) func(pgx.Rows) error {
		return func(rows pgx.Rows) error {
			defer rows.Close()
			for rows.Next() {
				var k, v string
				if err := rows.Scan(&k, &v); err != nil {
					return err
				}
				into[k] = v
			}
			return rows.Err()
		}
	}
	b.Queue(`SELECT DISTINCT ON (alias) alias, path FROM `+src+` a
		ORDER BY alias, language = 'und' DESC, language`, stageOrLive(stage)).Query(scan(t.paths))
	b.Queue(`SELECT DISTINCT ON (path) path, alias FROM `+src+` a
		ORDER BY path, language = 'und' DESC, length(alias), alias`, stageOrLive(stage)).Query(scan(t.preferred))
	if err := si.s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("load aliases: %w", TranslateError(err))
	}
	return t, nil
}

// Resolve is ResolveAlias over the table: the internal path of alias and
// that path's preferred alias. ENOTFOUND when no alias matches.
func (t *AliasTable) Resolve(alias string) (path, preferred string, err error) {
	path, ok := t.paths[alias]
	if !ok {
		return "", "", core.Errorf(core.ENotFound, "page %s not found", alias)
	}
	return path, t.preferred[path], nil
}

// AliasesOf is Site.AliasesOf over the table.
func (t *AliasTable) AliasesOf(paths []string) map[string]string {
	out := make(map[string]string, len(paths))
	for _, p := range paths {
		if a, ok := t.preferred[p]; ok {
			out[p] = a
		}
	}
	return out
}
