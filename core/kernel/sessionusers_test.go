package kernel

import (
	"context"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres/pgtest"
)

// TestResolveSessionEpoch: a signed-in session is valid only under its
// user's current session epoch; one without an epoch (0) is never valid,
// so "log out everywhere" ends every session made before it, whether or
// not its store still holds it.
func TestResolveSessionEpoch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := DefaultConfig(t.TempDir())
	cfg.DatabaseURL = pgtest.NewDBURL(t)
	k, err := New(ctx, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close(context.Background()) })
	before, err := k.Accounts.SessionEpoch(ctx, core.AdminUserID)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := k.AsUser(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Accounts.LogoutEverywhere(admin, core.AdminUserID); err != nil {
		t.Fatal(err)
	}
	after, err := k.Accounts.SessionEpoch(ctx, core.AdminUserID)
	if err != nil {
		t.Fatal(err)
	}
	for _, caching := range []bool{false, true} {
		if caching {
			k.SessionUsers.EnableLocal()
		}
		for _, tc := range []struct {
			name string
			sess core.Session
			ok   bool
			user bool
		}{
			{"Anonymous", core.Session{}, true, false},
			{"CurrentEpoch", core.Session{UserID: core.AdminUserID, Epoch: after}, true, true},
			{"EarlierEpoch", core.Session{UserID: core.AdminUserID, Epoch: before}, false, false},
			{"NoEpoch", core.Session{UserID: core.AdminUserID}, false, false},
			{"NegativeEpoch", core.Session{UserID: core.AdminUserID, Epoch: -1}, false, false},
			{"UnknownUser", core.Session{UserID: core.NewID(), Epoch: after}, false, false},
		} {
			u, ok, err := k.SessionUsers.Resolve(ctx, &tc.sess)
			if err != nil {
				t.Fatalf("%s (caching %v): %v", tc.name, caching, err)
			}
			if ok != tc.ok || (u != nil) != tc.user {
				t.Errorf("%s (caching %v): valid %v, user %v; want %v, %v", tc.name, caching, ok, u != nil, tc.ok, tc.user)
			}
		}
	}
}
