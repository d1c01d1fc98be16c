package core

import (
	"context"
	"time"
)

// User statuses.
const (
	UserActive  = "active"
	UserBlocked = "blocked"
)

// Built-in role names. Every user holds RoleAuthenticated implicitly; a
// request without a user holds RoleAnonymous.
const (
	RoleAnonymous     = "anonymous"
	RoleAuthenticated = "authenticated"
	RoleEditor        = "editor"
	RoleAdministrator = "administrator"
)

// Fixed ids made by the first migration.
var (
	SystemUserID = mustID("01000000-0000-7000-8000-000000000001")
	AdminUserID  = mustID("01000000-0000-7000-8000-000000000002")
	LiveStageID  = mustID("01000000-0000-7000-8000-000000000010")
)

func mustID(s string) ID {
	id, err := ParseID(s)
	if err != nil {
		panic(err)
	}
	return id
}

// User is a person or process acting on the site.
type User struct {
	ID        ID        `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Status    string    `json:"status"`
	Roles     []string  `json:"roles"`
	CreatedAt time.Time `json:"created_at"`
	ChangedAt time.Time `json:"changed_at"`
}

// Anonymous is the user of a request that carries no identity.
var Anonymous = &User{ID: NilID, Name: "anonymous", Status: UserActive, Roles: []string{RoleAnonymous}}

// IsAnonymous reports whether u is the anonymous user.
func (u *User) IsAnonymous() bool { return u == nil || u.ID == NilID }

// HasRole reports whether u holds the named role (authenticated users hold
// RoleAuthenticated implicitly).
func (u *User) HasRole(name string) bool {
	if u.IsAnonymous() {
		return name == RoleAnonymous
	}
	if name == RoleAuthenticated {
		return true
	}
	for _, r := range u.Roles {
		if r == name {
			return true
		}
	}
	return false
}

// Role is a named set of permissions.
type Role struct {
	ID          ID       `json:"id"`
	Name        string   `json:"name"`
	Label       string   `json:"label"`
	Builtin     bool     `json:"builtin"`
	Permissions []string `json:"permissions"`
}

// UserFilter selects users.
type UserFilter struct {
	Name   string
	Status string
	Role   string
	Limit  int
}

// UserUpdate changes a user; nil fields are left alone.
type UserUpdate struct {
	Name   *string
	Email  *string
	Status *string
}

// UserService stores users and roles.
type UserService interface {
	// FindUserByID returns ENOTFOUND if no user has the id.
	FindUserByID(ctx context.Context, id ID) (*User, error)
	// FindUserByName matches case-insensitively; ENOTFOUND if none.
	FindUserByName(ctx context.Context, name string) (*User, error)
	FindUsers(ctx context.Context, f UserFilter) ([]*User, error)
	// CreateUser returns EINVALID for a bad name or email and ECONFLICT when
	// the name or email is taken (case-insensitively).
	CreateUser(ctx context.Context, u *User) error
	UpdateUser(ctx context.Context, id ID, upd UserUpdate) (*User, error)
	// DeleteUser reassigns the user's content to reassignTo (or to the
	// system user when NilID) and deletes the user.
	DeleteUser(ctx context.Context, id, reassignTo ID) error
	AddUserRole(ctx context.Context, userID ID, role string) error
	RemoveUserRole(ctx context.Context, userID ID, role string) error

	FindRoles(ctx context.Context) ([]*Role, error)
	// FindRoleByName returns ENOTFOUND naming the role if it does not exist.
	FindRoleByName(ctx context.Context, name string) (*Role, error)
	CreateRole(ctx context.Context, r *Role) error
	DeleteRole(ctx context.Context, name string) error
	// GrantPermission returns EINVALID for a permission nobody registered.
	GrantPermission(ctx context.Context, role, perm string) error
	RevokePermission(ctx context.Context, role, perm string) error
}

type userContextKey struct{}

// NewContextWithUser returns a context carrying the acting user.
func NewContextWithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userContextKey{}, u)
}

// UserFromContext returns the acting user, or Anonymous.
func UserFromContext(ctx context.Context) *User {
	if u, ok := ctx.Value(userContextKey{}).(*User); ok && u != nil {
		return u
	}
	return Anonymous
}
