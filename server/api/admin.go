package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"slices"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/server"
)

// uploadFile stores a file streamed as the "file" part of a
// multipart/form-data body, or as the raw body with ?name=. Its type is
// sniffed from the content; a file beyond the upload limit is 413.
func (a *API) uploadFile(w http.ResponseWriter, r *http.Request) error {
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	files := a.k.Files()
	var (
		f   *core.File
		err error
	)
	if r.ContentLength > a.maxUpload+64<<10 {
		return core.Errorf(core.ETooLarge, "The file is larger than %d bytes.", a.maxUpload)
	}
	if ct == "multipart/form-data" {
		mr, merr := r.MultipartReader()
		if merr != nil || params["boundary"] == "" {
			return core.Errorf(core.EInvalid, "The multipart body could not be read.")
		}
		for {
			part, perr := mr.NextPart()
			if perr == io.EOF {
				return core.InvalidFields("The upload holds no file.", []core.FieldError{{Path: "file", Message: "is required"}})
			}
			if perr != nil {
				return uploadError(perr)
			}
			if part.FormName() != "file" {
				_ = part.Close()
				continue
			}
			name := path.Base(part.FileName())
			if name == "." || name == "/" || name == "" {
				return core.InvalidFields("The file has no name.", []core.FieldError{{Path: "file", Message: "needs a file name"}})
			}
			f, err = files.CreateFile(r.Context(), name, part)
			break
		}
	} else {
		name := r.URL.Query().Get("name")
		if name == "" {
			return core.InvalidFields("A raw upload needs a file name.", []core.FieldError{{Path: "name", Message: "is required"}})
		}
		f, err = files.CreateFile(r.Context(), path.Base(name), r.Body)
	}
	if err != nil {
		return uploadError(err)
	}
	w.Header().Set("Location", Prefix+"/files/"+f.ID.String())
	writeJSON(w, http.StatusCreated, fileOut(f))
	return nil
}

// fileView is a file with the site addresses of it and, for images, of
// its derivatives by style.
type fileView struct {
	*core.File
	URL    string            `json:"url"`
	Styles map[string]string `json:"styles,omitempty"`
}

func fileOut(f *core.File) fileView {
	v := fileView{File: f, URL: server.FileURL(f)}
	switch f.MIME {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		v.Styles = map[string]string{}
		for style := range server.Styles {
			v.Styles[style] = server.StyleURL(style, f.Hash, f.MIME)
		}
	}
	return v
}

func uploadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return core.Errorf(core.ETooLarge, "The upload is larger than %d bytes.", mbe.Limit)
	}
	if core.ErrorCode(err) == core.EInternal && !errors.As(err, new(*core.Error)) {
		return core.Errorf(core.EInvalid, "The upload could not be read.")
	}
	return err
}

func (a *API) getFile(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	f, err := a.k.Files().FindFileByID(r.Context(), id)
	if err != nil {
		return hideDenied(err, "file not found")
	}
	writeJSON(w, http.StatusOK, fileOut(f))
	return nil
}

