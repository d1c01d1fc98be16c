package export

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/trovato/trovato/core"
)

// changeTags are the tags a batch of change-feed rows bumps for this
// export: live's pages, or a stage's (Options.Stage: a change in the stage
// or in live beneath it counts, core.TagsForStageChanges). The store's
// item and alias deltas make them precise; unreadable, every listing (and
// every page, for an alias) is rendered again.
func (e *Exporter) changeTags(ctx context.Context, rows []core.Change) []string {
	var (
		tags []string
		err  error
	)
	if e.opts.Stage != nil {
		tags, err = core.TagsForStageChanges(ctx, rows, e.opts.Stage.ID, e.k.Store)
	} else {
		tags, err = core.TagsForChanges(ctx, rows, e.k.Store)
	}
	if err != nil {
		e.log.Warn("export: change deltas unreadable; every listing rendered again", "err", err)
	}
	return tags
}

// checkFolders refuses to write or remove a file through a symlinked
// folder inside the export folder (realParents, as a local deploy): a
// planted symlink would lead a page, or a removal the manifest lists,
// outside. A full export checks every file; an incremental one only what
// it writes and removes (no walk of the whole folder).
func checkFolders(abs string, full bool, old, next *Manifest, bodies map[string][]byte) error {
	checked := map[string]bool{}
	check := func(rel string) error {
		if d := filepath.Dir(rel); !checked[d] {
			if err := realParents(abs, rel); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			checked[d] = true
		}
		return nil
	}
	if full {
		for _, m := range []*Manifest{next, old} {
			for rel := range m.Files {
				if err := check(rel); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for rel := range bodies {
		if err := check(rel); err != nil {
			return err
		}
	}
	for rel := range old.Files {
		if _, kept := next.Files[rel]; !kept {
			if err := check(rel); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeManifest records the export's manifest in the folder (a log line,
// or a new base: saveManifest) and each new base in the database too.
func (e *Exporter) writeManifest(ctx context.Context, abs, name string, old, next *Manifest, full bool) error {
	base, err := saveManifest(abs, old, next, full)
	if err != nil || base == nil {
		return err
	}
	return e.k.Store.SaveExportManifest(ctx, name, next.Cursor, base)
}

// linksMoved reports whether an incremental export's results can change
// what the roots reach: a URL gone or new, or a page whose links differ
// from its entry's. When none can, the walk over every entry (reach) is
// skipped.
func linksMoved(old *Manifest, results map[string]*rendered) bool {
	byURL := make(map[string]*Entry, len(results))
	for _, r := range results {
		byURL[r.url] = nil
	}
	for _, en := range old.Files {
		if _, ok := byURL[en.URL]; ok {
			byURL[en.URL] = en
		}
	}
	for _, r := range results {
		prev := byURL[r.url]
		if r.gone || r.entry == nil || prev == nil || !slices.Equal(prev.Links, r.entry.Links) {
			return true
		}
	}
	return false
}

// tagFilter answers whether a tag was bumped, checking a bitmap of a
// cheap hash (its length and three of its bytes) before the set: an
// incremental export asks for every tag of every entry (15,000 pages of
// 25 tags at 10,000 articles), and almost none was bumped.
type tagFilter struct {
	bits [1 << 10]uint64
	set  map[string]bool
}

func newTagFilter(set map[string]bool) *tagFilter {
	f := &tagFilter{set: set}
	for t := range set {
		h := tagHash(t)
		f.bits[h>>6] |= 1 << (h & 63)
	}
	return f
}

func tagHash(t string) uint32 {
	n := uint32(len(t))
	if n == 0 {
		return 0
	}
	h := n*0x9e3779b1 ^ uint32(t[n-1])<<4 ^ uint32(t[n/2])<<9 ^ uint32(t[(n*3)/4])<<1
	return (h ^ h>>16) & (1<<16 - 1)
}

func (f *tagFilter) has(t string) bool {
	h := tagHash(t)
	return f.bits[h>>6]&(1<<(h&63)) != 0 && f.set[t]
}
