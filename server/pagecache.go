package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trovato/trovato/core"
)

// CacheHeader says whether a page came from the page cache.
const CacheHeader = "X-Trovato-Cache"

// DefaultPageTTL bounds how long a cached page lives; tag versions make
// it stale long before that whenever something it used changes.
const DefaultPageTTL = time.Hour

// pageTags every page depends on: the site settings, item types, gathers
// and menus (config), the main menu's links, aliases (internal links are
// rewritten to them), terms, plugins and the theme.
var pageTags = []string{
	core.ListTag(core.KindConfig), core.ListTag(core.KindMenuLink), core.ListTag(core.KindAlias),
	core.ListTag(core.KindTerm), core.ListTag(core.KindPlugin), core.ListTag(core.KindTheme),
	core.ListTag(core.KindRole),
}

// cachedPage is a page as the cache keeps it: the body in the encoding
// of the key's family, and what its headers need.
type cachedPage struct {
	Status  int       `json:"s"`
	Type    string    `json:"t"`
	Cache   string    `json:"c"`
	LastMod time.Time `json:"m,omitzero"`
	ETag    string    `json:"e"`
	Enc     string    `json:"z,omitempty"`
	Body    []byte    `json:"-"` // after the header line, raw
	// Path and Tags are the page's dependency manifest (docs/site.md).
	Path string   `json:"p"`
	Tags []string `json:"g"`
}

type cacheMetrics struct {
	hits, misses prometheus.Counter
}

func newCacheMetrics(reg *prometheus.Registry) *cacheMetrics {
	m := &cacheMetrics{
		hits:   prometheus.NewCounter(prometheus.CounterOpts{Name: "trovato_cache_hits_total", Help: "Pages served from the page cache."}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{Name: "trovato_cache_misses_total", Help: "Cacheable pages built because the cache had no fresh copy."}),
	}
	reg.MustRegister(m.hits, m.misses)
	return m
}

// encodingFamily is the part of Accept-Encoding a cached page varies by.
func encodingFamily(r *http.Request) string {
	return negotiateEncoding(r.Header.Get("Accept-Encoding"))
}

// pageKey is the cache key of a request: method, path, query and
// encoding family. HEAD shares GET's entry.
func pageKey(r *http.Request) string {
	k := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		k += "?" + r.URL.RawQuery
	}
	sum := sha256.Sum256([]byte(k))
	return "page:GET:" + hex.EncodeToString(sum[:16]) + ":" + encodingFamily(r)
}

// ManifestKey is where the dependency manifest of a path is kept in the
// tag cache (under the same tags as the page): {"p": path, "g": tags}.
func ManifestKey(path string) string { return "deps:" + path }

// cacheable reports whether the page cache may answer r: anonymous GETs
// and HEADs of live pages.
func (s *Server) cacheable(r *http.Request, st *reqState) bool {
	return s.tags != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		st.user.IsAnonymous() && st.preview == nil && !st.previewDenied && st.stage == core.LiveStageID
}

// servePageFromCache answers from the page cache when it holds a fresh
// copy; otherwise it prepares st to record the page's tags.
func (s *Server) servePageFromCache(w http.ResponseWriter, r *http.Request, st *reqState) bool {
	if !s.cacheable(r, st) {
		return false
	}
	key := pageKey(r)
	raw, ok, err := s.tags.GetTagged(r.Context(), key)
	if err != nil {
		s.log.Warn("page cache read failed", "err", err)
	}
	if ok {
		if cp, ok := decodePage(raw); ok {
			s.cacheMetrics.hits.Inc()
			s.sendCached(w, r, cp)
			return true
		}
	}
	s.cacheMetrics.misses.Inc()
	st.cacheKey = key
	st.versions = map[string]int64{}
	s.depend(r.Context(), st, pageTags...)
	return false
}

