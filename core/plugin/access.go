package plugin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/trovato/trovato/core"
)

var _ core.ItemAccessVoter = (*Host)(nil)

// PluginUser converts a kernel user to the shape taps and user_current
// see: anonymous users have an empty id and the anonymous role;
// authenticated users carry the authenticated role explicitly.
func PluginUser(u *core.User) User {
	if u.IsAnonymous() {
		return User{ID: "", Name: "", Roles: []string{core.RoleAnonymous}}
	}
	roles := []string{core.RoleAuthenticated}
	for _, r := range u.Roles {
		if r != core.RoleAuthenticated {
			roles = append(roles, r)
		}
	}
	return User{ID: u.ID.String(), Name: u.Name, Roles: roles, Authenticated: true}
}

// ItemAccess runs the item_access tap for one user, operation and item and
// combines the votes (Access), so the Host can be the core authorizer's
// voter. Plugins without the access.vote capability and failed calls count
// as neutral.
func (h *Host) ItemAccess(ctx context.Context, u *core.User, op string, it *core.Item) (core.Vote, error) {
	in, err := json.Marshal(struct {
		Op   string     `json:"op"`
		Item *core.Item `json:"item"`
		User User       `json:"user"`
	}{op, it, PluginUser(u)})
	if err != nil {
		return core.VoteNeutral, fmt.Errorf("item_access input: %w", err)
	}
	switch v, _ := h.Access(ctx, in); v {
	case VoteDeny:
		return core.VoteDeny, nil
	case VoteGrant:
		return core.VoteGrant, nil
	}
	return core.VoteNeutral, nil
}
