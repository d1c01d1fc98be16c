package api_test

import (
	"testing"

	"github.com/trovato/trovato/core"
)

// TestTypeCommentSettings applies item types with comment settings
// through the API (requests and responses checked against the spec).
func TestTypeCommentSettings(t *testing.T) {
	e := mustEnv(t, 0)
	e.run(t, []scenario{
		{name: "ApplyClosed", method: "PUT", path: "/types/notice", user: "admin", status: 200,
			body:     `{"kind":"item_type","name":"notice","label":"Notice","comments":{"mode":"closed","anonymous":false}}`,
			contains: []string{`"applied":true`}},
		{name: "GetClosed", method: "GET", path: "/types/notice", user: "ed", status: 200,
			contains: []string{`"comments":{`, `"mode":"closed"`, `"anonymous":false`}},
		{name: "UnknownMode", method: "PUT", path: "/types/notice", user: "admin", invalid: true, status: 400, code: core.EInvalid,
			body:     `{"kind":"item_type","name":"notice","label":"Notice","comments":{"mode":"moderated"}}`,
			contains: []string{`"path":"comments.mode"`, `must be one of \"open\", \"closed\", \"hidden\"`}},
		{name: "UnknownKey", method: "PUT", path: "/types/notice", user: "admin", invalid: true, status: 400, code: core.EInvalid,
			body:     `{"kind":"item_type","name":"notice","label":"Notice","comments":{"open":true}}`,
			contains: []string{`"path":"comments.open"`, `unknown key`}},
		{name: "NotStored", method: "GET", path: "/types/notice", user: "ed", status: 200,
			contains: []string{`"mode":"closed"`}},
	})
}
