package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
)

func TestMinimalGuest(t *testing.T) {
	h, _ := MustHost(t, HostConfig{})
	MustLoad(t, h, testManifest("minimal", []string{"item_view", "page_view"}), MustWAT(t, "minimal"), Limits{})
	ctx := context.Background()
	for i := range 3 {
		in := []byte(`{"item":{"id":"` + strings.Repeat("x", i*1000) + `"}}`)
		res := h.Invoke(ctx, "item_view", in)
		if len(res) != 1 || res[0].Err != nil {
			t.Fatalf("call %d: %+v", i, res)
		}
		if string(res[0].Output) != string(in) {
			t.Fatalf("call %d: echo = %q", i, res[0].Output)
		}
	}
	res := h.Invoke(ctx, "page_view", []byte(`{}`))
	if got := string(res[0].Output); got != `{"type":"text","text":"hello"}` {
		t.Fatalf("page_view = %q", got)
	}
	if res := h.Invoke(ctx, "cron", []byte(`{}`)); len(res) != 0 {
		t.Fatalf("cron has no implementations, got %+v", res)
	}
}

// TestHostile runs each hostile guest: the call fails with the documented
// reason and code, and the next call to a well-behaved plugin (and to the
// same plugin) still works.
func TestHostile(t *testing.T) {
	tests := []struct {
		name   string
		wat    string
		caps   []Capability
		lim    Limits
		reason Reason
		code   string
	}{
		{name: "InfiniteLoop", wat: "loop", lim: Limits{Deadline: 50 * time.Millisecond}, reason: ReasonDeadline, code: core.EUnavailable},
		{name: "MemoryGrowth", wat: "grow", lim: Limits{MemoryPages: 64}, reason: ReasonMemory, code: core.ETooLarge},
		{name: "Trap", wat: "trap", reason: ReasonTrap, code: core.EInternal},
		{name: "OutOfBoundsReturn", wat: "badptr", reason: ReasonBadPointer, code: core.EInvalid},
		{name: "OutOfBoundsHostCall", wat: "badhostptr", caps: []Capability{CapLog}, reason: ReasonBadPointer, code: core.EInvalid},
		{name: "InvalidJSON", wat: "invalidjson", reason: ReasonInvalidOutput, code: core.EInvalid},
		{name: "HugeOutputClaim", wat: "hugeclaim", reason: ReasonOutputTooLarge, code: core.ETooLarge},
		{name: "HostCallFlood", wat: "flood", caps: []Capability{CapLog}, lim: Limits{MaxHostCalls: 100}, reason: ReasonHostCallLimit, code: core.ERateLimit},
		{name: "HostCallFloodWithoutCapability", wat: "flood", lim: Limits{MaxHostCalls: 100}, reason: ReasonHostCallLimit, code: core.ERateLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, logs := MustHost(t, HostConfig{MaxConsecutiveFailures: 3})
			MustLoad(t, h, testManifest("good", []string{"item_view"}), MustWAT(t, "minimal"), Limits{})
			MustLoad(t, h, testManifest("bad", []string{"item_view"}, tc.caps...), MustWAT(t, tc.wat), tc.lim)
			ctx := context.Background()
			in := []byte(`{"item":{"id":"1"}}`)
			for round := range 2 {
				res := h.Invoke(ctx, "item_view", in)
				if len(res) != 2 {
					t.Fatalf("round %d: %d results", round, len(res))
				}
				byName := map[string]Result{res[0].Plugin: res[0], res[1].Plugin: res[1]}
				if g := byName["good"]; g.Err != nil || string(g.Output) != string(in) {
					t.Fatalf("round %d: good plugin: %+v", round, g)
				}
				b := byName["bad"]
				var ce *CallError
				if !errors.As(b.Err, &ce) {
					t.Fatalf("round %d: bad plugin: want *CallError, got %v (output %q)", round, b.Err, b.Output)
				}
				if ce.Reason != tc.reason || core.ErrorCode(b.Err) != tc.code {
					t.Fatalf("round %d: got reason %s code %s (%v), want %s %s", round, ce.Reason, core.ErrorCode(b.Err), b.Err, tc.reason, tc.code)
				}
				if b.Output != nil {
					t.Fatalf("round %d: failed plugin contributed output %q", round, b.Output)
				}
			}
			if !contains(logs.String(), "plugin=bad") || !contains(logs.String(), "reason="+string(tc.reason)) {
				t.Fatalf("failure not logged with name and reason:\n%s", logs)
			}
			st := statsOf(t, h, "bad")
			if st.Calls != 2 || st.Failures != 2 || !st.Enabled {
				t.Fatalf("stats = %+v", st)
			}
		})
	}
}

