package kernel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/plugin"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/postgres/pgtest"
	"github.com/trovato/trovato/plugins"
)

func pluginsDist() fs.FS { return plugins.Dist }

func TestMain(m *testing.M) { pgtest.Main(m) }

// ktSource is the test plugin's Go source. Behaviour keyed on titles:
// item_presave appends " [checked]"; item_access denies items titled
// "secret..."; item_grants gives items titled "private..." to their author
// only (realm kt_owner); item_insert records the item in its own table
// "seen"; tile_view saves the item given in its config through item_save.
const ktSource = `package main

import (
	"strconv"
	"strings"

	"github.com/trovato/trovato/plugins/sdk"
)

func main() {}

func init() {
	sdk.Handle("item_presave", func(in sdk.Value, w *sdk.Writer) error {
		it, err := sdk.ParseItem(in.Get("item"))
		if err != nil {
			return err
		}
		if strings.HasPrefix(it.Title, "badpatch") {
			w.BeginObject()
			w.Key("status")
			w.String("weird")
			w.EndObject()
			return nil
		}
		if !strings.HasSuffix(it.Title, " [checked]") {
			w.BeginObject()
			w.Key("title")
			w.String(it.Title + " [checked]")
			w.EndObject()
		}
		return nil
	})
	sdk.ItemAccess(func(in sdk.ItemAccessInput) (sdk.Vote, error) {
		if strings.HasPrefix(in.Item.Title, "secret") {
			return sdk.Deny, nil
		}
		return sdk.Neutral, nil
	})
	sdk.Handle("item_grants", func(in sdk.Value, w *sdk.Writer) error {
		it, err := sdk.ParseItem(in.Get("item"))
		if err != nil || !strings.HasPrefix(it.Title, "private") {
			return err
		}
		w.BeginObject()
		w.Key("grants")
		w.BeginArray()
		w.Any(map[string]any{"realm": "kt_owner", "gid": it.AuthorID, "view": true, "update": true, "delete": false})
		w.EndArray()
		w.EndObject()
		return nil
	})
	sdk.Handle("user_grants", func(in sdk.Value, w *sdk.Writer) error {
		id := in.Get("user").Get("id").String()
		if id == "" {
			return nil
		}
		w.BeginObject()
		w.Key("grants")
		w.Any(map[string]any{"kt_owner": []string{id}})
		w.EndObject()
		return nil
	})
	sdk.Handle("item_insert", func(in sdk.Value, w *sdk.Writer) error {
		it, err := sdk.ParseItem(in.Get("item"))
		if err != nil {
			return err
		}
		_, err = sdk.Data(sdk.DataOp{Op: "insert", Table: "seen", Values: map[string]any{"item_id": it.ID, "title": it.Title}})
		return err
	})
	sdk.Handle("form_alter", func(in sdk.Value, w *sdk.Writer) error {
		form, err := sdk.ParseNode(in.Get("form"))
		if err != nil {
			return err
		}
		form = form.Append(sdk.Node{Type: "checkbox", Name: "fields.featured", Label: "Featured"})
		form.WriteJSON(w)
		return nil
	})
	sdk.Handle("form_validate", func(in sdk.Value, w *sdk.Writer) error {
		if in.Get("values").Get("title").String() != "bad" {
			return nil
		}
		w.BeginObject()
		w.Key("errors")
		w.BeginArray()
		w.Any(map[string]any{"path": "title", "message": "not that title"})
		w.EndArray()
		w.EndObject()
		return nil
	})
	sdk.Handle("gather_extend", func(in sdk.Value, w *sdk.Writer) error {
		var f map[string]any
		switch tag := in.Get("args").Get("arg0").String(); tag {
		case "":
			return nil
		case "inject":
			f = map[string]any{"field": "title", "op": "eq", "value": "x'); DROP TABLE item; --"}
		case "bogus":
			f = map[string]any{"field": "no_such_field", "op": "eq", "value": "1"}
		case "badop":
			f = map[string]any{"field": "title", "op": "like", "value": "%"}
		default:
			f = map[string]any{"field": "tags", "op": "eq", "value": tag}
		}
		w.BeginObject()
		w.Key("filters")
		w.BeginArray()
		w.Any(f)
		w.EndArray()
		w.Key("sort")
		w.BeginArray()
		w.Any(map[string]any{"field": "title", "desc": true})
		w.EndArray()
		w.EndObject()
		return nil
	})
	sdk.PageView(func(in sdk.PageViewInput) (sdk.Page, error) {
		kind := in.Params["kind"]
		var out []byte
		switch in.Params["op"] {
		case "save":
			d, err := sdk.SaveStaged(kind, in.Params["id"], []byte(in.Params["doc"]), in.Params["rev"])
			if err != nil {
				return sdk.Page{}, err
			}
			out = []byte(d.ID + " " + d.RevisionID + " " + string(d.Doc))
		case "load":
			d, err := sdk.LoadStaged(kind, in.Params["id"])
			if err != nil {
				return sdk.Page{}, err
			}
			out = []byte(d.ID + " " + d.RevisionID + " " + string(d.Doc))
		case "list":
			docs, total, err := sdk.ListStaged(kind, 0, 0)
			if err != nil {
				return sdk.Page{}, err
			}
			out = []byte(strconv.Itoa(total))
			for _, d := range docs {
				out = append(out, " "+d.Doc.Get("title").String()...)
			}
		case "delete":
			if err := sdk.DeleteStaged(kind, in.Params["id"]); err != nil {
				return sdk.Page{}, err
			}
			out = []byte("deleted")
		}
		return sdk.Page{Title: "staged", Content: sdk.Paragraph(sdk.Text(string(out)))}, nil
	})
	sdk.TileView(func(in sdk.TileViewInput) (sdk.Page, error) {
		w := sdk.NewWriter(nil)
		w.BeginObject()
		w.Key("id")
		w.String(in.Config.Get("id").String())
		w.Key("title")
		w.String(in.Config.Get("title").String())
		w.EndObject()
		it, err := sdk.SaveItem(w.Bytes())
		if err != nil {
			return sdk.Page{}, err
		}
		return sdk.Page{Title: "saved", Content: sdk.Paragraph(sdk.Text(it.Title))}, nil
	})
}
`

