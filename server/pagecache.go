package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
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

	// hdr are the response headers of a 200, ready to copy; notMod those
	// of a 304. Both are built once per decoded entry (prepare).
	hdr, notMod []headerValue
}

// headerValue is one response header with its canonical name; its value
// slice is full (len == cap), so an append by a later handler copies.
type headerValue struct {
	name  string
	value []string
}

// manifest is a page's dependency manifest in the tag cache (ManifestKey).
type manifest struct {
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
// Clients send few distinct headers: the answers are remembered (at most
// encodingMemoSize of them).
func (s *Server) encodingFamily(r *http.Request) string {
	ae := r.Header.Get("Accept-Encoding")
	if v, ok := s.pc.encMemo.Load(ae); ok {
		return v.(string)
	}
	enc := negotiateEncoding(ae)
	if s.pc.encMemoN.Add(1) <= encodingMemoSize {
		s.pc.encMemo.Store(ae, enc)
	}
	return enc
}

const encodingMemoSize = 256

// pageKey is the cache key of a request: method, encoding family, path
// and query (the family holds no ':'). HEAD shares GET's entry. The path
// is bounded by the request checks (maxURLBytes).
func (s *Server) pageKey(r *http.Request) string {
	k := "page:GET:" + s.encodingFamily(r) + ":" + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		k += "?" + r.URL.RawQuery
	}
	return k
}

// ManifestKey is where the dependency manifest of a path is kept in the
// tag cache (under the same tags as the page): {"p": path, "g": tags}.
func ManifestKey(path string) string { return "deps:" + path }

// cacheable reports whether the page cache may answer r: anonymous GETs
// and HEADs of live pages, or of the stage a server with Options.Stage
// serves (every request of it is in that stage: its keys name no other).
func (s *Server) cacheable(r *http.Request, st *reqState) bool {
	return s.tags != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		st.user.IsAnonymous() && st.preview == nil && !st.previewDenied &&
		(st.stage == core.LiveStageID || (s.stage != nil && st.stage == s.stage.ID))
}

