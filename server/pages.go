package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/render"
)

// siteSettings are the site document's values the pages use.
type siteSettings struct {
	Name      string `json:"site_name"`
	Slogan    string `json:"slogan"`
	BaseURL   string `json:"base_url"`
	FrontPage string `json:"front_page"`
	Language  string `json:"default_language"`
	PerPage   int    `json:"items_per_page"`
	// IslandOrigin is the dynamic server islands load from on the
	// static export (docs/export.md).
	IslandOrigin string `json:"island_origin"`
}

// settings reads the site document, once per request; without one the
// site is "Trovato".
func (s *Server) settings(ctx context.Context, st *reqState) (siteSettings, error) {
	if st.settings != nil {
		return *st.settings, nil
	}
	out := siteSettings{Name: "Trovato", Language: "en", PerPage: 10}
	if err := s.ensureLoaded(ctx, st); err != nil {
		return out, err
	}
	doc := st.data.Configs[siteKey]
	if doc == nil {
		st.settings = &out
		return out, nil
	}
	if err := json.Unmarshal(doc.Body, &out); err != nil {
		return out, err
	}
	if out.Language == "" {
		out.Language = "en"
	}
	if out.PerPage <= 0 {
		out.PerPage = 10
	}
	st.settings = &out
	return out, nil
}

// canonical is the absolute URL of a root-relative path, or "" when no
// base URL is configured.
func (ss siteSettings) canonical(path string) string {
	if ss.BaseURL == "" {
		return ""
	}
	return strings.TrimSuffix(ss.BaseURL, "/") + href(path)
}

// href turns a stored path (an alias or an internal path) into a URL
// path: stored aliases with % are already escaped.
func href(p string) string {
	if strings.Contains(p, "%") {
		return p
	}
	return (&url.URL{Path: p}).EscapedPath()
}

// itemPath is an item's internal path.
func itemPath(id core.ID) string { return "/item/" + id.String() }

// termPath is a category term's internal path.
func termPath(id core.ID) string { return "/term/" + id.String() }

// sendPage renders p and sends it. Pages are the same bytes for every
// visitor; only the cache policy differs: previews are never stored,
// pages read as a signed-in user stay private.
//
// The pages sent here hold trees the site built itself (item fields are
// validated in itemContent, as a whole) and plugin trees the plugin host
// validated when it decoded them, so the renderer does not validate them
// a second time (render.Page.Validated).
func (s *Server) sendPage(w http.ResponseWriter, r *http.Request, st *reqState, status int, p render.Page, lastMod time.Time) error {
	p.Validated = true
	var buf bytes.Buffer
	if err := s.r.RenderPage(r.Context(), &buf, p); err != nil {
		return err
	}
	cache := "public, no-cache"
	switch {
	case st.preview != nil:
		cache = "private, no-store"
	case !st.user.IsAnonymous():
		cache = "private, no-cache"
	}
	res := response{status: status, ctype: "text/html; charset=utf-8", body: buf.Bytes(), cache: cache, lastMod: lastMod, varyCookie: true}
	s.storePage(w, r, st, res)
	s.send(w, r, res)
	return nil
}

// redirect answers 301 to a root-relative path.
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.Redirect(w, r, href(to), http.StatusMovedPermanently)
	return nil
}

// frontPage serves "/": the configured front page, or the newest
// promoted published items.
func (s *Server) frontPage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	ss, err := s.settings(ctx, st)
	if err != nil {
		return err
	}
	if ok, err := s.frontGather(w, r, st, ss.FrontPage); ok || err != nil {
		return err
	}
	if fp := ss.FrontPage; fp != "" && fp != "/" {
		internal := fp
		if _, _, ok := parseInternal(fp); !ok {
			s.dependAliases(ctx, st, []string{fp})
			if internal, _, err = s.resolveAlias(ctx, st, fp); err != nil {
				return err
			}
		}
		return s.serveInternal(w, r, st, internal, "/")
	}
	s.depend(ctx, st, core.ListTag(core.KindItem))
	items, _, err := s.k.Store.Items().FindItems(ctx, core.ItemFilter{StageID: st.stage, Status: core.StatusPublished, Limit: 50})
	if err != nil {
		return err
	}
	var (
		shown   []*core.Item
		teasers []core.Node
		lastMod time.Time
	)
	for _, it := range items {
		if it.Promote && len(shown) < ss.PerPage {
			shown = append(shown, it)
			if it.ChangedAt.After(lastMod) {
				lastMod = it.ChangedAt
			}
		}
	}
	counts, err := s.listingComments(ctx, st, shown)
	if err != nil {
		return err
	}
	for _, it := range shown {
		teasers = append(teasers, counts.withCount(teaser(it, itemPath(it.ID)), it.ID))
	}
	content := []core.Node{}
	if len(teasers) == 0 {
		content = append(content, core.Node{Type: core.ElemParagraph, Text: "Nothing has been published on the front page yet."})
	} else {
		content = append(content, core.Node{Type: core.ElemContainer, Attrs: map[string]string{"class": "teasers"}, Children: teasers})
	}
	title := ss.Slogan
	if title == "" {
		title = "Latest content"
	}
	p := render.Page{
		Title: title, CanonicalURL: ss.canonical("/"),
		Regions:     map[string][]core.Node{"content": content},
		Suggestions: []string{"page--front"}, BodyClasses: []string{"page-front"},
	}
	if err := s.frame(ctx, st, &p, "/"); err != nil {
		return err
	}
	return s.sendPage(w, r, st, http.StatusOK, p, lastMod)
}

