package main

import (
	"strings"
	"testing"

	"github.com/trovato/trovato/plugins/sdk"
)

const view = `{"item":{"id":"self","type":"article","title":"Me","revision_id":"r1",` +
	`"fields":{"category":{"id":"c1"},"tags":[{"id":"t1"}]}},"view_mode":"full"}`

func TestRelated(t *testing.T) {
	var queries []string
	fake := &sdk.Fake{
		User:    sdk.User{ID: "u1", Authenticated: true},
		Request: sdk.Request{Stage: "live"},
		Query: func(q sdk.Value) (string, error) {
			queries = append(queries, string(q))
			if strings.Contains(string(q), `"c1"`) {
				return `{"items":[{"id":"self","title":"Me","created_at":"2026-01-05T00:00:00Z"},` +
					`{"id":"a","title":"Old","created_at":"2026-01-01T00:00:00Z"}],"total":2}`, nil
			}
			return `{"items":[{"id":"b","title":"New","created_at":"2026-01-03T00:00:00.5Z"},` +
				`{"id":"a","title":"Old","created_at":"2026-01-01T00:00:00Z"}],"total":2}`, nil
		},
	}
	t.Cleanup(sdk.UseFake(fake))
	out, err := sdk.Call("item_view", []byte(view))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(s, "/item/self") || strings.Index(s, "/item/b") > strings.Index(s, "/item/a") || strings.Index(s, "/item/b") < 0 {
		t.Fatalf("want b then a, without the item itself: %s", s)
	}
	if len(queries) != 2 || !strings.Contains(queries[1], `"op":"contains"`) || !strings.Contains(queries[0], `"type":"article"`) {
		t.Fatalf("queries = %v", queries)
	}
	key := "related:self:r1:live:u1"
	if string(fake.Cache[key]) != s || !strings.Contains(strings.Join(fake.CacheTags[key], ","), "items") {
		t.Fatalf("cache = %q tags %v", fake.Cache[key], fake.CacheTags[key])
	}
	// A second view is served from the cache.
	again, err := sdk.Call("item_view", []byte(view))
	if err != nil || string(again) != s || len(queries) != 2 {
		t.Fatalf("cached view: %s, %v, %d queries", again, err, len(queries))
	}
}

func TestNothingRelated(t *testing.T) {
	fake := &sdk.Fake{Query: func(q sdk.Value) (string, error) { return `{"items":[],"total":0}`, nil }}
	t.Cleanup(sdk.UseFake(fake))
	out, err := sdk.Call("item_view", []byte(view))
	if err != nil || out != nil {
		t.Fatalf("out %s, err %v; want no contribution", out, err)
	}
	out, err = sdk.Call("item_view", []byte(`{"item":{"id":"x","type":"page","fields":{}},"view_mode":"full"}`))
	if err != nil || out != nil {
		t.Fatalf("item without terms: out %s, err %v", out, err)
	}
	out, err = sdk.Call("item_view", []byte(`{"item":{"id":"self","fields":{"tags":[{"id":"t1"}]}},"view_mode":"teaser"}`))
	if err != nil || out != nil {
		t.Fatalf("teaser: out %s, err %v", out, err)
	}
}

func TestWithoutCache(t *testing.T) {
	fake := &sdk.Fake{
		Denied: map[string]bool{"cache": true},
		Query: func(q sdk.Value) (string, error) {
			return `{"items":[{"id":"a","title":"A","created_at":"2026-01-01T00:00:00Z"}],"total":1}`, nil
		},
	}
	t.Cleanup(sdk.UseFake(fake))
	out, err := sdk.Call("item_view", []byte(view))
	if err != nil || !strings.Contains(string(out), "/item/a") {
		t.Fatalf("out %s, err %v", out, err)
	}
}
