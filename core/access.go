package core

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Operations the authorizer answers for.
const (
	OpView    = "view"
	OpCreate  = "create"
	OpUpdate  = "update"
	OpDelete  = "delete"
	OpEdit    = "edit"    // edit inside a stage
	OpPublish = "publish" // publish a stage
)

// Kernel permissions. docs/permissions.md is the reference; names are part
// of the plugin ABI.
const (
	PermAccessContent      = "content.access"
	PermAdministerContent  = "content.administer"
	PermAdministerSite     = "site.administer"
	PermAdministerConfig   = "config.administer"
	PermAdministerTypes    = "types.administer"
	PermAdministerUsers    = "users.administer"
	PermAdministerRoles    = "roles.administer"
	PermAdministerPlugins  = "plugins.administer"
	PermAdministerThemes   = "themes.administer"
	PermAdministerCategory = "categories.administer"
	PermAdministerMenus    = "menus.administer"
	PermAdministerAliases  = "aliases.administer"
	PermUploadFiles        = "files.upload"
	PermCreateStage        = "stage.create"
	PermViewAnyStage       = "stage.view_any"
	PermEditAnyStage       = "stage.edit_any"
	PermPublishAnyStage    = "stage.publish_any"
	PermRollback           = "releases.rollback"
	PermViewAudit          = "audit.view"
	PermUseFullHTML        = "format.full_html"
)

// Comment permissions.
const (
	// PermAdministerComments moderates comments (publish, unpublish, edit,
	// delete); comments by holders are published at once.
	PermAdministerComments = "comments.administer"
	// PermPostAnonymousComments, held by the anonymous role, lets visitors
	// comment without an account (always into the moderation queue).
	PermPostAnonymousComments = "comments.anonymous"
)

// Permission is one registered permission.
type Permission struct {
	Name   string `json:"name"`
	Title  string `json:"title"`
	Source string `json:"source"` // "kernel" or the plugin's name
}

// Per-type and per-stage permission suffixes.
var (
	ItemTypeOps = []string{"create", "edit_own", "edit_any", "delete_own", "delete_any", "view_unpublished"}
	StageOps    = []string{"view", "edit", "publish"}
)

// ItemPerm returns the permission for op on items of type typ,
// e.g. ItemPerm("article", "edit_own") == "item.article.edit_own".
func ItemPerm(typ, op string) string { return "item." + typ + "." + op }

// StagePerm returns the permission for op in the named stage,
// e.g. StagePerm("spring", "publish") == "stage.spring.publish".
func StagePerm(stage, op string) string { return "stage." + stage + "." + op }

