// Package export writes the site as static files: every public URL is
// rendered in-process through the same http.Handler `trovato serve` uses,
// so each file holds the bytes the server answers for its URL. A manifest
// of every file with its hash and the page-cache tags it was built from
// lets the next export re-render only what the change feed touched, and
// lets deploys upload only what changed (deploy.go). docs/export.md.
package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/server"
)

// Options configure an export.
type Options struct {
	Logger *slog.Logger
	// Workers render in parallel; 0 means four per CPU (a page spends
	// much of its time waiting for the database).
	Workers int
	// Progress receives a progress bar (a terminal) or plain lines; nil
	// prints nothing.
	Progress io.Writer
	// Full ignores the previous manifest and renders every URL.
	Full bool
	// Name keys the manifest copy in the database; default the folder's
	// absolute path.
	Name string
	// DynamicOrigin is the dynamic server (scheme://host[:port]) that the
	// exported pages' dynamic links (sign-in, search, islands' fallbacks)
	// are sent to through redirect pages; empty leaves them out.
	DynamicOrigin string
	// Stage, when set, exports that open stage as visitors will see it
	// once it is published (server.Options.Stage); always a full export.
	Stage *core.Stage
}

// Report says what an export did.
type Report struct {
	Full     bool `json:"full"`
	Rendered int  `json:"rendered"` // URLs requested from the handler
	// RenderedURLs are those URLs, sorted.
	RenderedURLs []string      `json:"-"`
	Added        []string      `json:"added"`   // file paths new in this export
	Changed      []string      `json:"changed"` // file paths whose bytes changed
	Removed      []string      `json:"removed"` // file paths deleted
	Files        int           `json:"files"`   // files in the export now
	Changes      int           `json:"changes"` // change-feed rows read since the last export
	Cursor       uint64        `json:"cursor"`
	Duration     time.Duration `json:"duration_ns"`
	Written      int           `json:"written"` // files written to disk (added + changed + regenerated)
	Unchanged    int           `json:"unchanged"`
	// Phases are where the time went, in order; Slowest the five URLs
	// that took longest to render.
	Phases  []Phase   `json:"phases"`
	Slowest []URLTime `json:"slowest"`
}

// URLTime is how long one URL took to render.
type URLTime struct {
	URL      string        `json:"url"`
	Duration time.Duration `json:"duration_ns"`
}

// Phase is the duration of one step of an export.
type Phase struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration_ns"`
}

// phase ends the step that began at *since.
func (r *Report) phase(name string, since *time.Time) {
	now := time.Now()
	r.Phases = append(r.Phases, Phase{name, now.Sub(*since)})
	*since = now
}

// Exporter renders a kernel's live site to folders.
type Exporter struct {
	k    *kernel.Kernel
	h    http.Handler
	deps *depRecorder
	log  *slog.Logger
	opts Options
}

// New builds an exporter: a site handler (server.New) whose page cache
// only records each page's tags, with rate limits off.
func New(k *kernel.Kernel, opts Options) (*Exporter, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Workers <= 0 {
		opts.Workers = 4 * runtime.NumCPU()
	}
	if opts.DynamicOrigin != "" {
		u, err := url.Parse(opts.DynamicOrigin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, core.Errorf(core.EInvalid, "dynamic origin %q is not scheme://host[:port] (for example https://app.example.com)", opts.DynamicOrigin)
		}
		opts.DynamicOrigin = u.Scheme + "://" + u.Host
	}
	deps := &depRecorder{tags: map[string][]string{}}
	off := map[string]server.RateLimit{}
	for _, c := range []string{server.ClassPage, server.ClassFile, server.ClassStyle, server.ClassIsland, server.ClassForm, server.ClassLogin, server.ClassReset} {
		off[c] = server.RateLimit{}
	}
	h, err := server.New(k, server.Options{Logger: opts.Logger.With("component", "server"), PageCache: deps, RateLimits: off, Stage: opts.Stage})
	if err != nil {
		return nil, err
	}
	return &Exporter{k: k, h: h, deps: deps, log: opts.Logger, opts: opts}, nil
}

// Handler is the site handler the export renders through.
func (e *Exporter) Handler() http.Handler { return e.h }

// notFoundURL is requested to make 404.html: no alias can be this path
// (aliases do not start with a dot).
const notFoundURL = "/.trovato-not-found"

// NginxMapFile is the generated nginx map of redirects (source target;).
const NginxMapFile = "nginx-redirects.map"