// servePageFromCache answers from the page cache when it holds a fresh
// copy; otherwise it prepares st to record the page's tags.
func (s *Server) servePageFromCache(w http.ResponseWriter, r *http.Request, st *reqState) bool {
	if !s.cacheable(r, st) {
		return false
	}
	key := s.pageKey(r)
	raw, ok, err := s.tags.GetTagged(r.Context(), key)
	if err != nil {
		s.log.Warn("page cache read failed", "err", err)
	}
	if ok {
		if cp, ok := s.pc.decoded.get(key, raw); ok {
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

// dependProbe is depend that also reads the versions of probe, which
// need not be dependencies, in the same round trip. nil when the page is
// not being cached (or its versions are unreadable).
func (s *Server) dependProbe(ctx context.Context, st *reqState, probe []string, tags ...string) map[string]int64 {
	if st.cacheKey == "" {
		return nil
	}
	var fresh []string
	for _, t := range tags {
		if _, ok := st.versions[t]; !ok && !slices.Contains(fresh, t) {
			fresh = append(fresh, t)
		}
	}
	v, err := s.tags.TagVersions(ctx, append(append([]string(nil), fresh...), probe...))
	if err != nil {
		s.log.Warn("page cache: tag versions unreadable; page not cached", "err", err)
		st.cacheKey = ""
		return nil
	}
	for _, t := range fresh {
		st.versions[t] = v[t]
	}
	return v
}

// dependListing records the listing tags of a listing about to read its
// items (listingTags) and returns what dependShown needs.
func (s *Server) dependListing(ctx context.Context, st *reqState, tags []string) map[string]int64 {
	return s.dependProbe(ctx, st, []string{core.ListTag(core.KindItem)}, tags...)
}

// dependShown records, for each item a listing shows, item:ID — or,
// when the listing shows teasers or links only (teaser), the item's
// core.TeaserTag, which a change of its fields leaves alone. The ids are
// known only once the items are read, so their versions are read after
// the data: item:* (bumped by every item change) is read again with them,
// and when it moved since dependListing an item changed while the page
// was built, so the page is not cached.
func (s *Server) dependShown(ctx context.Context, st *reqState, before map[string]int64, items []*core.Item, teaser bool) {
	if st.cacheKey == "" || before == nil {
		return
	}
	tags := make([]string, 0, len(items))
	for _, it := range items {
		if teaser {
			tags = append(tags, core.TeaserTag(it.ID.String()))
		} else {
			tags = append(tags, core.EntityTag(core.KindItem, it.ID.String()))
		}
	}
	all := core.ListTag(core.KindItem)
	after := s.dependProbe(ctx, st, []string{all}, tags...)
	if after != nil && after[all] != before[all] {
		st.cacheKey = ""
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
		ETag: hex.EncodeToString(sum[:16]), Body: res.body}
	if enc := s.encodingFamily(r); enc != "" && compressibleType(res.ctype) && len(res.body) >= minCompress {
		if z := compress(enc, res.body); z != nil {
			cp.Enc, cp.Body = enc, z
		}
	}
	raw, err := encodePage(&cp)
	if err == nil {
		err = s.tags.SetTagged(r.Context(), key, raw, tags, st.versions, s.pageTTL)
	}
	if err == nil {
		man, _ := json.Marshal(manifest{Path: r.URL.Path, Tags: tags})
		err = s.tags.SetTagged(r.Context(), ManifestKey(r.URL.Path), man, tags, st.versions, s.pageTTL)
	}
	if err != nil {
		s.log.Warn("page cache write failed", "err", err)
	}
	// Pages with a query string are variants of a path page (or searches):
	// only path pages are recorded, so no visitor can grow the table.
	if s.deps != nil && r.URL.RawQuery == "" {
		if err := s.deps.Record(r.Context(), r.URL.Path, tags); err != nil {
			s.log.Warn("page dependencies not recorded", "path", r.URL.Path, "err", err)
		}
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
	cp.prepare()
	return cp, true
}

func full(v string) []string { return []string{v}[:1:1] }

// prepare builds the page's response headers once.
func (cp *cachedPage) prepare() {
	vary := "Cookie"
	if compressibleType(cp.Type) {
		vary = "Accept-Encoding, Cookie"
	}
	common := []headerValue{{CacheHeader, full("hit")}, {"Vary", full(vary)}}
	if cp.Cache != "" {
		common = append(common, headerValue{"Cache-Control", full(cp.Cache)})
	}
	if !cp.LastMod.IsZero() {
		common = append(common, headerValue{"Last-Modified", full(cp.LastMod.UTC().Format(http.TimeFormat))})
	}
	cp.notMod = append(append([]headerValue(nil), common...), headerValue{"Etag", full(`"` + cp.ETag + `"`)})
	tag := cp.ETag
	cp.hdr = append(common, headerValue{"Content-Type", full(cp.Type)})
	if cp.Enc != "" {
		cp.hdr = append(cp.hdr, headerValue{"Content-Encoding", full(cp.Enc)})
		tag += "-" + cp.Enc
	}
	cp.hdr = append(cp.hdr, headerValue{"Etag", full(`"` + tag + `"`)},
		headerValue{"Content-Length", full(strconv.Itoa(len(cp.Body)))})
}

// sendCached writes a cached page: validators, 304s, its stored encoding.
func (s *Server) sendCached(w http.ResponseWriter, r *http.Request, cp *cachedPage) {
	h := w.Header()
	if notModified(r, cp.ETag) {
		for _, v := range cp.notMod {
			h[v.name] = v.value
		}
		delete(h, "Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	for _, v := range cp.hdr {
		h[v.name] = v.value
	}
	sendWhole(w, r, cp.Status, cp.Body)
}

// pageCacheState is the page cache's in-process memory; its zero value
// is ready.
type pageCacheState struct {
	decoded  decodedPages
	encMemo  sync.Map // Accept-Encoding -> encoding family
	encMemoN atomic.Int64
}

// decodedPages remembers the decoded form of the entries the cache
// returned last, keyed by cache key and checked against the very bytes
// the cache returned: the in-process tier hands out the same slice until
// the entry changes, so a hit decodes nothing. Holding the bytes keeps
// their memory from being reused for another entry. At most max entries.
type decodedPages struct {
	mu sync.RWMutex
	m  map[string]decodedPage
}

// maxDecodedPages bounds decodedPages (as the in-process tier is).
const maxDecodedPages = 10000

type decodedPage struct {
	raw []byte
	cp  *cachedPage
}

// get returns the decoded page of raw, decoding it when raw is not what
// key held the last time.
func (d *decodedPages) get(key string, raw []byte) (*cachedPage, bool) {
	d.mu.RLock()
	e, ok := d.m[key]
	d.mu.RUnlock()
	if ok && len(e.raw) == len(raw) && len(raw) > 0 && &e.raw[0] == &raw[0] {
		return e.cp, true
	}
	cp, ok := decodePage(raw)
	if !ok {
		return nil, false
	}
	d.mu.Lock()
	if d.m == nil || len(d.m) >= maxDecodedPages {
		d.m = make(map[string]decodedPage)
	}
	d.m[key] = decodedPage{raw: raw, cp: cp}
	d.mu.Unlock()
	return cp, true
}
