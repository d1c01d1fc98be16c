package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres/pgtest"
	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/core/redis/redistest"
	"github.com/trovato/trovato/server/api"
)

// TestItemSortsAcrossNodes lists items in every sort the API offers,
// paging with limit 2 and taking each next page from the other of two API
// nodes on one database (no CursorKey: the site's shared key), and checks
// the order, that every request and response matches the spec, and that
// bad sorts and a cursor used under another sort are refused.
func TestItemSortsAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := kernel.DefaultConfig(t.TempDir())
	cfg.DatabaseURL = pgtest.NewDBURL(t)
	rc, prefix := redistest.New(t)
	var token string
	node := func() http.Handler {
		k, err := kernel.New(ctx, cfg, kernel.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { k.Close(context.Background()) })
		a, err := api.New(api.Options{Kernel: k, Sessions: redis.NewSessionStore(rc, prefix, core.SessionTimeouts{}), Accounts: k.Accounts})
		if err != nil {
			t.Fatal(err)
		}
		if token == "" {
			admin, err := k.AsUser(ctx, "admin")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := k.Store.Config().PutConfig(admin, "item_type", "article", json.RawMessage(articleType), 0); err != nil {
				t.Fatal(err)
			}
			// Created in this order; "alpha" is saved again last.
			var alpha *core.Item
			for _, title := range []string{"alpha", "Delta", "charlie", "Bravo", "echo"} {
				it := &core.Item{Type: "article", Title: title}
				if err := k.Store.Items().CreateItem(admin, core.LiveStageID, it, ""); err != nil {
					t.Fatal(err)
				}
				if alpha == nil {
					alpha = it
				}
				time.Sleep(2 * time.Millisecond) // distinct times
			}
			title := "alpha"
			if _, err := k.Store.Items().UpdateItem(admin, core.LiveStageID, alpha.ID, core.ItemUpdate{Title: &title, Log: "again"}); err != nil {
				t.Fatal(err)
			}
			if token, _, err = k.Accounts.CreateToken(admin, "sort", []string{core.PermAccessContent}, nil, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		return a
	}
	nodes := []http.Handler{node(), node()}
	_, router := specRouter(t)
	get := func(h http.Handler, query string) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, api.Prefix+"/items?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Result().Body)
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatal(err)
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
		if rec.Code == http.StatusOK {
			if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
				t.Fatalf("%s: request does not match the spec: %v", query, err)
			}
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
			Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
		out.SetBodyBytes(body)
		if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
			t.Fatalf("%s: response %d does not match the spec: %v\n%s", query, rec.Code, err, body)
		}
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		return rec.Code, m
	}
	list := func(sort string) []string {
		t.Helper()
		var titles []string
		q := url.Values{"limit": {"2"}}
		if sort != "" {
			q.Set("sort", sort)
		}
		for i := 0; ; i++ {
			code, m := get(nodes[i%2], q.Encode())
			if code != http.StatusOK {
				t.Fatalf("sort %s page %d on node %d: %d %v", sort, i, i%2, code, m)
			}
			for _, it := range m["items"].([]any) {
				titles = append(titles, it.(map[string]any)["title"].(string))
			}
			next, _ := m["next_cursor"].(string)
			if next == "" {
				return titles
			}
			q.Set("cursor", next)
		}
	}
	for sort, want := range map[string]string{
		"":         "echo Bravo charlie Delta alpha",
		"-created": "echo Bravo charlie Delta alpha",
		"created":  "alpha Delta charlie Bravo echo",
		"-changed": "alpha echo Bravo charlie Delta",
		"changed":  "Delta charlie Bravo echo alpha",
		"title":    "alpha Bravo charlie Delta echo",
		"-title":   "echo Delta charlie Bravo alpha",
	} {
		if got := strings.Join(list(sort), " "); got != want {
			t.Errorf("sort %q: %s, want %s", sort, got, want)
		}
	}
	for _, bad := range []string{"sort=name", "sort=-", "sort=title%27%20OR%201=1--", "sort=TITLE"} {
		if code, m := get(nodes[0], bad); code != http.StatusBadRequest || !slices.ContainsFunc(m["fields"].([]any), func(f any) bool {
			return f.(map[string]any)["path"] == "sort"
		}) {
			t.Errorf("%s: %d %v", bad, code, m)
		}
	}
	// A cursor belongs to its sort: under another one it is refused.
	_, m := get(nodes[0], "sort=title&limit=2")
	if code, _ := get(nodes[1], "sort=-title&limit=2&cursor="+url.QueryEscape(m["next_cursor"].(string))); code != http.StatusBadRequest {
		t.Errorf("a title cursor under -title: %d", code)
	}
}
