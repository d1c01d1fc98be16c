package server

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"time"

	"github.com/trovato/trovato/core"
)

// rss is an RSS 2.0 document.
type rss struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Atom    string     `xml:"xmlns:atom,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title       string    `xml:"title"`
	Link        string    `xml:"link"`
	Description string    `xml:"description"`
	Language    string    `xml:"language,omitempty"`
	Self        atomLink  `xml:"atom:link"`
	LastBuild   string    `xml:"lastBuildDate,omitempty"`
	Items       []rssItem `xml:"item"`
}

type rssItem struct {
	Title   string  `xml:"title"`
	Link    string  `xml:"link"`
	GUID    rssGUID `xml:"guid"`
	PubDate string  `xml:"pubDate"`
}

type rssGUID struct {
	IsPermaLink bool   `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

// atomFeed is an Atom (RFC 4287) document.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	Title     string   `xml:"title"`
	ID        string   `xml:"id"`
	Link      atomLink `xml:"link"`
	Updated   string   `xml:"updated"`
	Published string   `xml:"published"`
}

// gatherFeed serves a gather's feed display as RSS 2.0 or Atom. Links are
// absolute from base_url (root-relative without one).
func (s *Server) gatherFeed(w http.ResponseWriter, r *http.Request, st *reqState, g *core.Gather, d *core.GatherDisplay, args []string) error {
	ctx := r.Context()
	probe := s.dependListing(ctx, st, s.listingTags(ctx, g, nil))
	res, err := s.k.Store.Gathers().RunGather(ctx, g, st.stage, core.GatherArgs{PathArgs: args, Display: d.Name})
	if err != nil {
		return err
	}
	s.dependShown(ctx, st, probe, res.Items, false)
	ss, err := s.settings(ctx, st)
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(res.Items))
	for _, it := range res.Items {
		paths = append(paths, itemPath(it.ID))
	}
	s.dependAliases(ctx, st, paths)
	aliases, err := s.k.Store.Site().AliasesOf(ctx, st.stage, paths)
	if err != nil {
		return err
	}
	abs := func(p string) string {
		if a, ok := aliases[p]; ok {
			p = a
		}
		if c := ss.canonical(p); c != "" {
			return c
		}
		return href(p)
	}
	title := d.Title
	if title == "" {
		title = g.Label
	}
	title = ss.Name + ": " + title
	self := abs(d.PagePath(args, 1))
	home := abs("/")
	for i := range g.Displays {
		if g.Displays[i].Type == "page" {
			home = abs(g.Displays[i].PagePath(args, 1))
			break
		}
	}
	var updated time.Time
	for _, it := range res.Items {
		if it.ChangedAt.After(updated) {
			updated = it.ChangedAt
		}
	}
	if updated.IsZero() {
		updated = time.Unix(0, 0)
	}
	var (
		buf   bytes.Buffer
		ctype string
		doc   any
	)
	if d.Format == "atom" {
		ctype = "application/atom+xml; charset=utf-8"
		f := atomFeed{Title: title, ID: self, Updated: updated.UTC().Format(time.RFC3339), Author: atomAuthor{Name: ss.Name},
			Links: []atomLink{{Href: self, Rel: "self", Type: "application/atom+xml"}, {Href: home, Rel: "alternate", Type: "text/html"}}}
		for _, it := range res.Items {
			link := abs(itemPath(it.ID))
			f.Entries = append(f.Entries, atomEntry{Title: it.Title, ID: "urn:uuid:" + it.ID.String(), Link: atomLink{Href: link, Rel: "alternate"},
				Updated: it.ChangedAt.UTC().Format(time.RFC3339), Published: it.CreatedAt.UTC().Format(time.RFC3339)})
		}
		doc = f
	} else {
		ctype = "application/rss+xml; charset=utf-8"
		c := rssChannel{Title: title, Link: home, Description: title, Language: ss.Language,
			Self: atomLink{Href: self, Rel: "self", Type: "application/rss+xml"}, LastBuild: updated.UTC().Format(time.RFC1123Z)}
		for _, it := range res.Items {
			c.Items = append(c.Items, rssItem{Title: it.Title, Link: abs(itemPath(it.ID)),
				GUID: rssGUID{Value: "urn:uuid:" + it.ID.String()}, PubDate: it.CreatedAt.UTC().Format(time.RFC1123Z)})
		}
		doc = rss{Version: "2.0", Atom: "http://www.w3.org/2005/Atom", Channel: c}
	}
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	buf.WriteByte('\n')
	s.sendXML(w, r, st, ctype, buf.Bytes(), updated)
	return nil
}

// sendXML sends a feed, sitemap or robots file: public, cached like pages.
func (s *Server) sendXML(w http.ResponseWriter, r *http.Request, st *reqState, ctype string, body []byte, lastMod time.Time) {
	cache := "public, no-cache"
	if st.preview != nil {
		cache = "private, no-store"
	}
	res := response{status: http.StatusOK, ctype: ctype, body: body, cache: cache, lastMod: lastMod}
	s.storePage(w, r, st, res)
	s.send(w, r, res)
}
