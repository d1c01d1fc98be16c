package api

import (
	"encoding/json"
	"net/http"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

// Config documents, item types, vocabularies, menus, terms, aliases and
// menu links.

func (a *API) listConfigs(w http.ResponseWriter, r *http.Request) error {
	return a.listConfigKind(w, r, r.PathValue("kind"))
}

func (a *API) listConfigKind(w http.ResponseWriter, r *http.Request, kind string) error {
	p, err := a.pageOf(r, scopeOf(r))
	if err != nil {
		return err
	}
	if err := a.requireConfigRead(r, kind); err != nil {
		return err
	}
	docs, err := a.store.Config().FindConfigs(r.Context(), kind)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageSlice(a, p, docs))
	return nil
}

// requireConfigRead lets every signed-in user read the kinds editors
// need to build forms (types, vocabularies, menus, site); other kinds
// need config.administer.
func (a *API) requireConfigRead(r *http.Request, kind string) error {
	switch kind {
	case "item_type", "vocabulary", "menu", "site":
		return nil
	}
	return a.store.Authorizer().Require(r.Context(), core.UserFromContext(r.Context()), core.PermAdministerConfig)
}

func (a *API) getConfig(w http.ResponseWriter, r *http.Request) error {
	return a.getConfigKind(w, r, r.PathValue("kind"))
}