// teaser is an item's summary in a list: its linked title and date.
func teaser(it *core.Item, link string) core.Node {
	return core.Node{Type: core.ElemContainer, Tag: "article", Attrs: map[string]string{"class": "teaser teaser--" + it.Type},
		Suggestions: []string{"item--" + it.Type + "--teaser", "item--teaser"},
		Children: []core.Node{
			{Type: core.ElemHeading, Level: 2, Children: []core.Node{{Type: core.ElemLink, Href: link, Text: it.Title}}},
			{Type: core.ElemParagraph, Attrs: map[string]string{"class": "teaser__meta"}, Children: []core.Node{
				{Type: core.ElemTime, Datetime: it.CreatedAt.UTC().Format(time.RFC3339), Text: it.CreatedAt.UTC().Format("2 January 2006")},
			}},
		}}
}

// parseInternal splits an internal path (/item/ID, /term/ID).
func parseInternal(p string) (kind string, id core.ID, ok bool) {
	for _, k := range []string{"item", "term"} {
		if rest, found := strings.CutPrefix(p, "/"+k+"/"); found {
			id, err := core.ParseID(rest)
			if err != nil || id.String() != rest {
				return "", core.NilID, false
			}
			return k, id, true
		}
	}
	return "", core.NilID, false
}

// itemByID serves /item/ID, or redirects to the item's alias.
func (s *Server) itemByID(w http.ResponseWriter, r *http.Request, st *reqState) error {
	return s.byID(w, r, st, "/item/"+r.PathValue("id"))
}

// termByID serves /term/ID, or redirects to the term's alias.
func (s *Server) termByID(w http.ResponseWriter, r *http.Request, st *reqState) error {
	return s.byID(w, r, st, "/term/"+r.PathValue("id"))
}

func (s *Server) byID(w http.ResponseWriter, r *http.Request, st *reqState, internal string) error {
	if _, _, ok := parseInternal(internal); !ok {
		return core.Errorf(core.ENotFound, "page not found")
	}
	s.dependAliases(r.Context(), st, []string{internal})
	aliases, err := s.aliasesOf(r.Context(), st, []string{internal})
	if err != nil {
		return err
	}
	if a, ok := aliases[internal]; ok {
		return redirect(w, r, a)
	}
	return s.serveInternal(w, r, st, internal, internal)
}

// aliasPage serves any other path through the alias table.
func (s *Server) aliasPage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	p := r.URL.Path
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		return redirect(w, r, strings.TrimRight(p, "/"))
	}
	if len(p) > 1024 {
		return core.Errorf(core.ENotFound, "page not found")
	}
	ctx := r.Context()
	s.dependAliases(ctx, st, []string{p}) // an alias made here takes the path over
	internal, preferred, err := s.resolveAlias(ctx, st, p)
	if core.ErrorCode(err) == core.ENotFound && r.URL.RawPath != "" {
		p = r.URL.EscapedPath()
		s.dependAliases(ctx, st, []string{p})
		internal, preferred, err = s.resolveAlias(ctx, st, p)
	}
	if err == nil {
		s.dependAliases(ctx, st, []string{internal}) // its preferred alias
	}
	if core.ErrorCode(err) == core.ENotFound {
		return s.notAlias(w, r, st, r.URL.Path)
	}
	if err != nil {
		return err
	}
	if preferred != p {
		return redirect(w, r, preferred) // one URL per page: the preferred alias
	}
	return s.serveInternal(w, r, st, internal, p)
}

// serveInternal renders the page of an internal path at a public path.
func (s *Server) serveInternal(w http.ResponseWriter, r *http.Request, st *reqState, internal, public string) error {
	kind, id, ok := parseInternal(internal)
	if !ok {
		return core.Errorf(core.ENotFound, "page not found")
	}
	if kind == "term" {
		return s.termPage(w, r, st, id, public)
	}
	return s.itemPage(w, r, st, id, public)
}

