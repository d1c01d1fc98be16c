package export

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/trovato/trovato/core"
)

// ManifestLogFile holds the changes of the exports since the manifest
// file (ManifestFile, the base) was written: one JSON line per export,
// appended. An incremental export writes only its line (what it added,
// changed and removed), not the whole manifest; the base is written again
// (compacted: the log is folded in and removed) by a full export and once
// the log outgrows a quarter of the base.
//
// An entry whose tags and links are those of the entry it replaces (an
// edit of a body: the page's bytes changed, not what it depends on or
// links to) is written without them, marked same: a line is a few hundred
// bytes, not the 5 KB of a sitemap part's lists.
//
// A line names the base it follows (the base's gen): lines of another
// base (a compaction that stopped before removing the log) are skipped.
// Each line may append strings to the base's string table (strings), and
// its entries (set) index the table as it stands after the line's own
// strings; del lists the paths removed. A last line without its line
// break (an export stopped while appending) is ignored: the next export
// reads the feed from the line before, and renders that export's changes
// again.
const ManifestLogFile = ".trovato-export.log"

type logRecord struct {
	Gen     string                `json:"gen"`
	Cursor  core.FeedCursor       `json:"cursor"`
	Stage   string                `json:"stage,omitempty"`
	Strings []string              `json:"strings,omitempty"`
	Set     map[string]*wireEntry `json:"set,omitempty"`
	Del     []string              `json:"del,omitempty"`
}

// logState is what a manifest read from a folder knows of its files.
type logState struct {
	gen      string   // the base's generation ("" : a base without a log)
	strs     []string // the string table: the base's, then the log's
	baseSize int64
	logSize  int64 // bytes of the log's lines that apply
	logEnd   int64 // bytes of whole lines (a torn line after them is cut before the next append)
}

// compactRatio: the base is written again when the log would exceed
// 1/compactRatio of it (at least compactMin bytes, at most compactMax).
const compactRatio = 4

var (
	compactMin int64 = 64 << 10
	compactMax int64 = 1 << 20
)

// applyLog applies DIR/.trovato-export.log to m, read from DIR's base.
func (m *Manifest) applyLog(dir string) error {
	return readLog(dir, &m.store, func(p string) (*Entry, error) { return m.Files[p], nil }, m.set,
		func(c core.FeedCursor, stage string) { m.Cursor, m.Stage = c, stage })
}

