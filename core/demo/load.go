package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"slices"

	"github.com/trovato/trovato/core"
)

// Loader is what Load needs from a store. Every method acts as the user in
// ctx. NewStoreLoader adapts the PostgreSQL store.
type Loader interface {
	FindConfig(ctx context.Context, kind, name string) (*core.ConfigDocument, error)
	PutConfig(ctx context.Context, kind, name string, body json.RawMessage, ifVersion int) (*core.ConfigDocument, error)
	// ApplyType stores an item type, migrating existing items; an error
	// when some item cannot be converted.
	ApplyType(ctx context.Context, body json.RawMessage) error

	CreateFile(ctx context.Context, name string, r io.Reader) (*core.File, error)
	FindFileByID(ctx context.Context, id core.ID) (*core.File, error)

	FindItemByID(ctx context.Context, stage, id core.ID) (*core.Item, error)
	CreateItem(ctx context.Context, stage core.ID, it *core.Item, log string) error
	UpdateItem(ctx context.Context, stage, id core.ID, upd core.ItemUpdate) (*core.Item, error)

	FindStaged(ctx context.Context, kind string, stage, id core.ID) (*core.StagedDoc, error)
	PutStaged(ctx context.Context, kind string, stage, id core.ID, doc json.RawMessage, ifRevision *core.ID, log string) (*core.StagedDoc, error)

	// RevisionLog returns the log message of a revision of any staged kind
	// (items included); ENOTFOUND if there is none.
	RevisionLog(ctx context.Context, kind string, rev core.ID) (string, error)
	// HasRevisions reports whether an entity of a staged kind was ever
	// stored, in any stage (so a missing one was deleted, not never made).
	HasRevisions(ctx context.Context, kind string, id core.ID) (bool, error)
}

// Options controls Load.
type Options struct {
	// FS holds the demo documents; nil means the embedded demo.
	FS fs.FS
	// DryRun reports what Load would do without writing anything.
	DryRun bool
}

// Outcomes of one entity.
const (
	Created   = "created"
	Updated   = "updated"
	Unchanged = "unchanged"
	Edited    = "edited"
)

// Report says what a load did, per kind, and lists the demo entities a
// user has changed (which the load left alone).
type Report struct {
	Version int          `json:"version"`
	DryRun  bool         `json:"dry_run"`
	Kinds   []*KindCount `json:"kinds"`
	Edited  []EditedItem `json:"edited"`
}

// KindCount counts the outcomes for one kind: a config kind (site,
// vocabulary, menu, alias_pattern, item_type) or file, term, item, alias,
// menu_link.
type KindCount struct {
	Kind      string `json:"kind"`
	Created   int    `json:"created"`
	Updated   int    `json:"updated"`
	Unchanged int    `json:"unchanged"`
	Edited    int    `json:"edited"`
}

// EditedItem is a demo entity that someone other than the demo changed or
// deleted; the load did not touch it.
type EditedItem struct {
	Kind   string `json:"kind"`
	ID     string `json:"id"` // the entity id, or kind/name for config
	Label  string `json:"label"`
	Reason string `json:"reason"`
}

// Count returns the counts of kind (zero counts when absent).
func (r *Report) Count(kind string) KindCount {
	for _, k := range r.Kinds {
		if k.Kind == kind {
			return *k
		}
	}
	return KindCount{Kind: kind}
}

// Changed reports whether the load created or updated anything.
func (r *Report) Changed() bool {
	for _, k := range r.Kinds {
		if k.Created+k.Updated > 0 {
			return true
		}
	}
	return false
}

func (r *Report) add(kind, outcome string) {
	var k *KindCount
	for _, x := range r.Kinds {
		if x.Kind == kind {
			k = x
		}
	}
	if k == nil {
		k = &KindCount{Kind: kind}
		r.Kinds = append(r.Kinds, k)
	}
	switch outcome {
	case Created:
		k.Created++
	case Updated:
		k.Updated++
	case Unchanged:
		k.Unchanged++
	case Edited:
		k.Edited++
	}
}

func (r *Report) edited(kind, id, label, reason string) {
	r.add(kind, Edited)
	r.Edited = append(r.Edited, EditedItem{Kind: kind, ID: id, Label: label, Reason: reason})
}