func statsOf(tb testing.TB, h *Host, name string) Stats {
	tb.Helper()
	for _, s := range h.Stats() {
		if s.Plugin == name {
			return s
		}
	}
	tb.Fatalf("no stats for %s", name)
	return Stats{}
}

// TestCleanSnapshot proves a call cannot see what a previous call left in
// memory, in a private global or in pages grown above the snapshot.
func TestCleanSnapshot(t *testing.T) {
	h, _ := MustHost(t, HostConfig{})
	MustLoad(t, h, testManifest("leak", []string{"item_view"}), MustWAT(t, "leak"), Limits{PoolSize: 1})
	want := `{"prev":"clean---","n":1,"g":0}`
	for i := range 5 {
		res := h.Invoke(context.Background(), "item_view", []byte(`"secret`+string(rune('0'+i))+`"`))
		if res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
		if got := string(res[0].Output); got != want {
			t.Fatalf("call %d saw %s, want %s", i, got, want)
		}
	}
	if st := statsOf(t, h, "leak"); st.Instances != 1 || st.Resets < 5 {
		t.Fatalf("stats = %+v: want one reused instance", st)
	}
}

func TestAccessVoteNeedsCapability(t *testing.T) {
	tests := []struct {
		name string
		caps []Capability
		want Vote
	}{
		{name: "Approved", caps: []Capability{CapAccessVote}, want: VoteGrant},
		{name: "NotApproved", want: VoteNeutral},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := MustHost(t, HostConfig{})
			m := testManifest("voter", []string{"item_access"}, CapAccessVote)
			if err := h.Load(context.Background(), m, MustWAT(t, "vote"), Limits{}); err != nil {
				t.Fatal(err)
			}
			if err := h.Enable("voter", tc.caps); err != nil {
				t.Fatal(err)
			}
			vote, res := h.Access(context.Background(), []byte(`{"op":"view","item":{"id":"1"}}`))
			if vote != tc.want || len(res) != 1 || res[0].Err != nil {
				t.Fatalf("vote = %s, results %+v; want %s", vote, res, tc.want)
			}
		})
	}
}

func TestForeignTableRefused(t *testing.T) {
	h, _ := MustHost(t, HostConfig{Services: Services{Data: failingData{t}}})
	m := testManifest("sneaky", []string{"item_view"}, CapData)
	m.Tables = []Table{{Name: "notes", SchemaVersion: 1, Columns: []Column{{Name: "id", Type: "uuid"}}, PrimaryKey: []string{"id"}}}
	MustLoad(t, h, m, MustWAT(t, "foreigntable"), Limits{})
	res := h.Invoke(context.Background(), "item_view", []byte(`{}`))
	if res[0].Err != nil || string(res[0].Output) != `{"status":"-2"}` {
		t.Fatalf("got %+v %s, want status -2 (forbidden)", res[0].Err, res[0].Output)
	}
}

type failingData struct{ t *testing.T }

func (f failingData) ExecData(ctx context.Context, plugin string, op DataOp) ([]byte, error) {
	f.t.Errorf("data store reached with %+v", op)
	return nil, errors.New("unreachable")
}

func TestDisableAfterConsecutiveFailures(t *testing.T) {
	var disabled []string
	h, _ := MustHost(t, HostConfig{MaxConsecutiveFailures: 3, OnDisable: func(p string, err error) { disabled = append(disabled, p) }})
	MustLoad(t, h, testManifest("trap", []string{"item_view"}), MustWAT(t, "trap"), Limits{})
	for range 3 {
		h.Invoke(context.Background(), "item_view", []byte(`{}`))
	}
	if res := h.Invoke(context.Background(), "item_view", []byte(`{}`)); len(res) != 0 {
		t.Fatalf("disabled plugin still called: %+v", res)
	}
	st := statsOf(t, h, "trap")
	if st.Enabled || st.DisabledFor == nil || st.DisabledFor.Reason != ReasonTrap || len(disabled) != 1 {
		t.Fatalf("stats %+v, reported %v", st, disabled)
	}
	if err := h.Enable("trap", nil); err != nil {
		t.Fatal(err)
	}
	if res := h.Invoke(context.Background(), "item_view", []byte(`{}`)); len(res) != 1 {
		t.Fatalf("re-enabled plugin not called: %+v", res)
	}
}