// ktManifest is the test plugin's manifest under a given name.
func ktManifest(name, version string, deps ...string) string {
	d, _ := json.Marshal(deps)
	if deps == nil {
		d = []byte("[]")
	}
	return fmt.Sprintf(`name = %q
version = %q
api_version = 1
description = "Kernel test plugin."
dependencies = %s
capabilities = ["access.vote", "data", "item.write"]
stageable = ["%[1]s_note"]

[[taps]]
name = "item_presave"

[[taps]]
name = "page_view"

[[taps]]
name = "item_access"

[[taps]]
name = "item_grants"

[[taps]]
name = "user_grants"

[[taps]]
name = "item_insert"

[[taps]]
name = "tile_view"

[[taps]]
name = "form_alter"

[[taps]]
name = "form_validate"

[[taps]]
name = "gather_extend"

[[permissions]]
name = "use"
title = "Use the test plugin"

[[tables]]
name = "seen"
schema_version = 1
primary_key = ["item_id"]

[[tables.columns]]
name = "item_id"
type = "uuid"
not_null = true

[[tables.columns]]
name = "title"
type = "text"
`, name, version, d)
}

var ktModule struct {
	sync.Mutex
	bin []byte
}

// mustKT builds the test plugin for wasip1 once per change of its source,
// the SDK or the Go version, caching the module under the user cache
// directory.
func mustKT(tb testing.TB) []byte {
	tb.Helper()
	ktModule.Lock()
	defer ktModule.Unlock()
	if ktModule.bin != nil {
		return ktModule.bin
	}
	root := sourceRoot()
	if root == "" {
		tb.Fatal("not inside the Trovato source tree")
	}
	sdkDir := filepath.Join(root, "plugins", "sdk")
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version())
	h.Write([]byte(ktSource))
	hashTree(tb, h, sdkDir)
	cacheDir, err := os.UserCacheDir()
	if err != nil {
		cacheDir = os.TempDir()
	}
	out := filepath.Join(cacheDir, "trovato-test", "kt-"+hex.EncodeToString(h.Sum(nil))[:16]+".wasm")
	if b, err := os.ReadFile(out); err == nil {
		ktModule.bin = b
		return b
	}
	goBin := GoToolchain()
	if goBin == "" {
		tb.Skip("no Go toolchain: cannot build the wasip1 test plugin")
	}
	dir := tb.TempDir()
	files := map[string]string{
		"main.go":     ktSource,
		"go.mod":      "module kt\n\ngo 1.26\n\nrequire github.com/trovato/trovato/plugins/sdk v0.0.0\n\nreplace github.com/trovato/trovato/plugins/sdk => " + sdkDir + "\n",
		"plugin.toml": ktManifest("kt", "1.0.0"),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		tb.Fatal(err)
	}
	tmp := out + ".tmp" + fmt.Sprint(os.Getpid())
	if _, err := BuildPlugin(context.Background(), dir, tmp); err != nil {
		if _, lerr := exec.LookPath(goBin); lerr != nil {
			tb.Skipf("the Go toolchain cannot build wasip1: %v", err)
		}
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, out); err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	ktModule.bin = b
	return b
}

func hashTree(tb testing.TB, h interface{ Write([]byte) (int, error) }, dir string) {
	var files []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "go.mod")) {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
		h.Write(b)
	}
}

// testLimits give tap calls room on a machine busy with other packages'
// tests; timing is not what these tests check.
var testLimits = plugin.Limits{Deadline: 5 * time.Second}

var wasmCache struct {
	sync.Mutex
	dir string
}

// sharedCacheDir is the wazero compilation cache of these tests. It lives
// in the user cache directory, so a module is compiled (seconds for a Go
// guest) once per change rather than once per run; wazero keys entries by
// module hash and its own version.
func sharedCacheDir(tb testing.TB) string {
	wasmCache.Lock()
	defer wasmCache.Unlock()
	if wasmCache.dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		d := filepath.Join(base, "trovato-test", "wazero-kernel")
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
		wasmCache.dir = d
	}
	return wasmCache.dir
}

// site is one test's database with a plugin manager.
type site struct {
	store *postgres.Store
	pm    *PluginManager
	admin context.Context
}

const articleType = `{"kind":"item_type","name":"article","label":"Article","fields":[
	{"name":"body","type":"long_text","format":"markdown"},
	{"name":"tags","type":"term_ref","vocabulary":"tags","cardinality":"unlimited"}]}`

