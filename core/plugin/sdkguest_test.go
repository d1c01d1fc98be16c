package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
)

var sdkGuest struct {
	mu  sync.Mutex
	bin []byte
}

// MustSDKGuest builds plugins/testplugins/sdkguest for wasip1 and caches
// the module under the user cache directory, keyed by a hash of the SDK
// and guest sources and the Go version, so tests and benchmarks build it
// at most once per change.
func MustSDKGuest(tb testing.TB) []byte {
	tb.Helper()
	sdkGuest.mu.Lock()
	defer sdkGuest.mu.Unlock()
	if sdkGuest.bin != nil {
		return sdkGuest.bin
	}
	root := moduleRoot(tb)
	guest := filepath.Join(root, "plugins", "testplugins", "sdkguest")
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version())
	for _, dir := range []string{filepath.Join(root, "plugins", "sdk"), guest} {
		var files []string
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
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
			fmt.Fprintf(h, "%s %d\n", strings.TrimPrefix(f, root), len(b))
			h.Write(b)
		}
	}
	cacheDir, err := os.UserCacheDir()
	if err != nil {
		cacheDir = os.TempDir()
	}
	out := filepath.Join(cacheDir, "trovato-test", "sdkguest-"+hex.EncodeToString(h.Sum(nil))[:16]+".wasm")
	if b, err := os.ReadFile(out); err == nil {
		sdkGuest.bin = b
		return b
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("go toolchain not on PATH; cannot build the SDK guest")
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		tb.Fatal(err)
	}
	tmp := out + ".tmp" + fmt.Sprint(os.Getpid())
	cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-o", tmp, ".")
	cmd.Dir = guest
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false")
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build sdk guest: %v\n%s", err, msg)
	}
	if err := os.Rename(tmp, out); err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	sdkGuest.bin = b
	return b
}

// testItem returns an item document of about size bytes with fields
// f00..f17 (the sdkguest's view fields) plus padding.
func testItem(size int) []byte {
	fields := map[string]any{"locked": false}
	for i := range 18 {
		fields[fmt.Sprintf("f%02d", i)] = fmt.Sprintf("Field %d: %s", i, strings.Repeat("lorem ipsum dolor sit amet ", 5))
	}
	it := map[string]any{
		"id": "0190f0e0-0000-7000-8000-000000000001", "type": "article", "title": "A test item",
		"status": "published", "author_id": "0190f0e0-0000-7000-8000-0000000000aa",
		"created_at": "2026-01-02T03:04:05Z", "changed_at": "2026-01-02T03:04:05Z",
		"language": "en", "fields": fields,
	}
	b, _ := json.Marshal(it)
	if pad := size - len(b) - 20; pad > 0 {
		fields["padding"] = strings.Repeat("x", pad)
		b, _ = json.Marshal(it)
	}
	return b
}

func TestSDKGuest(t *testing.T) {
	items := &fakeItems{docs: map[string][]byte{}}
	item := testItem(8 << 10)
	items.docs["0190f0e0-0000-7000-8000-000000000001"] = item
	h, logs := MustHost(t, HostConfig{Services: Services{Items: items}})
	m := testManifest("sdkguest", []string{"item_view", "item_view_alter", "item_access", "cron", "page_view"}, CapItemRead, CapAccessVote)
	MustLoad(t, h, m, MustSDKGuest(t), Limits{MemoryPages: 512})
	ctx := context.Background()

	full := h.Invoke(ctx, "item_view", []byte(`{"item":`+string(item)+`,"view_mode":"full"}`))
	if full[0].Err != nil {
		t.Fatal(full[0].Err)
	}
	var tree core.Node
	if err := json.Unmarshal(full[0].Output, &tree); err != nil {
		t.Fatalf("output is not a render tree: %v\n%s", err, full[0].Output)
	}
	if tree.Type != "container" || tree.Tag != "article" || len(tree.Children) != 20 || tree.Children[0].Text != "A test item" {
		t.Fatalf("tree = %s", full[0].Output)
	}
	// The same tree through 21 item_field host calls.
	calls := h.Invoke(ctx, "item_view_alter", []byte(`{"id":"0190f0e0-0000-7000-8000-000000000001"}`))
	if calls[0].Err != nil || string(calls[0].Output) != string(full[0].Output) {
		t.Fatalf("host-call tree differs: %v\n%s\n%s", calls[0].Err, calls[0].Output, full[0].Output)
	}

	vote, _ := h.Access(ctx, []byte(`{"op":"update","item":`+string(item)+`,"user":{"id":"0190f0e0-0000-7000-8000-0000000000aa"}}`))
	if vote != VoteGrant {
		t.Fatalf("author vote = %s", vote)
	}

	// A Go panic inside the tap is the plugin's error, not a trap.
	res := h.Invoke(ctx, "cron", []byte(`{}`))
	var ce *CallError
	if !errors.As(res[0].Err, &ce) || ce.Reason != ReasonPluginError || !strings.Contains(ce.Err.Message, "cron exploded") {
		t.Fatalf("cron: %v", res[0].Err)
	}
	// Unbounded allocation hits the memory cap; the pool recovers.
	res = h.Invoke(ctx, "page_view", []byte(`{}`))
	if !errors.As(res[0].Err, &ce) || ce.Reason != ReasonMemory {
		t.Fatalf("page_view: %v\n%s", res[0].Err, logs)
	}
	again := h.Invoke(ctx, "item_view", []byte(`{"item":`+string(item)+`}`))
	if again[0].Err != nil || string(again[0].Output) != string(full[0].Output) {
		t.Fatalf("after the memory failure: %v", again[0].Err)
	}
}

