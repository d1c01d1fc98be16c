package postgres

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// InstalledPlugin is a plugin stored in the database: its manifest and the
// hash of its WebAssembly module in the blob store, so every node loads
// the same bytes.
type InstalledPlugin struct {
	Name           string         `json:"name"`
	Version        string         `json:"version"`
	Manifest       string         `json:"manifest"` // plugin.toml as installed
	WasmHash       string         `json:"wasm_hash"`
	Enabled        bool           `json:"enabled"`
	Approved       []string       `json:"approved"`
	TableVersions  map[string]int `json:"table_versions"`
	DisabledReason string         `json:"disabled_reason,omitempty"`
	InstalledAt    time.Time      `json:"installed_at"`
	ChangedAt      time.Time      `json:"changed_at"`
}

// Plugins stores installed plugins, their tables and variables.
type Plugins struct{ s *Store }

// Plugins returns the plugin registry.
func (s *Store) Plugins() *Plugins { return &Plugins{s} }

const pluginColumns = `name, version, manifest_toml, hash, enabled, approved, table_versions, disabled_reason, installed_at, changed_at`

func scanPlugin(row pgx.Row) (*InstalledPlugin, error) {
	p := &InstalledPlugin{}
	var hash []byte
	var versions []byte
	if err := row.Scan(&p.Name, &p.Version, &p.Manifest, &hash, &p.Enabled, &p.Approved, &versions, &p.DisabledReason, &p.InstalledAt, &p.ChangedAt); err != nil {
		return nil, err
	}
	p.WasmHash = hex.EncodeToString(hash)
	_ = json.Unmarshal(versions, &p.TableVersions)
	return p, nil
}

// FindPlugins lists installed plugins by name.
func (ps *Plugins) FindPlugins(ctx context.Context) ([]*InstalledPlugin, error) {
	rows, err := ps.s.pool.Query(ctx, `SELECT `+pluginColumns+` FROM plugin ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("find plugins: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []*InstalledPlugin
	for rows.Next() {
		p, err := scanPlugin(rows)
		if err != nil {
			return nil, fmt.Errorf("find plugins: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// FindPlugin returns ENOTFOUND for a plugin that is not installed.
func (ps *Plugins) FindPlugin(ctx context.Context, name string) (*InstalledPlugin, error) {
	p, err := scanPlugin(ps.s.pool.QueryRow(ctx, `SELECT `+pluginColumns+` FROM plugin WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "plugin %q is not installed (see: trovato plugin list)", name)
	} else if err != nil {
		return nil, fmt.Errorf("find plugin: %w", TranslateError(err))
	}
	return p, nil
}

// InstallPlugin stores (or replaces) a plugin's manifest and module. The
// module is streamed into the blob store by the caller (Blobs().PutBlob)
// and referenced by hash. A new version keeps the enabled state and the
// approvals of capabilities it still requests. Requires plugins.administer.
func (ps *Plugins) InstallPlugin(ctx context.Context, name, version, manifest, wasmHash string, requested []string) (*InstalledPlugin, error) {
	if err := ps.s.authz.Require(ctx, core.UserFromContext(ctx), core.PermAdministerPlugins); err != nil {
		return nil, err
	}
	sum, err := hex.DecodeString(wasmHash)
	if err != nil || len(sum) != 32 {
		return nil, core.Errorf(core.EInvalid, "wasm hash %q is not a SHA-256", wasmHash)
	}
	err = ps.s.inTx(ctx, func(tx *txn) error {
		var approved []string
		err := tx.QueryRow(ctx, `SELECT approved FROM plugin WHERE name = $1 FOR UPDATE`, name).Scan(&approved)
		op := core.ChangeUpdate
		if errors.Is(err, pgx.ErrNoRows) {
			op = core.ChangeCreate
		} else if err != nil {
			return TranslateError(err)
		}
		keep := []string{}
		for _, a := range approved {
			for _, r := range requested {
				if a == r {
					keep = append(keep, a)
				}
			}
		}
		now := ps.s.now()
		if _, err := tx.Exec(ctx, `INSERT INTO plugin (name, version, manifest_toml, hash, approved, installed_at, changed_at, changed_by)
			VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
			ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, manifest_toml = EXCLUDED.manifest_toml, hash = EXCLUDED.hash,
				approved = EXCLUDED.approved, changed_at = EXCLUDED.changed_at, changed_by = EXCLUDED.changed_by`,
			name, version, manifest, sum, keep, now, core.UserFromContext(ctx).ID); err != nil {
			return fmt.Errorf("install plugin %s: %w", name, TranslateError(err))
		}
		return tx.feed(ctx, core.KindPlugin, name, nil, nil, nil, op)
	})
	if err != nil {
		return nil, err
	}
	return ps.FindPlugin(ctx, name)
}

