package main

import (
	"strings"
	"testing"

	"github.com/trovato/trovato/plugins/sdk"
)

const author = "0190f0e0-0000-7000-8000-0000000000aa"

func blogItem(typ string) string {
	return `{"item":{"id":"0190f0e0-0000-7000-8000-000000000001","type":"` + typ + `","title":"Hi","status":"published",` +
		`"author_id":"` + author + `","created_at":"2026-01-02T03:04:05Z",` +
		`"fields":{"tags":[{"id":"0190f0e0-0000-7000-8000-0000000000t1"},{"id":"0190f0e0-0000-7000-8000-0000000000t2"}]}},"view_mode":"full"}`
}

func TestItemView(t *testing.T) {
	t.Cleanup(sdk.UseFake(&sdk.Fake{}))
	out, err := sdk.Call("item_view", []byte(blogItem("blog")))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{`"byline"`, `/user/` + author, `/term/0190f0e0-0000-7000-8000-0000000000t2`, `"rel","tag"`} {
		if !strings.Contains(strings.ReplaceAll(s, `":"`, `","`), want) {
			t.Errorf("item_view output lacks %s: %s", want, s)
		}
	}
	out, err = sdk.Call("item_view", []byte(blogItem("article")))
	if err != nil || out != nil {
		t.Fatalf("article: out %s, err %v; want no contribution", out, err)
	}
}

func TestItemAccess(t *testing.T) {
	cases := []struct {
		name, op, user string
		perms          map[string]bool
		want           string
	}{
		{"AuthorWithBlogPost", "update", author, map[string]bool{"blog.post": true}, "grant"},
		{"AuthorWithoutPermission", "update", author, nil, "neutral"},
		{"OtherUser", "update", "0190f0e0-0000-7000-8000-0000000000bb", map[string]bool{"blog.post": true}, "neutral"},
		{"Moderator", "update", "0190f0e0-0000-7000-8000-0000000000bb", map[string]bool{"blog.moderate": true}, "grant"},
		{"ViewIsNotDecided", "view", author, map[string]bool{"blog.post": true}, "neutral"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Cleanup(sdk.UseFake(&sdk.Fake{Permissions: c.perms}))
			in := `{"op":"` + c.op + `","item":{"id":"i1","type":"blog","author_id":"` + author + `"},` +
				`"user":{"id":"` + c.user + `","name":"u","roles":["authenticated"],"authenticated":true}}`
			out, err := sdk.Call("item_access", []byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if got := sdk.Value(out).Get("vote").String(); got != c.want {
				t.Fatalf("vote = %s, want %s", got, c.want)
			}
		})
	}
}

func TestPageView(t *testing.T) {
	var query string
	fake := &sdk.Fake{
		Variables: map[string]string{"posts_per_page": "2"},
		Query: func(q sdk.Value) (string, error) {
			query = string(q)
			return `{"items":[{"id":"a","type":"blog","title":"First","created_at":"2026-01-02T03:04:05Z"},` +
				`{"id":"b","type":"blog","title":"Second","created_at":"2026-01-01T03:04:05Z"}],"total":5}`, nil
		},
	}
	t.Cleanup(sdk.UseFake(fake))
	out, err := sdk.Call("page_view", []byte(`{"path":"/blog/page/2","route":"/blog/page/{page}","params":{"page":"2"},"query":{},"user":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(query, `"offset":2`) || !strings.Contains(query, `"limit":2`) {
		t.Errorf("query = %s, want limit 2 offset 2", query)
	}
	s := string(out)
	for _, want := range []string{`"/item/a"`, `"Newer entries"`, `"/blog/page/3"`} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %s: %s", want, s)
		}
	}
	if _, err := sdk.Call("page_view", []byte(`{"params":{"page":"x"}}`)); sdk.ErrorCode(err) != sdk.ENotFound {
		t.Fatalf("bad page: err %v, want not_found", err)
	}
}

func TestInstallSetsDefaults(t *testing.T) {
	fake := &sdk.Fake{Variables: map[string]string{}}
	t.Cleanup(sdk.UseFake(fake))
	out, err := sdk.Call("install", []byte(`{"plugin":"blog","version":"1.0.0","previous_version":""}`))
	if err != nil {
		t.Fatal(err)
	}
	if fake.Variables["posts_per_page"] != "10" || !strings.Contains(string(out), "messages") {
		t.Fatalf("variables %v, out %s", fake.Variables, out)
	}
}