// roots are the URLs every export starts from; the rest is reached by
// following links.
var roots = []string{"/", "/robots.txt", "/sitemap.xml"}

// rendered is the outcome of one URL.
type rendered struct {
	url   string
	gone  bool // 404 or 410: the URL no longer exists
	entry *Entry
	rel   string
	body  []byte
	took  time.Duration
}

// Export writes the live site into dir: everything the first time (or
// with Options.Full), afterwards only the pages whose tags the change feed
// bumped since the last export, the URLs new since, and deletions.
func (e *Exporter) Export(ctx context.Context, dir string) (*Report, error) {
	start := time.Now()
	// The theme, the base URL and the redirects load while the manifest
	// and the feed are read.
	var (
		prep      sync.WaitGroup
		themeErr  error
		base      string
		baseErr   error
		redirects []postgres.Redirect
		redirErr  error
	)
	prep.Add(2)
	go func() {
		defer prep.Done()
		if srv, ok := e.h.(*server.Server); ok {
			// Pages are rendered with the enabled theme, as the site does.
			if err := srv.LoadTheme(ctx); err != nil {
				themeErr = fmt.Errorf("export: %w", err)
			}
		}
	}()
	go func() {
		defer prep.Done()
		if base, baseErr = e.k.Accounts.BaseURL(ctx); baseErr == nil {
			redirects, redirErr = e.k.Store.FindRedirects(ctx)
		}
	}()
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, core.Errorf(core.EInvalid, "export folder %s: %s", dir, err)
	}
	name := e.opts.Name
	if name == "" {
		name = abs
	}
	feed := e.k.Store.Feed()
	// Every change committed before this export is below the cursor it
	// reads up to (an edit made just before is exported, and is not read
	// again next time), even while other transactions of the cluster run;
	// the manifest is read meanwhile.
	settled := make(chan error, 1)
	go func() { settled <- feed.WaitSettled(ctx, 2*time.Second) }()
	prev, found, err := openPrev(abs) // prev.go
	if serr := <-settled; err == nil {
		err = serr
	}
	if err != nil {
		prep.Wait()
		return nil, err
	}
	rep := &Report{}
	stageName := ""
	if e.opts.Stage != nil {
		stageName = e.opts.Stage.Name
	}
	// A folder holds one stage's export (live's, or a stage's): another
	// stage's manifest makes a full export.
	full := e.opts.Full || !found || prev.version != manifestVersion || prev.stage != stageName
	var (
		cursor core.FeedCursor
		bumped = map[string]bool{}
	)
	if full {
		// Every change before the head is in what we are about to read.
		if cursor, err = feed.FeedHead(ctx); err != nil {
			return nil, err
		}
	} else {
		cursor = prev.cursor
		for {
			rows, next, err := feed.ReadChanges(ctx, cursor, 5000)
			if err != nil {
				return nil, err
			}
			cursor = next
			if len(rows) == 0 {
				break
			}
			rep.Changes += len(rows)
			for _, t := range e.changeTags(ctx, rows) { // incremental.go
				bumped[t] = true
			}
		}
	}
	rep.Full = full
	rep.Cursor = uint64(cursor)
	prep.Wait()
	for _, err := range []error{themeErr, baseErr, redirErr} {
		if err != nil {
			return nil, err
		}
	}
	mark := start
	rep.phase("manifest and feed", &mark)
	if !full && rep.Changes == 0 {
		// Nothing changed since the last export: nothing to render or
		// write (the previous export wrote every file it listed).
		rep.Files = prev.count
		rep.Duration = time.Since(start)
		return rep, nil
	}

	// Which URLs render: in a full export all; else the pages whose tags
	// were bumped, the URLs not exported yet, and the ones that failed.
	var stale map[string]*Entry // by path
	staleURL := map[string]bool{}
	if !full {
		if stale, err = prev.stale(bumped); err != nil {
			return nil, core.Errorf(core.EInvalid, "%s: %s (delete it to export everything again)", filepath.Join(abs, ManifestIndexFile), err)
		}
		for _, en := range stale {
			staleURL[en.URL] = true
		}
	}
	var lookMu sync.Mutex // prev decodes through one buffer
	dirty := func(u string) bool {
		if full || staleURL[u] {
			return true
		}
		lookMu.Lock()
		_, en, err := prev.atURL(u)
		lookMu.Unlock()
		return en == nil || err != nil
	}

	start2 := []string{}
	start2 = append(start2, roots...)
	for _, r := range redirects {
		if p, ok := internalPath(r.Source, ""); ok {
			start2 = append(start2, p)
		}
	}

	// The pages of this run share what they all read (server.WithExportMemo);
	// a full export reads each listing whole once and its pages are slices,
	// and so does an incremental one that renders many pages again (a new
	// article moves every page of the listings it is in: 5,450 pages at
	// 10,000 articles, 70 s one query each, 4 s read whole).
	rctx := server.WithExportMemo(ctx, full || len(stale) >= wholeListings)
	results := map[string]*rendered{}
	var (
		mu       sync.Mutex
		failures []string
		count    atomic.Int64
		queued   atomic.Int64
	)
	prog := newProgress(e.opts.Progress, &count, &queued)
	visit := func(u string) []string {
		t0 := time.Now()
		r, err := e.render(rctx, u, base)
		count.Add(1)
		if r != nil {
			r.took = time.Since(t0)
		}
		if err != nil {
			mu.Lock()
			failures = append(failures, u+": "+err.Error())
			mu.Unlock()
			return nil
		}
		mu.Lock()
		results[u] = r
		mu.Unlock()
		if r.entry == nil {
			return nil
		}
		return r.entry.Links
	}
	var (
		seenMu sync.Mutex
		seen   = map[string]bool{}
		wg     sync.WaitGroup
		sem    = make(chan struct{}, e.opts.Workers)
	)
	var enqueue func(u string)
	enqueue = func(u string) {
		seenMu.Lock()
		if seen[u] {
			seenMu.Unlock()
			return
		}
		seen[u] = true
		seenMu.Unlock()
		if !dirty(u) {
			return
		}
		queued.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			links := visit(u)
			<-sem
			for _, l := range links {
				enqueue(l)
			}
		}()
	}
	// The not-found page (it shows the site's frame, so every export
	// renders it) renders beside the rest.
	type page struct {
		body []byte
		err  error
	}
	notFound := make(chan page, 1)
	go func() {
		b, err := e.notFound(rctx)
		notFound <- page{b, err}
	}()
	for _, u := range start2 {
		enqueue(u)
	}
	// Incremental: the pages a change touched, wherever they are linked
	// (in any order: they render in parallel).
	for _, en := range stale {
		enqueue(en.URL)
	}
	wg.Wait()
	prog.done()
	rep.phase("render", &mark)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep.Rendered = int(count.Load())
	for u, r := range results {
		rep.RenderedURLs = append(rep.RenderedURLs, u)
		rep.Slowest = append(rep.Slowest, URLTime{u, r.took})
	}
	sort.Strings(rep.RenderedURLs)
	sort.Slice(rep.Slowest, func(i, j int) bool { return rep.Slowest[i].Duration > rep.Slowest[j].Duration })
	rep.Slowest = rep.Slowest[:min(5, len(rep.Slowest))]
	if len(failures) > 0 {
		sort.Strings(failures)
		if len(failures) > 10 {
			failures = append(failures[:10], fmt.Sprintf("and %d more", len(failures)-10))
		}
		return nil, fmt.Errorf("export: %d URLs failed (nothing recorded; the previous manifest stays): %s", len(failures), strings.Join(failures, "; "))
	}

	// What changes: a full export's new manifest (next), or an
	// incremental one's changes over prev, by path (nil: removed).
	var (
		next    *Manifest
		changes map[string]*Entry
		bodies  = map[string][]byte{}
	)
	if full {
		next = newManifest()
		for _, r := range results {
			if r.gone || r.entry == nil {
				continue
			}
			if other, ok := next.Files[r.rel]; ok && other.URL != r.entry.URL {
				return nil, core.Errorf(core.EConflict, "export: %s and %s both map to the file %s", other.URL, r.entry.URL, r.rel)
			}
			next.Files[r.rel] = r.entry
			bodies[r.rel] = r.body
		}
		reach(next, start2)
	} else if changes, err = e.changesOver(prev, results, start2, bodies); err != nil { // incremental.go
		return nil, err
	}
	// 404.html and the nginx map of redirects.
	nf := <-notFound
	if nf.err != nil {
		return nil, nf.err
	}
	var redirectEntries map[string]*Entry
	if full {
		redirectEntries = map[string]*Entry{}
		for rel, en := range next.Files {
			if en.Kind == KindRedirect {
				redirectEntries[rel] = en
			}
		}
	} else if redirectEntries, err = redirectsAfter(prev, changes); err != nil { // incremental.go
		return nil, err
	}
	extras, err := e.extras(ctx, redirectEntries, nf.body)
	if err != nil {
		return nil, err
	}
	for rel, b := range extras {
		en := &Entry{URL: "/" + rel, Kind: KindExtra, SHA256: hashOf(b), Size: int64(len(b))}
		if full {
			next.Files[rel] = en
		} else {
			changes[rel] = en
		}
		bodies[rel] = b
	}
	// The extras of the previous export not made again (an island origin
	// no longer set) go.
	if !full {
		for _, rel := range extraPaths {
			if _, again := extras[rel]; again {
				continue
			}
			if en, err := prev.get(rel); err != nil {
				return nil, err
			} else if en != nil && en.Kind == KindExtra {
				changes[rel] = nil
			}
		}
	}
	// What was there before, for each path written or removed.
	before := func(rel string) (*Entry, error) { return prev.get(rel) }
	var removed []string
	if full {
		all, err := prev.all()
		if err != nil {
			return nil, err
		}
		for rel := range all.Files {
			if _, ok := next.Files[rel]; !ok {
				removed = append(removed, rel)
			}
		}
		before = func(rel string) (*Entry, error) { return all.Files[rel], nil }
	} else {
		for rel, en := range changes {
			if en != nil {
				continue
			}
			if was, err := prev.get(rel); err != nil {
				return nil, err
			} else if was != nil {
				removed = append(removed, rel)
			}
		}
	}
	slices.Sort(removed)
	// Nothing is written or removed through a symlinked folder inside
	// the export folder (incremental.go).
	if err := checkFolders(abs, bodies, removed); err != nil {
		return nil, err
	}
	rep.phase("links and extras", &mark)

	// Write what differs from the previous export (or is missing on
	// disk), several files at a time (a file costs a few system calls
	// that wait on the file system), then delete what is gone.
	writes := slices.Sorted(maps.Keys(bodies))
	prevOf, nowOf := make([]*Entry, len(writes)), make([]*Entry, len(writes))
	for i, rel := range writes {
		was, err := before(rel)
		if err != nil {
			return nil, err
		}
		prevOf[i] = was
		if full {
			nowOf[i] = next.Files[rel]
		} else {
			nowOf[i] = changes[rel]
		}
		switch {
		case was == nil:
			rep.Added = append(rep.Added, rel)
		case was.SHA256 != nowOf[i].SHA256:
			rep.Changed = append(rep.Changed, rel)
		}
	}
	var (
		written, unchanged atomic.Int64
		writeErr           error
		writeMu            sync.Mutex
		next1              atomic.Int64
		writers            sync.WaitGroup
	)
	for range min(fileWriters, len(writes)) {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for {
				i := int(next1.Add(1)) - 1
				if i >= len(writes) {
					return
				}
				rel, body := writes[i], bodies[writes[i]]
				path := filepath.Join(abs, filepath.FromSlash(rel))
				if was := prevOf[i]; was != nil && was.SHA256 == nowOf[i].SHA256 && sameSize(path, int64(len(body))) {
					unchanged.Add(1)
					continue
				}
				if err := writeAtomic(path, body); err != nil {
					writeMu.Lock()
					if writeErr == nil {
						writeErr = fmt.Errorf("export: write %s: %w", rel, err)
					}
					writeMu.Unlock()
					return
				}
				written.Add(1)
			}
		}()
	}
	writers.Wait()
	if writeErr != nil {
		return nil, writeErr
	}
	rep.Written, rep.Unchanged = int(written.Load()), int(unchanged.Load())
	rep.Removed = removed
	for _, rel := range rep.Removed {
		if err := os.Remove(filepath.Join(abs, filepath.FromSlash(rel))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("export: remove %s: %w", rel, err)
		}
		removeEmptyParents(abs, filepath.Dir(filepath.Join(abs, filepath.FromSlash(rel))))
	}
	rep.phase("files", &mark)
	if full {
		next.Cursor, next.Stage = cursor, stageName
		rep.Files = len(next.Files)
		if err := e.saveBase(ctx, abs, name, next); err != nil { // incremental.go
			return nil, err
		}
	} else {
		if rep.Files, err = e.saveChanges(ctx, abs, name, prev, changes, cursor); err != nil { // incremental.go
			return nil, err
		}
	}
	rep.phase("manifest write", &mark)
	rep.Duration = time.Since(start)
	e.log.Info("export finished", "dir", abs, "full", full, "rendered", rep.Rendered, "added", len(rep.Added),
		"changed", len(rep.Changed), "removed", len(rep.Removed), "duration", rep.Duration)
	return rep, nil
}