// SetPluginEnabled enables (with the approved capabilities) or disables a
// plugin. reason records why a plugin was disabled (e.g. by the host after
// repeated failures). Requires plugins.administer.
func (ps *Plugins) SetPluginEnabled(ctx context.Context, name string, enabled bool, approved []string, reason string) (*InstalledPlugin, error) {
	if err := ps.s.authz.Require(ctx, core.UserFromContext(ctx), core.PermAdministerPlugins); err != nil {
		return nil, err
	}
	if approved == nil {
		approved = []string{}
	}
	err := ps.s.inTx(ctx, func(tx *txn) error {
		var tag interface{ RowsAffected() int64 }
		var err error
		if enabled {
			tag, err = tx.Exec(ctx, `UPDATE plugin SET enabled = true, approved = $2, disabled_reason = '', changed_at = $3, changed_by = $4 WHERE name = $1`,
				name, approved, ps.s.now(), core.UserFromContext(ctx).ID)
		} else {
			tag, err = tx.Exec(ctx, `UPDATE plugin SET enabled = false, disabled_reason = $2, changed_at = $3, changed_by = $4 WHERE name = $1`,
				name, reason, ps.s.now(), core.UserFromContext(ctx).ID)
		}
		if err != nil {
			return fmt.Errorf("enable plugin %s: %w", name, TranslateError(err))
		}
		if tag.RowsAffected() == 0 {
			return core.Errorf(core.ENotFound, "plugin %q is not installed (see: trovato plugin list)", name)
		}
		return tx.feed(ctx, core.KindPlugin, name, nil, nil, nil, core.ChangeUpdate)
	})
	if err != nil {
		return nil, err
	}
	return ps.FindPlugin(ctx, name)
}