// loader is one run of Load.
type loader struct {
	l    Loader
	d    *Demo
	opts Options
	log  string
	rep  *Report
	// fileIDs maps a demo file name to the stored file it resolved to.
	fileIDs map[string]core.ID
	// fileHash maps stored files the demo items use to their hashes.
	fileHash map[core.ID]string
}

// Load upserts the demo into live as the user in ctx, by fixed id:
// config documents (item types last), terms, items with the files they
// use, aliases, items and menu links, in that order. It creates what is missing;
// it updates an entity only when its current revision was written by the
// demo loader (log "demo N") and the demo's document differs; it never
// overwrites an entity someone else edited, or recreates one someone
// deleted — those are listed in Report.Edited. A second load reports
// everything unchanged. An entity that changes while the load looks at it
// (ECONFLICT) is looked at once more.
//
// It returns EINVALID when the documents are not valid, and otherwise the
// store's errors (EFORBIDDEN without the permissions) wrapped with the
// entity they concern, with the report of what was done until then.
func Load(ctx context.Context, l Loader, opts Options) (*Report, error) {
	fsys := opts.FS
	if fsys == nil {
		fsys = embedded
	}
	d, err := Parse(fsys)
	if err != nil {
		return nil, err
	}
	ld := &loader{l: l, d: d, opts: opts, log: Log(d.Version), fileIDs: map[string]core.ID{}, fileHash: map[core.ID]string{},
		rep: &Report{Version: d.Version, DryRun: opts.DryRun, Kinds: []*KindCount{}, Edited: []EditedItem{}}}
	// One row per kind, in load order, even when a kind has nothing to do.
	for _, c := range d.Config {
		ld.rep.add(c.Kind, "")
	}
	for _, k := range []string{core.KindFile, core.KindTerm, core.KindItem, core.KindAlias, core.KindMenuLink} {
		ld.rep.add(k, "")
	}
	// Aliases come before items so that the alias patterns leave them alone.
	steps := []func(context.Context) error{ld.config, ld.knownFiles, ld.terms, ld.aliases, ld.items, ld.menuLinks}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return ld.rep, err
		}
	}
	return ld.rep, nil
}

func (ld *loader) config(ctx context.Context) error {
	for _, doc := range ld.d.Config {
		if err := again(func() error { return ld.configDoc(ctx, doc) }); err != nil {
			return err
		}
	}
	return nil
}

func (ld *loader) configDoc(ctx context.Context, doc core.ConfigDoc) error {
	key := doc.Kind + "/" + doc.Name
	cur, err := ld.l.FindConfig(ctx, doc.Kind, doc.Name)
	if core.ErrorCode(err) == core.ENotFound {
		if err := ld.putConfig(ctx, doc, 0); err != nil {
			return err
		}
		ld.rep.add(doc.Kind, Created)
		return nil
	} else if err != nil {
		return fmt.Errorf("demo %s: %w", key, err)
	}
	stored, err := core.ParseConfigDoc(doc.Kind, cur.Body)
	if err != nil {
		// Not even valid today: certainly not what the demo wrote.
		ld.rep.edited(doc.Kind, key, doc.Name, "changed since the demo wrote it")
		return nil
	}
	switch {
	case bytes.Equal(stored.Body, doc.Body):
		ld.rep.add(doc.Kind, Unchanged)
	case ld.d.history[key][hash(stored.Body)]:
		if err := ld.putConfig(ctx, doc, cur.Version); err != nil {
			return err
		}
		ld.rep.add(doc.Kind, Updated)
	default:
		ld.rep.edited(doc.Kind, key, doc.Name, fmt.Sprintf("changed since the demo wrote it (now version %d)", cur.Version))
	}
	return nil
}

func (ld *loader) putConfig(ctx context.Context, doc core.ConfigDoc, ifVersion int) error {
	if ld.opts.DryRun {
		return nil
	}
	var err error
	if doc.Kind == "item_type" {
		err = ld.l.ApplyType(ctx, doc.Body)
	} else {
		_, err = ld.l.PutConfig(ctx, doc.Kind, doc.Name, doc.Body, ifVersion)
	}
	if err != nil {
		return fmt.Errorf("demo %s/%s: %w", doc.Kind, doc.Name, err)
	}
	return nil
}

