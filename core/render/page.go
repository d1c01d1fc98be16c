package render

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"regexp"
	"strings"

	"github.com/trovato/trovato/core"
)

// Regions of the default theme. Themes may define others; a page's nodes
// in a region the page template does not print are not shown.
var DefaultRegions = []string{"header", "navigation", "highlighted", "content", "sidebar", "footer"}

// Page is everything a page template needs. Only the kernel fills it.
type Page struct {
	Title    string // the page's h1 and the first part of <title>
	SiteName string
	// Lang is a BCP 47 tag (default "en"); Dir is "ltr" (default) or "rtl".
	Lang string
	Dir  string
	// HideTitle leaves the h1 out (for example on the front page, whose
	// content brings its own headings).
	HideTitle bool

	// Head metadata. CanonicalURL is absolute (the only place besides
	// feeds where the base URL appears).
	Description  string
	CanonicalURL string
	Feeds        []FeedLink
	// Social metadata (Open Graph), printed with the canonical URL:
	// ImageURL is an absolute http(s) URL; Kind is the og:type,
	// "article" or "website" (default).
	ImageURL string
	Kind     string

	// Regions maps a region name to its nodes, rendered in weight order.
	Regions map[string][]core.Node
	// BodyClasses are added to <body class>; invalid class names are dropped.
	BodyClasses []string
	// Suggestions name page templates tried before page.html, most
	// specific first, without ".html": page--front, page--item--article.
	Suggestions []string
	// IslandOrigin is the dynamic server (scheme://host[:port]) island.js
	// loads islands from when the page is served from elsewhere (the
	// static export); empty: the page's own origin.
	IslandOrigin string
	// Styles and Scripts are extra root-relative asset URLs (for example
	// from Renderer.Asset) the kernel adds; scripts load with defer.
	Styles  []string
	Scripts []string
	// Preview, when set, shows the stage preview banner.
	Preview *Preview
	// Validated says every region node was built by the kernel or
	// validated by it already (plugin output is, when the plugin host
	// decodes it): RenderPage then does not validate the trees again.
	// The attribute and URL allow-lists apply while rendering either way.
	Validated bool
}

// FeedLink is one <link rel="alternate"> to a feed.
type FeedLink struct {
	Title string
	Href  string
	// Type is application/rss+xml, application/atom+xml or application/feed+json.
	Type string
}

// Preview describes the banner shown while an editor previews a stage.
type Preview struct {
	Stage   string // the stage's label
	ExitURL string // root-relative URL that leaves the preview
}

var (
	reLocalPath = regexp.MustCompile(`^/[^/\\]`)
	reAssetPath = regexp.MustCompile(`^/[A-Za-z0-9_\-][A-Za-z0-9._~/\-]*$`)
	feedTypes   = map[string]bool{"application/rss+xml": true, "application/atom+xml": true, "application/feed+json": true}
)

