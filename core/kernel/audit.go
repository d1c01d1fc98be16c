package kernel

import (
	"context"

	"github.com/trovato/trovato/core"
)

// Audit actions of the operations below (the account service records its
// own, core.AuditLogin and so on).
const (
	AuditStagePublish    = "stage.publish"
	AuditReleaseRollback = "release.rollback"
	AuditRoleCreate      = "role.create"
	AuditRoleDelete      = "role.delete"
	AuditRoleGrant       = "role.grant"
	AuditRoleRevoke      = "role.revoke"
	AuditUserRoleAdd     = "user.role_add"
	AuditUserRoleRemove  = "user.role_remove"
)

// The methods below do what the store's method of the same name does and
// then record it in the audit log, so every front (CLI, API, scheduler,
// desktop) audits the same way. The entry is written after the change
// commits: a failure to write it is logged, not returned, since the
// change happened.

// PublishStage publishes a stage (core.StageService.PublishStage) and
// audits stage.publish when live changed.
func (k *Kernel) PublishStage(ctx context.Context, stage core.ID, opts core.PublishOptions) (*core.PublishReport, error) {
	rep, err := k.Store.Stages().PublishStage(ctx, stage, opts)
	if err == nil && rep.Applied {
		detail := map[string]any{"stage_id": stage, "entries": len(rep.Entries), "message": opts.Message}
		name := stage.String()
		if rep.Stage != nil {
			name = rep.Stage.Name
		}
		if rep.Release != nil {
			detail["release"] = rep.Release.ID
		}
		k.audit(ctx, AuditStagePublish, "stage/"+name, detail)
	}
	return rep, err
}

// RollbackRelease rolls a release back (core.StageService.RollbackRelease)
// and audits release.rollback when live changed.
func (k *Kernel) RollbackRelease(ctx context.Context, id core.ID, opts core.PublishOptions) (*core.PublishReport, error) {
	rep, err := k.Store.Stages().RollbackRelease(ctx, id, opts)
	if err == nil && rep.Applied {
		detail := map[string]any{"entries": len(rep.Entries)}
		if rep.Release != nil {
			detail["release"] = rep.Release.ID
		}
		k.audit(ctx, AuditReleaseRollback, "release/"+id.String(), detail)
	}
	return rep, err
}

// CreateRole creates a role and audits role.create.
func (k *Kernel) CreateRole(ctx context.Context, r *core.Role) error {
	if err := k.Store.Users().CreateRole(ctx, r); err != nil {
		return err
	}
	k.audit(ctx, AuditRoleCreate, "role/"+r.Name, map[string]any{"permissions": r.Permissions})
	return nil
}

// DeleteRole deletes a role and audits role.delete.
func (k *Kernel) DeleteRole(ctx context.Context, name string) error {
	if err := k.Store.Users().DeleteRole(ctx, name); err != nil {
		return err
	}
	k.audit(ctx, AuditRoleDelete, "role/"+name, nil)
	return nil
}

// GrantPermission grants a permission to a role and audits role.grant.
func (k *Kernel) GrantPermission(ctx context.Context, role, perm string) error {
	if err := k.Store.Users().GrantPermission(ctx, role, perm); err != nil {
		return err
	}
	k.audit(ctx, AuditRoleGrant, "role/"+role, map[string]any{"permission": perm})
	return nil
}

// RevokePermission revokes a permission from a role and audits
// role.revoke.
func (k *Kernel) RevokePermission(ctx context.Context, role, perm string) error {
	if err := k.Store.Users().RevokePermission(ctx, role, perm); err != nil {
		return err
	}
	k.audit(ctx, AuditRoleRevoke, "role/"+role, map[string]any{"permission": perm})
	return nil
}

// AddUserRole gives a user a role and audits user.role_add.
func (k *Kernel) AddUserRole(ctx context.Context, user *core.User, role string) error {
	if err := k.Store.Users().AddUserRole(ctx, user.ID, role); err != nil {
		return err
	}
	k.audit(ctx, AuditUserRoleAdd, "user/"+user.Name, map[string]any{"role": role})
	return nil
}

// RemoveUserRole takes a role from a user and audits user.role_remove.
func (k *Kernel) RemoveUserRole(ctx context.Context, user *core.User, role string) error {
	if err := k.Store.Users().RemoveUserRole(ctx, user.ID, role); err != nil {
		return err
	}
	k.audit(ctx, AuditUserRoleRemove, "user/"+user.Name, map[string]any{"role": role})
	return nil
}

func (k *Kernel) audit(ctx context.Context, action, object string, detail any) {
	if err := k.Accounts.Audit(ctx, action, object, detail); err != nil {
		k.Log.Error("write the audit log", "action", action, "object", object, "err", err)
	}
}