// knownFiles finds the demo files stored by earlier loads. Files are
// entities with ids of their own, so the demo finds them through its
// items' image fields: a stored file whose content hash matches a demo
// file is that file.
func (ld *loader) knownFiles(ctx context.Context) error {
	byHash := map[string]core.ID{}
	for _, it := range ld.d.Items {
		cur, err := ld.l.FindItemByID(ctx, core.LiveStageID, it.ID)
		if core.ErrorCode(err) == core.ENotFound {
			continue
		} else if err != nil {
			return fmt.Errorf("demo item %s: %w", it.ID, err)
		}
		for _, id := range fileRefs(ld.d.types[it.Type], cur.Fields) {
			f, err := ld.l.FindFileByID(ctx, id)
			if core.ErrorCode(err) == core.ENotFound {
				continue
			} else if err != nil {
				return fmt.Errorf("demo file %s: %w", id, err)
			}
			ld.fileHash[f.ID] = f.Hash
			if _, ok := byHash[f.Hash]; !ok {
				byHash[f.Hash] = f.ID
			}
		}
	}
	for _, f := range ld.d.Files {
		if id, ok := byHash[f.Hash]; ok {
			ld.fileIDs[f.Name] = id
			ld.rep.add(core.KindFile, Unchanged)
		}
	}
	return nil
}

