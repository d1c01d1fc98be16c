package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// Users implements core.UserService.
type Users struct{ s *Store }

var _ core.UserService = (*Users)(nil)
var _ core.RolePermissionSource = (*Users)(nil)

// Users returns the user and role service.
func (s *Store) Users() *Users { return &Users{s} }

const userColumns = `u.id, u.name, u.email, u.status, u.created_at, u.changed_at,
	COALESCE((SELECT array_agg(r.name ORDER BY r.name) FROM user_role ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id), '{}')`

func scanUser(row pgx.Row) (*core.User, error) {
	u := &core.User{}
	if err := row.Scan(&u.ID, &u.Name, &u.Email, &u.Status, &u.CreatedAt, &u.ChangedAt, &u.Roles); err != nil {
		return nil, err
	}
	return u, nil
}

// FindUserByID implements core.UserService.
func (us *Users) FindUserByID(ctx context.Context, id core.ID) (*core.User, error) {
	u, err := scanUser(us.s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "user %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find user %s: %w", id, TranslateError(err))
	}
	return u, nil
}

// FindUserByName implements core.UserService.
func (us *Users) FindUserByName(ctx context.Context, name string) (*core.User, error) {
	u, err := scanUser(us.s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE lower(u.name) = lower($1)`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "user %q not found", name)
	} else if err != nil {
		return nil, fmt.Errorf("find user %q: %w", name, TranslateError(err))
	}
	return u, nil
}

// FindUsers implements core.UserService.
func (us *Users) FindUsers(ctx context.Context, f core.UserFilter) ([]*core.User, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := us.s.pool.Query(ctx, `SELECT `+userColumns+` FROM users u
		WHERE ($1 = '' OR lower(u.name) = lower($1))
		  AND ($2 = '' OR u.status = $2)
		  AND ($3 = '' OR EXISTS (SELECT 1 FROM user_role ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id AND r.name = $3))
		ORDER BY lower(u.name) LIMIT $4`, f.Name, f.Status, f.Role, limit)
	if err != nil {
		return nil, fmt.Errorf("find users: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []*core.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("find users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func validateUserName(name string) error {
	switch {
	case !utf8.ValidString(name):
		return core.Errorf(core.EInvalid, "user name is not valid UTF-8")
	case strings.TrimSpace(name) != name || name == "":
		return core.Errorf(core.EInvalid, "user name must not be empty or start or end with spaces")
	case utf8.RuneCountInString(name) > 60:
		return core.Errorf(core.EInvalid, "user name must be at most 60 characters")
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '/' {
			return core.Errorf(core.EInvalid, "user name must not contain control characters or slashes")
		}
	}
	return nil
}

func validateEmail(email string) error {
	if email == "" {
		return nil
	}
	if !utf8.ValidString(email) || len(email) > 254 {
		return core.Errorf(core.EInvalid, "email address is not valid")
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return core.Errorf(core.EInvalid, "%q is not a valid email address", email)
	}
	return nil
}

// CreateUser implements core.UserService. Requires users.administer.
func (us *Users) CreateUser(ctx context.Context, u *core.User) error {
	actor := core.UserFromContext(ctx)
	if err := us.s.authz.Require(ctx, actor, core.PermAdministerUsers); err != nil {
		return err
	}
	if err := validateUserName(u.Name); err != nil {
		return err
	}
	if err := validateEmail(u.Email); err != nil {
		return err
	}
	if u.ID == core.NilID {
		u.ID = core.NewID()
	}
	if u.Status == "" {
		u.Status = core.UserActive
	}
	if u.Status != core.UserActive && u.Status != core.UserBlocked {
		return core.Errorf(core.EInvalid, "status must be %q or %q", core.UserActive, core.UserBlocked)
	}
	return us.s.inTx(ctx, func(tx *txn) error {
		now := us.s.now()
		_, err := tx.Exec(ctx, `INSERT INTO users (id, name, email, status, created_at, changed_at) VALUES ($1, $2, $3, $4, $5, $5)`,
			u.ID, u.Name, u.Email, u.Status, now)
		if err != nil {
			if core.ErrorCode(TranslateError(err)) == core.EConflict {
				return core.Errorf(core.EConflict, "a user with the name %q or the email %q exists already", u.Name, u.Email)
			}
			return fmt.Errorf("create user: %w", TranslateError(err))
		}
		u.CreatedAt, u.ChangedAt = now, now
		for _, r := range u.Roles {
			if r == core.RoleAnonymous || r == core.RoleAuthenticated {
				return core.Errorf(core.EInvalid, "role %q is implicit and cannot be assigned", r)
			}
			if err := addRole(ctx, tx, u.ID, r); err != nil {
				return err
			}
		}
		return tx.feed(ctx, core.KindUser, u.ID.String(), nil, nil, nil, core.ChangeCreate)
	})
}

func addRole(ctx context.Context, tx *txn, userID core.ID, role string) error {
	tag, err := tx.Exec(ctx, `INSERT INTO user_role (user_id, role_id) SELECT $1, id FROM roles WHERE name = $2 ON CONFLICT DO NOTHING`, userID, role)
	if err != nil {
		return fmt.Errorf("add role: %w", TranslateError(err))
	}
	if tag.RowsAffected() == 0 {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM roles WHERE name = $1)`, role).Scan(&exists); err != nil {
			return fmt.Errorf("add role: %w", TranslateError(err))
		}
		if !exists {
			return core.Errorf(core.ENotFound, "role %q does not exist (see: trovato role list)", role)
		}
	}
	return nil
}