// UninstallPlugin removes a plugin, its tables and its variables.
func (ps *Plugins) UninstallPlugin(ctx context.Context, name string) error {
	if err := ps.s.authz.Require(ctx, core.UserFromContext(ctx), core.PermAdministerPlugins); err != nil {
		return err
	}
	return ps.s.inTx(ctx, func(tx *txn) error {
		tag, err := tx.Exec(ctx, `DELETE FROM plugin WHERE name = $1`, name)
		if err != nil {
			return fmt.Errorf("uninstall plugin %s: %w", name, TranslateError(err))
		}
		if tag.RowsAffected() == 0 {
			return core.Errorf(core.ENotFound, "plugin %q is not installed", name)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM plugin_variable WHERE plugin = $1`, name); err != nil {
			return TranslateError(err)
		}
		if _, err := tx.Exec(ctx, `DROP SCHEMA IF EXISTS `+pluginSchema(name)+` CASCADE`); err != nil {
			return TranslateError(err)
		}
		return tx.feed(ctx, core.KindPlugin, name, nil, nil, nil, core.ChangeDelete)
	})
}

// PluginTable is a table a plugin declares in its manifest.
type PluginTable struct {
	Name       string
	Version    int
	Columns    []PluginColumn
	PrimaryKey []string
	Indexes    []PluginIndex
}

// PluginColumn is one declared column.
type PluginColumn struct {
	Name    string
	Type    string // text, int, bigint, bool, float, timestamptz, jsonb, uuid
	NotNull bool
}

// PluginIndex is one declared index.
type PluginIndex struct {
	Name    string
	Columns []string
	Unique  bool
}

var pluginColumnTypes = map[string]string{
	"text": "text", "int": "integer", "bigint": "bigint", "bool": "boolean", "float": "double precision",
	"timestamptz": "timestamptz", "jsonb": "jsonb", "uuid": "uuid",
}

var rePluginIdent = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

func pluginSchema(plugin string) string { return pgx.Identifier{"plugin_" + plugin}.Sanitize() }

func pluginTableIdent(plugin, table string) string {
	return pgx.Identifier{"plugin_" + plugin, table}.Sanitize()
}

// EnsurePluginTables creates a plugin's tables in a schema of its own and
// migrates them when a table's schema version rises: new columns and
// indexes are added; removing or retyping a column is refused (the plugin
// must declare a new table). No SQL text from a plugin is ever executed:
// every identifier comes from the validated manifest and is quoted.
func (ps *Plugins) EnsurePluginTables(ctx context.Context, plugin string, tables []PluginTable) error {
	if !rePluginIdent.MatchString(plugin) {
		return core.Errorf(core.EInvalid, "plugin name %q is not valid", plugin)
	}
	for _, t := range tables {
		if !rePluginIdent.MatchString(t.Name) {
			return core.Errorf(core.EInvalid, "plugin %s: table name %q is not valid", plugin, t.Name)
		}
		for _, c := range t.Columns {
			if !rePluginIdent.MatchString(c.Name) || pluginColumnTypes[c.Type] == "" {
				return core.Errorf(core.EInvalid, "plugin %s: table %s: column %q of type %q is not valid", plugin, t.Name, c.Name, c.Type)
			}
		}
	}
	return ps.s.inTx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('trovato.plugin.' || $1))`, plugin); err != nil {
			return TranslateError(err)
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pluginSchema(plugin)); err != nil {
			return fmt.Errorf("plugin %s schema: %w", plugin, TranslateError(err))
		}
		versions := map[string]int{}
		var raw []byte
		if err := tx.QueryRow(ctx, `SELECT table_versions FROM plugin WHERE name = $1`, plugin).Scan(&raw); err == nil {
			_ = json.Unmarshal(raw, &versions)
		}
		for _, t := range tables {
			if err := ensureTable(ctx, tx, plugin, t); err != nil {
				return err
			}
			versions[t.Name] = t.Version
		}
		b, _ := json.Marshal(versions)
		if _, err := tx.Exec(ctx, `UPDATE plugin SET table_versions = $2 WHERE name = $1`, plugin, b); err != nil {
			return TranslateError(err)
		}
		return nil
	})
}

func ensureTable(ctx context.Context, tx *txn, plugin string, t PluginTable) error {
	ident := pluginTableIdent(plugin, t.Name)
	existing := map[string]string{}
	rows, err := tx.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`, "plugin_"+plugin, t.Name)
	if err != nil {
		return TranslateError(err)
	}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			rows.Close()
			return err
		}
		existing[name] = typ
	}
	rows.Close()
	if len(existing) == 0 {
		cols := make([]string, 0, len(t.Columns)+1)
		for _, c := range t.Columns {
			def := pgx.Identifier{c.Name}.Sanitize() + " " + pluginColumnTypes[c.Type]
			if c.NotNull {
				def += " NOT NULL"
			}
			cols = append(cols, def)
		}
		if len(t.PrimaryKey) > 0 {
			cols = append(cols, "PRIMARY KEY ("+identList(t.PrimaryKey)+")")
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE `+ident+` (`+strings.Join(cols, ", ")+`)`); err != nil {
			return fmt.Errorf("plugin %s: create table %s: %w", plugin, t.Name, TranslateError(err))
		}
	} else {
		for _, c := range t.Columns {
			typ, ok := existing[c.Name]
			if !ok {
				if _, err := tx.Exec(ctx, `ALTER TABLE `+ident+` ADD COLUMN `+pgx.Identifier{c.Name}.Sanitize()+` `+pluginColumnTypes[c.Type]); err != nil {
					return fmt.Errorf("plugin %s: add column %s.%s: %w", plugin, t.Name, c.Name, TranslateError(err))
				}
				continue
			}
			if typ != pluginColumnTypes[c.Type] && !(typ == "timestamp with time zone" && c.Type == "timestamptz") {
				return core.Errorf(core.EInvalid, "plugin %s: column %s.%s is %s; a column's type cannot change (declare a new column)", plugin, t.Name, c.Name, typ)
			}
		}
	}
	for _, ix := range t.Indexes {
		if !rePluginIdent.MatchString(ix.Name) {
			return core.Errorf(core.EInvalid, "plugin %s: index name %q is not valid", plugin, ix.Name)
		}
		unique := ""
		if ix.Unique {
			unique = "UNIQUE "
		}
		if _, err := tx.Exec(ctx, `CREATE `+unique+`INDEX IF NOT EXISTS `+pgx.Identifier{t.Name + "_" + ix.Name}.Sanitize()+` ON `+ident+` (`+identList(ix.Columns)+`)`); err != nil {
			return fmt.Errorf("plugin %s: index %s: %w", plugin, ix.Name, TranslateError(err))
		}
	}
	return nil
}