// depend records that the page being built uses tags. When the page will
// be cached, the tags' versions are read now, before the data they stand
// for, so a change committed while the page is built leaves the entry
// stale at once.
func (s *Server) depend(ctx context.Context, st *reqState, tags ...string) {
	if st.cacheKey == "" {
		return
	}
	var fresh []string
	for _, t := range tags {
		if _, ok := st.versions[t]; !ok {
			fresh = append(fresh, t)
			st.versions[t] = 0
		}
	}
	if len(fresh) == 0 {
		return
	}
	v, err := s.tags.TagVersions(ctx, fresh)
	if err != nil {
		s.log.Warn("page cache: tag versions unreadable; page not cached", "err", err)
		st.cacheKey = ""
		return
	}
	for _, t := range fresh {
		st.versions[t] = v[t]
	}
}

// storePage keeps a built page in the cache (only 200s) and marks the
// response a miss.
func (s *Server) storePage(w http.ResponseWriter, r *http.Request, st *reqState, res response) {
	if st.cacheKey == "" {
		return
	}
	w.Header().Set(CacheHeader, "miss")
	if res.status != http.StatusOK {
		return
	}
	key := st.cacheKey
	st.cacheKey = ""
	tags := make([]string, 0, len(st.versions))
	for t := range st.versions {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	sum := sha256.Sum256(res.body)
	cp := cachedPage{Status: res.status, Type: res.ctype, Cache: res.cache, LastMod: res.lastMod,
		ETag: hex.EncodeToString(sum[:16]), Body: res.body, Path: r.URL.Path, Tags: tags}
	if enc := encodingFamily(r); enc != "" && compressibleType(res.ctype) && len(res.body) >= minCompress {
		if z := compress(enc, res.body); z != nil {
			cp.Enc, cp.Body = enc, z
		}
	}
	raw, err := encodePage(&cp)
	if err == nil {
		err = s.tags.SetTagged(r.Context(), key, raw, tags, st.versions, s.pageTTL)
	}
	if err == nil {
		man, _ := json.Marshal(cachedPage{Path: r.URL.Path, Tags: tags})
		err = s.tags.SetTagged(r.Context(), ManifestKey(r.URL.Path), man, tags, st.versions, s.pageTTL)
	}
	if err != nil {
		s.log.Warn("page cache write failed", "err", err)
	}
}

// encodePage is a page as the cache stores it: its JSON header on one
// line, then the body's bytes as they are (no base64 to undo on a hit).
func encodePage(cp *cachedPage) ([]byte, error) {
	hdr, err := json.Marshal(cp)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(hdr)+1+len(cp.Body))
	out = append(append(append(out, hdr...), '\n'), cp.Body...)
	return out, nil
}

func decodePage(raw []byte) (*cachedPage, bool) {
	i := bytes.IndexByte(raw, '\n')
	if i < 0 {
		return nil, false
	}
	cp := &cachedPage{}
	if json.Unmarshal(raw[:i], cp) != nil {
		return nil, false
	}
	cp.Body = raw[i+1:]
	return cp, true
}

// sendCached writes a cached page: validators, 304s, its stored encoding.
func (s *Server) sendCached(w http.ResponseWriter, r *http.Request, cp *cachedPage) {
	h := w.Header()
	h.Set(CacheHeader, "hit")
	h.Set("Content-Type", cp.Type)
	if cp.Cache != "" {
		h.Set("Cache-Control", cp.Cache)
	}
	if compressibleType(cp.Type) {
		h.Set("Vary", "Accept-Encoding, Cookie")
	} else {
		h.Set("Vary", "Cookie")
	}
	if !cp.LastMod.IsZero() {
		h.Set("Last-Modified", cp.LastMod.UTC().Format(http.TimeFormat))
	}
	tag := cp.ETag
	if notModified(r, tag) {
		h.Set("ETag", `"`+tag+`"`)
		h.Del("Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if cp.Enc != "" {
		h.Set("Content-Encoding", cp.Enc)
		tag += "-" + cp.Enc
	}
	h.Set("ETag", `"`+tag+`"`)
	h.Set("Content-Length", strconv.Itoa(len(cp.Body)))
	w.WriteHeader(cp.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(cp.Body)
	}
}
