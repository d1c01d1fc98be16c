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

// changesOver are an incremental export's changes over prev, by path
// (nil: removed): the files of every URL rendered again go, and what
// rendered comes in (bodies gets its bytes). When a link may have moved
// (a URL gone or new, a page with other links), what the roots no longer
// reach goes too (prevExport.unreachable); otherwise no entry but the
// rendered ones is read.
func (e *Exporter) changesOver(prev *prevExport, results map[string]*rendered, roots []string, bodies map[string][]byte) (map[string]*Entry, error) {
	changes := map[string]*Entry{}
	moved := false
	for u, r := range results {
		rel, en, err := prev.atURL(u)
		if err != nil {
			return nil, err
		}
		if en != nil {
			changes[rel] = nil
		}
		if r.gone || r.entry == nil || en == nil || !slices.Equal(en.Links, r.entry.Links) {
			moved = true
		}
	}
	for _, r := range results {
		if r.gone || r.entry == nil {
			continue
		}
		other, again := changes[r.rel]
		if !again {
			var err error
			if other, err = prev.get(r.rel); err != nil {
				return nil, err
			}
		}
		if other != nil && other.URL != r.entry.URL {
			return nil, core.Errorf(core.EConflict, "export: %s and %s both map to the file %s", other.URL, r.entry.URL, r.rel)
		}
		changes[r.rel] = r.entry
		bodies[r.rel] = r.body
	}
	if !moved {
		return changes, nil
	}
	lost, err := prev.unreachable(changes, roots) // prev.go
	if err != nil {
		return nil, err
	}
	for _, rel := range lost {
		delete(bodies, rel)
		if was, err := prev.get(rel); err != nil {
			return nil, err
		} else if was != nil {
			changes[rel] = nil
		} else {
			delete(changes, rel) // new, and already unreachable
		}
	}
	return changes, nil
}

// redirectsAfter are the redirect entries once changes apply over prev,
// by path.
func redirectsAfter(prev *prevExport, changes map[string]*Entry) (map[string]*Entry, error) {
	out, err := prev.redirects()
	if err != nil {
		return nil, err
	}
	for rel, en := range changes {
		if en != nil && en.Kind == KindRedirect {
			out[rel] = en
		} else {
			delete(out, rel)
		}
	}
	return out, nil
}

// checkFolders refuses to write or remove a file through a symlinked
// folder inside the export folder (realParents, as a local deploy): a
// planted symlink would lead a page, or a removal the manifest lists,
// outside. It checks the folders of what is written and removed (no
// walk of the whole folder).
func checkFolders(abs string, bodies map[string][]byte, removed []string) error {
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
	for rel := range bodies {
		if err := check(rel); err != nil {
			return err
		}
	}
	for _, rel := range removed {
		if err := check(rel); err != nil {
			return err
		}
	}
	return nil
}

// saveBase records a full export's manifest in the folder (a new base)
// and in the database.
func (e *Exporter) saveBase(ctx context.Context, abs, name string, next *Manifest) error {
	base, err := saveBase(abs, next)
	if err != nil {
		return err
	}
	return e.k.Store.SaveExportManifest(ctx, name, next.Cursor, base)
}

// saveChanges records an incremental export's changes over prev: a log
// line, or, once the log has grown enough, a new base (kept in the
// database too). It returns how many files the export has now.
func (e *Exporter) saveChanges(ctx context.Context, abs, name string, prev *prevExport, changes map[string]*Entry, cursor core.FeedCursor) (int, error) {
	set, before := map[string]*Entry{}, map[string]*Entry{}
	files := prev.count
	for rel, en := range changes {
		was, err := prev.get(rel)
		if err != nil {
			return 0, err
		}
		before[rel] = was
		switch {
		case en == nil && was != nil:
			files--
		case en != nil && was == nil:
			files++
		}
		if !sameEntry(was, en) {
			set[rel] = en
		}
	}
	if prev.store.gen != "" {
		if _, ok, err := appendLog(abs, prev.store, prev.known(), set, before, cursor, prev.stage); err != nil || ok {
			return files, err
		}
	}
	next, err := prev.all()
	if err != nil {
		return 0, err
	}
	for rel, en := range changes {
		next.set(rel, en)
	}
	next.Version, next.Cursor = manifestVersion, cursor
	return len(next.Files), e.saveBase(ctx, abs, name, next)
}