func identList(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = pgx.Identifier{n}.Sanitize()
	}
	return strings.Join(out, ", ")
}

// DataOp is one structured operation on a plugin's own table. The plugin
// host has checked that the table and columns exist in the manifest and
// that values have the column types.
type DataOp struct {
	Op      string
	Table   string
	Where   map[string]json.RawMessage
	Values  map[string]json.RawMessage
	OrderBy []DataOrder
	Limit   int
}

// DataOrder orders a select.
type DataOrder struct {
	Column string
	Desc   bool
}

// ExecData runs op on the plugin's table and returns {"rows": [...]} for a
// select and {"affected": n} otherwise. Values travel as JSON parameters
// and are cast in SQL; identifiers are quoted. ECONFLICT on a duplicate key.
func (ps *Plugins) ExecData(ctx context.Context, plugin string, table PluginTable, op DataOp) ([]byte, error) {
	if !rePluginIdent.MatchString(plugin) || !rePluginIdent.MatchString(op.Table) || op.Table != table.Name {
		return nil, core.Errorf(core.EInvalid, "data: table %q is not one of plugin %s's tables", op.Table, plugin)
	}
	types := map[string]string{}
	for _, c := range table.Columns {
		types[c.Name] = c.Type
	}
	var args []any
	param := func(col string, v json.RawMessage) (string, error) {
		typ, ok := types[col]
		if !ok {
			return "", core.Errorf(core.EInvalid, "data: table %s has no column %q", op.Table, col)
		}
		args = append(args, string(v))
		n := fmt.Sprintf("$%d::jsonb", len(args))
		if typ == "jsonb" {
			return n, nil
		}
		return "(" + n + " #>> '{}')::" + pluginColumnTypes[typ], nil
	}
	sortedKeys := func(m map[string]json.RawMessage) []string {
		ks := make([]string, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return ks
	}
	where := func() (string, error) {
		if len(op.Where) == 0 {
			return "", nil
		}
		var conds []string
		for _, col := range sortedKeys(op.Where) {
			p, err := param(col, op.Where[col])
			if err != nil {
				return "", err
			}
			if string(op.Where[col]) == "null" {
				conds = append(conds, pgx.Identifier{col}.Sanitize()+" IS NULL")
				args = args[:len(args)-1]
				continue
			}
			conds = append(conds, pgx.Identifier{col}.Sanitize()+" = "+p)
		}
		return " WHERE " + strings.Join(conds, " AND "), nil
	}
	ident := pluginTableIdent(plugin, op.Table)
	var sql string
	switch op.Op {
	case "select":
		w, err := where()
		if err != nil {
			return nil, err
		}
		order := ""
		for i, o := range op.OrderBy {
			if _, ok := types[o.Column]; !ok {
				return nil, core.Errorf(core.EInvalid, "data: table %s has no column %q", op.Table, o.Column)
			}
			if i == 0 {
				order = " ORDER BY "
			} else {
				order += ", "
			}
			order += pgx.Identifier{o.Column}.Sanitize()
			if o.Desc {
				order += " DESC"
			}
		}
		limit := op.Limit
		if limit <= 0 || limit > 1000 {
			limit = 1000
		}
		sql = `SELECT COALESCE(jsonb_agg(to_jsonb(t)), '[]') FROM (SELECT * FROM ` + ident + w + order + fmt.Sprintf(" LIMIT %d", limit) + `) t`
		var rows []byte
		if err := ps.s.pool.QueryRow(ctx, sql, args...).Scan(&rows); err != nil {
			return nil, fmt.Errorf("data select: %w", TranslateError(err))
		}
		return append(append([]byte(`{"rows":`), rows...), '}'), nil
	case "insert":
		if len(op.Values) == 0 {
			return nil, core.Errorf(core.EInvalid, "data: insert needs values")
		}
		var cols, vals []string
		for _, col := range sortedKeys(op.Values) {
			p, err := param(col, op.Values[col])
			if err != nil {
				return nil, err
			}
			cols = append(cols, pgx.Identifier{col}.Sanitize())
			vals = append(vals, p)
		}
		sql = `INSERT INTO ` + ident + ` (` + strings.Join(cols, ", ") + `) VALUES (` + strings.Join(vals, ", ") + `)`
	case "update":
		if len(op.Values) == 0 {
			return nil, core.Errorf(core.EInvalid, "data: update needs values")
		}
		var sets []string
		for _, col := range sortedKeys(op.Values) {
			p, err := param(col, op.Values[col])
			if err != nil {
				return nil, err
			}
			sets = append(sets, pgx.Identifier{col}.Sanitize()+" = "+p)
		}
		w, err := where()
		if err != nil {
			return nil, err
		}
		sql = `UPDATE ` + ident + ` SET ` + strings.Join(sets, ", ") + w
	case "delete":
		w, err := where()
		if err != nil {
			return nil, err
		}
		sql = `DELETE FROM ` + ident + w
	default:
		return nil, core.Errorf(core.EInvalid, "data: op must be select, insert, update or delete, not %q", op.Op)
	}
	tag, err := ps.s.pool.Exec(ctx, sql, args...)
	if err != nil {
		err = TranslateError(err)
		if core.ErrorCode(err) == core.EConflict {
			return nil, core.Errorf(core.EConflict, "data: a row with that key exists already in %s", op.Table)
		}
		if core.ErrorCode(err) == core.EInternal {
			return nil, fmt.Errorf("data %s: %w", op.Op, err)
		}
		return nil, core.Errorf(core.EInvalid, "data %s on %s: %s", op.Op, op.Table, core.ErrorMessage(err))
	}
	return []byte(fmt.Sprintf(`{"affected":%d}`, tag.RowsAffected())), nil
}

// GetVariable returns a plugin variable and whether it was set.
func (ps *Plugins) GetVariable(ctx context.Context, plugin, name string) ([]byte, bool, error) {
	var v []byte
	err := ps.s.pool.QueryRow(ctx, `SELECT value FROM plugin_variable WHERE plugin = $1 AND name = $2`, plugin, name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("get variable: %w", TranslateError(err))
	}
	return v, true, nil
}

// SetVariable stores a plugin variable (a JSON value).
func (ps *Plugins) SetVariable(ctx context.Context, plugin, name string, value []byte) error {
	if !json.Valid(value) {
		return core.Errorf(core.EInvalid, "variable %s is not valid JSON", name)
	}
	if len(name) == 0 || len(name) > 128 {
		return core.Errorf(core.EInvalid, "variable name must be 1 to 128 bytes")
	}
	_, err := ps.s.pool.Exec(ctx, `INSERT INTO plugin_variable (plugin, name, value) VALUES ($1, $2, $3)
		ON CONFLICT (plugin, name) DO UPDATE SET value = EXCLUDED.value`, plugin, name, value)
	if err != nil {
		return fmt.Errorf("set variable: %w", TranslateError(err))
	}
	return nil
}