// RenderPage writes a whole page through the first page template found
// among p.Suggestions and page.html. Unless p.Validated, a region node
// that does not validate (forms and full_html admitted) is dropped whole
// and the reason logged; bad URLs in the head are always dropped. Nothing
// is written on error.
func (r *Renderer) RenderPage(ctx context.Context, w io.Writer, p Page) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v := &PageView{Page: p, r: r, regions: make(map[string]template.HTML, len(p.Regions))}
	if !core.ValidLangTag(v.Lang) {
		v.Lang = "en"
	}
	if v.Dir != "rtl" {
		v.Dir = "ltr"
	}
	// Every region is written to one buffer and sliced from one string.
	var b bytes.Buffer
	b.Grow(16 << 10)
	spans := make(map[string][2]int, len(p.Regions))
	for name, nodes := range p.Regions {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := b.Len()
		sorted := core.SortedNodes(nodes)
		for i := range sorted {
			n := &sorted[i]
			if !p.Validated {
				if err := core.ValidateTree(*n, treeOptions); err != nil {
					r.log.Warn("render tree dropped", "region", name, "index", i, "type", n.Type, "reason", err)
					continue
				}
			}
			if err := r.writeNode(&b, n); err != nil {
				return fmt.Errorf("region %s: %w", name, err)
			}
		}
		spans[name] = [2]int{start, b.Len()}
	}
	regions := b.String()
	for name, sp := range spans {
		v.regions[name] = template.HTML(regions[sp[0]:sp[1]])
	}
	name := "page.html"
	for _, s := range p.Suggestions {
		if strings.HasPrefix(s, "page") && r.names[s+".html"] {
			name = s + ".html"
			break
		}
	}
	// A bytes.Buffer is written to directly (and cut back on error);
	// any other writer gets the page in one Write.
	buf, direct := w.(*bytes.Buffer)
	if !direct {
		buf = &bytes.Buffer{}
	}
	start := buf.Len()
	buf.Grow(len(regions) + 4<<10)
	var err error
	if name == "page.html" && r.native[nativePageKey] {
		err = nativePage(v, buf)
	} else {
		err = r.tmpl.ExecuteTemplate(buf, name, v)
	}
	if err != nil {
		buf.Truncate(start)
		return fmt.Errorf("render page: %w", err)
	}
	if direct {
		return nil
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// nativePageKey marks, in Renderer.native, that page.html is the default
// theme's and runs natively (native_page.go).
const nativePageKey = "page.html"

// PageView is what a page template receives: the Page's fields plus
// methods for regions, assets and checked head values.
type PageView struct {
	Page
	r       *Renderer
	regions map[string]template.HTML
}

// Region returns the rendered nodes of a region.
func (v *PageView) Region(name string) template.HTML { return v.regions[name] }

// HasRegion reports whether a region has any output.
func (v *PageView) HasRegion(name string) bool { return v.regions[name] != "" }

// HeadTitle is the <title> text: "Title | Site", or either alone.
func (v *PageView) HeadTitle() string {
	switch {
	case v.Title == "":
		return v.SiteName
	case v.SiteName == "":
		return v.Title
	}
	return v.Title + " | " + v.SiteName
}

// BodyClass joins the valid body classes.
func (v *PageView) BodyClass() string {
	var out []string
	for _, c := range v.BodyClasses {
		if core.ValidClassName(c) {
			out = append(out, c)
		}
	}
	return strings.Join(out, " ")
}

// Canonical is the canonical URL if it is an absolute http(s) URL.
func (v *PageView) Canonical() template.URL {
	if u := v.CanonicalURL; (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) && core.CheckURL(u, false) == nil {
		return template.URL(u)
	}
	return ""
}

// IslandOriginAttr is IslandOrigin if it is an http(s) origin (no path).
func (v *PageView) IslandOriginAttr() string {
	u := v.IslandOrigin
	rest, ok := strings.CutPrefix(u, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(u, "http://")
	}
	if !ok || rest == "" || strings.ContainsAny(rest, "/?#\\ \"'<>") || core.CheckURL(u, false) != nil {
		return ""
	}
	return u
}

// SocialImage is ImageURL if it is an absolute http(s) URL.
func (v *PageView) SocialImage() string {
	if u := v.ImageURL; (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) && core.CheckURL(u, false) == nil {
		return u
	}
	return ""
}

// OGType is the og:type: "article" or "website".
func (v *PageView) OGType() string {
	if v.Kind == "article" {
		return "article"
	}
	return "website"
}

// ValidFeeds are the feed links with an allowed type and URL.
func (v *PageView) ValidFeeds() []FeedLink {
	var out []FeedLink
	for _, f := range v.Feeds {
		if feedTypes[f.Type] && core.CheckURL(f.Href, false) == nil {
			out = append(out, f)
		}
	}
	return out
}

// FeedURL returns a feed's href for the template.
func (v *PageView) FeedURL(f FeedLink) template.URL { return safeURL(f.Href, false) }

// LocalURLs keeps the plain root-relative paths among urls (Styles,
// Scripts): no query, no scheme, no other host.
func (v *PageView) LocalURLs(urls []string) []template.URL {
	var out []template.URL
	for _, u := range urls {
		if reAssetPath.MatchString(u) && !strings.Contains(u, "..") {
			out = append(out, template.URL(u))
		}
	}
	return out
}

// PreviewExitURL is the preview banner's exit link, if root-relative.
func (v *PageView) PreviewExitURL() template.URL {
	if v.Preview != nil && reLocalPath.MatchString(v.Preview.ExitURL) && core.CheckURL(v.Preview.ExitURL, false) == nil {
		return template.URL(v.Preview.ExitURL)
	}
	return ""
}

// Asset returns the hashed URL of a theme asset.
func (v *PageView) Asset(name string) (template.URL, error) {
	u := v.r.Asset(name)
	if u == "" {
		return "", fmt.Errorf("no asset %q in the theme", name)
	}
	return template.URL(u), nil
}
