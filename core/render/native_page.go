package render

import (
	"bytes"
)

// nativePage writes what the default theme's page.html writes (see
// native.go); TestNativeMatchesTemplates holds the two to the same bytes.
func nativePage(v *PageView, w *bytes.Buffer) error {
	style, err := v.Asset("style.css")
	if err != nil {
		return err
	}
	island, err := v.Asset("island.js")
	if err != nil {
		return err
	}
	w.WriteString("<!DOCTYPE html>\n<html lang=\"")
	esc(w, v.Lang)
	w.WriteString(`" dir="`)
	esc(w, v.Dir)
	w.WriteString("\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>")
	esc(w, v.HeadTitle())
	w.WriteString("</title>\n")
	if v.Description != "" {
		w.WriteString(`<meta name="description" content="`)
		esc(w, v.Description)
		w.WriteString("\">\n")
	}
	if c := v.Canonical(); c != "" {
		w.WriteString(`<link rel="canonical" href="`)
		escURL(w, c)
		w.WriteString("\">\n<meta property=\"og:url\" content=\"")
		esc(w, string(c))
		w.WriteString("\">\n<meta property=\"og:type\" content=\"")
		esc(w, v.OGType())
		w.WriteString("\">\n<meta property=\"og:title\" content=\"")
		esc(w, or(v.Title, v.SiteName))
		w.WriteString("\">\n")
		if v.SiteName != "" {
			w.WriteString(`<meta property="og:site_name" content="`)
			esc(w, v.SiteName)
			w.WriteString("\">\n")
		}
		if v.Description != "" {
			w.WriteString(`<meta property="og:description" content="`)
			esc(w, v.Description)
			w.WriteString("\">\n")
		}
		if img := v.SocialImage(); img != "" {
			w.WriteString(`<meta property="og:image" content="`)
			esc(w, img)
			w.WriteString("\">\n<meta name=\"twitter:card\" content=\"summary_large_image\">\n")
		}
	}
	for _, f := range v.ValidFeeds() {
		w.WriteString(`<link rel="alternate" type="`)
		esc(w, f.Type)
		w.WriteString(`" title="`)
		esc(w, f.Title)
		w.WriteString(`" href="`)
		escURL(w, v.FeedURL(f))
		w.WriteString("\">\n")
	}
	w.WriteString(`<link rel="stylesheet" href="`)
	escURL(w, style)
	w.WriteString("\">\n")
	for _, u := range v.LocalURLs(v.Styles) {
		w.WriteString(`<link rel="stylesheet" href="`)
		escURL(w, u)
		w.WriteString("\">\n")
	}
	w.WriteString(`<script src="`)
	escURL(w, island)
	if o := v.IslandOriginAttr(); o != "" {
		w.WriteString(`" data-island-origin="`)
		esc(w, o)
	}
	w.WriteString("\" defer></script>\n")
	for _, u := range v.LocalURLs(v.Scripts) {
		w.WriteString(`<script src="`)
		escURL(w, u)
		w.WriteString("\" defer></script>\n")
	}
	w.WriteString("</head>\n<body")
	if c := v.BodyClass(); c != "" {
		w.WriteString(` class="`)
		esc(w, c)
		w.WriteString(`"`)
	}
	w.WriteString(">\n<a class=\"skip-link\" href=\"#main-content\">Skip to main content</a>\n")
	if v.Preview != nil {
		w.WriteString(`<div class="preview-banner" role="status">Previewing stage <strong>`)
		esc(w, v.Preview.Stage)
		w.WriteString("</strong>")
		if u := v.PreviewExitURL(); u != "" {
			w.WriteString(` <a href="`)
			escURL(w, u)
			w.WriteString(`">Leave preview</a>`)
		}
		w.WriteString("</div>\n")
	}
	w.WriteString("<header class=\"site-header\">\n<div class=\"site-header__inner\">\n")
	if v.SiteName != "" {
		w.WriteString(`<a class="site-name" href="/" rel="home">`)
		esc(w, v.SiteName)
		w.WriteString("</a>")
	}
	w.WriteString("\n")
	raw(w, v.Region("header"))
	w.WriteString("\n</div>\n</header>\n")
	if v.HasRegion("navigation") {
		w.WriteString(`<nav class="site-nav" aria-label="Main">`)
		raw(w, v.Region("navigation"))
		w.WriteString("</nav>\n")
	}
	w.WriteString(`<div class="layout`)
	if v.HasRegion("sidebar") {
		w.WriteString(" layout--sidebar")
	}
	w.WriteString("\">\n<main id=\"main-content\" tabindex=\"-1\">\n")
	if v.HasRegion("highlighted") {
		w.WriteString(`<div class="region-highlighted">`)
		raw(w, v.Region("highlighted"))
		w.WriteString("</div>\n")
	}
	if v.Title != "" && !v.HideTitle {
		w.WriteString(`<h1 class="page-title">`)
		esc(w, v.Title)
		w.WriteString("</h1>\n")
	}
	raw(w, v.Region("content"))
	w.WriteString("\n</main>\n")
	if v.HasRegion("sidebar") {
		w.WriteString(`<aside class="sidebar" aria-label="Sidebar">`)
		raw(w, v.Region("sidebar"))
		w.WriteString("</aside>\n")
	}
	w.WriteString("</div>\n<footer class=\"site-footer\">")
	raw(w, v.Region("footer"))
	w.WriteString("</footer>\n</body>\n</html>\n")
	return nil
}