func TestSDKGuestHostCalls(t *testing.T) {
	item := testItem(2 << 10)
	var doc map[string]any
	json.Unmarshal(item, &doc)
	doc["fields"].(map[string]any)["big"] = strings.Repeat("b", 100<<10)
	big, _ := json.Marshal(doc)
	svc := Services{
		Items:     &fakeItems{docs: map[string][]byte{"i1": big}},
		Data:      &fakeData{},
		Users:     fakeUsers{user: User{ID: "u1", Name: "ann", Roles: []string{"editor"}, Authenticated: true}, perms: map[string]bool{"edit own blog": true}},
		Cache:     &fakeCache{},
		Variables: &fakeVariables{},
	}
	h, logs := MustHost(t, HostConfig{Services: svc})
	m := testManifest("reporter", []string{"tile_view"}, CapItemRead, CapUserRead, CapCache, CapVariables, CapRequest, CapLog, CapData)
	m.Tables = []Table{{Name: "notes", SchemaVersion: 1, PrimaryKey: []string{"id"}, Columns: []Column{{Name: "id", Type: "uuid", NotNull: true}, {Name: "body", Type: "text"}}}}
	if err := h.Load(context.Background(), m, MustSDKGuest(t), Limits{MemoryPages: 512}); err != nil {
		t.Fatal(err)
	}
	ctx := NewContextWithRequest(context.Background(), Request{Path: "/blog", Stage: "draft", Language: "en"})
	tests := []struct {
		name     string
		approved []Capability
		want     map[string]any
	}{
		{name: "AllApproved", approved: m.Capabilities, want: map[string]any{
			"item_title": "A test item", "item_field": "Field 1: " + strings.Repeat("lorem ipsum dolor sit amet ", 5),
			"query_total": 1.0, "user": "ann", "perm": true, "cache_set": true, "cache_get": `"cached"/true`,
			"cache_invalidate": true, "var_set": true, "var_get": "hello/true", "request": "/blog|draft|en",
			"data": 1.0, "data_foreign": "error:forbidden", "big_field_len": float64(100 << 10),
		}},
		{name: "NoneApproved", approved: nil, want: map[string]any{
			"item_title": "error:forbidden", "user": "error:forbidden", "cache_get": "error:forbidden",
			"var_get": "error:forbidden", "request": "error:forbidden", "data": "error:forbidden",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := h.Enable("reporter", tc.approved); err != nil {
				t.Fatal(err)
			}
			res := h.Invoke(ctx, "tile_view", []byte(`{"item_id":"i1"}`))
			if res[0].Err != nil {
				t.Fatal(res[0].Err)
			}
			var got map[string]any
			if err := json.Unmarshal(res[0].Output, &got); err != nil {
				t.Fatal(err)
			}
			for k, w := range tc.want {
				if fmt.Sprint(got[k]) != fmt.Sprint(w) {
					t.Errorf("%s = %v, want %v", k, got[k], w)
				}
			}
		})
	}
	if !strings.Contains(logs.String(), "report done") {
		t.Fatalf("plugin log line missing:\n%s", logs)
	}
}

// fakeItems serves item documents; like the kernel's request-scoped item
// cache it splits each document into properties and fields once.
type fakeItems struct {
	mu    sync.Mutex
	docs  map[string][]byte
	split map[string]map[string]json.RawMessage
}

func (f *fakeItems) LoadItem(ctx context.Context, stage, id string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.docs[id]
	if !ok {
		return nil, core.Errorf(core.ENotFound, "item %s not found", id)
	}
	return d, nil
}