// sameFiles returns fields with every file reference that has the content
// of a demo file replaced by the file this load uses for it: two file
// entities with the same bytes (two loads that ran at once each stored
// one) are the same file to the demo.
func (ld *loader) sameFiles(t *core.ItemType, fields json.RawMessage) json.RawMessage {
	if len(ld.fileHash) == 0 {
		return fields
	}
	var m map[string]any
	if json.Unmarshal(fields, &m) != nil {
		return fields
	}
	swap := func(v any) {
		ref, ok := v.(map[string]any)
		if !ok {
			return
		}
		id, _ := ref["id"].(string)
		u, err := core.ParseID(id)
		if err != nil {
			return
		}
		for _, f := range ld.d.Files {
			if f.Hash == ld.fileHash[u] {
				if use, ok := ld.fileIDs[f.Name]; ok {
					ref["id"] = use.String()
				}
			}
		}
	}
	for _, fd := range t.Fields {
		if fd.Type != core.FieldImage && fd.Type != core.FieldFile {
			continue
		}
		if list, ok := m[fd.Name].([]any); ok {
			for _, v := range list {
				swap(v)
			}
		} else {
			swap(m[fd.Name])
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fields
	}
	return b
}

// missingFiles returns the demo files an item needs that are not stored.
func (ld *loader) missingFiles(it *Item) []string {
	var out []string
	for _, name := range it.fileNames(ld.d.types[it.Type]) {
		if _, ok := ld.fileIDs[name]; !ok && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// storeFiles stores demo files an item is about to refer to. Only items
// the load writes make files, so a file only an edited item used is not
// stored again on every load.
func (ld *loader) storeFiles(ctx context.Context, names []string) error {
	for _, name := range names {
		var f *File
		for i := range ld.d.Files {
			if ld.d.Files[i].Name == name {
				f = &ld.d.Files[i]
			}
		}
		if f == nil {
			return core.Errorf(core.EInvalid, "demo file %s is not in files/", name)
		}
		if ld.opts.DryRun {
			ld.fileIDs[name] = core.NewID()
			ld.rep.add(core.KindFile, Created)
			continue
		}
		stored, err := ld.l.CreateFile(ctx, f.Name, bytes.NewReader(f.Data))
		if err != nil {
			return fmt.Errorf("demo file %s: %w", f.Name, err)
		}
		if stored.Hash != f.Hash {
			return core.Errorf(core.EInternal, "demo file %s was stored with hash %s, expected %s", f.Name, stored.Hash, f.Hash)
		}
		ld.fileIDs[name] = stored.ID
		ld.rep.add(core.KindFile, Created)
	}
	return nil
}

// again runs step, and once more when it fails with a conflict: another
// writer (a user, or a second load) changed the entity while this load was
// looking at it, so the step looks again and decides anew.
func again(step func() error) error {
	err := step()
	if core.ErrorCode(err) == core.EConflict {
		err = step()
	}
	return err
}

// staged upserts one entity of a staged kind other than items. same
// compares the stored document with the demo's.
func (ld *loader) staged(ctx context.Context, kind string, id core.ID, label string, doc any, same func(stored json.RawMessage) bool) error {
	return again(func() error { return ld.stagedOnce(ctx, kind, id, label, doc, same) })
}

func (ld *loader) stagedOnce(ctx context.Context, kind string, id core.ID, label string, doc any, same func(stored json.RawMessage) bool) error {
	body, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("demo %s %s: %w", kind, id, err)
	}
	cur, err := ld.l.FindStaged(ctx, kind, core.LiveStageID, id)
	if core.ErrorCode(err) == core.ENotFound {
		existed, err := ld.l.HasRevisions(ctx, kind, id)
		if err != nil {
			return fmt.Errorf("demo %s %s: %w", kind, id, err)
		}
		if existed {
			ld.rep.edited(kind, id.String(), label, "deleted since the demo wrote it")
			return nil
		}
		if !ld.opts.DryRun {
			if _, err := ld.l.PutStaged(ctx, kind, core.LiveStageID, id, body, nil, ld.log); err != nil {
				return fmt.Errorf("demo %s %s (%s): %w", kind, id, label, err)
			}
		}
		ld.rep.add(kind, Created)
		return nil
	} else if err != nil {
		return fmt.Errorf("demo %s %s: %w", kind, id, err)
	}
	if same(cur.Doc) {
		ld.rep.add(kind, Unchanged)
		return nil
	}
	log, err := ld.l.RevisionLog(ctx, kind, cur.RevisionID)
	if err != nil {
		return fmt.Errorf("demo %s %s: %w", kind, id, err)
	}
	if demoVersionOf(log) == 0 {
		ld.rep.edited(kind, id.String(), label, editReason(log))
		return nil
	}
	if !ld.opts.DryRun {
		if _, err := ld.l.PutStaged(ctx, kind, core.LiveStageID, id, body, &cur.RevisionID, ld.log); err != nil {
			return fmt.Errorf("demo %s %s (%s): %w", kind, id, label, err)
		}
	}
	ld.rep.add(kind, Updated)
	return nil
}

func editReason(log string) string {
	if log == "" {
		return "changed since the demo wrote it"
	}
	return fmt.Sprintf("changed since the demo wrote it (%q)", log)
}

func (ld *loader) terms(ctx context.Context) error {
	for _, t := range ld.d.Terms {
		want := core.Term{ID: t.ID, Vocabulary: t.Vocabulary, Name: t.Name, Description: t.Description, Parents: t.Parents, Weight: t.Weight}
		doc := want
		doc.ID = core.NilID
		err := ld.staged(ctx, core.KindTerm, t.ID, t.Name, doc, func(stored json.RawMessage) bool {
			var got core.Term
			if json.Unmarshal(stored, &got) != nil {
				return false
			}
			if got.Parents == nil {
				got.Parents = []core.ID{}
			}
			return got.Vocabulary == want.Vocabulary && got.Name == want.Name && got.Description == want.Description &&
				slices.Equal(got.Parents, want.Parents) && got.Weight == want.Weight
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (ld *loader) aliases(ctx context.Context) error {
	for _, a := range ld.d.Aliases {
		want := core.Alias{Alias: a.Alias, Path: a.Path, Language: a.Language}
		err := ld.staged(ctx, core.KindAlias, a.ID, a.Alias, want, func(stored json.RawMessage) bool {
			var got core.Alias
			return json.Unmarshal(stored, &got) == nil && got.Alias == want.Alias && got.Path == want.Path && got.Language == want.Language
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (ld *loader) menuLinks(ctx context.Context) error {
	for _, m := range ld.d.MenuLinks {
		want := core.MenuLink{Menu: m.Menu, Title: m.Title, Path: m.Path, ParentID: m.ParentID, Weight: m.Weight}
		err := ld.staged(ctx, core.KindMenuLink, m.ID, m.Menu+": "+m.Title, want, func(stored json.RawMessage) bool {
			var got core.MenuLink
			if json.Unmarshal(stored, &got) != nil {
				return false
			}
			sameParent := (got.ParentID == nil) == (want.ParentID == nil) && (got.ParentID == nil || *got.ParentID == *want.ParentID)
			return got.Menu == want.Menu && got.Title == want.Title && got.Path == want.Path && got.Weight == want.Weight && sameParent
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (ld *loader) items(ctx context.Context) error {
	for i := range ld.d.Items {
		if err := again(func() error { return ld.item(ctx, &ld.d.Items[i]) }); err != nil {
			return fmt.Errorf("demo item %s (%s): %w", ld.d.Items[i].ID, ld.d.Items[i].Title, err)
		}
	}
	return nil
}

// fields returns an item's fields as the store keeps them (normalised by
// its type), with demo file names resolved to stored files.
func (ld *loader) fields(ctx context.Context, it *Item) (json.RawMessage, error) {
	t := ld.d.types[it.Type]
	fields, err := it.resolveFields(t, ld.fileIDs)
	if err != nil {
		return nil, err
	}
	return t.ValidateFields(ctx, fields, ld.d.refChecker(ld.fileIDs))
}

func (ld *loader) item(ctx context.Context, it *Item) error {
	missing := ld.missingFiles(it)
	cur, err := ld.l.FindItemByID(ctx, core.LiveStageID, it.ID)
	if core.ErrorCode(err) == core.ENotFound {
		existed, err := ld.l.HasRevisions(ctx, core.KindItem, it.ID)
		if err != nil {
			return err
		}
		if existed {
			ld.rep.edited(core.KindItem, it.ID.String(), it.Title, "deleted since the demo wrote it")
			return nil
		}
		if err := ld.storeFiles(ctx, missing); err != nil {
			return err
		}
		fields, err := ld.fields(ctx, it)
		if err != nil {
			return err
		}
		if !ld.opts.DryRun {
			item := &core.Item{ID: it.ID, Type: it.Type, Title: it.Title, Status: it.Status, CreatedAt: it.CreatedAt,
				Promote: it.Promote, Sticky: it.Sticky, Language: it.Language, Fields: fields}
			if err := ld.l.CreateItem(ctx, core.LiveStageID, item, ld.log); err != nil {
				return err
			}
		}
		ld.rep.add(core.KindItem, Created)
		return nil
	} else if err != nil {
		return err
	}
	// An item that refers to a file not stored yet cannot be unchanged.
	if len(missing) == 0 {
		fields, err := ld.fields(ctx, it)
		if err != nil {
			return err
		}
		if cur.Title == it.Title && cur.Status == it.Status && cur.Promote == it.Promote && cur.Sticky == it.Sticky &&
			cur.Language == it.Language && cur.Type == it.Type && len(core.DiffFields(ld.sameFiles(ld.d.types[it.Type], cur.Fields), fields)) == 0 {
			ld.rep.add(core.KindItem, Unchanged)
			return nil
		}
	}
	log, err := ld.l.RevisionLog(ctx, core.KindItem, cur.RevisionID)
	if err != nil {
		return err
	}
	if demoVersionOf(log) == 0 {
		ld.rep.edited(core.KindItem, it.ID.String(), cur.Title, editReason(log))
		return nil
	}
	if cur.Type != it.Type {
		ld.rep.edited(core.KindItem, it.ID.String(), cur.Title, fmt.Sprintf("is a %s; the demo cannot change an item's type to %s", cur.Type, it.Type))
		return nil
	}
	if err := ld.storeFiles(ctx, missing); err != nil {
		return err
	}
	fields, err := ld.fields(ctx, it)
	if err != nil {
		return err
	}
	if !ld.opts.DryRun {
		upd := core.ItemUpdate{Title: &it.Title, Status: &it.Status, Promote: &it.Promote, Sticky: &it.Sticky, Language: &it.Language,
			Fields: withRemovals(cur.Fields, fields), Log: ld.log, IfRevision: &cur.RevisionID}
		if _, err := ld.l.UpdateItem(ctx, core.LiveStageID, it.ID, upd); err != nil {
			return err
		}
	}
	ld.rep.add(core.KindItem, Updated)
	return nil
}

// withRemovals returns want as a field patch over cur: fields cur has and
// want lacks are sent as null, which removes them.
func withRemovals(cur, want json.RawMessage) json.RawMessage {
	var c, w map[string]json.RawMessage
	_ = json.Unmarshal(cur, &c)
	if err := json.Unmarshal(want, &w); err != nil || w == nil {
		w = map[string]json.RawMessage{}
	}
	for k := range c {
		if _, ok := w[k]; !ok {
			w[k] = json.RawMessage("null")
		}
	}
	b, _ := json.Marshal(w)
	return b
}