func (a *API) getConfigKind(w http.ResponseWriter, r *http.Request, kind string) error {
	if err := a.requireConfigRead(r, kind); err != nil {
		return err
	}
	doc, err := a.store.Config().FindConfig(r.Context(), kind, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

type configPut struct {
	Body      json.RawMessage `json:"body"`
	IfVersion int             `json:"if_version"`
}

func (a *API) putConfig(w http.ResponseWriter, r *http.Request) error {
	return a.putConfigKind(w, r, r.PathValue("kind"))
}

func (a *API) putConfigKind(w http.ResponseWriter, r *http.Request, kind string) error {
	var in configPut
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Body) == 0 || in.Body[0] != '{' {
		return core.InvalidFields("The document is not valid.", []core.FieldError{{Path: "body", Message: "must be an object"}})
	}
	if kind == "item_type" {
		return core.Errorf(core.EInvalid, "Item types are applied through PUT %s/types/{name}, which migrates stored items.", Prefix)
	}
	doc, err := a.store.Config().PutConfig(r.Context(), kind, r.PathValue("name"), in.Body, in.IfVersion)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

func (a *API) deleteConfig(w http.ResponseWriter, r *http.Request) error {
	return a.deleteConfigKind(w, r, r.PathValue("kind"))
}

func (a *API) deleteConfigKind(w http.ResponseWriter, r *http.Request, kind string) error {
	if err := a.store.Config().DeleteConfig(r.Context(), kind, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// applyType stores an item type through the same path as `trovato type
// apply`, answering the migration report (dry_run=true: nothing stored).
func (a *API) applyType(w http.ResponseWriter, r *http.Request) error {
	dry, err := boolParam(r, "dry_run")
	if err != nil {
		return err
	}
	var body json.RawMessage
	if err := decode(r, &body); err != nil {
		return err
	}
	var named struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(body, &named); err != nil || named.Name != r.PathValue("name") {
		return core.InvalidFields("The type's name does not match the address.", []core.FieldError{{Path: "name", Message: "must be " + r.PathValue("name")}})
	}
	rep, err := a.store.ApplyType(r.Context(), body, dry)
	if err != nil {
		return err
	}
	if rep.Converted == nil {
		rep.Converted = []postgres.TypeMigrationItem{}
	}
	if rep.Failed == nil {
		rep.Failed = []postgres.TypeMigrationItem{}
	}
	if !rep.Applied && !rep.DryRun {
		return &conflictError{err: core.Errorf(core.EConflict, "The type was not applied: some items cannot be converted (see the report)."), report: rep}
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// stagedKind is a staged entity kind the API serves generically.
type stagedKind struct {
	kind  string
	path  string // collection path under Prefix
	match func(doc []byte, r *http.Request) bool
}

type termDoc struct {
	Vocabulary  string    `json:"vocabulary"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Parents     []core.ID `json:"parents"`
	Weight      int       `json:"weight"`
}

type aliasDoc struct {
	Alias    string `json:"alias"`
	Language string `json:"language,omitempty"`
	Path     string `json:"path"`
}

type menuLinkDoc struct {
	Menu     string   `json:"menu"`
	Title    string   `json:"title"`
	Path     string   `json:"path"`
	ParentID *core.ID `json:"parent_id,omitempty"`
	Weight   int      `json:"weight"`
}

// stagedPut is the body of a create or update of a staged entity.
type stagedPut[T any] struct {
	BaseRevisionID *core.ID `json:"base_revision_id"`
	Doc            T        `json:"doc"`
	Log            string   `json:"log"`
}

func decodeStaged[T any](r *http.Request) (*core.ID, []byte, string, error) {
	var in stagedPut[T]
	if err := decode(r, &in); err != nil {
		return nil, nil, "", err
	}
	b, err := json.Marshal(in.Doc)
	return in.BaseRevisionID, b, in.Log, err
}

func docField(doc []byte, name string) string {
	var m map[string]any
	_ = json.Unmarshal(doc, &m)
	s, _ := m[name].(string)
	return s
}

var (
	kindTerm = stagedKind{kind: core.KindTerm, path: "/terms", match: func(doc []byte, r *http.Request) bool {
		v := r.URL.Query().Get("vocabulary")
		return v == "" || docField(doc, "vocabulary") == v
	}}
	kindAlias = stagedKind{kind: core.KindAlias, path: "/aliases", match: func(doc []byte, r *http.Request) bool {
		p := r.URL.Query().Get("path")
		return p == "" || docField(doc, "path") == p
	}}
	kindMenuLink = stagedKind{kind: core.KindMenuLink, path: "/menu-links", match: func(doc []byte, r *http.Request) bool {
		m := r.URL.Query().Get("menu")
		return m == "" || docField(doc, "menu") == m
	}}
)

func (a *API) stagedRoutes(k stagedKind, put func(*http.Request) (*core.ID, []byte, string, error), filter string) {
	a.handle("GET", k.path, func(w http.ResponseWriter, r *http.Request) error {
		stage, err := a.stageParam(r)
		if err != nil {
			return err
		}
		p, err := a.pageOf(r, scopeOf(r, "stage", filter))
		if err != nil {
			return err
		}
		docs, err := a.store.Staged().FindStagedDocs(r.Context(), k.kind, stage)
		if err != nil {
			return hideDenied(err, "stage not found")
		}
		out := []*core.StagedDoc{}
		for _, d := range docs {
			if k.match(d.Doc, r) {
				out = append(out, d)
			}
		}
		writeJSON(w, http.StatusOK, pageSlice(a, p, out))
		return nil
	})
	a.handle("POST", k.path, func(w http.ResponseWriter, r *http.Request) error {
		stage, err := a.stageParam(r)
		if err != nil {
			return err
		}
		base, doc, log, err := put(r)
		if err != nil {
			return err
		}
		if base != nil {
			return core.InvalidFields("A new entity has no base revision.", []core.FieldError{{Path: "base_revision_id", Message: "must be absent"}})
		}
		d, err := a.store.Staged().PutStaged(r.Context(), k.kind, stage, core.NewID(), doc, nil, log)
		if err != nil {
			return err
		}
		w.Header().Set("Location", Prefix+k.path+"/"+d.ID.String())
		writeJSON(w, http.StatusCreated, d)
		return nil
	})
	a.handle("GET", k.path+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		stage, err := a.stageParam(r)
		if err != nil {
			return err
		}
		id, err := idParam(r, "id")
		if err != nil {
			return err
		}
		d, err := a.store.Staged().FindStaged(r.Context(), k.kind, stage, id)
		if err != nil {
			return hideDenied(err, "not found")
		}
		writeJSON(w, http.StatusOK, d)
		return nil
	})
	a.handle("PUT", k.path+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		stage, err := a.stageParam(r)
		if err != nil {
			return err
		}
		id, err := idParam(r, "id")
		if err != nil {
			return err
		}
		base, doc, log, err := put(r)
		if err != nil {
			return err
		}
		if base == nil {
			return core.InvalidFields("The update needs the revision it started from.", []core.FieldError{{Path: "base_revision_id", Message: "is required"}})
		}
		if _, err := a.store.Staged().FindStaged(r.Context(), k.kind, stage, id); err != nil {
			return hideDenied(err, "not found")
		}
		d, err := a.store.Staged().PutStaged(r.Context(), k.kind, stage, id, doc, base, log)
		if core.ErrorCode(err) == core.EConflict {
			if cur, ferr := a.store.Staged().FindStaged(r.Context(), k.kind, stage, id); ferr == nil {
				return &conflictError{err: err, current: cur}
			}
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, d)
		return nil
	})
	a.handle("DELETE", k.path+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		stage, err := a.stageParam(r)
		if err != nil {
			return err
		}
		id, err := idParam(r, "id")
		if err != nil {
			return err
		}
		if _, err := a.store.Staged().FindStaged(r.Context(), k.kind, stage, id); err != nil {
			return hideDenied(err, "not found")
		}
		if err := a.store.Staged().DeleteStaged(r.Context(), k.kind, stage, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

type arrangeRequest struct {
	Moves []postgres.MenuMove `json:"moves"`
	Log   string              `json:"log"`
}

// arrangeMenu applies a batch of parent and weight changes to a menu's
// links in one transaction.
func (a *API) arrangeMenu(w http.ResponseWriter, r *http.Request) error {
	stage, err := a.stageParam(r)
	if err != nil {
		return err
	}
	menu := r.PathValue("name")
	if _, err := a.store.Config().FindConfig(r.Context(), "menu", menu); err != nil {
		return err
	}
	var in arrangeRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Moves) == 0 || len(in.Moves) > 1000 {
		return core.InvalidFields("The batch is not valid.", []core.FieldError{{Path: "moves", Message: "must hold 1 to 1000 moves"}})
	}
	changed, err := a.store.Staged().MoveMenuLinks(r.Context(), stage, menu, in.Moves, in.Log)
	if err != nil {
		return err
	}
	if changed == nil {
		changed = []*core.StagedDoc{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"changed": changed})
	return nil
}

// configKindRoutes serves one config kind under its own path (types are
// applied separately).
func (a *API) configKindRoutes(path, kind string) {
	a.handle("GET", path, func(w http.ResponseWriter, r *http.Request) error { return a.listConfigKind(w, r, kind) })
	a.handle("GET", path+"/{name}", func(w http.ResponseWriter, r *http.Request) error { return a.getConfigKind(w, r, kind) })
	if kind == "item_type" {
		return
	}
	a.handle("PUT", path+"/{name}", func(w http.ResponseWriter, r *http.Request) error { return a.putConfigKind(w, r, kind) })
	a.handle("DELETE", path+"/{name}", func(w http.ResponseWriter, r *http.Request) error { return a.deleteConfigKind(w, r, kind) })
}