// wholeListings: an incremental export with this many pages to render
// again reads its listings whole, as a full export does (reading a
// listing whole costs about as much as reading 50 of its pages one by
// one).
var wholeListings = 300

// fileWriters write the files of an export at a time.
const fileWriters = 8

// retries is how often a URL answering 503 (a query over its time limit
// on a busy database) is asked again, after 0.5 s, 1 s, 1.5 s.
const retries = 3

// render requests one URL from the site handler and turns the answer
// into a manifest entry.
func (e *Exporter) render(ctx context.Context, u, base string) (*rendered, error) {
	var (
		req *http.Request
		rec *httptest.ResponseRecorder
		err error
	)
	for attempt := 0; ; attempt++ {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, "http://export.invalid"+u, nil)
		if err != nil {
			return nil, err
		}
		req.RequestURI = u
		req.RemoteAddr = "127.0.0.1:1"
		rec = httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable || attempt == retries {
			break
		}
		e.deps.take(req.URL.Path)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 500 * time.Millisecond):
		}
	}
	res := rec.Result()
	body := rec.Body.Bytes()
	ctype := res.Header.Get("Content-Type")
	out := &rendered{url: u}
	switch res.StatusCode {
	case http.StatusOK:
		rel, ok := outputPath(u, strings.HasPrefix(ctype, "text/html"))
		if !ok {
			return nil, fmt.Errorf("no file name for this URL")
		}
		kind := KindPage
		switch {
		case strings.HasPrefix(u, "/files/"):
			kind = KindFile
		case strings.HasPrefix(u, "/assets/"):
			kind = KindAsset
		}
		en := &Entry{URL: u, Kind: kind, SHA256: hashOf(body), Size: int64(len(body))}
		if kind == KindPage {
			en.Tags = e.deps.take(req.URL.Path)
			if en.Tags == nil {
				// Not recorded by the page cache (a feed or robots.txt
				// built without tags): anything may change it.
				en.Tags = []string{"*"}
			}
		}
		en.Links = extractLinks(ctype, body, base)
		out.entry, out.rel, out.body = en, rel, body
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusPermanentRedirect, http.StatusTemporaryRedirect:
		loc := res.Header.Get("Location")
		target, ok := internalPath(loc, base)
		if !ok {
			return nil, fmt.Errorf("redirects outside the site (%s)", loc)
		}
		rel, ok := outputPath(u, true)
		if !ok {
			return nil, fmt.Errorf("no file name for this URL")
		}
		b := redirectPage(target)
		out.entry = &Entry{URL: u, Kind: KindRedirect, SHA256: hashOf(b), Size: int64(len(b)), Target: target,
			// A redirect is the alias table's (path_redirect follows every
			// alias change) and the settings' (the language, the gathers).
			Tags:  []string{core.ListTag(core.KindAlias), core.AliasesTag, core.ListTag(core.KindConfig)},
			Links: []string{target}}
		out.rel, out.body = rel, b
	case http.StatusNotFound, http.StatusGone, http.StatusForbidden:
		out.gone = true
	default:
		return nil, fmt.Errorf("status %d", res.StatusCode)
	}
	return out, nil
}