func mustSite(t *testing.T) *site {
	t.Helper()
	store := postgres.NewStore(postgres.StoreConfig{Pool: pgtest.NewDB(t), ValidateConfig: core.CheckConfigDocument})
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	pm, err := NewPluginManager(context.Background(), store, PluginOptions{Logger: log, CacheDir: sharedCacheDir(t), Limits: testLimits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pm.Close(context.Background()) })
	u, err := store.Users().FindUserByName(context.Background(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	s := &site{store: store, pm: pm, admin: core.NewContextWithUser(context.Background(), u)}
	s.put(t, "vocabulary", "tags", `{"kind":"vocabulary","name":"tags","label":"Tags"}`)
	s.put(t, "item_type", "article", articleType)
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (s *site) put(t *testing.T, kind, name, body string) {
	t.Helper()
	if _, err := s.store.Config().PutConfig(s.admin, kind, name, json.RawMessage(body), 0); err != nil {
		t.Fatalf("put %s/%s: %v", kind, name, err)
	}
}

// user creates a user with a role holding perms.
func (s *site) user(t *testing.T, name string, perms ...string) context.Context {
	t.Helper()
	role := "r_" + name
	if err := s.store.Users().CreateRole(s.admin, &core.Role{Name: role, Label: role}); err != nil {
		t.Fatal(err)
	}
	for _, p := range perms {
		if err := s.store.Users().GrantPermission(s.admin, role, p); err != nil {
			t.Fatalf("grant %s: %v", p, err)
		}
	}
	u := &core.User{Name: name, Email: name + "@example.com", Roles: []string{role}}
	if err := s.store.Users().CreateUser(s.admin, u); err != nil {
		t.Fatal(err)
	}
	u, err := s.store.Users().FindUserByID(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.store.Authorizer().Invalidate()
	return core.NewContextWithUser(context.Background(), u)
}

func (s *site) item(t *testing.T, ctx context.Context, typ, title string) *core.Item {
	t.Helper()
	it := &core.Item{Type: typ, Title: title}
	if err := s.store.Items().CreateItem(ctx, core.LiveStageID, it, ""); err != nil {
		t.Fatalf("create %q: %v", title, err)
	}
	return it
}

func (s *site) install(t *testing.T, name, version string, wasm []byte, deps ...string) {
	t.Helper()
	if _, err := s.pm.InstallBytes(s.admin, name+"/plugin.toml", []byte(ktManifest(name, version, deps...)), wasm); err != nil {
		t.Fatalf("install %s: %v", name, err)
	}
}

func (s *site) enableKT(t *testing.T, name string) {
	t.Helper()
	if err := s.pm.Enable(s.admin, name, []string{"access.vote", "data", "item.write"}); err != nil {
		t.Fatalf("enable %s: %v", name, err)
	}
}

func titles(items []*core.Item) string {
	var out []string
	for _, it := range items {
		out = append(out, it.Title)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if core.ErrorCode(err) != code {
		t.Fatalf("error = %v (code %q), want code %q", err, core.ErrorCode(err), code)
	}
}

func TestPluginLifecycle(t *testing.T) {
	t.Parallel()
	wasm := mustKT(t)
	s := mustSite(t)
	ctx := s.admin

	before := s.item(t, ctx, "article", "before")
	s.install(t, "kt", "1.0.0", wasm)
	if it := s.item(t, ctx, "article", "installed only"); it.Title != "installed only" {
		t.Fatalf("a disabled plugin's presave ran: %q", it.Title)
	}
	if !s.store.Permissions().Known("kt.use") {
		t.Fatal("the plugin's permission is not registered")
	}

	// Capabilities it does not request are refused.
	wantCode(t, s.pm.Enable(ctx, "kt", []string{"cache"}), core.EInvalid)
	s.enableKT(t, "kt")

	t.Run("PresaveChangesTheSavedItem", func(t *testing.T) {
		it := s.item(t, ctx, "article", "hello")
		got, err := s.store.Items().FindItemByID(ctx, core.LiveStageID, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Title != "hello [checked]" {
			t.Fatalf("stored title = %q, want the presave's", got.Title)
		}
		title := "renamed"
		upd, err := s.store.Items().UpdateItem(ctx, core.LiveStageID, before.ID, core.ItemUpdate{Title: &title})
		if err != nil || upd.Title != "renamed [checked]" {
			t.Fatalf("update: %v %q", err, upd.Title)
		}
	})

	t.Run("InvalidPresaveOutputIsDropped", func(t *testing.T) {
		it := s.item(t, ctx, "article", "badpatch")
		if it.Title != "badpatch" || it.Status != core.StatusPublished {
			t.Fatalf("saved %q %q, want the item unchanged", it.Title, it.Status)
		}
	})

	t.Run("FormAndGatherTaps", func(t *testing.T) {
		form := core.Node{Type: core.ElemForm, Action: "/x", Children: []core.Node{{Type: core.ElemInput, Name: "title", Label: "Title"}}}
		got := s.pm.FormAlter(ctx, "item_edit_article", form, nil)
		if len(got.Children) != 2 || got.Children[1].Type != core.ElemCheckbox {
			t.Fatalf("form_alter = %+v", got)
		}
		if errs := s.pm.FormValidate(ctx, "item_edit_article", map[string]string{"title": "bad"}); len(errs) != 1 || errs[0].Path != "title" {
			t.Fatalf("form_validate = %+v", errs)
		}
		if errs := s.pm.FormValidate(ctx, "item_edit_article", map[string]string{"title": "good"}); len(errs) != 0 {
			t.Fatalf("form_validate = %+v", errs)
		}
	})

	t.Run("DataReachesOnlyItsOwnSchema", func(t *testing.T) {
		s.install(t, "kt2", "1.0.0", wasm) // same table name, not enabled
		it := s.item(t, ctx, "article", "recorded")
		var n int
		if err := s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM plugin_kt.seen WHERE item_id = $1`, it.ID).Scan(&n); err != nil || n != 1 {
			t.Fatalf("plugin_kt.seen rows for the item = %d (%v), want 1", n, err)
		}
		if err := s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM plugin_kt2.seen`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("plugin_kt2.seen rows = %d (%v), want 0", n, err)
		}
		data := &pluginData{s.pm}
		out, err := data.ExecData(ctx, "kt2", plugin.DataOp{Op: "select", Table: "seen"})
		if err != nil || string(out) != `{"rows":[]}` {
			t.Fatalf("kt2 select = %s, %v", out, err)
		}
		out, err = data.ExecData(ctx, "kt", plugin.DataOp{Op: "select", Table: "seen", Where: map[string]json.RawMessage{"item_id": json.RawMessage(`"` + it.ID.String() + `"`)}})
		if err != nil || !strings.Contains(string(out), "recorded [checked]") {
			t.Fatalf("kt select = %s, %v", out, err)
		}
		_, err = data.ExecData(ctx, "kt", plugin.DataOp{Op: "select", Table: "users"})
		wantCode(t, err, core.EForbidden)
	})

	t.Run("ItemAccessDenyHidesAnItem", func(t *testing.T) {
		it := s.item(t, ctx, "article", "secret plan")
		_, err := s.store.Items().FindItemByID(ctx, core.LiveStageID, it.ID)
		wantCode(t, err, core.ENotFound)
		if _, err := s.store.Items().FindItemByID(ctx, core.LiveStageID, before.ID); err != nil {
			t.Fatalf("a neutral vote hid an item: %v", err)
		}
	})

	t.Run("HostCallsActAsTheUser", func(t *testing.T) {
		bob := s.user(t, "bob", core.PermAccessContent, core.ItemPerm("article", "create"), core.ItemPerm("article", "edit_own"))
		_, err := s.pm.TileView(bob, "kt", TileViewInput{Tile: "t", Config: json.RawMessage(`{"id":"` + before.ID.String() + `","title":"hijacked"}`)})
		wantCode(t, err, core.EForbidden)
		mine := s.item(t, bob, "article", "bob's")
		page, err := s.pm.TileView(bob, "kt", TileViewInput{Tile: "t", Config: json.RawMessage(`{"id":"` + mine.ID.String() + `","title":"bob edited"}`)})
		if err != nil || page.Content.Children[0].Text != "bob edited [checked]" {
			t.Fatalf("own item through item_save: %+v, %v", page, err)
		}
	})

	t.Run("InvalidNewVersionKeepsTheOldRunning", func(t *testing.T) {
		_, err := s.pm.InstallBytes(ctx, "kt/plugin.toml", []byte(ktManifest("kt", "1.0.1")), []byte("\x00asm\x01\x00\x00\x00garbage"))
		wantCode(t, err, core.EInvalid)
		row, err := s.pm.store.Plugins().FindPlugin(ctx, "kt")
		if err != nil || row.Version != "1.0.0" || !row.Enabled {
			t.Fatalf("row after a refused upgrade: %+v, %v", row, err)
		}
		if it := s.item(t, ctx, "article", "still"); it.Title != "still [checked]" {
			t.Fatalf("the old version stopped: %q", it.Title)
		}
	})

	t.Run("DisableStopsItsTaps", func(t *testing.T) {
		if err := s.pm.Disable(ctx, "kt"); err != nil {
			t.Fatal(err)
		}
		if it := s.item(t, ctx, "article", "after"); it.Title != "after" {
			t.Fatalf("a disabled plugin's presave ran: %q", it.Title)
		}
		row, _ := s.pm.store.Plugins().FindPlugin(ctx, "kt")
		if row.Enabled {
			t.Fatal("the row is still enabled")
		}
	})

	t.Run("Uninstall", func(t *testing.T) {
		if err := s.pm.Uninstall(ctx, "kt"); err != nil {
			t.Fatal(err)
		}
		if s.store.Permissions().Known("kt.use") {
			t.Fatal("the permission survived the uninstall")
		}
		var exists bool
		_ = s.store.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'plugin_kt')`).Scan(&exists)
		if exists {
			t.Fatal("the plugin's schema survived the uninstall")
		}
		wantCode(t, s.pm.Enable(ctx, "kt", nil), core.ENotFound)
	})
}

func TestGrantsPluginChangesListings(t *testing.T) {
	t.Parallel()
	wasm := mustKT(t)
	s := mustSite(t)
	writer := []string{core.PermAccessContent, core.ItemPerm("article", "create"), core.ItemPerm("article", "edit_own")}
	ann := s.user(t, "ann", writer...)
	bob := s.user(t, "bob", writer...)
	s.item(t, ann, "article", "private diary")
	s.item(t, ann, "article", "public post")
	list := func(ctx context.Context) string {
		items, _, err := s.store.Items().FindItems(ctx, core.ItemFilter{Type: "article"})
		if err != nil {
			t.Fatal(err)
		}
		return titles(items)
	}
	if got := list(bob); got != "private diary,public post" {
		t.Fatalf("before the plugin bob lists %q", got)
	}
	s.install(t, "kt", "1.0.0", wasm)
	s.enableKT(t, "kt") // rebuilds the grants
	if got := list(bob); got != "public post" {
		t.Fatalf("after enabling the grants plugin bob lists %q, want only the public post", got)
	}
	if got := list(ann); got != "private diary,public post" {
		t.Fatalf("ann lists %q, want her private item too", got)
	}
	if err := s.pm.Disable(s.admin, "kt"); err != nil {
		t.Fatal(err)
	}
	if got := list(bob); got != "private diary,public post" {
		t.Fatalf("after disabling, bob lists %q", got)
	}
}

func TestBadManifestNamesFileAndLine(t *testing.T) {
	t.Parallel()
	s := mustSite(t)
	src := "name = \"bad\"\nversion = \"1.0.0\"\napi_version = 1\n\n[[taps]]\nname = \"render\"\n"
	_, err := s.pm.InstallBytes(s.admin, "bad/plugin.toml", []byte(src), []byte("\x00asm"))
	wantCode(t, err, core.EInvalid)
	if !strings.Contains(err.Error(), "bad/plugin.toml:6:") || !strings.Contains(err.Error(), `unknown tap "render"`) {
		t.Fatalf("error %q does not name bad/plugin.toml:6 and the tap", err)
	}
	_, err = s.pm.InstallBytes(s.admin, "v2/plugin.toml", []byte("name = \"v2\"\nversion = \"1.0.0\"\napi_version = 2\n"), []byte("\x00asm"))
	if err == nil || !strings.Contains(err.Error(), "v2/plugin.toml:3:") {
		t.Fatalf("api version error = %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plugin.toml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = s.pm.Install(s.admin, dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "plugin.toml")+":6:") {
		t.Fatalf("install from a folder: %v", err)
	}
}

func TestMissingDependencyNamesTheChain(t *testing.T) {
	t.Parallel()
	wasm := mustKT(t)
	s := mustSite(t)
	s.install(t, "top", "1.0.0", wasm, "middle")
	s.install(t, "middle", "1.0.0", wasm, "nope")
	err := s.pm.Enable(s.admin, "top", nil)
	wantCode(t, err, core.EInvalid)
	if !strings.Contains(err.Error(), "top -> middle -> nope") {
		t.Fatalf("error %q does not name the chain top -> middle -> nope", err)
	}
	s.install(t, "nope", "1.0.0", wasm)
	err = s.pm.Enable(s.admin, "top", nil)
	if err == nil || !strings.Contains(err.Error(), "enable middle first") {
		t.Fatalf("disabled dependency: %v", err)
	}
	for _, n := range []string{"nope", "middle", "top"} {
		if err := s.pm.Enable(s.admin, n, nil); err != nil {
			t.Fatalf("enable %s: %v", n, err)
		}
	}
	err = s.pm.Disable(s.admin, "middle")
	if err == nil || !strings.Contains(err.Error(), "needed by top") {
		t.Fatalf("disabling a dependency: %v", err)
	}
}

// TestLoadFromDatabase: a second manager on the same database (another
// node, or a restart) loads the enabled plugin from the blob store, and
// follows a disable made by the first through the change feed.
func TestLoadFromDatabase(t *testing.T) {
	t.Parallel()
	wasm := mustKT(t)
	s := mustSite(t)
	s.install(t, "kt", "1.0.0", wasm)
	s.enableKT(t, "kt")
	other, err := NewPluginManager(context.Background(), s.store, PluginOptions{CacheDir: sharedCacheDir(t), Limits: testLimits})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(context.Background())
	// NewPluginManager took over the store's hooks.
	if it := s.item(t, s.admin, "article", "node two"); it.Title != "node two [checked]" {
		t.Fatalf("the second manager did not load the enabled plugin: %q", it.Title)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- other.Watch(ctx, 50*time.Millisecond) }()
	// The watcher starts at the feed's head: a change written before it
	// read the head is not its business, so write until it sees one.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; other.implements("item_presave"); i++ {
		if time.Now().After(deadline) {
			t.Fatal("the watcher did not disable the plugin after the feed event")
		}
		if i%20 == 0 {
			if _, err := s.store.Plugins().SetPluginEnabled(s.admin, "kt", false, nil, "elsewhere"); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestReferencePlugins installs the bundled blog and related plugins (built
// by build/plugins.sh, or from source here) and checks what they add.
func TestReferencePlugins(t *testing.T) {
	t.Parallel()
	if GoToolchain() == "" {
		if entries, _ := fs.ReadDir(pluginsDist(), "dist"); len(entries) <= 1 {
			t.Skip("no built reference plugins and no Go toolchain to build them")
		}
	}
	s := mustSite(t)
	ctx := s.admin
	if err := InstallBundled(ctx, &Kernel{Store: s.store, Plugins: s.pm}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.Config().FindConfig(ctx, "item_type", "blog"); err != nil {
		t.Fatalf("item_info did not create the blog type: %v", err)
	}
	if v, ok, _ := s.store.Plugins().GetVariable(ctx, "blog", "posts_per_page"); !ok || string(v) != "10" {
		t.Fatalf("the install tap did not set posts_per_page: %s", v)
	}
	// Installing again changes nothing.
	if err := InstallBundled(ctx, &Kernel{Store: s.store, Plugins: s.pm}); err != nil {
		t.Fatal(err)
	}
	writer := []string{core.PermAccessContent, core.ItemPerm("blog", "create"), core.ItemPerm("article", "create"), PluginPermission("blog", "post")}
	ann := s.user(t, "ann", writer...)
	bob := s.user(t, "bob", writer...)

	t.Run("AuthorEditsOwnEntryThroughItemAccess", func(t *testing.T) {
		post := s.item(t, ann, "blog", "Hello blog")
		title := "Hello again"
		if _, err := s.store.Items().UpdateItem(ann, core.LiveStageID, post.ID, core.ItemUpdate{Title: &title}); err != nil {
			t.Fatalf("the author (blog.post, no edit_own) cannot edit her entry: %v", err)
		}
		_, err := s.store.Items().UpdateItem(bob, core.LiveStageID, post.ID, core.ItemUpdate{Title: &title})
		wantCode(t, err, core.EForbidden)
		// Without access.vote approved the grant counts as neutral.
		if err := s.pm.Enable(ctx, "blog", []string{"item.read", "user.read", "variables"}); err != nil {
			t.Fatal(err)
		}
		_, err = s.store.Items().UpdateItem(ann, core.LiveStageID, post.ID, core.ItemUpdate{Title: &title})
		wantCode(t, err, core.EForbidden)
		if err := s.pm.Enable(ctx, "blog", []string{"item.read", "user.read", "variables", "access.vote"}); err != nil {
			t.Fatal(err)
		}
		art := s.item(t, ann, "article", "An article")
		_, err = s.store.Items().UpdateItem(ann, core.LiveStageID, art.ID, core.ItemUpdate{Title: &title})
		wantCode(t, err, core.EForbidden) // the vote is for blog entries only
	})

	t.Run("ViewRoutePageMenu", func(t *testing.T) {
		post := s.item(t, ann, "blog", "Second entry")
		nodes := s.pm.ItemView(ann, post, "full", "en")
		b, _ := json.Marshal(nodes)
		if len(nodes) != 1 || !strings.Contains(string(b), `"byline"`) || !strings.Contains(string(b), "/user/"+post.AuthorID.String()) {
			t.Fatalf("item_view = %s", b)
		}
		if err := core.ValidateTree(nodes[0], core.TreeOptions{}); err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, r := range s.pm.Routes(ann) {
			paths = append(paths, r.Plugin+":"+r.Path)
		}
		if got := strings.Join(paths, ","); got != "blog:/blog,blog:/blog/page/{page}" {
			t.Fatalf("routes = %s", got)
		}
		rt, params, ok := s.pm.MatchRoute(ann, "/blog/page/2")
		if !ok || rt.Path != "/blog/page/{page}" || params["page"] != "2" || rt.Plugin != "blog" {
			t.Fatalf("match /blog/page/2 = %+v %v %v", rt, params, ok)
		}
		if rt, _, ok := s.pm.MatchRoute(ann, "/blog"); !ok || rt.Path != "/blog" {
			t.Fatalf("match /blog = %+v %v", rt, ok)
		}
		if _, _, ok := s.pm.MatchRoute(ann, "/blog/other/2"); ok {
			t.Fatal("matched /blog/other/2")
		}
		page, err := s.pm.PageView(ann, "blog", PageViewInput{Path: "/blog", Route: "/blog", Stage: "live"})
		if err != nil {
			t.Fatal(err)
		}
		b, _ = json.Marshal(page.Content)
		if page.Title != "Blog" || !strings.Contains(string(b), "/item/"+post.ID.String()) {
			t.Fatalf("page = %s %s", page.Title, b)
		}
		_, err = s.pm.PageView(ann, "related", PageViewInput{Path: "/blog"})
		wantCode(t, err, core.ENotFound)
		links := s.pm.Menu(ann, "main", "en")
		if len(links) != 1 || links[0].Path != "/blog" {
			t.Fatalf("menu = %+v", links)
		}
	})

	t.Run("RelatedByTag", func(t *testing.T) {
		term := core.NewID()
		if _, err := s.store.Staged().PutStaged(ctx, core.KindTerm, core.LiveStageID, term, json.RawMessage(`{"vocabulary":"tags","name":"go"}`), nil, ""); err != nil {
			t.Fatal(err)
		}
		tagged := func(title string) *core.Item {
			it := &core.Item{Type: "article", Title: title, Fields: json.RawMessage(`{"tags":[{"id":"` + term.String() + `"}]}`)}
			if err := s.store.Items().CreateItem(ann, core.LiveStageID, it, ""); err != nil {
				t.Fatal(err)
			}
			return it
		}
		one, two := tagged("One"), tagged("Two")
		s.item(t, ann, "article", "Untagged")
		related := func() string {
			for _, n := range s.pm.ItemView(bob, one, "full", "en") {
				if n.Attrs["class"] == "related" {
					b, _ := json.Marshal(n)
					return string(b)
				}
			}
			return ""
		}
		got := related()
		if !strings.Contains(got, "/item/"+two.ID.String()) || strings.Contains(got, "/item/"+one.ID.String()) || strings.Contains(got, "Untagged") {
			t.Fatalf("related = %s", got)
		}
		if related() != got {
			t.Fatal("a second view differs")
		}
		three := tagged("Three") // drops the cached list ("items" tag)
		if got := related(); !strings.Contains(got, "/item/"+three.ID.String()) {
			t.Fatalf("related after a new item = %s", got)
		}
	})
}

// TestScaffoldBuildInstall: `trovato plugin new`, `build` and `install`.
func TestScaffoldBuildInstall(t *testing.T) {
	t.Parallel()
	if GoToolchain() == "" {
		t.Skip("no Go toolchain: cannot build the scaffolded plugin")
	}
	dir := filepath.Join(t.TempDir(), "hello")
	if err := ScaffoldPlugin(dir, "hello", ""); err != nil {
		t.Fatal(err)
	}
	wantCode(t, ScaffoldPlugin(dir, "hello", ""), core.EInvalid)
	wantCode(t, ScaffoldPlugin(t.TempDir(), "Bad-Name", ""), core.EInvalid)
	wasm, err := BuildPlugin(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if wasm != filepath.Join(dir, "hello.wasm") {
		t.Fatalf("built %s", wasm)
	}
	s := mustSite(t)
	if _, err := s.pm.Install(s.admin, wasm); err != nil {
		t.Fatal(err)
	}
	if err := s.pm.Enable(s.admin, "hello", nil); err != nil {
		t.Fatal(err)
	}
	it := s.item(t, s.admin, "article", "Scaffolded")
	nodes := s.pm.ItemView(s.admin, it, "full", "en")
	if len(nodes) != 1 || nodes[0].Attrs["class"] != "hello" {
		t.Fatalf("item_view = %+v", nodes)
	}
	list, err := s.pm.List(s.admin)
	if err != nil || len(list) != 1 || !list[0].Enabled || !list[0].Loaded || list[0].Stats.Calls == 0 {
		t.Fatalf("list = %+v, %v", list, err)
	}
}

// TestWatchDir: the development installer installs and enables a plugin
// folder that appears under the watched directory, and a changed version.
func TestWatchDir(t *testing.T) {
	t.Parallel()
	wasm := mustKT(t)
	s := mustSite(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(s.admin)
	done := make(chan error, 1)
	go func() { done <- s.pm.WatchDir(ctx, dir) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(200 * time.Millisecond)
	folder := filepath.Join(dir, "dev")
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(version string) {
		if err := os.WriteFile(filepath.Join(folder, "dev.wasm"), wasm, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(folder, "plugin.toml"), []byte(ktManifest("dev", version)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(version string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			row, err := s.store.Plugins().FindPlugin(s.admin, "dev")
			if err == nil && row.Enabled && row.Version == version && len(row.Approved) == 3 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("dev %s was not installed and enabled: %+v, %v", version, row, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	write("1.0.0")
	waitFor("1.0.0")
	if it := s.item(t, s.admin, "article", "watched"); it.Title != "watched [checked]" {
		t.Fatalf("the watched plugin does not run: %q", it.Title)
	}
	write("1.1.0")
	waitFor("1.1.0")
}

// TestEnableTwiceWritesNothing: enabling an enabled plugin with the same
// approvals appends nothing to the change feed.
func TestEnableTwiceWritesNothing(t *testing.T) {
	t.Parallel()
	wasm := mustKT(t)
	s := mustSite(t)
	s.install(t, "kt", "1.0.0", wasm)
	s.enableKT(t, "kt")
	count := func() int {
		var n int
		if err := s.store.Pool().QueryRow(s.admin, `SELECT count(*) FROM change_feed WHERE kind = 'plugin'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	s.enableKT(t, "kt")
	if _, err := s.pm.InstallBytes(s.admin, "kt/plugin.toml", []byte(ktManifest("kt", "1.0.0")), wasm); err != nil {
		t.Fatal(err)
	}
	if after := count(); after != before {
		t.Fatalf("plugin feed rows %d -> %d, want no change", before, after)
	}
	if err := s.pm.Enable(s.admin, "kt", []string{"data"}); err != nil {
		t.Fatal(err)
	}
	if count() == before {
		t.Fatal("changing the approvals wrote nothing")
	}
}

// TestGatherExtendReachesSQL runs gathers with the test plugin's
// gather_extend: its filter and sort reach the compiled statement as
// parameters; a filter on an undeclared field or with an unknown operator
// is dropped, and the gather runs as stored.
func TestGatherExtendReachesSQL(t *testing.T) {
	t.Parallel()
	wasm := mustKT(t)
	s := mustSite(t)
	ctx := s.admin
	term := func(name string) string {
		d, err := s.store.Staged().PutStaged(ctx, core.KindTerm, core.LiveStageID, core.NilID, json.RawMessage(`{"vocabulary":"tags","name":"`+name+`"}`), nil, "")
		if err != nil {
			t.Fatal(err)
		}
		return d.ID.String()
	}
	goTag, rustTag := term("go"), term("rust")
	for title, tag := range map[string]string{"alpha": goTag, "bravo": rustTag, "charlie": goTag, "delta": ""} {
		it := &core.Item{Type: "article", Title: title}
		if tag != "" {
			it.Fields = json.RawMessage(`{"tags":[{"id":"` + tag + `"}]}`)
		}
		if err := s.store.Items().CreateItem(ctx, core.LiveStageID, it, ""); err != nil {
			t.Fatal(err)
		}
	}
	g, err := core.ParseGather(json.RawMessage(`{"kind":"gather","name":"tagged","label":"Tagged","types":["article"],"pager":{"per_page":10}}`))
	if err != nil {
		t.Fatal(err)
	}
	run := func(arg string) string {
		t.Helper()
		var args core.GatherArgs
		if arg != "" {
			args.PathArgs = []string{arg}
		}
		res, err := s.store.Gathers().RunGather(ctx, g, core.LiveStageID, args)
		if err != nil {
			t.Fatalf("gather with %q: %v", arg, err)
		}
		var out []string
		for _, it := range res.Items {
			out = append(out, it.Title)
		}
		return strings.Join(out, ",")
	}
	const all = "alpha,bravo,charlie,delta"
	if got := run(goTag); len(strings.Split(got, ",")) != 4 {
		t.Fatalf("before the plugin: %q", got)
	}
	s.install(t, "kt", "1.0.0", wasm)
	s.enableKT(t, "kt")
	for name, tc := range map[string]struct{ arg, want string }{
		"NoContribution":  {"", all},
		"FilterAndSort":   {goTag, "charlie,alpha"}, // the plugin sorts by title, descending
		"OtherValue":      {rustTag, "bravo"},
		"ValueIsAParam":   {"inject", ""},
		"UndeclaredField": {"bogus", all},
		"UnknownOperator": {"badop", all},
	} {
		t.Run(name, func(t *testing.T) {
			got := run(tc.arg)
			if tc.want == all {
				// The gather has no sort of its own: compare as a set.
				parts := strings.Split(got, ",")
				sort.Strings(parts)
				got = strings.Join(parts, ",")
			}
			if got != tc.want {
				t.Fatalf("gather with %q = %q, want %q", tc.arg, got, tc.want)
			}
		})
	}
	var n int
	if err := s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM item`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("items after the injection attempt: %d, %v", n, err)
	}
	if len(g.Filters) != 0 || len(g.Sorts) != 0 {
		t.Fatal("gather_extend changed the stored gather")
	}
}

// TestStagedPluginKind drives the staged host calls through the test
// plugin's page_view: a plugin kind is saved, loaded, listed and deleted
// in a stage through the shared revision and head tables, live does not
// see the stage's changes until publish, and a user without the kind's
// permission cannot write.
func TestStagedPluginKind(t *testing.T) {
	t.Parallel()
	wasm := mustKT(t)
	s := mustSite(t)
	ctx := s.admin
	s.install(t, "kt", "1.0.0", wasm)
	s.enableKT(t, "kt")
	st := &core.Stage{Name: "draft", Label: "Draft"}
	if err := s.store.Stages().CreateStage(ctx, st); err != nil {
		t.Fatal(err)
	}
	call := func(ctx context.Context, stage string, params map[string]string) (string, error) {
		ctx = plugin.NewContextWithRequest(ctx, plugin.Request{Stage: stage})
		page, err := s.pm.PageView(ctx, "kt", PageViewInput{Path: "/x", Params: params})
		if err != nil {
			return "", err
		}
		return page.Content.Children[0].Text, nil
	}
	out, err := call(ctx, "live", map[string]string{"op": "save", "kind": "kt_note", "doc": `{"title":"first"}`})
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(out)
	id, rev := f[0], f[1]
	if out, err := call(ctx, "draft", map[string]string{"op": "save", "kind": "kt_note", "id": id, "rev": rev, "doc": `{"title":"staged edit"}`}); err != nil {
		t.Fatalf("save in the stage: %v", err)
	} else if !strings.Contains(out, "staged edit") {
		t.Fatalf("save in the stage = %q", out)
	}
	if out, _ := call(ctx, "draft", map[string]string{"op": "save", "kind": "kt_note", "doc": `{"title":"second"}`}); out == "" {
		t.Fatal("create in the stage failed")
	}
	for stage, want := range map[string]string{"live": "1 first", "draft": "2 second staged edit"} {
		got, err := call(ctx, stage, map[string]string{"op": "list", "kind": "kt_note"})
		if err != nil || got != want {
			t.Fatalf("list in %s = %q, %v; want %q", stage, got, err, want)
		}
	}
	// A stale base revision is a conflict.
	_, err = call(ctx, "live", map[string]string{"op": "save", "kind": "kt_note", "id": id, "rev": "0190f0e0-0000-7000-8000-000000000001", "doc": `{"title":"x"}`})
	wantCode(t, err, core.EConflict)
	// Only its own kinds, well-formed operations.
	_, err = call(ctx, "live", map[string]string{"op": "list", "kind": "term"})
	wantCode(t, err, core.EForbidden)
	_, err = call(ctx, "live", map[string]string{"op": "save", "kind": "kt_note", "doc": `["not an object"]`})
	wantCode(t, err, core.EInvalid)
	_, err = call(ctx, "live", map[string]string{"op": "load", "kind": "kt_note", "id": "nope"})
	wantCode(t, err, core.EInvalid)
	// The request's user needs the kind's permission to write.
	reader := s.user(t, "reader", core.PermAccessContent)
	if got, err := call(reader, "live", map[string]string{"op": "load", "kind": "kt_note", "id": id}); err != nil || !strings.Contains(got, "first") {
		t.Fatalf("reader load = %q, %v", got, err)
	}
	_, err = call(reader, "live", map[string]string{"op": "save", "kind": "kt_note", "id": id, "doc": `{"title":"vandal"}`})
	wantCode(t, err, core.EForbidden)
	_, err = call(reader, "live", map[string]string{"op": "delete", "kind": "kt_note", "id": id})
	wantCode(t, err, core.EForbidden)
	// A delete in the stage is a tombstone; live keeps the document.
	if _, err := call(ctx, "draft", map[string]string{"op": "delete", "kind": "kt_note", "id": id}); err != nil {
		t.Fatal(err)
	}
	_, err = call(ctx, "draft", map[string]string{"op": "load", "kind": "kt_note", "id": id})
	wantCode(t, err, core.ENotFound)
	if got, err := call(ctx, "live", map[string]string{"op": "load", "kind": "kt_note", "id": id}); err != nil || !strings.Contains(got, "first") {
		t.Fatalf("live load after the stage's delete = %q, %v", got, err)
	}
	var heads int
	if err := s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM head WHERE kind = 'kt_note'`).Scan(&heads); err != nil || heads != 3 {
		t.Fatalf("head rows of kt_note = %d, %v; want 3 (live, the stage's tombstone, the stage's creation)", heads, err)
	}
	// Publishing the stage moves its changes to live with everything else.
	rep, err := s.store.Stages().PublishStage(ctx, st.ID, core.PublishOptions{})
	if err != nil || !rep.Applied {
		t.Fatalf("publish: %+v, %v", rep, err)
	}
	if got, err := call(ctx, "live", map[string]string{"op": "list", "kind": "kt_note"}); err != nil || got != "1 second" {
		t.Fatalf("live after publish = %q, %v; want only the stage's new document", got, err)
	}
}

// TestStagedKindPermission: a manifest's stageable_permissions names the
// plugin's own permission that guards writes to a kind; a user holding it
// (and not administer content) writes, one without it cannot; a new
// version naming no permission falls back to administer content.
func TestStagedKindPermission(t *testing.T) {
	t.Parallel()
	wasm := mustKT(t)
	s := mustSite(t)
	withPerm := strings.Replace(ktManifest("ktperm", "1.0.0"), `stageable = ["ktperm_note"]`,
		"stageable = [\"ktperm_note\"]\nstageable_permissions = { ktperm_note = \"use\" }", 1)
	if _, err := s.pm.InstallBytes(s.admin, "ktperm/plugin.toml", []byte(withPerm), wasm); err != nil {
		t.Fatal(err)
	}
	s.enableKT(t, "ktperm")
	if got := postgres.KindPermission("ktperm_note"); got != "ktperm.use" {
		t.Fatalf("kind permission = %q, want ktperm.use", got)
	}
	call := func(ctx context.Context, params map[string]string) error {
		ctx = plugin.NewContextWithRequest(ctx, plugin.Request{Stage: "live"})
		_, err := s.pm.PageView(ctx, "ktperm", PageViewInput{Path: "/x", Params: params})
		return err
	}
	note := map[string]string{"op": "save", "kind": "ktperm_note", "doc": `{"title":"n"}`}
	writer := s.user(t, "notewriter", core.PermAccessContent, "ktperm.use")
	if err := call(writer, note); err != nil {
		t.Fatalf("a user with ktperm.use saves: %v", err)
	}
	reader := s.user(t, "notereader", core.PermAccessContent)
	wantCode(t, call(reader, note), core.EForbidden)

	// Version 1.0.1 names no permission: administer content again.
	s.install(t, "ktperm", "1.0.1", wasm)
	if got := postgres.KindPermission("ktperm_note"); got != core.PermAdministerContent {
		t.Fatalf("kind permission after 1.0.1 = %q, want %q", got, core.PermAdministerContent)
	}
	wantCode(t, call(writer, note), core.EForbidden)

	// Another plugin cannot take the kind over.
	if err := postgres.RegisterKind("ktperm_note", "other", core.PermAccessContent); core.ErrorCode(err) != core.EConflict {
		t.Fatalf("another plugin registering the kind: %v, want a conflict", err)
	}
	if got := postgres.KindPermission("ktperm_note"); got != core.PermAdministerContent {
		t.Fatalf("kind permission after the refused takeover = %q", got)
	}
}

// TestFormAlterKernelFields: a form_alter output may relabel, add or
// remove fields, but not give a kernel field's name to a second element or
// to an element of another kind.
func TestFormAlterKernelFields(t *testing.T) {
	kernelForm := []core.Node{
		{Type: core.ElemInput, Name: "name", Label: "User name"},
		{Type: core.ElemInput, InputType: "password", Name: "password", Label: "Password"},
	}
	controls := map[string]core.Node{}
	collectControls(kernelForm, controls, map[string]bool{})
	for name, tc := range map[string]struct {
		out []core.Node
		ok  bool
	}{
		"Unchanged": {kernelForm, true},
		"Relabelled": {[]core.Node{{Type: core.ElemInput, Name: "name", Label: "Login"},
			{Type: core.ElemInput, InputType: "password", Name: "password"}}, true},
		"AddedAndRemoved": {[]core.Node{{Type: core.ElemInput, Name: "name"},
			{Type: core.ElemFieldset, Children: []core.Node{{Type: core.ElemCheckbox, Name: "remember"}}}}, true},
		"HiddenShadow": {append([]core.Node{{Type: core.ElemHidden, Name: "name", Value: "admin"}}, kernelForm...), false},
		"NestedDuplicate": {append(slices.Clone(kernelForm),
			core.Node{Type: core.ElemFieldset, Children: []core.Node{{Type: core.ElemInput, Name: "name"}}}), false},
		"PasswordShown": {[]core.Node{{Type: core.ElemInput, Name: "name"}, {Type: core.ElemInput, Name: "password"}}, false},
	} {
		t.Run(name, func(t *testing.T) {
			if err := checkControls(tc.out, controls); (err == nil) != tc.ok {
				t.Fatalf("checkControls = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
