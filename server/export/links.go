package export

import (
	"html"
	"net/url"
	"path"
	"regexp"
	"strings"
)

var (
	reCSSURL = regexp.MustCompile(`url\(\s*['"]?([^'")\s]+)`)
	reRobots = regexp.MustCompile(`(?mi)^sitemap:\s*(\S+)`)
)

// dynamicPrefixes are the server's per-visitor routes: never exported.
// Links to them from exported pages are the islands' fallbacks and forms.
var dynamicPrefixes = []string{"/_island/", "/_preview/", "/api/", "/admin/", "/user/", "/comment/"}

var dynamicPaths = map[string]bool{"/search": true, "/healthz": true, "/readyz": true, "/metrics": true, "/admin": true, "/api": true}

// attrValues appends the values of every attr (` href="`) in s: a
// plain scan, several times faster than a regular expression on pages.
func attrValues(out []string, s, attr string) []string {
	for {
		i := strings.Index(s, attr)
		if i < 0 {
			return out
		}
		s = s[i+len(attr):]
		j := strings.IndexByte(s, '"')
		if j < 0 {
			return out
		}
		out = append(out, s[:j])
		s = s[j+1:]
	}
}

// elemTexts appends the text of every element tag (<loc>URL</loc>) in s
// that is one word, without the space around it: a plain scan (a sitemap
// part's 500 URLs took a regular expression 10 ms).
func elemTexts(out []string, s, tag string) []string {
	open := "<" + tag + ">"
	for {
		i := strings.Index(s, open)
		if i < 0 {
			return out
		}
		s = s[i+len(open):]
		j := strings.IndexByte(s, '<')
		if j < 0 {
			return out
		}
		v := strings.TrimSpace(s[:j])
		if v != "" && strings.HasPrefix(s[j:], "</") && !strings.ContainsAny(v, " \t\r\n\f\v") {
			out = append(out, v)
		}
		s = s[j:]
	}
}

// isDynamic reports whether p only makes sense on the dynamic server.
func isDynamic(p string) bool {
	if dynamicPaths[p] {
		return true
	}
	for _, pre := range dynamicPrefixes {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// extractLinks returns the internal URLs a response refers to, as
// escaped root-relative paths without query or fragment. base is the
// site's base URL (absolute links under it count as internal).
func extractLinks(ctype string, body []byte, base string) []string {
	s := string(body)
	var raw []string
	switch {
	case strings.HasPrefix(ctype, "text/html"):
		for _, attr := range []string{` href="`, ` src="`, ` content="`, ` action="`} {
			raw = attrValues(raw, s, attr)
		}
		for _, v := range attrValues(nil, s, ` srcset="`) {
			for _, c := range strings.Split(v, ",") {
				if f := strings.Fields(c); len(f) > 0 {
					raw = append(raw, f[0])
				}
			}
		}
	case strings.Contains(ctype, "xml"):
		for _, tag := range []string{"loc", "link", "id", "url"} {
			raw = elemTexts(raw, s, tag)
		}
		for _, attr := range []string{`href="`, `src="`, `content="`, `action="`} {
			raw = attrValues(raw, s, attr)
		}
	case strings.HasPrefix(ctype, "text/css"):
		for _, m := range reCSSURL.FindAllStringSubmatch(s, -1) {
			raw = append(raw, m[1])
		}
	case strings.HasPrefix(ctype, "text/plain"):
		for _, m := range reRobots.FindAllStringSubmatch(s, -1) {
			raw = append(raw, m[1])
		}
	default:
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range raw {
		if p, ok := internalPath(r, base); ok && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// internalPath turns a link into the escaped path it names on this
// site, or false for external, query and dynamic links.
func internalPath(raw, base string) (string, bool) {
	raw = html.UnescapeString(strings.TrimSpace(raw))
	if base != "" && (strings.HasPrefix(raw, base+"/") || raw == base) {
		raw = "/" + strings.TrimPrefix(raw[len(base):], "/")
	}
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i]
	}
	if !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") || strings.ContainsAny(raw, "?\\") {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Path == "" {
		return "", false
	}
	if cp := path.Clean(u.Path); cp != u.Path && cp+"/" != u.Path {
		return "", false
	}
	if isDynamic(u.Path) {
		return "", false
	}
	return u.EscapedPath(), true
}

// outputPath is where the response for the escaped URL p goes in the
// export folder: HTML pages as p/index.html (so any static server finds
// them at p), everything else at p itself.
func outputPath(p string, html bool) (string, bool) {
	dec, err := url.PathUnescape(p)
	if err != nil {
		return "", false
	}
	rel := strings.Trim(dec, "/")
	if html && !strings.HasSuffix(rel, ".html") && !strings.HasSuffix(rel, ".htm") {
		if rel == "" {
			rel = "index.html"
		} else {
			rel += "/index.html"
		}
	}
	return rel, safeRel(rel)
}

// safeRel reports whether rel is a clean relative path inside the export
// folder (no dot segments, no empty segments, not the manifest or its log).
func safeRel(rel string) bool {
	if rel == "" || rel == ManifestFile || rel == ManifestLogFile || rel == ManifestIndexFile || strings.HasPrefix(rel, "/") || strings.ContainsAny(rel, "\x00\\") {
		return false
	}
	for _, seg := range strings.Split(rel, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, ".tmp-") {
			return false
		}
	}
	// Control characters: a line break would make two names of one in a
	// deploy's list of files (rsync --files-from).
	return !strings.ContainsFunc(rel, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
