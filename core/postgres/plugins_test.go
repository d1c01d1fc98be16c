package postgres_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

func TestPluginRegistryAndTables(t *testing.T) {
	t.Parallel()
	s, ctx := MustSite(t)
	ps := s.Plugins()
	hash, _, err := s.Blobs().PutBlob(ctx, bytes.NewReader([]byte("\x00asm\x01\x00\x00\x00")), 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ps.InstallPlugin(ctx, "notes", "1.0.0", "name = \"notes\"", hash, []string{"data"})
	if err != nil || p.Enabled || p.WasmHash != hash {
		t.Fatalf("install = %+v, %v", p, err)
	}
	if p, err = ps.SetPluginEnabled(ctx, "notes", true, []string{"data"}, ""); err != nil || !p.Enabled || len(p.Approved) != 1 {
		t.Fatalf("enable = %+v, %v", p, err)
	}
	_, err = ps.SetPluginEnabled(ctx, "ghost", true, nil, "")
	wantCode(t, err, core.ENotFound)
	plain := mustUser(t, s, "plain")
	_, err = ps.InstallPlugin(plain, "evil", "1", "", hash, nil)
	wantCode(t, err, core.EForbidden)

	table := postgres.PluginTable{Name: "note", Version: 1, PrimaryKey: []string{"id"},
		Columns: []postgres.PluginColumn{{Name: "id", Type: "text", NotNull: true}, {Name: "body", Type: "text"}, {Name: "stars", Type: "int"}},
		Indexes: []postgres.PluginIndex{{Name: "by_stars", Columns: []string{"stars"}}}}
	if err := ps.EnsurePluginTables(ctx, "notes", []postgres.PluginTable{table}); err != nil {
		t.Fatal(err)
	}
	exec := func(op postgres.DataOp) string {
		t.Helper()
		out, err := ps.ExecData(ctx, "notes", table, op)
		if err != nil {
			t.Fatalf("%s: %v", op.Op, err)
		}
		return string(out)
	}
	js := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	evil := "x'); DROP TABLE item; --"
	exec(postgres.DataOp{Op: "insert", Table: "note", Values: map[string]json.RawMessage{"id": js("a"), "body": js(evil), "stars": js(3)}})
	exec(postgres.DataOp{Op: "insert", Table: "note", Values: map[string]json.RawMessage{"id": js("b"), "body": js("two"), "stars": js(5)}})
	_, err = ps.ExecData(ctx, "notes", table, postgres.DataOp{Op: "insert", Table: "note", Values: map[string]json.RawMessage{"id": js("a")}})
	wantCode(t, err, core.EConflict)
	if out := exec(postgres.DataOp{Op: "update", Table: "note", Where: map[string]json.RawMessage{"id": js("b")}, Values: map[string]json.RawMessage{"stars": js(4)}}); out != `{"affected":1}` {
		t.Fatalf("update = %s", out)
	}
	out := exec(postgres.DataOp{Op: "select", Table: "note", OrderBy: []postgres.DataOrder{{Column: "stars", Desc: true}}})
	if !strings.Contains(out, `"stars": 4`) || !strings.Contains(out, "DROP TABLE item") || strings.Index(out, `"id": "b"`) > strings.Index(out, `"id": "a"`) {
		t.Fatalf("select = %s", out)
	}
	var n int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM item`).Scan(&n); err != nil {
		t.Fatal("the item table is gone: ", err)
	}
	for name, op := range map[string]postgres.DataOp{
		"OtherTable":    {Op: "select", Table: "item"},
		"UnknownColumn": {Op: "select", Table: "note", Where: map[string]json.RawMessage{"secret": js(1)}},
		"BadOp":         {Op: "drop", Table: "note"},
		"WrongType":     {Op: "insert", Table: "note", Values: map[string]json.RawMessage{"id": js("c"), "stars": js("many")}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ps.ExecData(ctx, "notes", table, op)
			wantCode(t, err, core.EInvalid)
		})
	}
	// A new schema version adds a column; retyping one is refused.
	table.Version = 2
	table.Columns = append(table.Columns, postgres.PluginColumn{Name: "tags", Type: "jsonb"})
	if err := ps.EnsurePluginTables(ctx, "notes", []postgres.PluginTable{table}); err != nil {
		t.Fatal(err)
	}
	bad := table
	bad.Columns = []postgres.PluginColumn{{Name: "id", Type: "int"}}
	wantCode(t, ps.EnsurePluginTables(ctx, "notes", []postgres.PluginTable{bad}), core.EInvalid)
	if err := ps.SetVariable(ctx, "notes", "greeting", []byte(`"hi"`)); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := ps.GetVariable(ctx, "notes", "greeting"); err != nil || !ok || string(v) != `"hi"` {
		t.Fatalf("variable = %s %v %v", v, ok, err)
	}
	if err := ps.UninstallPlugin(ctx, "notes"); err != nil {
		t.Fatal(err)
	}
	var schemas int
	_ = s.Pool().QueryRow(ctx, `SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'plugin_notes'`).Scan(&schemas)
	if schemas != 0 {
		t.Fatal("uninstall kept the plugin's schema")
	}
}
