package export

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/trovato/trovato/core"
)

// prevExport is the previous export's manifest as an incremental export
// reads it: entries found by path, by URL and by tag in the base's index
// (indexView) with the log's changes over them, decoded one at a time. A
// run that renders two pages of a 15,000-file export decodes a few
// entries, not all of them. Without a usable index the manifest is read
// whole (m) and the index written again for the next run.
type prevExport struct {
	version int
	cursor  core.FeedCursor
	stage   string
	store   logState

	idx     *indexView
	over    map[string]*Entry // the log's changes over idx (nil: removed)
	overURL map[string]string // URL -> path of the entries in over
	count   int               // entries

	got map[string]*Entry // the base's entries decoded so far, by path (nil: none there)

	m     *Manifest         // read whole (idx nil)
	byURL map[string]string // of m, made when first asked

	sl slab
}

// openPrev reads DIR's manifest for an incremental export; found is false
// when there is none. Errors as ReadManifest's.
func openPrev(dir string) (*prevExport, bool, error) {
	base := filepath.Join(dir, ManifestFile)
	fi, err := os.Stat(base)
	if errors.Is(err, fs.ErrNotExist) {
		return &prevExport{version: manifestVersion, m: newManifest()}, false, nil
	} else if err != nil {
		return nil, false, err
	}
	if v, err := openIndex(dir, fi); err == nil {
		p := &prevExport{version: v.version, cursor: v.cursor, stage: v.stage, idx: v, count: v.n,
			store: logState{gen: v.gen, strs: v.strs, baseSize: fi.Size()},
			over:  map[string]*Entry{}, overURL: map[string]string{}, got: map[string]*Entry{}}
		err := readLog(dir, &p.store, p.get, func(rel string, en *Entry) { p.over[rel] = en },
			func(c core.FeedCursor, stage string) { p.cursor, p.stage = c, stage })
		if err != nil {
			return nil, false, core.Errorf(core.EInvalid, "%s: %s (delete it and %s to export everything again)", filepath.Join(dir, ManifestLogFile), err, ManifestFile)
		}
		for rel, en := range p.over {
			inBase := v.findPath(rel) >= 0
			switch {
			case en == nil && inBase:
				p.count--
			case en != nil && !inBase:
				p.count++
			}
			if en != nil {
				p.overURL[en.URL] = rel
			}
		}
		return p, true, nil
	}
	raw, err := os.ReadFile(base)
	if err != nil {
		return nil, false, err
	}
	m, w, err := decodeManifestTable(raw)
	if err != nil {
		return nil, false, core.Errorf(core.EInvalid, "%s: %s (delete it to export everything again)", base, err)
	}
	if w.Gen != "" && w.Version == manifestVersion {
		// The next run reads the index (an index of an older format, or
		// one lost, is written again). A failure only costs this read
		// again.
		_ = writeIndex(dir, m, w)
	}
	m.store = logState{gen: w.Gen, strs: w.Strings, baseSize: int64(len(raw))}
	if err := m.applyLog(dir); err != nil {
		return nil, false, core.Errorf(core.EInvalid, "%s: %s (delete it and %s to export everything again)", filepath.Join(dir, ManifestLogFile), err, ManifestFile)
	}
	return &prevExport{version: m.Version, cursor: m.Cursor, stage: m.Stage, store: m.store, m: m, count: len(m.Files)}, true, nil
}

// get is the entry at path rel, or nil.
func (p *prevExport) get(rel string) (*Entry, error) {
	if p.m != nil {
		return p.m.Files[rel], nil
	}
	if en, ok := p.over[rel]; ok {
		return en, nil
	}
	if en, ok := p.got[rel]; ok {
		return en, nil
	}
	var en *Entry
	if i := p.idx.findPath(rel); i >= 0 {
		var err error
		if _, en, err = p.idx.entry(i, &p.sl); err != nil {
			return nil, err
		}
	}
	p.got[rel] = en
	return en, nil
}

