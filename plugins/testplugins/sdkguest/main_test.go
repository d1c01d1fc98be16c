//go:build !wasip1

package main

import (
	"strings"
	"testing"

	"github.com/trovato/trovato/plugins/sdk"
)

const item = `{"id":"i1","type":"article","title":"Hello <world>","status":"published","author_id":"u1","created_at":"2026-01-02T03:04:05Z","fields":{"f00":"zero","f01":"one \"quoted\"","locked":false}}`

func TestItemViewWithFake(t *testing.T) {
	t.Cleanup(sdk.UseFake(&sdk.Fake{}))
	out, err := sdk.Call("item_view", []byte(`{"item":`+item+`,"view_mode":"full"}`))
	if err != nil {
		t.Fatal(err)
	}
	tree, err := sdk.ParseNode(sdk.Value(out))
	if err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if tree.Tag != "article" || len(tree.Children) != 4 || tree.Children[0].Text != "Hello <world>" || tree.Children[3].Children[0].Text != `one "quoted"` {
		t.Fatalf("tree = %s", out)
	}
}

func TestItemViewByHostCallsMatchesFullInput(t *testing.T) {
	t.Cleanup(sdk.UseFake(&sdk.Fake{Items: map[string]string{"i1": item}}))
	full, err := sdk.Call("item_view", []byte(`{"item":`+item+`}`))
	if err != nil {
		t.Fatal(err)
	}
	calls, err := sdk.Call("item_view_alter", []byte(`{"id":"i1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(full) != string(calls) {
		t.Fatalf("full input and host calls differ:\n%s\n%s", full, calls)
	}
}

func TestItemAccess(t *testing.T) {
	tests := []struct {
		name, item, user, want string
	}{
		{"Locked", strings.Replace(item, `"locked":false`, `"locked":true`, 1), `{"id":"u1"}`, "deny"},
		{"Author", item, `{"id":"u1"}`, "grant"},
		{"Other", item, `{"id":"u2"}`, "neutral"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := sdk.Call("item_access", []byte(`{"op":"update","item":`+tc.item+`,"user":`+tc.user+`}`))
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != `{"vote":"`+tc.want+`"}` {
				t.Fatalf("got %s", out)
			}
		})
	}
}

func TestHostCallReportWithDeniedCapability(t *testing.T) {
	f := &sdk.Fake{Items: map[string]string{"i1": item}, Denied: map[string]bool{"cache": true}, User: sdk.User{Name: "ann"}}
	t.Cleanup(sdk.UseFake(f))
	out, err := sdk.Call("tile_view", []byte(`{"item_id":"i1"}`))
	if err != nil {
		t.Fatal(err)
	}
	v := sdk.Value(out)
	if v.Get("item_title").String() != "Hello <world>" || v.Get("cache_get").String() != "error:forbidden" || v.Get("user").String() != "ann" {
		t.Fatalf("report = %s", out)
	}
	if len(f.Logs) != 1 || f.Logs[0] != "info: report done" {
		t.Fatalf("logs = %v", f.Logs)
	}
}

func TestPanicBecomesError(t *testing.T) {
	_, err := sdk.Call("cron", []byte(`{}`))
	if sdk.ErrorCode(err) != sdk.EInternal || !strings.Contains(err.Error(), "cron exploded") {
		t.Fatalf("err = %v", err)
	}
}
