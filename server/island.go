package server

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/render"
)

// islands render the per-visitor parts of pages; the page carries the
// same placeholder for everyone and island.js fetches /_island/{name}.
var islands = map[string]func(s *Server, w http.ResponseWriter, r *http.Request, st *reqState) ([]core.Node, error){
	"user-menu": (*Server).userMenu,
	// comment-form: the comment form of the item at ?path= (comments.go).
	"comment-form": (*Server).commentForm,
}

// serveIsland renders one island for the visitor, never cached.
func (s *Server) serveIsland(w http.ResponseWriter, r *http.Request, st *reqState) error {
	fn := islands[r.PathValue("name")]
	if fn == nil {
		return core.Errorf(core.ENotFound, "no such island")
	}
	if p := r.URL.Query().Get("path"); p != "" && (p[0] != '/' || len(p) > maxURLBytes || !validPath(p)) {
		return core.Errorf(core.EInvalid, "path must be a root-relative path")
	}
	nodes, err := fn(s, w, r, st)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, n := range nodes {
		if err := s.r.RenderNode(r.Context(), &buf, n); err != nil {
			return err
		}
	}
	s.islandCORS(w, r, st)
	s.send(w, r, response{status: http.StatusOK, ctype: "text/html; charset=utf-8", body: buf.Bytes(), cache: "private, no-store"})
	return nil
}

// islandCORS lets the site's public origin (base_url: the static export)
// read islands with the visitor's cookies; no other origin.
func (s *Server) islandCORS(w http.ResponseWriter, r *http.Request, st *reqState) {
	w.Header().Add("Vary", "Origin")
	if o := r.Header.Get("Origin"); o != "" && s.siteOrigin(r, st, o) {
		w.Header().Set("Access-Control-Allow-Origin", o)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}
}

// siteOrigin reports whether origin is the origin of the site's base_url
// while an island_origin (a dynamic server apart from the site) is set.
func (s *Server) siteOrigin(r *http.Request, st *reqState, origin string) bool {
	ss, err := s.settings(r.Context(), st)
	if err != nil || ss.IslandOrigin == "" || ss.BaseURL == "" {
		return false
	}
	u, err := url.Parse(ss.BaseURL)
	return err == nil && u.Host != "" && origin == u.Scheme+"://"+u.Host
}

// userMenu is the signed-in menu: who is signed in and a way out, or the
// sign-in link for anonymous visitors.
func (s *Server) userMenu(_ http.ResponseWriter, r *http.Request, st *reqState) ([]core.Node, error) {
	if st.user.IsAnonymous() || st.sess == nil {
		return []core.Node{signInMenu(r.URL.Query().Get("path"))}, nil
	}
	items := []core.Node{
		{Type: core.ElemText, Text: "Signed in as " + st.user.Name},
		signOutForm(st.sess),
	}
	items[1].Weight = 2
	if st.preview != nil {
		items = append(items, core.Node{Type: core.ElemLink, Href: "/_preview/exit", Text: "Leave preview", Weight: 1})
	}
	return []core.Node{{Type: core.ElemList, Attrs: map[string]string{"class": "user-menu__links"}, Items: items}}, nil
}

// previewExitForm asks to leave the stage preview (a POST with the
// session's CSRF token).
func (s *Server) previewExitForm(w http.ResponseWriter, r *http.Request, st *reqState) error {
	if st.sess == nil || st.sess.PreviewStageID == core.NilID {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	p := render.Page{
		Title: "Leave the preview",
		Regions: map[string][]core.Node{"content": {
			{Type: core.ElemParagraph, Text: "You are browsing the site as a stage shows it. Leave the preview to see the live site."},
			{Type: core.ElemForm, Action: "/_preview/exit", Method: "post", Children: []core.Node{
				{Type: core.ElemHidden, Name: CSRFField, Value: st.sess.NewCSRFToken()},
				{Type: core.ElemButton, Text: "Leave preview"},
			}},
		}},
	}
	if err := s.frame(r.Context(), st, &p, "/_preview/exit"); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := s.r.RenderPage(r.Context(), &buf, p); err != nil {
		return err
	}
	s.send(w, r, response{status: http.StatusOK, ctype: "text/html; charset=utf-8", body: buf.Bytes(), cache: "private, no-store"})
	return nil
}

// previewExit clears the session's preview stage.
func (s *Server) previewExit(w http.ResponseWriter, r *http.Request, st *reqState) error {
	if st.sess != nil && st.sess.PreviewStageID != core.NilID {
		st.sess.PreviewStageID = core.NilID
		if err := s.sessions.SaveSession(r.Context(), st.sess); err != nil {
			return err
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// healthz answers while the process serves.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ *reqState) error {
	s.send(w, r, response{status: http.StatusOK, ctype: "text/plain; charset=utf-8", body: []byte("ok\n"), cache: "no-store", noValidators: true})
	return nil
}

// readyz answers 200 when the database and every configured check (Redis)
// answer within 2 seconds, else 503 naming what failed.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ *reqState) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var failed []string
	if err := s.k.Pool.Ping(ctx); err != nil {
		s.log.Warn("readiness: database", "err", err)
		failed = append(failed, "database")
	}
	names := make([]string, 0, len(s.checks))
	for name := range s.checks {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := s.checks[name](ctx); err != nil {
			s.log.Warn("readiness: "+name, "err", err)
			failed = append(failed, name)
		}
	}
	body, status := "ready\n", http.StatusOK
	if len(failed) > 0 {
		body, status = "not ready:", http.StatusServiceUnavailable
		for _, f := range failed {
			body += " " + f
		}
		body += "\n"
	}
	s.send(w, r, response{status: status, ctype: "text/plain; charset=utf-8", body: []byte(body), cache: "no-store", noValidators: true})
	return nil
}
