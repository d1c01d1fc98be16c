package server

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/render"
)

// SitemapMaxURLs is the most URLs one sitemap file holds; beyond it
// /sitemap.xml is an index of /sitemap-N.xml files. The protocol allows
// 50,000; parts of 500 keep what one edit changes small: a part depends on
// the items it lists (their lastmod and alias), so an edit renders one
// part again, and the index changes only when the number of parts does.
var SitemapMaxURLs = 500

const sitemapNS = "http://www.sitemaps.org/schemas/sitemap/0.9"

type urlset struct {
	XMLName xml.Name     `xml:"urlset"`
	NS      string       `xml:"xmlns,attr"`
	URLs    []sitemapURL `xml:"url"`
}

type sitemapURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

type sitemapIndex struct {
	XMLName  xml.Name     `xml:"sitemapindex"`
	NS       string       `xml:"xmlns,attr"`
	Sitemaps []sitemapURL `xml:"sitemap"`
}

var sitemapPart = regexp.MustCompile(`^/sitemap-([1-9][0-9]{0,5})\.xml$`)

// special serves the site's fixed paths that are no alias: /search,
// /sitemap.xml (and its parts), /robots.txt. ok is false for others.
func (s *Server) special(w http.ResponseWriter, r *http.Request, st *reqState, p string) (bool, error) {
	switch {
	case p == "/search":
		return true, s.searchPage(w, r, st)
	case p == "/robots.txt":
		return true, s.robots(w, r, st)
	case p == "/sitemap.xml":
		return true, s.sitemap(w, r, st, 0)
	}
	if m := sitemapPart.FindStringSubmatch(p); m != nil {
		n, _ := strconv.Atoi(m[1])
		return true, s.sitemap(w, r, st, n)
	}
	return false, nil
}

// sitemap writes /sitemap.xml (part 0): the URLs of the front page, the
// gathers' first pages and every published item, or, beyond
// SitemapMaxURLs, an index of /sitemap-N.xml parts.
func (s *Server) sitemap(w http.ResponseWriter, r *http.Request, st *reqState, part int) error {
	ctx := r.Context()
	if st.preview != nil {
		return core.Errorf(core.ENotFound, "page not found")
	}
	ss, err := s.settings(ctx, st)
	if err != nil {
		return err
	}
	abs := func(p string) string {
		if c := ss.canonical(p); c != "" {
			return c
		}
		return href(p)
	}
	fixed := []string{"/"}
	gs, err := s.siteGathers(ctx, st)
	if err != nil {
		return err
	}
	for _, g := range gs {
		if gatherNeedsArgs(g) {
			continue
		}
		for i := range g.Displays {
			if d := &g.Displays[i]; d.Type == "page" {
				fixed = append(fixed, d.PagePath(nil, 1))
			}
		}
	}
	// Which items are listed (their order is their id's): the set of
	// published items of every type; the entries shown add their own tags.
	probe := s.dependListing(ctx, st, []string{core.ListTag(core.ListingKind), core.ListingTag(core.AllTypes)})
	per := SitemapMaxURLs
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	// Part 0 reads the first part's entries with the total: one
	// transaction when the sitemap is one file.
	var first []postgres.SitemapEntry
	if part == 0 {
		entries, total, err := s.k.Store.SitemapEntriesIn(ctx, st.stage, 0, max(1, per-len(fixed)))
		if err != nil {
			return err
		}
		first = entries
		if total+len(fixed) > per {
			idx := sitemapIndex{NS: sitemapNS}
			for n := 1; (n-1)*per < total+len(fixed); n++ {
				idx.Sitemaps = append(idx.Sitemaps, sitemapURL{Loc: abs("/sitemap-" + strconv.Itoa(n) + ".xml")})
			}
			if err := enc.Encode(idx); err != nil {
				return err
			}
			s.sendXML(w, r, st, "application/xml; charset=utf-8", append(buf.Bytes(), '\n'), time.Time{})
			return nil
		}
		part = 1
	} else if part > 1 && (part-1)*per >= SitemapMaxURLs*1000 {
		return core.Errorf(core.ENotFound, "page not found")
	}
	// Part n holds URLs (n-1)*per .. n*per-1 of fixed ++ items.
	from := (part - 1) * per
	set := urlset{NS: sitemapNS}
	for i := from; i < len(fixed) && len(set.URLs) < per; i++ {
		set.URLs = append(set.URLs, sitemapURL{Loc: abs(fixed[i])})
	}
	if room := per - len(set.URLs); room > 0 {
		entries := first
		if first == nil {
			// A later part: its entries without a count of every item.
			var err error
			if entries, err = s.k.Store.SitemapPartIn(ctx, st.stage, max(0, from-len(fixed)), room); err != nil {
				return err
			}
			// Past the end: no entry from its offset (a part of fixed
			// URLs only is not past it).
			if len(entries) == 0 && from >= len(fixed) {
				return core.Errorf(core.ENotFound, "page not found")
			}
		}
		ids := make([]core.ID, len(entries))
		for i, e := range entries {
			set.URLs = append(set.URLs, sitemapURL{Loc: abs(e.Path), LastMod: e.ChangedAt.UTC().Format(time.RFC3339)})
			ids[i] = e.ID
		}
		s.dependItems(ctx, st, probe, ids)
	}
	if err := enc.Encode(set); err != nil {
		return err
	}
	s.sendXML(w, r, st, "application/xml; charset=utf-8", append(buf.Bytes(), '\n'), time.Time{})
	return nil
}