// atURL is the path and entry of URL u, or nil.
func (p *prevExport) atURL(u string) (string, *Entry, error) {
	if p.m != nil {
		if p.byURL == nil {
			p.byURL = make(map[string]string, len(p.m.Files))
			for rel, en := range p.m.Files {
				p.byURL[en.URL] = rel
			}
		}
		rel, ok := p.byURL[u]
		if !ok {
			return "", nil, nil
		}
		return rel, p.m.Files[rel], nil
	}
	if rel, ok := p.overURL[u]; ok {
		return rel, p.over[rel], nil
	}
	i := p.idx.findURL(u)
	if i < 0 {
		return "", nil, nil
	}
	rel, en, err := p.idx.entry(i, &p.sl)
	if err != nil {
		return "", nil, err
	}
	if _, changed := p.over[rel]; changed {
		return "", nil, nil // the log removed it or put another URL there
	}
	return rel, en, nil
}

// stale are the pages and redirects with a tag in bumped ("*", a page
// built without tags, when anything was bumped), by path.
func (p *prevExport) stale(bumped map[string]bool) (map[string]*Entry, error) {
	out := map[string]*Entry{}
	if len(bumped) == 0 {
		return out, nil
	}
	renders := func(en *Entry) bool { return en.Kind == KindPage || en.Kind == KindRedirect }
	hit := func(en *Entry) bool {
		return slices.ContainsFunc(en.Tags, func(t string) bool { return t == "*" || bumped[t] })
	}
	if p.m != nil {
		for rel, en := range p.m.Files {
			if renders(en) && hit(en) {
				out[rel] = en
			}
		}
		return out, nil
	}
	for rel, en := range p.over {
		if en != nil && renders(en) && hit(en) {
			out[rel] = en
		}
	}
	seen := map[int]bool{}
	for t := range bumped {
		if t == "*" {
			continue
		}
		if err := p.addTagged(t, seen, out, renders); err != nil {
			return nil, err
		}
	}
	return out, p.addTagged("*", seen, out, renders)
}

func (p *prevExport) addTagged(t string, seen map[int]bool, out map[string]*Entry, renders func(*Entry) bool) error {
	ids, err := p.idx.tagged(t)
	if err != nil {
		return err
	}
	for _, i := range ids {
		if seen[i] {
			continue
		}
		seen[i] = true
		rel, en, err := p.idx.entry(i, &p.sl)
		if err != nil {
			return err
		}
		if _, changed := p.over[rel]; !changed && renders(en) {
			out[rel] = en
		}
	}
	return nil
}

// redirects are the redirect entries, by path.
func (p *prevExport) redirects() (map[string]*Entry, error) {
	out := map[string]*Entry{}
	if p.m != nil {
		for rel, en := range p.m.Files {
			if en.Kind == KindRedirect {
				out[rel] = en
			}
		}
		return out, nil
	}
	for _, i := range p.idx.redirects() {
		rel, en, err := p.idx.entry(i, &p.sl)
		if err != nil {
			return nil, err
		}
		if _, changed := p.over[rel]; !changed {
			out[rel] = en
		}
	}
	for rel, en := range p.over {
		if en != nil && en.Kind == KindRedirect {
			out[rel] = en
		}
	}
	return out, nil
}

// all is every entry, in a manifest of its own.
func (p *prevExport) all() (*Manifest, error) {
	if p.m != nil {
		m := &Manifest{Version: p.m.Version, Cursor: p.m.Cursor, Stage: p.m.Stage, Files: make(map[string]*Entry, len(p.m.Files)), store: p.m.store}
		for rel, en := range p.m.Files {
			m.Files[rel] = en
		}
		return m, nil
	}
	m, err := p.idx.manifest()
	if err != nil {
		return nil, err
	}
	for rel, en := range p.over {
		m.set(rel, en)
	}
	m.Cursor, m.Stage, m.store = p.cursor, p.stage, p.store
	return m, nil
}

// known finds a string in the manifest's string table (appendLog): the
// base's through its index, the log's in a map made when first asked.
func (p *prevExport) known() func(string) (int, bool) {
	if p.idx == nil {
		return nil
	}
	var logStrs map[string]int
	return func(s string) (int, bool) {
		if n := p.idx.findStr(s); n >= 0 {
			return n, true
		}
		if logStrs == nil {
			logStrs = map[string]int{}
			for i := len(p.idx.strs); i < len(p.store.strs); i++ {
				if _, dup := logStrs[p.store.strs[i]]; !dup {
					logStrs[p.store.strs[i]] = i
				}
			}
		}
		n, ok := logStrs[s]
		return n, ok
	}
}