// itemPage renders an item in full.
func (s *Server) itemPage(w http.ResponseWriter, r *http.Request, st *reqState, id core.ID, public string) error {
	ctx := r.Context()
	s.depend(ctx, st, core.EntityTag(core.KindItem, id.String()))
	it, err := s.findItem(ctx, st, id)
	if err != nil {
		return err
	}
	s.depend(ctx, st, core.EntityTag(core.KindUser, it.AuthorID.String()))
	if err := s.load(ctx, st, postgres.PageQuery{
		Configs: []postgres.ConfigKey{{Kind: "item_type", Name: it.Type}},
		Users:   []core.ID{it.AuthorID},
		Refs:    refIDs(it.Fields),
	}); err != nil {
		return err
	}
	ss, err := s.settings(ctx, st)
	if err != nil {
		return err
	}
	article, image, err := s.itemContent(ctx, st, it)
	if err != nil {
		return err
	}
	lang := ss.Language
	if it.Language != "" && it.Language != "und" {
		lang = it.Language
	}
	article = s.pluginItemView(ctx, st, it, lang, article)
	if st.preview == nil && it.Status == core.StatusPublished {
		comments, err := s.commentsSection(ctx, st, it)
		if err != nil {
			return err
		}
		article.Children = append(article.Children, comments...)
	}
	p := render.Page{
		Title: it.Title, Lang: lang, CanonicalURL: ss.canonical(public), Kind: "article",
		Regions:     map[string][]core.Node{"content": {article}},
		Suggestions: []string{"page--item--" + it.Type, "page--item"},
		BodyClasses: []string{"page-item", "page-item--" + it.Type},
	}
	if image != "" {
		p.ImageURL = ss.canonical(image)
	}
	if st.summary != nil {
		p.Description = s.summary(st.summary)
	}
	if public == "/" {
		p.Kind = "website"
		p.Suggestions = append([]string{"page--front"}, p.Suggestions...)
		p.BodyClasses = append(p.BodyClasses, "page-front")
	}
	st.tileType = it.Type
	if err := s.frame(ctx, st, &p, public, itemPath(id)); err != nil {
		return err
	}
	return s.sendPage(w, r, st, http.StatusOK, p, it.ChangedAt)
}

// termPage renders a category term: its name and description. Listings
// of the term's items come with gathers.
func (s *Server) termPage(w http.ResponseWriter, r *http.Request, st *reqState, id core.ID, public string) error {
	ctx := r.Context()
	if err := s.load(ctx, st, postgres.PageQuery{Refs: []core.ID{id}}); err != nil {
		return err
	}
	t := st.data.Terms[id]
	if t == nil {
		return core.Errorf(core.ENotFound, "page not found")
	}
	ss, err := s.settings(ctx, st)
	if err != nil {
		return err
	}
	var content []core.Node
	if t.Description != "" && st.page <= 1 {
		content = append(content, core.Node{Type: core.ElemText, Format: render.FormatPlain, Text: t.Description})
	}
	list, err := s.termItems(ctx, st, t, public, max(1, st.page))
	if err != nil {
		return err
	}
	content = append(content, list...)
	p := render.Page{
		Title: t.Name, CanonicalURL: ss.canonical(public),
		Regions:     map[string][]core.Node{"content": content},
		Suggestions: []string{"page--term--" + t.Vocabulary, "page--term"},
		BodyClasses: []string{"page-term", "page-term--" + t.Vocabulary},
	}
	if err := s.frame(ctx, st, &p, public, termPath(id)); err != nil {
		return err
	}
	return s.sendPage(w, r, st, http.StatusOK, p, time.Time{})
}

// typeCache keeps parsed item types by config version.
type typeCache struct {
	mu    sync.Mutex
	types map[string]*core.ItemType
}

// itemType returns an item type from the page's loaded config documents,
// parsing it again only when its version changed. ENOTFOUND when the type
// is gone.
func (s *Server) itemType(st *reqState, name string) (*core.ItemType, error) {
	doc := st.data.Configs[postgres.ConfigKey{Kind: "item_type", Name: name}]
	if doc == nil {
		return nil, core.Errorf(core.ENotFound, "item type %q not found", name)
	}
	s.types.mu.Lock()
	t := s.types.types[name]
	s.types.mu.Unlock()
	if t != nil && t.Version == doc.Version {
		return t, nil
	}
	t, err := core.ParseItemType(doc.Body)
	if err != nil {
		return nil, err
	}
	t.Version = doc.Version
	s.types.mu.Lock()
	if s.types.types == nil {
		s.types.types = map[string]*core.ItemType{}
	}
	s.types.types[name] = t
	s.types.mu.Unlock()
	return t, nil
}
