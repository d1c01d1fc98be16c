package server_test

import (
	"net/http"
	"testing"

	"github.com/trovato/trovato/server"
)

// TestMountsTakeEveryMethod: the API mounted under the server answers
// PUT, PATCH and DELETE; the site itself still refuses them.
func TestMountsTakeEveryMethod(t *testing.T) {
	t.Parallel()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Method", r.Method)
		w.WriteHeader(http.StatusNoContent)
	})
	s := newSite(t, server.Options{Mounts: map[string]http.Handler{"/api/v1/": api}})
	for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete} {
		resp := s.do(m, "/api/v1/items/x", nil, nil)
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("X-Method") != m {
			t.Fatalf("%s /api/v1/items/x = %d", m, resp.StatusCode)
		}
		if resp := s.do(m, "/about", nil, nil); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("%s /about = %d, want 405", m, resp.StatusCode)
		}
	}
}