// UpdateUser implements core.UserService. Requires users.administer.
func (us *Users) UpdateUser(ctx context.Context, id core.ID, upd core.UserUpdate) (*core.User, error) {
	if err := us.s.authz.Require(ctx, core.UserFromContext(ctx), core.PermAdministerUsers); err != nil {
		return nil, err
	}
	if id == core.SystemUserID {
		return nil, core.Errorf(core.EInvalid, "the system user cannot be changed")
	}
	if upd.Name != nil {
		if err := validateUserName(*upd.Name); err != nil {
			return nil, err
		}
	}
	if upd.Email != nil {
		if err := validateEmail(*upd.Email); err != nil {
			return nil, err
		}
	}
	if upd.Status != nil && *upd.Status != core.UserActive && *upd.Status != core.UserBlocked {
		return nil, core.Errorf(core.EInvalid, "status must be %q or %q", core.UserActive, core.UserBlocked)
	}
	err := us.s.inTx(ctx, func(tx *txn) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET name = COALESCE($2, name), email = COALESCE($3, email),
			status = COALESCE($4, status), changed_at = $5 WHERE id = $1`, id, upd.Name, upd.Email, upd.Status, us.s.now())
		if err != nil {
			return fmt.Errorf("update user: %w", TranslateError(err))
		}
		if tag.RowsAffected() == 0 {
			return core.Errorf(core.ENotFound, "user %s not found", id)
		}
		return tx.feed(ctx, core.KindUser, id.String(), nil, nil, nil, core.ChangeUpdate)
	})
	if err != nil {
		return nil, err
	}
	return us.FindUserByID(ctx, id)
}

// DeleteUser implements core.UserService. Requires users.administer.
func (us *Users) DeleteUser(ctx context.Context, id, reassignTo core.ID) error {
	if err := us.s.authz.Require(ctx, core.UserFromContext(ctx), core.PermAdministerUsers); err != nil {
		return err
	}
	if id == core.SystemUserID || id == core.AdminUserID {
		return core.Errorf(core.EInvalid, "the built-in system and admin users cannot be deleted")
	}
	if reassignTo == core.NilID {
		reassignTo = core.SystemUserID
	}
	if reassignTo == id {
		return core.Errorf(core.EInvalid, "cannot reassign content to the user being deleted")
	}
	if _, err := us.FindUserByID(ctx, reassignTo); err != nil {
		return err
	}
	return us.s.inTx(ctx, func(tx *txn) error {
		// Revisions are immutable and keep their historical author; the live
		// items and files change owner.
		if _, err := tx.Exec(ctx, `UPDATE item SET author_id = $2 WHERE author_id = $1`, id, reassignTo); err != nil {
			return fmt.Errorf("reassign items: %w", TranslateError(err))
		}
		if _, err := tx.Exec(ctx, `UPDATE file SET owner_id = $2 WHERE owner_id = $1`, id, reassignTo); err != nil {
			return fmt.Errorf("reassign files: %w", TranslateError(err))
		}
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete user: %w", TranslateError(err))
		}
		if tag.RowsAffected() == 0 {
			return core.Errorf(core.ENotFound, "user %s not found", id)
		}
		return tx.feed(ctx, core.KindUser, id.String(), nil, nil, nil, core.ChangeDelete)
	})
}

// AddUserRole implements core.UserService. Requires roles.administer.
func (us *Users) AddUserRole(ctx context.Context, userID core.ID, role string) error {
	return us.changeUserRole(ctx, userID, role, true)
}

// RemoveUserRole implements core.UserService. Requires roles.administer.
func (us *Users) RemoveUserRole(ctx context.Context, userID core.ID, role string) error {
	return us.changeUserRole(ctx, userID, role, false)
}

func (us *Users) changeUserRole(ctx context.Context, userID core.ID, role string, add bool) error {
	if err := us.s.authz.Require(ctx, core.UserFromContext(ctx), core.PermAdministerRoles); err != nil {
		return err
	}
	if role == core.RoleAnonymous || role == core.RoleAuthenticated {
		return core.Errorf(core.EInvalid, "role %q is implicit and cannot be assigned or removed", role)
	}
	if _, err := us.FindUserByID(ctx, userID); err != nil {
		return err
	}
	return us.s.inTx(ctx, func(tx *txn) error {
		if add {
			if err := addRole(ctx, tx, userID, role); err != nil {
				return err
			}
		} else {
			if _, err := us.FindRoleByName(ctx, role); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM user_role WHERE user_id = $1 AND role_id = (SELECT id FROM roles WHERE name = $2)`, userID, role); err != nil {
				return fmt.Errorf("remove role: %w", TranslateError(err))
			}
		}
		return tx.feed(ctx, core.KindUser, userID.String(), nil, nil, nil, core.ChangeUpdate)
	})
}