// readLog reads DIR/.trovato-export.log over the base st names: set gets
// each entry a line sets (nil: removed), in order, and get says what is at
// a path so far (an entry marked same takes its tags and links); meta gets
// each line's cursor and stage. It extends st's string table and records
// the log's sizes.
func readLog(dir string, st *logState, get func(p string) (*Entry, error), set func(p string, en *Entry), meta func(core.FeedCursor, string)) error {
	raw, err := os.ReadFile(filepath.Join(dir, ManifestLogFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if st.gen == "" {
		return nil // the base was written without a log: any log is stale
	}
	var (
		sl    slab
		owned bool // st.strs is this function's to append to
	)
	for off := int64(0); len(raw) > 0; {
		nl := bytes.IndexByte(raw, '\n')
		if nl < 0 {
			break // a torn last line: that export is done again
		}
		line := raw[:nl]
		raw = raw[nl+1:]
		off += int64(nl + 1)
		st.logEnd = off
		var rec logRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("a damaged line: %v", err)
		}
		if rec.Gen != st.gen {
			continue
		}
		if len(rec.Strings) > 0 {
			if !owned {
				// The table may be the index's: copied once, then grown.
				st.strs, owned = slices.Clip(st.strs), true
			}
			st.strs = append(st.strs, rec.Strings...)
		}
		for p, we := range rec.Set {
			en, err := we.entryIn(p, st.strs, &sl)
			if err != nil {
				return err
			}
			if we.Same {
				was, err := get(p)
				if err != nil {
					return err
				}
				if was == nil {
					return fmt.Errorf("entry %q keeps the lists of an entry that is not there", p)
				}
				en.Tags, en.Links = was.Tags, was.Links
			}
			set(p, en)
		}
		for _, p := range rec.Del {
			set(p, nil)
		}
		meta(rec.Cursor, rec.Stage)
		st.logSize += int64(nl + 1)
	}
	return nil
}

// saveManifest records next, the manifest of the export just made over
// old, in DIR: a line appended to the log when old was read from DIR and
// the log stays small, else a new base (and the log removed). base is
// the base written, if any (the database keeps a copy of each base).
func saveManifest(dir string, old, next *Manifest, full bool) (base []byte, err error) {
	if !full && old.store.gen != "" && old.Version == manifestVersion {
		set := map[string]*Entry{}
		for p, en := range next.Files {
			if !sameEntry(old.Files[p], en) {
				set[p] = en
			}
		}
		for p := range old.Files {
			if _, ok := next.Files[p]; !ok {
				set[p] = nil
			}
		}
		st, ok, err := appendLog(dir, old.store, nil, set, old.Files, next.Cursor, next.Stage)
		if err != nil || ok {
			next.store = st
			return nil, err
		}
	}
	return saveBase(dir, next)
}

// appendLog appends a line to DIR's log over the base st names: set's
// entries (nil: removed) over was (what each path held). known finds a
// string in the table (nil: every string of st is looked at). ok is
// false, and nothing written, when the log would outgrow its share of the
// base: a base is due.
func appendLog(dir string, st logState, known func(string) (int, bool), set, was map[string]*Entry, cursor core.FeedCursor, stage string) (logState, bool, error) {
	if st.logSize+minLineEntry*int64(len(set)) > logLimit(st.baseSize) {
		return st, false, nil // too large whatever its entries hold
	}
	rec := logRecord{Gen: st.gen, Cursor: cursor, Stage: stage, Set: map[string]*wireEntry{}}
	in := interner{index: map[string]int{}, size: len(st.strs), known: known}
	if known == nil {
		for i, s := range st.strs {
			if _, dup := in.index[s]; !dup {
				in.index[s] = i
			}
		}
	}
	// Set is a map (JSON writes it sorted); the new strings are interned
	// in sorted path order, so a line is the same bytes for the same
	// change.
	for _, p := range slices.Sorted(maps.Keys(set)) {
		if en, w := set[p], was[p]; en != nil && w != nil && len(en.Tags)+len(en.Links) > 0 &&
			slices.Equal(en.Tags, w.Tags) && slices.Equal(en.Links, w.Links) {
			rec.Set[p] = &wireEntry{URL: en.URL, Kind: en.Kind, SHA256: en.SHA256, Size: en.Size, Target: en.Target, Same: true}
		} else if en != nil {
			rec.Set[p] = in.entry(en)
		} else {
			rec.Del = append(rec.Del, p)
		}
	}
	rec.Strings = in.added
	line, err := json.Marshal(&rec)
	if err != nil {
		return st, false, err
	}
	line = append(line, '\n')
	if st.logSize+int64(len(line)) > logLimit(st.baseSize) {
		return st, false, nil
	}
	if err := appendFile(filepath.Join(dir, ManifestLogFile), st.logEnd, line); err != nil {
		return st, false, fmt.Errorf("export: write manifest log: %w", err)
	}
	return logState{gen: st.gen, strs: append(st.strs[:len(st.strs):len(st.strs)], in.added...),
		baseSize: st.baseSize, logSize: st.logSize + int64(len(line)), logEnd: st.logEnd + int64(len(line))}, true, nil
}

// minLineEntry is the least a log line's entry takes: its path, and its
// hash of 64 characters with its JSON keys.
const minLineEntry = 100

// logLimit is how large the log of a base of baseSize bytes may grow: a
// quarter of it, at least compactMin, at most compactMax (every
// incremental export reads the whole log).
func logLimit(baseSize int64) int64 {
	return min(max(compactMin, baseSize/compactRatio), compactMax)
}

// saveBase writes next as a new base with its index, and removes the
// log.
func saveBase(dir string, next *Manifest) ([]byte, error) {
	var g [8]byte
	if _, err := rand.Read(g[:]); err != nil {
		return nil, err
	}
	gen := hex.EncodeToString(g[:])
	raw, w, err := next.encodeBase(gen)
	if err != nil {
		return nil, err
	}
	// The old index goes first: a failure after it leaves the JSON base,
	// never an index of another base beside it.
	if err := os.Remove(filepath.Join(dir, ManifestIndexFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("export: remove the manifest index: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, ManifestFile), raw); err != nil {
		return nil, fmt.Errorf("export: write manifest: %w", err)
	}
	if err := writeIndex(dir, next, w); err != nil {
		return nil, fmt.Errorf("export: write manifest index: %w", err)
	}
	// The new base names a new generation: the old log's lines no longer
	// apply, so removing it can wait (a failure here leaves a stale log).
	if err := os.Remove(filepath.Join(dir, ManifestLogFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("export: remove the manifest log: %w", err)
	}
	next.store = logState{gen: gen, strs: w.Strings, baseSize: int64(len(raw))}
	return raw, nil
}

// sameEntry reports whether two entries say the same.
func sameEntry(a, b *Entry) bool {
	if a == b {
		return true
	}
	return a != nil && b != nil && a.URL == b.URL && a.Kind == b.Kind && a.SHA256 == b.SHA256 && a.Size == b.Size &&
		a.Target == b.Target && slices.Equal(a.Tags, b.Tags) && slices.Equal(a.Links, b.Links)
}

// appendFile appends one line in one write (O_APPEND) after the first end
// bytes (what follows them, a torn line, is cut): a reader sees the whole
// line or a line without its break, which it ignores.
func appendFile(path string, end int64, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if fi, err := f.Stat(); err == nil && fi.Size() > end {
		err = f.Truncate(end)
		if err != nil {
			f.Close()
			return err
		}
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}