// unreachable are the paths no root reaches through links once changes
// (nil: removed) apply over prev, extras (made again by every export)
// left out. With an index it walks entry numbers and the links' string
// indexes, decoding no entry: at 15,000 entries a few milliseconds, where
// reach over decoded entries costs 60.
func (p *prevExport) unreachable(changes map[string]*Entry, roots []string) ([]string, error) {
	if p.idx == nil {
		now, err := p.all()
		if err != nil {
			return nil, err
		}
		for rel, en := range changes {
			now.set(rel, en)
		}
		for rel, en := range now.Files {
			if en.Kind == KindExtra {
				delete(now.Files, rel)
			}
		}
		kept := &Manifest{Files: maps.Clone(now.Files)}
		reach(kept, roots)
		var out []string
		for rel := range now.Files {
			if _, ok := kept.Files[rel]; !ok {
				out = append(out, rel)
			}
		}
		return out, nil
	}
	v := p.idx
	// The entries over the base: the log's, then the changes.
	over := maps.Clone(p.over)
	for rel, en := range changes {
		over[rel] = en
	}
	gone := make([]bool, v.n) // replaced, removed or an extra
	type extra struct {
		rel string
		en  *Entry
	}
	var extras []extra
	for rel, en := range over {
		if i := v.findPath(rel); i >= 0 {
			gone[i] = true
		}
		if en != nil && en.Kind != KindExtra {
			extras = append(extras, extra{rel, en})
		}
	}
	// strNode: the node whose URL is string n of the table (-1: none).
	strNode := make([]int32, len(v.strs))
	for n := range strNode {
		strNode[n] = -1
	}
	for i := range v.n {
		d := v.reader(i)
		d.str()
		u := d.str()
		if k := d.byte(); d.err != nil || int(k) >= len(indexKinds) {
			return nil, errors.New("malformed index")
		} else if indexKinds[k] == KindExtra {
			gone[i] = true
		}
		if !gone[i] {
			if n := v.findStr(u); n >= 0 {
				strNode[n] = int32(i)
			}
		}
	}
	extraByURL := make(map[string]int, len(extras))
	for k, x := range extras {
		extraByURL[x.en.URL] = v.n + k
		if n := v.findStr(x.en.URL); n >= 0 {
			strNode[n] = int32(v.n + k)
		}
	}
	nodeOf := func(u string) int {
		if n := v.findStr(u); n >= 0 && strNode[n] >= 0 {
			return int(strNode[n])
		}
		if k, ok := extraByURL[u]; ok {
			return k
		}
		if i := v.findURL(u); i >= 0 && !gone[i] {
			return i
		}
		return -1
	}
	seen := make([]bool, v.n+len(extras))
	var stack []int
	visit := func(node int) {
		if node >= 0 && !seen[node] {
			seen[node] = true
			stack = append(stack, node)
		}
	}
	for _, r := range roots {
		visit(nodeOf(r))
	}
	for len(stack) > 0 {
		node := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if node >= v.n {
			for _, l := range extras[node-v.n].en.Links {
				visit(nodeOf(l))
			}
			continue
		}
		// A base entry's links, as string indexes: path, URL, kind,
		// hash, size, then the tags, then the links.
		d := v.reader(node)
		d.str()
		d.str()
		d.byte()
		d.str()
		d.uvarint()
		for range d.count() {
			d.uvarint()
		}
		for range d.count() {
			if n := d.uvarint(); n < uint64(len(strNode)) {
				visit(int(strNode[n]))
			}
		}
		if d.err != nil {
			return nil, errors.New("malformed index")
		}
	}
	var out []string
	for i := range v.n {
		if !gone[i] && !seen[i] {
			out = append(out, v.path(i))
		}
	}
	for k, x := range extras {
		if !seen[v.n+k] {
			out = append(out, x.rel)
		}
	}
	return out, nil
}