// FindRoles implements core.UserService.
func (us *Users) FindRoles(ctx context.Context) ([]*core.Role, error) {
	rows, err := us.s.pool.Query(ctx, `SELECT r.id, r.name, r.label, r.builtin,
		COALESCE((SELECT array_agg(permission ORDER BY permission) FROM role_permission WHERE role_id = r.id), '{}')
		FROM roles r ORDER BY r.builtin DESC, r.name`)
	if err != nil {
		return nil, fmt.Errorf("find roles: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []*core.Role
	for rows.Next() {
		r := &core.Role{}
		if err := rows.Scan(&r.ID, &r.Name, &r.Label, &r.Builtin, &r.Permissions); err != nil {
			return nil, fmt.Errorf("find roles: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// FindRoleByName implements core.UserService.
func (us *Users) FindRoleByName(ctx context.Context, name string) (*core.Role, error) {
	roles, err := us.FindRoles(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range roles {
		if r.Name == name {
			return r, nil
		}
	}
	return nil, core.Errorf(core.ENotFound, "role %q does not exist (see: trovato role list)", name)
}

// CreateRole implements core.UserService. Requires roles.administer.
func (us *Users) CreateRole(ctx context.Context, r *core.Role) error {
	if err := us.s.authz.Require(ctx, core.UserFromContext(ctx), core.PermAdministerRoles); err != nil {
		return err
	}
	if !core.ValidMachineName(r.Name) {
		return core.Errorf(core.EInvalid, "role name %q: use a lowercase letter then up to 63 of a-z, 0-9 and _", r.Name)
	}
	for _, p := range r.Permissions {
		if !us.s.perms.Known(p) {
			return core.Errorf(core.EInvalid, "unknown permission %q (see: trovato role permissions)", p)
		}
	}
	if r.ID == core.NilID {
		r.ID = core.NewID()
	}
	r.Builtin = false
	return us.s.inTx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `INSERT INTO roles (id, name, label) VALUES ($1, $2, $3)`, r.ID, r.Name, r.Label); err != nil {
			if core.ErrorCode(TranslateError(err)) == core.EConflict {
				return core.Errorf(core.EConflict, "role %q exists already", r.Name)
			}
			return fmt.Errorf("create role: %w", TranslateError(err))
		}
		for _, p := range r.Permissions {
			if _, err := tx.Exec(ctx, `INSERT INTO role_permission (role_id, permission) VALUES ($1, $2) ON CONFLICT DO NOTHING`, r.ID, p); err != nil {
				return fmt.Errorf("create role: %w", TranslateError(err))
			}
		}
		return tx.feed(ctx, core.KindRole, r.ID.String(), nil, nil, nil, core.ChangeCreate)
	})
}

// DeleteRole implements core.UserService. Requires roles.administer.
func (us *Users) DeleteRole(ctx context.Context, name string) error {
	if err := us.s.authz.Require(ctx, core.UserFromContext(ctx), core.PermAdministerRoles); err != nil {
		return err
	}
	r, err := us.FindRoleByName(ctx, name)
	if err != nil {
		return err
	}
	if r.Builtin {
		return core.Errorf(core.EInvalid, "built-in role %q cannot be deleted", name)
	}
	defer us.s.authz.Invalidate()
	return us.s.inTx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `DELETE FROM roles WHERE id = $1`, r.ID); err != nil {
			return fmt.Errorf("delete role: %w", TranslateError(err))
		}
		return tx.feed(ctx, core.KindRole, r.ID.String(), nil, nil, nil, core.ChangeDelete)
	})
}

// GrantPermission implements core.UserService. Requires roles.administer.
func (us *Users) GrantPermission(ctx context.Context, role, perm string) error {
	return us.changePermission(ctx, role, perm, true)
}

// RevokePermission implements core.UserService. Requires roles.administer.
func (us *Users) RevokePermission(ctx context.Context, role, perm string) error {
	return us.changePermission(ctx, role, perm, false)
}

func (us *Users) changePermission(ctx context.Context, role, perm string, grant bool) error {
	if err := us.s.authz.Require(ctx, core.UserFromContext(ctx), core.PermAdministerRoles); err != nil {
		return err
	}
	r, err := us.FindRoleByName(ctx, role)
	if err != nil {
		return err
	}
	if grant && !us.s.perms.Known(perm) {
		return core.Errorf(core.EInvalid, "unknown permission %q (see: trovato role permissions)", perm)
	}
	if role == core.RoleAdministrator {
		return core.Errorf(core.EInvalid, "the administrator role holds every permission")
	}
	defer us.s.authz.Invalidate()
	return us.s.inTx(ctx, func(tx *txn) error {
		var err error
		if grant {
			_, err = tx.Exec(ctx, `INSERT INTO role_permission (role_id, permission) VALUES ($1, $2) ON CONFLICT DO NOTHING`, r.ID, perm)
		} else {
			_, err = tx.Exec(ctx, `DELETE FROM role_permission WHERE role_id = $1 AND permission = $2`, r.ID, perm)
		}
		if err != nil {
			return fmt.Errorf("change permission: %w", TranslateError(err))
		}
		return tx.feed(ctx, core.KindRole, r.ID.String(), nil, nil, nil, core.ChangeUpdate)
	})
}

// RolePermissions implements core.RolePermissionSource.
func (us *Users) RolePermissions(ctx context.Context) (map[string][]string, error) {
	rows, err := us.s.pool.Query(ctx, `SELECT r.name, rp.permission FROM role_permission rp JOIN roles r ON r.id = rp.role_id`)
	if err != nil {
		return nil, TranslateError(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var role, perm string
		if err := rows.Scan(&role, &perm); err != nil {
			return nil, err
		}
		out[role] = append(out[role], perm)
	}
	return out, rows.Err()
}