// robots writes /robots.txt: everything but the editor, the API, islands
// and the search page may be crawled; the sitemap's absolute URL when a
// base URL is configured.
func (s *Server) robots(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ss, err := s.settings(r.Context(), st)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("User-agent: *\nDisallow: /admin/\nDisallow: /api/\nDisallow: /_island/\nDisallow: /_preview/\nDisallow: /search\n")
	if c := ss.canonical("/sitemap.xml"); c != "" {
		fmt.Fprintf(&b, "\nSitemap: %s\n", c)
	}
	s.sendXML(w, r, st, "text/plain; charset=utf-8", []byte(b.String()), time.Time{})
	return nil
}

// searchPage is /search?q=TEXT&page=N: the search form and the hits with
// their highlighted snippets.
func (s *Server) searchPage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	q, _ := parseQuery(r.URL.RawQuery)
	text := q.Get("q")
	page := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > core.GatherMaxPage {
			return core.Errorf(core.EInvalid, "The page number must be between 1 and %d.", core.GatherMaxPage)
		}
		page = n
	}
	if len(text) > core.SearchMaxQuery {
		return core.Errorf(core.EInvalid, "The search text is too long: at most %d bytes.", core.SearchMaxQuery)
	}
	s.depend(ctx, st, core.ListTag(core.KindItem))
	form := core.Node{Type: core.ElemForm, Method: "get", Action: "/search", Attrs: map[string]string{"class": "search-form", "role": "search"},
		Children: []core.Node{
			{Type: core.ElemInput, InputType: "search", Name: "q", Label: "Search", Value: text, MaxLength: core.SearchMaxQuery},
			{Type: core.ElemButton, Text: "Search"},
		}}
	content := []core.Node{form}
	title := "Search"
	if strings.TrimSpace(text) != "" {
		res, err := s.k.Store.Search(ctx, text, st.stage, page)
		if err != nil {
			return err
		}
		title = "Search: " + truncateUTF8(strings.TrimSpace(text), 80)
		switch {
		case res.Total == 0:
			content = append(content, core.Node{Type: core.ElemParagraph, Attrs: map[string]string{"class": "empty"}, Text: "No results."})
		case page > res.Pages:
			return core.Errorf(core.ENotFound, "page not found")
		default:
			content = append(content, core.Node{Type: core.ElemParagraph, Attrs: map[string]string{"class": "search-count", "role": "status"},
				Text: strconv.Itoa(res.Total) + " results"})
			items := make([]*core.Item, len(res.Hits))
			for i, h := range res.Hits {
				items[i] = h.Item
			}
			counts, err := s.listingComments(ctx, st, items)
			if err != nil {
				return err
			}
			var hits []core.Node
			for _, h := range res.Hits {
				n := core.Node{Type: core.ElemContainer, Tag: "article", Attrs: map[string]string{"class": "search-result"}, Children: []core.Node{
					{Type: core.ElemHeading, Level: 2, Children: []core.Node{{Type: core.ElemLink, Href: itemPath(h.Item.ID), Text: h.Item.Title}}},
				}}
				if h.Snippet != "" {
					// The snippet is escaped text with <mark> around the
					// matches; filtered_html keeps the marks and nothing else.
					n.Children = append(n.Children, core.Node{Type: core.ElemText, Format: core.FormatFilteredHTML, Text: h.Snippet})
				}
				hits = append(hits, counts.withCount(n, h.Item.ID))
			}
			content = append(content, core.Node{Type: core.ElemContainer, Attrs: map[string]string{"class": "search-results"}, Children: hits})
			if pg := pager(page, res.Pages, func(n int) string {
				v := url.Values{"q": {text}}
				if n > 1 {
					v.Set("page", strconv.Itoa(n))
				}
				return "/search?" + v.Encode()
			}); pg != nil {
				content = append(content, *pg)
			}
		}
	}
	p := render.Page{Title: title, Regions: map[string][]core.Node{"content": content},
		Suggestions: []string{"page--search"}, BodyClasses: []string{"page-search"}}
	if err := s.frame(ctx, st, &p, "/search"); err != nil {
		return err
	}
	return s.sendPage(w, r, st, http.StatusOK, p, time.Time{})
}

// termItems lists the published items tagged with a term or one below
// it, through the term_ref fields of the term's vocabulary (the first
// such field name when types use several), paged at /term-path/page/N.
func (s *Server) termItems(ctx context.Context, st *reqState, t *core.Term, public string, page int) ([]core.Node, error) {
	field, err := s.termField(ctx, st, t.Vocabulary)
	if err != nil {
		return nil, err
	}
	if field == "" {
		if page > 1 {
			return nil, core.Errorf(core.ENotFound, "page not found")
		}
		return nil, nil
	}
	val, _ := json.Marshal(t.ID.String())
	g := &core.Gather{Name: "term", Label: t.Name, Pager: core.GatherPager{PerPage: 20},
		Filters: []core.GatherFilter{{Field: "status", Op: core.OpEq, Value: json.RawMessage(`"published"`)}, {Field: field, Op: core.OpCategory, Value: val}},
		Sorts:   []core.GatherSort{{Field: "sticky", Direction: "desc"}, {Field: "created", Direction: "desc"}}}
	probe := s.dependListing(ctx, st, s.listingTags(ctx, g, nil))
	res, err := s.runGather(ctx, st, g, core.GatherArgs{Page: page})
	if err != nil {
		return nil, err
	}
	s.dependShown(ctx, st, probe, res.Items, true)
	if page > 1 && page > res.Pages {
		return nil, core.Errorf(core.ENotFound, "page not found")
	}
	counts, err := s.listingComments(ctx, st, res.Items)
	if err != nil {
		return nil, err
	}
	out := teaserList(res.Items, counts, "Nothing is filed here yet.")
	if pg := pager(res.Page, res.Pages, func(n int) string {
		if n == 1 {
			return href(public)
		}
		return href(public + "/page/" + strconv.Itoa(n))
	}); pg != nil {
		out = append(out, *pg)
	}
	return out, nil
}