func TestWeightOrderAndEnableDisable(t *testing.T) {
	h, _ := MustHost(t, HostConfig{})
	for _, p := range []struct {
		name   string
		weight int
	}{{"c", -5}, {"a", 10}, {"b", 10}, {"d", 0}} {
		m := testManifest(p.name, nil)
		m.Taps = []TapDecl{{Name: "item_view", Weight: p.weight}}
		MustLoad(t, h, m, MustWAT(t, "minimal"), Limits{PoolSize: 1})
	}
	order := func() string {
		var s []string
		for _, r := range h.Invoke(context.Background(), "item_view", []byte(`1`)) {
			s = append(s, r.Plugin)
		}
		return strings.Join(s, ",")
	}
	if got := order(); got != "c,d,a,b" {
		t.Fatalf("order = %s", got)
	}
	if err := h.Disable("d"); err != nil {
		t.Fatal(err)
	}
	if got := order(); got != "c,a,b" {
		t.Fatalf("after disable: %s", got)
	}
	if err := h.Disable("nope"); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("disable unknown: %v", err)
	}
	if err := h.Enable("a", []Capability{CapData}); core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("approving an unrequested capability: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	minimal := MustWAT(t, "minimal")
	tests := []struct {
		name string
		m    Manifest
		wasm []byte
		want string
	}{
		{name: "NotWasm", m: testManifest("x", []string{"item_view"}), wasm: []byte("hello"), want: "bad magic"},
		{name: "MissingTapExport", m: testManifest("x", []string{"cron"}), wasm: minimal, want: "missing export tap_cron"},
		{name: "BadManifest", m: Manifest{Name: "X"}, wasm: minimal, want: "invalid plugin manifest"},
		{name: "Truncated", m: testManifest("x", []string{"item_view"}), wasm: minimal[:len(minimal)-3], want: "section"},
		{name: "InitializeNeverReturns", m: testManifest("x", []string{"item_view"}), wasm: MustWAT(t, "initloop"), want: "deadline"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := MustHost(t, HostConfig{})
			err := h.Load(context.Background(), tc.m, tc.wasm, Limits{Deadline: 100 * time.Millisecond})
			if core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want EInvalid containing %q", err, tc.want)
			}
		})
	}
}

func TestReloadKeepsOldOnInvalidVersion(t *testing.T) {
	h, _ := MustHost(t, HostConfig{})
	m := testManifest("p", []string{"item_view"})
	MustLoad(t, h, m, MustWAT(t, "minimal"), Limits{})
	if err := h.Load(context.Background(), m, []byte("junk"), Limits{}); err == nil {
		t.Fatal("junk loaded")
	}
	if res := h.Invoke(context.Background(), "item_view", []byte(`2`)); len(res) != 1 || string(res[0].Output) != "2" {
		t.Fatalf("old version not running: %+v", res)
	}
}

func TestInputTooLarge(t *testing.T) {
	h, _ := MustHost(t, HostConfig{})
	MustLoad(t, h, testManifest("p", []string{"item_view"}), MustWAT(t, "minimal"), Limits{MaxInput: 64})
	res := h.Invoke(context.Background(), "item_view", []byte(`"`+strings.Repeat("a", 100)+`"`))
	var ce *CallError
	if !errors.As(res[0].Err, &ce) || ce.Reason != ReasonInputTooLarge {
		t.Fatalf("got %v", res[0].Err)
	}
}

func TestCanceledContext(t *testing.T) {
	h, _ := MustHost(t, HostConfig{})
	MustLoad(t, h, testManifest("loop", []string{"item_view"}), MustWAT(t, "loop"), Limits{Deadline: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := h.Invoke(ctx, "item_view", []byte(`{}`))
	if time.Since(start) > 2*time.Second {
		t.Fatalf("request deadline not honoured: %s", time.Since(start))
	}
	var ce *CallError
	if !errors.As(res[0].Err, &ce) || ce.Reason != ReasonDeadline {
		t.Fatalf("got %v", res[0].Err)
	}
}

// TestFieldsGuest: the WAT field-access guest returns the same values
// from the full input and from item_field host calls.
func TestFieldsGuest(t *testing.T) {
	item := testItem(8 << 10)
	id := "0190f0e0-0000-7000-8000-000000000001"
	h, _ := MustHost(t, HostConfig{Services: Services{Items: &fakeItems{docs: map[string][]byte{id: item}}}})
	MustLoad(t, h, testManifest("fields", []string{"item_view", "item_view_alter"}, CapItemRead), MustWAT(t, "fields"), Limits{})
	ctx := context.Background()
	full := h.Invoke(ctx, "item_view", []byte(`{"item":`+string(item)+`}`))[0]
	calls := h.Invoke(ctx, "item_view_alter", []byte(`{"id":"`+id+`"}`))[0]
	if full.Err != nil || calls.Err != nil {
		t.Fatal(full.Err, calls.Err)
	}
	var values []string
	if err := json.Unmarshal(full.Output, &values); err != nil || len(values) != 21 || values[20] != "A test item" {
		t.Fatalf("full: %v %s", err, full.Output)
	}
	if string(calls.Output) != string(full.Output) {
		t.Fatalf("host calls differ:\n%s\n%s", calls.Output, full.Output)
	}
}
