package api_test

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/trovato/trovato/core"
)

var onePixelPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")

// TestMediaLibrary lists uploads newest first, narrowed by name, type and
// owner, paged by cursor; listing needs files.upload.
func TestMediaLibrary(t *testing.T) {
	e := mustEnv(t, 0)
	names := func(want ...string) func(t *testing.T, e *env, b []byte) {
		return func(t *testing.T, e *env, b []byte) {
			var p struct {
				Items []struct {
					Name string `json:"name"`
					URL  string `json:"url"`
				} `json:"items"`
				Total int `json:"total"`
			}
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range p.Items {
				got = append(got, it.Name)
				if it.URL == "" {
					t.Errorf("%s has no url", it.Name)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("files %v, want %v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("files %v, want %v", got, want)
				}
			}
		}
	}
	saveCursor := func(e *env, m map[string]any) {
		c, _ := m["next_cursor"].(string)
		e.vars["cursor"] = url.QueryEscape(c)
	}
	pngBody, pngType := multipartBody("file", "tulips.png", onePixelPNG)
	txtBody, txtType := multipartBody("file", "notes.txt", []byte("plain notes"))
	e.run(t, []scenario{
		{name: "Empty", method: "GET", path: "/files", user: "ed", status: 200, check: names()},
		{name: "UploadImage", method: "POST", path: "/files", user: "ed", raw: pngBody, ctype: pngType, status: 201},
		{name: "UploadText", method: "POST", path: "/files", user: "admin", raw: txtBody, ctype: txtType, status: 201},
		{name: "NewestFirst", method: "GET", path: "/files", user: "ed", status: 200, check: names("notes.txt", "tulips.png"),
			contains: []string{`"total":2`}},
		{name: "ByName", method: "GET", path: "/files?name=TULIP", user: "ed", status: 200, check: names("tulips.png")},
		{name: "ByType", method: "GET", path: "/files?type=image/", user: "ed", status: 200, check: names("tulips.png"),
			contains: []string{`"styles"`}},
		{name: "Mine", method: "GET", path: "/files?mine=true", user: "admin", status: 200, check: names("notes.txt")},
		{name: "FirstPage", method: "GET", path: "/files?limit=1", user: "ed", status: 200, check: names("notes.txt"),
			contains: []string{`"next_cursor"`}, save: saveCursor},
		{name: "NextPage", method: "GET", path: "/files?limit=1&cursor={cursor}", user: "ed", status: 200, check: names("tulips.png")},
		{name: "CursorOfAnotherFilter", method: "GET", path: "/files?limit=1&name=x&cursor={cursor}", user: "ed", status: 400, code: core.EInvalid},
		{name: "BadLimit", method: "GET", path: "/files?limit=0", user: "ed", invalid: true, status: 400, code: core.EInvalid},
		{name: "BadMine", method: "GET", path: "/files?mine=perhaps", user: "ed", invalid: true, status: 400, code: core.EInvalid},
		{name: "WithoutUploadIs403", method: "GET", path: "/files", user: "al", status: 403, code: core.EForbidden},
		{name: "AnonymousIs401", method: "GET", path: "/files", status: 401, code: core.EUnauthorized},
	})
}