func (f *fakeItems) LoadItemField(ctx context.Context, stage, id, field string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.split == nil {
		f.split = map[string]map[string]json.RawMessage{}
	}
	m, ok := f.split[id]
	if !ok {
		d, ok := f.docs[id]
		if !ok {
			return nil, core.Errorf(core.ENotFound, "item %s not found", id)
		}
		var doc, fields map[string]json.RawMessage
		json.Unmarshal(d, &doc)
		json.Unmarshal(doc["fields"], &fields)
		m = fields
		for k, v := range doc {
			if k != "fields" {
				m[k] = v
			}
		}
		f.split[id] = m
	}
	if v, ok := m[field]; ok {
		return v, nil
	}
	return nil, core.Errorf(core.ENotFound, "no field %s", field)
}

func (f *fakeItems) QueryItems(ctx context.Context, stage string, q ItemQuery) ([]byte, error) {
	if q.Type != "article" || len(q.Filters) != 1 || q.Limit != 5 {
		return nil, core.Errorf(core.EInvalid, "unexpected query %+v", q)
	}
	return []byte(`{"items":[{"id":"i1","title":"A"}],"total":1}`), nil
}

type fakeData struct{ ops []DataOp }

func (f *fakeData) ExecData(ctx context.Context, plugin string, op DataOp) ([]byte, error) {
	f.ops = append(f.ops, op)
	return []byte(`{"affected":1}`), nil
}

type fakeUsers struct {
	user  User
	perms map[string]bool
}

func (f fakeUsers) CurrentUser(ctx context.Context) (User, error) { return f.user, nil }
func (f fakeUsers) HasPermission(ctx context.Context, p string) (bool, error) {
	return f.perms[p], nil
}

type fakeCache struct {
	mu   sync.Mutex
	vals map[string][]byte
	tags map[string][]string
}

func (f *fakeCache) GetCache(ctx context.Context, key string) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vals[key]
	return v, ok, nil
}

func (f *fakeCache) SetCache(ctx context.Context, key string, value []byte, tags []string, ttl time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !strings.HasPrefix(key, "plugin:reporter:") {
		return core.Errorf(core.EInvalid, "key %q not namespaced", key)
	}
	if f.vals == nil {
		f.vals, f.tags = map[string][]byte{}, map[string][]string{}
	}
	f.vals[key], f.tags[key] = value, tags
	return nil
}

func (f *fakeCache) InvalidateTags(ctx context.Context, tags ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, kt := range f.tags {
		for _, t := range kt {
			for _, x := range tags {
				if t == x {
					delete(f.vals, k)
				}
			}
		}
	}
	return nil
}

type fakeVariables struct {
	mu   sync.Mutex
	vals map[string][]byte
}

func (f *fakeVariables) GetVariable(ctx context.Context, plugin, name string) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vals[plugin+"/"+name]
	return v, ok, nil
}

func (f *fakeVariables) SetVariable(ctx context.Context, plugin, name string, value []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.vals == nil {
		f.vals = map[string][]byte{}
	}
	f.vals[plugin+"/"+name] = value
	return nil
}

// TestNoSpuriousStop: the stop flag of one call (raised late by its
// canceled context) must never stop a later call on the same instance.
func TestNoSpuriousStop(t *testing.T) {
	h, _ := MustHost(t, HostConfig{})
	MustLoad(t, h, testManifest("sdkguest", []string{"item_view"}), MustSDKGuest(t), Limits{PoolSize: 1})
	input := []byte(`{"item":` + string(testItem(8<<10)) + `}`)
	for i := range 300 {
		if r := h.Invoke(context.Background(), "item_view", input); r[0].Err != nil {
			t.Fatalf("call %d: %v", i, r[0].Err)
		}
	}
}

// TestHostAsItemAccessVoter runs the SDK guest's item_access through the
// core.ItemAccessVoter adapter.
func TestHostAsItemAccessVoter(t *testing.T) {
	h, _ := MustHost(t, HostConfig{})
	MustLoad(t, h, testManifest("sdkguest", []string{"item_access"}, CapAccessVote), MustSDKGuest(t), Limits{})
	author := &core.User{ID: core.NewID(), Name: "ann", Roles: []string{"editor"}}
	other := &core.User{ID: core.NewID(), Name: "bob"}
	tests := []struct {
		name   string
		user   *core.User
		fields string
		want   core.Vote
	}{
		{"AuthorGrant", author, `{"locked":false}`, core.VoteGrant},
		{"LockedDeny", author, `{"locked":true}`, core.VoteDeny},
		{"OtherNeutral", other, `{}`, core.VoteNeutral},
		{"AnonymousNeutral", core.Anonymous, `{}`, core.VoteNeutral},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := &core.Item{ID: core.NewID(), Type: "blog", Title: "T", Status: "published", AuthorID: author.ID, Fields: json.RawMessage(tc.fields)}
			v, err := h.ItemAccess(context.Background(), tc.user, "update", it)
			if err != nil || v != tc.want {
				t.Fatalf("vote = %v, %v; want %v", v, err, tc.want)
			}
		})
	}
}