var (
	reMachineName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	reItemPerm    = regexp.MustCompile(`^item\.([a-z][a-z0-9_]{0,63})\.(create|edit_own|edit_any|delete_own|delete_any|view_unpublished)$`)
	reStagePerm   = regexp.MustCompile(`^stage\.([a-z0-9][a-z0-9_-]{0,63})\.(view|edit|publish)$`)
	rePluginPerm  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}\.[a-z][a-z0-9_.]{0,127}$`)
)

// ValidMachineName reports whether s is a valid machine name
// (lowercase letter, then up to 63 of [a-z0-9_]).
func ValidMachineName(s string) bool { return reMachineName.MatchString(s) }

// Permissions is the registry of known permissions: the kernel's, the
// per-type and per-stage patterns, and those plugins declare.
type Permissions struct {
	mu     sync.RWMutex
	static map[string]Permission
}

// NewPermissions returns a registry holding the kernel permissions.
func NewPermissions() *Permissions {
	p := &Permissions{static: map[string]Permission{}}
	for name, title := range map[string]string{
		PermAccessContent:      "View published content",
		PermAdministerContent:  "Bypass content access control",
		PermAdministerSite:     "Administer site settings",
		PermAdministerConfig:   "Import and change configuration documents",
		PermAdministerTypes:    "Create and change item types",
		PermAdministerUsers:    "Administer users",
		PermAdministerRoles:    "Administer roles and permissions",
		PermAdministerPlugins:  "Install and enable plugins",
		PermAdministerThemes:   "Install themes",
		PermAdministerCategory: "Administer vocabularies and terms",
		PermAdministerMenus:    "Administer menus",
		PermAdministerAliases:  "Administer path aliases",
		PermUploadFiles:        "Upload files",
		PermCreateStage:        "Create stages",
		PermViewAnyStage:       "View every stage",
		PermEditAnyStage:       "Edit in every stage",
		PermPublishAnyStage:    "Publish every stage",
		PermRollback:           "Roll back releases",
		PermViewAudit:          "View the audit log",
		PermUseFullHTML:        "Use the full_html text format",
	} {
		p.static[name] = Permission{Name: name, Title: title, Source: "kernel"}
	}
	p.static[PermAdministerComments] = Permission{Name: PermAdministerComments, Title: "Moderate comments", Source: "kernel"}
	p.static[PermPostAnonymousComments] = Permission{Name: PermPostAnonymousComments, Title: "Post comments without an account", Source: "kernel"}
	return p
}

// Register adds a plugin's permission. It returns EINVALID for a malformed
// name and ECONFLICT when the name is the kernel's or another plugin's.
func (p *Permissions) Register(perm Permission) error {
	if !rePluginPerm.MatchString(perm.Name) || reItemPerm.MatchString(perm.Name) || reStagePerm.MatchString(perm.Name) ||
		strings.HasPrefix(perm.Name, "item.") || strings.HasPrefix(perm.Name, "stage.") {
		return Errorf(EInvalid, "permission %q: plugin permissions are named <plugin>.<action> in lowercase", perm.Name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.static[perm.Name]; ok && old.Source != perm.Source {
		return Errorf(EConflict, "permission %q is already defined by %s", perm.Name, old.Source)
	}
	p.static[perm.Name] = perm
	return nil
}

// Unregister removes every permission a plugin defined.
func (p *Permissions) Unregister(source string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, perm := range p.static {
		if perm.Source == source {
			delete(p.static, name)
		}
	}
}

// Known reports whether name is a kernel, plugin, per-type or per-stage
// permission.
func (p *Permissions) Known(name string) bool {
	if reItemPerm.MatchString(name) || reStagePerm.MatchString(name) {
		return true
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	_, ok := p.static[name]
	return ok
}

// List returns the registered (non-pattern) permissions sorted by name.
func (p *Permissions) List() []Permission {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]Permission, 0, len(p.static))
	for _, perm := range p.static {
		out = append(out, perm)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Vote is an item_access answer.
type Vote int

// Votes: any deny wins, then any grant, then role permissions decide.
const (
	VoteNeutral Vote = iota
	VoteGrant
	VoteDeny
)

// ItemAccessVoter lets plugins vote on access to one item (the item_access
// tap). A voter without the access.vote capability must return VoteNeutral.
type ItemAccessVoter interface {
	ItemAccess(ctx context.Context, u *User, op string, it *Item) (Vote, error)
}

// RolePermissionSource loads the permissions of every role.
type RolePermissionSource interface {
	RolePermissions(ctx context.Context) (map[string][]string, error)
}

// Authorizer answers (user, operation, object) for every caller: site,
// API, desktop, CLI and plugin host calls.
type Authorizer struct {
	roles RolePermissionSource
	ttl   time.Duration

	mu      sync.Mutex
	perms   map[string]map[string]bool
	loaded  time.Time
	voterMu sync.RWMutex
	voter   ItemAccessVoter
}

// NewAuthorizer returns an authorizer reading role permissions from src,
// caching them for at most ttl (Invalidate drops the cache at once).
func NewAuthorizer(src RolePermissionSource, ttl time.Duration) *Authorizer {
	return &Authorizer{roles: src, ttl: ttl}
}

// SetItemAccessVoter installs the plugin voter (nil removes it).
func (a *Authorizer) SetItemAccessVoter(v ItemAccessVoter) {
	a.voterMu.Lock()
	a.voter = v
	a.voterMu.Unlock()
}

// Invalidate drops cached role permissions.
func (a *Authorizer) Invalidate() {
	a.mu.Lock()
	a.perms = nil
	a.mu.Unlock()
}

func (a *Authorizer) rolePerms(ctx context.Context) (map[string]map[string]bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.perms != nil && time.Since(a.loaded) < a.ttl {
		return a.perms, nil
	}
	raw, err := a.roles.RolePermissions(ctx)
	if err != nil {
		return nil, fmt.Errorf("load role permissions: %w", err)
	}
	m := make(map[string]map[string]bool, len(raw))
	for role, perms := range raw {
		set := make(map[string]bool, len(perms))
		for _, p := range perms {
			set[p] = true
		}
		m[role] = set
	}
	a.perms, a.loaded = m, time.Now()
	return m, nil
}

// HasPermission reports whether u holds perm through any of its roles.
// Administrators and the system user hold every permission.
func (a *Authorizer) HasPermission(ctx context.Context, u *User, perm string) (bool, error) {
	if u == nil {
		u = Anonymous
	}
	if !u.IsAnonymous() && u.Status != UserActive {
		return false, nil
	}
	// A request made with an API token holds at most the token's
	// permissions, whatever its owner's roles.
	if !TokenScopeFromContext(ctx).Allows(perm) {
		return false, nil
	}
	if u.ID == SystemUserID || u.HasRole(RoleAdministrator) {
		return true, nil
	}
	perms, err := a.rolePerms(ctx)
	if err != nil {
		return false, err
	}
	if u.IsAnonymous() {
		return perms[RoleAnonymous][perm], nil
	}
	if perms[RoleAuthenticated][perm] {
		return true, nil
	}
	for _, r := range u.Roles {
		if perms[r][perm] {
			return true, nil
		}
	}
	return false, nil
}

// Require returns EFORBIDDEN (EUNAUTHORIZED for anonymous users) unless u
// holds perm.
func (a *Authorizer) Require(ctx context.Context, u *User, perm string) error {
	ok, err := a.HasPermission(ctx, u, perm)
	if err != nil {
		return err
	}
	if !ok {
		return denied(u, "you need the permission %q", perm)
	}
	return nil
}

func denied(u *User, format string, args ...any) error {
	if u.IsAnonymous() {
		return Errorf(EUnauthorized, "sign in first: "+format, args...)
	}
	return Errorf(EForbidden, format, args...)
}

func (a *Authorizer) any(ctx context.Context, u *User, perms ...string) (bool, error) {
	for _, p := range perms {
		ok, err := a.HasPermission(ctx, u, p)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// Authorize answers whether u may perform op on obj. obj is an *Item,
// a *Stage, or a permission name (string) for operations guarded by a
// single permission. Refused views are ENOTFOUND, never EFORBIDDEN, so a
// caller cannot learn that something it may not see exists.
func (a *Authorizer) Authorize(ctx context.Context, u *User, op string, obj any) error {
	if u == nil {
		u = Anonymous
	}
	switch o := obj.(type) {
	case *Item:
		return a.authorizeItem(ctx, u, op, o)
	case *Stage:
		return a.authorizeStage(ctx, u, op, o)
	case string:
		return a.Require(ctx, u, o)
	default:
		return Errorf(EInternal, "authorize: unsupported object %T", obj)
	}
}

func (a *Authorizer) authorizeItem(ctx context.Context, u *User, op string, it *Item) error {
	a.voterMu.RLock()
	voter := a.voter
	a.voterMu.RUnlock()
	if voter != nil && op != OpCreate {
		v, err := voter.ItemAccess(ctx, u, op, it)
		if err != nil {
			return err
		}
		switch v {
		case VoteDeny:
			return itemDenied(u, op, it)
		case VoteGrant:
			return nil
		}
	}
	ok, err := a.itemByRole(ctx, u, op, it)
	if err != nil {
		return err
	}
	if !ok {
		return itemDenied(u, op, it)
	}
	return nil
}

func itemDenied(u *User, op string, it *Item) error {
	if op == OpView {
		return Errorf(ENotFound, "item %s not found", it.ID)
	}
	return denied(u, "you may not %s this %s item", op, it.Type)
}

func (a *Authorizer) itemByRole(ctx context.Context, u *User, op string, it *Item) (bool, error) {
	if ok, err := a.HasPermission(ctx, u, PermAdministerContent); err != nil || ok {
		return ok, err
	}
	own := !u.IsAnonymous() && it.AuthorID == u.ID
	switch op {
	case OpView:
		if it.Status == StatusPublished {
			return a.HasPermission(ctx, u, PermAccessContent)
		}
		if own {
			return a.any(ctx, u, ItemPerm(it.Type, "edit_own"), ItemPerm(it.Type, "view_unpublished"), ItemPerm(it.Type, "edit_any"))
		}
		return a.any(ctx, u, ItemPerm(it.Type, "view_unpublished"), ItemPerm(it.Type, "edit_any"))
	case OpCreate:
		return a.HasPermission(ctx, u, ItemPerm(it.Type, "create"))
	case OpUpdate:
		if own {
			return a.any(ctx, u, ItemPerm(it.Type, "edit_own"), ItemPerm(it.Type, "edit_any"))
		}
		return a.HasPermission(ctx, u, ItemPerm(it.Type, "edit_any"))
	case OpDelete:
		if own {
			return a.any(ctx, u, ItemPerm(it.Type, "delete_own"), ItemPerm(it.Type, "delete_any"))
		}
		return a.HasPermission(ctx, u, ItemPerm(it.Type, "delete_any"))
	}
	return false, Errorf(EInternal, "authorize item: unknown operation %q", op)
}

func (a *Authorizer) authorizeStage(ctx context.Context, u *User, op string, s *Stage) error {
	// A token limited to one stage works in that stage and views live.
	if !TokenScopeFromContext(ctx).AllowsStage(s.ID, op) {
		if op == OpView {
			return Errorf(ENotFound, "stage %q not found", s.Name)
		}
		return denied(u, "the API token does not allow %s in stage %q", op, s.Name)
	}
	if op == OpView && stageViewAllowed(ctx, s.ID) {
		return nil // a stage's static export (NewContextWithStageView)
	}
	if s.ID == LiveStageID {
		switch op {
		case OpView, OpEdit:
			return nil // item permissions decide what may be done in live
		default:
			return Errorf(EInvalid, "the live stage cannot be published")
		}
	}
	var anyPerm, ownPerm string
	switch op {
	case OpView:
		anyPerm, ownPerm = PermViewAnyStage, StagePerm(s.Name, "view")
	case OpEdit:
		anyPerm, ownPerm = PermEditAnyStage, StagePerm(s.Name, "edit")
	case OpPublish:
		anyPerm, ownPerm = PermPublishAnyStage, StagePerm(s.Name, "publish")
	default:
		return Errorf(EInternal, "authorize stage: unknown operation %q", op)
	}
	perms := []string{anyPerm, ownPerm}
	if op != OpView {
		// Whoever may edit or publish in a stage may see it; the view check
		// comes first so that a stage one may not see stays not found.
		if err := a.authorizeStage(ctx, u, OpView, s); err != nil {
			return err
		}
	} else {
		perms = append(perms, PermEditAnyStage, StagePerm(s.Name, "edit"), PermPublishAnyStage, StagePerm(s.Name, "publish"))
	}
	ok, err := a.any(ctx, u, perms...)
	if err != nil {
		return err
	}
	if !ok {
		if op == OpView {
			return Errorf(ENotFound, "stage %q not found", s.Name)
		}
		return denied(u, "you may not %s in stage %q", op, s.Name)
	}
	return nil
}

// Grant is one row of list access for an item (Drupal's node access): a
// user holding (Realm, GID) may view, update or delete the item in
// listings, feeds, search and exports.
type Grant struct {
	Realm  string `json:"realm"`
	GID    string `json:"gid"`
	View   bool   `json:"view"`
	Update bool   `json:"update"`
	Delete bool   `json:"delete"`
}

// Default grant realms, used when no plugin provides grants for an item:
// published items carry (all, all) for view, and users holding
// content.access hold (all, all).
const (
	RealmAll = "all"
	GIDAll   = "all"
)

// GrantsProvider lets plugins decide list access (the item_grants and
// user_grants taps). ok=false means no plugin answered, and the kernel's
// default realms apply.
type GrantsProvider interface {
	ItemGrants(ctx context.Context, it *Item, stage ID) (grants []Grant, ok bool, err error)
	UserGrants(ctx context.Context, u *User, op string) (grants map[string][]string, ok bool, err error)
}

// DefaultItemGrants are the grants of an item when no plugin provides any.
func DefaultItemGrants(it *Item) []Grant {
	if it.Status == StatusPublished {
		return []Grant{{Realm: RealmAll, GID: GIDAll, View: true}}
	}
	return nil
}