// notFound renders the not-found page (404.html).
func (e *Exporter) notFound(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://export.invalid"+notFoundURL, nil)
	if err != nil {
		return nil, err
	}
	req.RequestURI = notFoundURL
	req.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		return nil, fmt.Errorf("export: the not-found page answered %d", rec.Code)
	}
	return rec.Body.Bytes(), nil
}

// extras are the files the export makes itself: 404.html (notFound's
// body), the nginx map of the redirects (by path), and the dynamic
// entries' redirect pages when there is a dynamic server.
func (e *Exporter) extras(ctx context.Context, redirects map[string]*Entry, notFound []byte) (map[string][]byte, error) {
	var nginx bytes.Buffer
	nginx.WriteString("# Redirects of this export, for nginx:\n#   map $uri $trovato_redirect { default \"\"; include " + NginxMapFile + "; }\n#   if ($trovato_redirect) { return 301 $trovato_redirect; }\n")
	for _, rel := range slices.Sorted(maps.Keys(redirects)) {
		en := redirects[rel]
		fmt.Fprintf(&nginx, "%s %s;\n", nginxQuote(en.URL), nginxQuote(en.Target))
	}
	out := map[string][]byte{"404.html": notFound, NginxMapFile: nginx.Bytes()}
	origin, err := e.dynamicOrigin(ctx)
	if err != nil {
		return nil, err
	}
	if origin != "" {
		// Without script, sign-in and search links lead to the dynamic
		// server (island.js points them there directly).
		for _, p := range dynamicEntries {
			out[strings.TrimPrefix(p, "/")+"/index.html"] = redirectPage(origin + p)
		}
	}
	return out, nil
}

