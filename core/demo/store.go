package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

// StoreLoader is the Loader over the PostgreSQL store.
type StoreLoader struct {
	s     *postgres.Store
	files *postgres.Files
}

var _ Loader = (*StoreLoader)(nil)

// NewStoreLoader returns a Loader writing to s, storing files through
// files (which carries the upload limits).
func NewStoreLoader(s *postgres.Store, files *postgres.Files) *StoreLoader {
	return &StoreLoader{s: s, files: files}
}

func (sl *StoreLoader) FindConfig(ctx context.Context, kind, name string) (*core.ConfigDocument, error) {
	return sl.s.Config().FindConfig(ctx, kind, name)
}

func (sl *StoreLoader) PutConfig(ctx context.Context, kind, name string, body json.RawMessage, ifVersion int) (*core.ConfigDocument, error) {
	return sl.s.Config().PutConfig(ctx, kind, name, body, ifVersion)
}

// ApplyType applies an item type; EINVALID names the items a change could
// not convert.
func (sl *StoreLoader) ApplyType(ctx context.Context, body json.RawMessage) error {
	m, err := sl.s.ApplyType(ctx, body, false)
	if err != nil {
		return err
	}
	if !m.Applied && len(m.Failed) > 0 {
		var fes []core.FieldError
		for _, f := range m.Failed {
			for _, p := range f.Problems {
				fes = append(fes, core.FieldError{Path: fmt.Sprintf("item %s (%s) in %s: %s", f.ItemID, f.Title, f.Stage, p.Path), Message: p.Message})
			}
		}
		return core.InvalidFields(fmt.Sprintf("item type %s: %d items cannot be converted", m.Type, len(m.Failed)), fes)
	}
	return nil
}

func (sl *StoreLoader) CreateFile(ctx context.Context, name string, r io.Reader) (*core.File, error) {
	return sl.files.CreateFile(ctx, name, r)
}

func (sl *StoreLoader) FindFileByID(ctx context.Context, id core.ID) (*core.File, error) {
	return sl.files.FindFileByID(ctx, id)
}

func (sl *StoreLoader) FindItemByID(ctx context.Context, stage, id core.ID) (*core.Item, error) {
	return sl.s.Items().FindItemByID(ctx, stage, id)
}

func (sl *StoreLoader) CreateItem(ctx context.Context, stage core.ID, it *core.Item, log string) error {
	return sl.s.Items().CreateItem(ctx, stage, it, log)
}

func (sl *StoreLoader) UpdateItem(ctx context.Context, stage, id core.ID, upd core.ItemUpdate) (*core.Item, error) {
	return sl.s.Items().UpdateItem(ctx, stage, id, upd)
}

func (sl *StoreLoader) FindStaged(ctx context.Context, kind string, stage, id core.ID) (*core.StagedDoc, error) {
	return sl.s.Staged().FindStaged(ctx, kind, stage, id)
}

func (sl *StoreLoader) PutStaged(ctx context.Context, kind string, stage, id core.ID, doc json.RawMessage, ifRevision *core.ID, log string) (*core.StagedDoc, error) {
	return sl.s.Staged().PutStaged(ctx, kind, stage, id, doc, ifRevision, log)
}

// RevisionLog implements Loader.
func (sl *StoreLoader) RevisionLog(ctx context.Context, kind string, rev core.ID) (string, error) {
	if kind == core.KindItem {
		r, err := sl.s.Items().FindRevisionByID(ctx, rev)
		if err != nil {
			return "", err
		}
		return r.Log, nil
	}
	r, err := sl.s.Staged().FindStagedRevision(ctx, kind, rev)
	if err != nil {
		return "", err
	}
	return r.Log, nil
}

// HasRevisions implements Loader.
func (sl *StoreLoader) HasRevisions(ctx context.Context, kind string, id core.ID) (bool, error) {
	var err error
	if kind == core.KindItem {
		_, err = sl.s.Items().FindRevisions(ctx, id)
	} else {
		_, err = sl.s.Staged().FindStagedRevisions(ctx, kind, id)
	}
	switch core.ErrorCode(err) {
	case "":
		return true, nil
	case core.ENotFound:
		return false, nil
	}
	return false, err
}