// require checks a permission of the acting user.
func (a *API) require(r *http.Request, perm string) error {
	return a.store.Authorizer().Require(r.Context(), core.UserFromContext(r.Context()), perm)
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) error {
	if err := a.require(r, core.PermAdministerUsers); err != nil {
		return err
	}
	q := r.URL.Query()
	p, err := a.pageOf(r, scopeOf(r, "name", "status", "role"))
	if err != nil {
		return err
	}
	users, err := a.store.Users().FindUsers(r.Context(), core.UserFilter{Name: q.Get("name"), Status: q.Get("status"), Role: q.Get("role")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageSlice(a, p, users))
	return nil
}

// userParam finds the {id} user: administrators see everyone, other
// users themselves only.
func (a *API) userParam(r *http.Request) (*core.User, error) {
	id, err := idParam(r, "id")
	if err != nil {
		return nil, err
	}
	if me := core.UserFromContext(r.Context()); me.ID != id {
		if err := a.require(r, core.PermAdministerUsers); err != nil {
			return nil, core.Errorf(core.ENotFound, "user not found")
		}
	}
	return a.store.Users().FindUserByID(r.Context(), id)
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := a.userParam(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

type userCreate struct {
	Name     string   `json:"name"`
	Email    string   `json:"email"`
	Roles    []string `json:"roles"`
	Password string   `json:"password"`
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) error {
	var in userCreate
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := a.require(r, core.PermAdministerUsers); err != nil {
		return err
	}
	u := &core.User{Name: in.Name, Email: in.Email, Status: core.UserActive}
	if err := a.store.Users().CreateUser(r.Context(), u); err != nil {
		return err
	}
	for _, role := range in.Roles {
		if err := a.k.AddUserRole(r.Context(), u, role); err != nil {
			return err
		}
	}
	if in.Password != "" {
		if a.accounts == nil {
			return core.Errorf(core.EUnavailable, "Passwords cannot be set in this process.")
		}
		if err := a.accounts.SetPassword(r.Context(), u.ID, in.Password); err != nil {
			return err
		}
	}
	u, err := a.store.Users().FindUserByID(r.Context(), u.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/users/"+u.ID.String())
	writeJSON(w, http.StatusCreated, u)
	return nil
}

type userPatch struct {
	Name   *string `json:"name"`
	Email  *string `json:"email"`
	Status *string `json:"status"`
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) error {
	u, err := a.userParam(r)
	if err != nil {
		return err
	}
	var in userPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err = a.store.Users().UpdateUser(r.Context(), u.ID, core.UserUpdate{Name: in.Name, Email: in.Email, Status: in.Status})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) error {
	u, err := a.userParam(r)
	if err != nil {
		return err
	}
	to := core.NilID
	if v := r.URL.Query().Get("reassign_to"); v != "" {
		if to, err = core.ParseID(v); err != nil {
			return core.InvalidFields("The user to reassign content to is not valid.", []core.FieldError{{Path: "reassign_to", Message: "must be a user id"}})
		}
	}
	if err := a.store.Users().DeleteUser(r.Context(), u.ID, to); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) addUserRole(w http.ResponseWriter, r *http.Request) error {
	return a.changeUserRole(w, r, true)
}

func (a *API) removeUserRole(w http.ResponseWriter, r *http.Request) error {
	return a.changeUserRole(w, r, false)
}

func (a *API) changeUserRole(w http.ResponseWriter, r *http.Request, add bool) error {
	u, err := a.userParam(r)
	if err != nil {
		return err
	}
	role := r.PathValue("role")
	if add {
		err = a.k.AddUserRole(r.Context(), u, role)
	} else {
		err = a.k.RemoveUserRole(r.Context(), u, role)
	}
	if err != nil {
		return err
	}
	if u, err = a.store.Users().FindUserByID(r.Context(), u.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (a *API) listRoles(w http.ResponseWriter, r *http.Request) error {
	if err := a.require(r, core.PermAdministerRoles); err != nil {
		return err
	}
	p, err := a.pageOf(r, scopeOf(r))
	if err != nil {
		return err
	}
	roles, err := a.store.Users().FindRoles(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageSlice(a, p, roles))
	return nil
}

type roleCreate struct {
	Name        string   `json:"name"`
	Label       string   `json:"label"`
	Permissions []string `json:"permissions"`
}

func (a *API) createRole(w http.ResponseWriter, r *http.Request) error {
	var in roleCreate
	if err := decode(r, &in); err != nil {
		return err
	}
	role := &core.Role{Name: in.Name, Label: in.Label}
	if err := a.k.CreateRole(r.Context(), role); err != nil {
		return err
	}
	for _, p := range in.Permissions {
		if err := a.k.GrantPermission(r.Context(), role.Name, p); err != nil {
			return err
		}
	}
	role, err := a.store.Users().FindRoleByName(r.Context(), role.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, role)
	return nil
}

func (a *API) deleteRole(w http.ResponseWriter, r *http.Request) error {
	if err := a.k.DeleteRole(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// permissionRow is one row of the permission matrix: a permission and the
// roles that hold it.
type permissionRow struct {
	core.Permission
	Roles []string `json:"roles"`
}

// permissionMatrix lists every registered permission, the per-type and
// per-stage ones roles hold, and which roles hold each.
func (a *API) permissionMatrix(w http.ResponseWriter, r *http.Request) error {
	if err := a.require(r, core.PermAdministerRoles); err != nil {
		return err
	}
	p, err := a.pageOf(r, scopeOf(r))
	if err != nil {
		return err
	}
	roles, err := a.store.Users().FindRoles(r.Context())
	if err != nil {
		return err
	}
	held := map[string][]string{}
	for _, role := range roles {
		for _, perm := range role.Permissions {
			held[perm] = append(held[perm], role.Name)
		}
	}
	var rows []permissionRow
	seen := map[string]bool{}
	for _, perm := range a.store.Permissions().List() {
		rows = append(rows, permissionRow{Permission: perm, Roles: orEmpty(held[perm.Name])})
		seen[perm.Name] = true
	}
	types, err := a.store.Config().FindConfigs(r.Context(), "item_type")
	if err != nil {
		return err
	}
	for _, t := range types {
		for _, op := range core.ItemTypeOps {
			name := core.ItemPerm(t.Name, op)
			rows = append(rows, permissionRow{Permission: core.Permission{Name: name, Title: op + " " + t.Name, Source: "kernel"}, Roles: orEmpty(held[name])})
			seen[name] = true
		}
	}
	var extra []string
	for perm := range held {
		if !seen[perm] {
			extra = append(extra, perm)
		}
	}
	slices.Sort(extra)
	for _, perm := range extra {
		rows = append(rows, permissionRow{Permission: core.Permission{Name: perm, Title: perm, Source: "kernel"}, Roles: held[perm]})
	}
	writeJSON(w, http.StatusOK, pageSlice(a, p, rows))
	return nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	slices.Sort(s)
	return s
}

func (a *API) grantPermission(w http.ResponseWriter, r *http.Request) error {
	return a.changePermission(w, r, true)
}

func (a *API) revokePermission(w http.ResponseWriter, r *http.Request) error {
	return a.changePermission(w, r, false)
}

func (a *API) changePermission(w http.ResponseWriter, r *http.Request, grant bool) error {
	role, perm := r.PathValue("name"), r.PathValue("permission")
	var err error
	if grant {
		err = a.k.GrantPermission(r.Context(), role, perm)
	} else {
		err = a.k.RevokePermission(r.Context(), role, perm)
	}
	if err != nil {
		return err
	}
	out, err := a.store.Users().FindRoleByName(r.Context(), role)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) needAccounts() error {
	if a.accounts == nil {
		return core.Errorf(core.EUnavailable, "Accounts are not available in this process.")
	}
	return nil
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) error {
	if err := a.needAccounts(); err != nil {
		return err
	}
	p, err := a.pageOf(r, scopeOf(r, "user"))
	if err != nil {
		return err
	}
	uid := core.UserFromContext(r.Context()).ID
	if v := r.URL.Query().Get("user"); v != "" {
		if uid, err = core.ParseID(v); err != nil {
			return core.InvalidFields("The user is not valid.", []core.FieldError{{Path: "user", Message: "must be a user id"}})
		}
	}
	toks, err := a.accounts.FindTokens(r.Context(), uid)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageSlice(a, p, toks))
	return nil
}

type tokenCreate struct {
	Name        string     `json:"name"`
	Permissions []string   `json:"permissions"`
	Stage       *string    `json:"stage"`
	ExpiresAt   *time.Time `json:"expires_at"`
}

type tokenCreated struct {
	Token  string         `json:"token"`
	Detail *core.APIToken `json:"detail"`
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) error {
	if err := a.needAccounts(); err != nil {
		return err
	}
	var in tokenCreate
	if err := decode(r, &in); err != nil {
		return err
	}
	var stage *core.ID
	if in.Stage != nil {
		st, err := a.store.Stages().FindStage(r.Context(), *in.Stage)
		if err != nil {
			return hideDenied(err, "stage not found")
		}
		stage = &st.ID
	}
	exp := time.Now().Add(90 * 24 * time.Hour)
	if in.ExpiresAt != nil {
		exp = *in.ExpiresAt
	}
	plain, t, err := a.accounts.CreateToken(r.Context(), in.Name, in.Permissions, stage, exp)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, tokenCreated{Token: plain, Detail: t})
	return nil
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := a.needAccounts(); err != nil {
		return err
	}
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	if err := a.accounts.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listAudit pages the audit log by id: the cursor carries the smallest id
// seen.
func (a *API) listAudit(w http.ResponseWriter, r *http.Request) error {
	if err := a.needAccounts(); err != nil {
		return err
	}
	q := r.URL.Query()
	p, err := a.pageOf(r, scopeOf(r, "action", "actor", "object"))
	if err != nil {
		return err
	}
	entries, err := a.accounts.FindAuditEntries(r.Context(), core.AuditFilter{Action: q.Get("action"), Actor: q.Get("actor"),
		Object: q.Get("object"), Before: int64(p.offset), Limit: p.limit})
	if err != nil {
		return err
	}
	out := page[*core.AuditEntry]{Items: entries}
	if out.Items == nil {
		out.Items = []*core.AuditEntry{}
	}
	if len(entries) == p.limit {
		out.NextCursor = a.encodeCursor(p.scope, int(entries[len(entries)-1].ID))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) listPlugins(w http.ResponseWriter, r *http.Request) error {
	if err := a.require(r, core.PermAdministerPlugins); err != nil {
		return err
	}
	p, err := a.pageOf(r, scopeOf(r))
	if err != nil {
		return err
	}
	list, err := a.k.Plugins.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageSlice(a, p, list))
	return nil
}

type enableRequest struct {
	Approved []string `json:"approved"`
}

func (a *API) enablePlugin(w http.ResponseWriter, r *http.Request) error {
	var in enableRequest
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	if in.Approved == nil {
		in.Approved = []string{}
	}
	if err := a.k.Plugins.Enable(r.Context(), r.PathValue("name"), in.Approved); err != nil {
		return err
	}
	return a.pluginInfo(w, r)
}

func (a *API) disablePlugin(w http.ResponseWriter, r *http.Request) error {
	if err := a.k.Plugins.Disable(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	return a.pluginInfo(w, r)
}

func (a *API) pluginInfo(w http.ResponseWriter, r *http.Request) error {
	return a.pluginInfoStatus(w, r, http.StatusOK)
}

func (a *API) pluginInfoStatus(w http.ResponseWriter, r *http.Request, status int) error {
	list, err := a.k.Plugins.List(r.Context())
	if err != nil {
		return err
	}
	for _, p := range list {
		if p.Name == r.PathValue("name") {
			writeJSON(w, status, p)
			return nil
		}
	}
	return core.Errorf(core.ENotFound, "plugin %s not found", r.PathValue("name"))
}

// installPlugin installs (or upgrades) a plugin from a multipart body
// with a "manifest" part (plugin.toml) and a "module" part (the
// WebAssembly module). The plugin stays disabled until enabled.
func (a *API) installPlugin(w http.ResponseWriter, r *http.Request) error {
	if err := a.require(r, core.PermAdministerPlugins); err != nil {
		return err
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return core.Errorf(core.EInvalid, "The body must be multipart/form-data with manifest and module parts.")
	}
	var manifest, module []byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return uploadError(err)
		}
		switch part.FormName() {
		case "manifest":
			manifest, err = io.ReadAll(io.LimitReader(part, 1<<20))
		case "module":
			module, err = io.ReadAll(io.LimitReader(part, kernel.MaxPluginModuleBytes+1))
		}
		if err != nil {
			return uploadError(err)
		}
	}
	var missing []core.FieldError
	if len(manifest) == 0 {
		missing = append(missing, core.FieldError{Path: "manifest", Message: "is required"})
	}
	if len(module) == 0 {
		missing = append(missing, core.FieldError{Path: "module", Message: "is required"})
	}
	if missing != nil {
		return core.InvalidFields("The upload is missing a part.", missing)
	}
	if len(module) > kernel.MaxPluginModuleBytes {
		return core.Errorf(core.ETooLarge, "The module is larger than %d bytes.", kernel.MaxPluginModuleBytes)
	}
	p, err := a.k.Plugins.InstallBytes(r.Context(), "upload", manifest, module)
	if err != nil {
		return err
	}
	r.SetPathValue("name", p.Name)
	w.Header().Set("Location", Prefix+"/plugins/"+p.Name)
	return a.pluginInfoStatus(w, r, http.StatusCreated)
}

func (a *API) uninstallPlugin(w http.ResponseWriter, r *http.Request) error {
	if err := a.k.Plugins.Uninstall(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