// dynamicEntries are the dynamic pages the exported pages link to.
var dynamicEntries = []string{"/user/login", "/user/password", "/search"}

// extraPaths are the paths extras may make.
var extraPaths = func() []string {
	out := []string{"404.html", NginxMapFile}
	for _, p := range dynamicEntries {
		out = append(out, strings.TrimPrefix(p, "/")+"/index.html")
	}
	return out
}()

// dynamicOrigin is Options.DynamicOrigin, else the site's island_origin.
func (e *Exporter) dynamicOrigin(ctx context.Context) (string, error) {
	if e.opts.DynamicOrigin != "" {
		return e.opts.DynamicOrigin, nil
	}
	doc, err := e.k.Store.Config().FindConfig(ctx, "site", "site")
	if core.ErrorCode(err) == core.ENotFound {
		return "", nil
	} else if err != nil {
		return "", err
	}
	var site struct {
		IslandOrigin string `json:"island_origin"`
	}
	if err := json.Unmarshal(doc.Body, &site); err != nil {
		return "", fmt.Errorf("site document: %w", err)
	}
	return strings.TrimSuffix(site.IslandOrigin, "/"), nil
}

func nginxQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`).Replace(s) + `"`
}

// redirectPage stands for a 301 on a static server: it sends browsers on
// at once and names the target for crawlers.
func redirectPage(target string) []byte {
	t := htmlEscape(target)
	return []byte(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Moved</title>
<meta http-equiv="refresh" content="0; url=` + t + `">
<link rel="canonical" href="` + t + `">
<meta name="robots" content="noindex"></head>
<body><main><p>This page has moved to <a href="` + t + `">` + t + `</a>.</p></main></body></html>
`)
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}

// reach drops the entries no root reaches through links.
func reach(m *Manifest, from []string) {
	byURL := map[string]string{}
	for rel, en := range m.Files {
		byURL[en.URL] = rel
	}
	keep := map[string]bool{}
	stack := append([]string(nil), from...)
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		rel, ok := byURL[u]
		if !ok || keep[rel] {
			continue
		}
		keep[rel] = true
		stack = append(stack, m.Files[rel].Links...)
	}
	for rel := range m.Files {
		if !keep[rel] {
			delete(m.Files, rel)
		}
	}
}

func sameSize(path string, size int64) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Size() == size
}

// removeEmptyParents removes dir and its parents up to root while empty.
func removeEmptyParents(root, dir string) {
	for dir != root && strings.HasPrefix(dir, root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// depRecorder is the page cache the export's handler writes to: it keeps
// no pages, only each page's dependency manifest (the tags it used).
type depRecorder struct {
	mu   sync.Mutex
	tags map[string][]string
}

var _ core.TagCache = (*depRecorder)(nil)

func (d *depRecorder) GetTagged(context.Context, string) ([]byte, bool, error) {
	return nil, false, nil
}

func (d *depRecorder) SetTagged(_ context.Context, key string, _ []byte, tags []string, _ map[string]int64, _ time.Duration) error {
	if p, ok := strings.CutPrefix(key, server.ManifestKey("")); ok {
		d.mu.Lock()
		d.tags[p] = append([]string(nil), tags...)
		d.mu.Unlock()
	}
	return nil
}

func (d *depRecorder) TagVersions(_ context.Context, tags []string) (map[string]int64, error) {
	out := make(map[string]int64, len(tags))
	for _, t := range tags {
		out[t] = 0
	}
	return out, nil
}

func (d *depRecorder) BumpTags(context.Context, ...string) error { return nil }

// take returns and forgets the tags recorded for path.
func (d *depRecorder) take(path string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.tags[path]
	delete(d.tags, path)
	return t
}
