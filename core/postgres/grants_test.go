package postgres_test

import (
	"context"
	"testing"

	"github.com/trovato/trovato/core"
)

// clubGrants is a grants provider as a plugin would be: unpublished items
// whose title starts with "Club" are visible to members of the club realm.
type clubGrants struct{ member core.ID }

func (c clubGrants) ItemGrants(ctx context.Context, it *core.Item, stage core.ID) ([]core.Grant, bool, error) {
	if len(it.Title) >= 4 && it.Title[:4] == "Club" {
		return []core.Grant{{Realm: "club", GID: "members", View: true}}, true, nil
	}
	return nil, false, nil
}

func (c clubGrants) UserGrants(ctx context.Context, u *core.User, op string) (map[string][]string, bool, error) {
	if u.ID == c.member {
		return map[string][]string{"club": {"members"}}, true, nil
	}
	return nil, false, nil
}

func TestListAccessThroughGrants(t *testing.T) {
	t.Parallel()
	s, admin := MustSite(t)
	member := mustUser(t, s, "member")
	outsider := mustUser(t, s, "outsider")
	unpub := core.StatusUnpublished
	club := &core.Item{Type: "article", Title: "Club news", Status: unpub}
	if err := s.Items().CreateItem(admin, core.LiveStageID, club, ""); err != nil {
		t.Fatal(err)
	}
	mustItem(t, admin, s, core.LiveStageID, "Public", `{}`)
	secret := &core.Item{Type: "article", Title: "Secret", Status: unpub}
	if err := s.Items().CreateItem(admin, core.LiveStageID, secret, ""); err != nil {
		t.Fatal(err)
	}
	titles := func(ctx context.Context, stage core.ID) map[string]bool {
		t.Helper()
		items, total, err := s.Items().FindItems(ctx, core.ItemFilter{StageID: stage})
		if err != nil {
			t.Fatal(err)
		}
		if total != len(items) {
			t.Fatalf("total %d for %d items", total, len(items))
		}
		out := map[string]bool{}
		for _, it := range items {
			out[it.Title] = true
		}
		return out
	}
	// Default realms: only the published item, for everyone without bypass.
	if got := titles(member, core.LiveStageID); len(got) != 1 || !got["Public"] {
		t.Fatalf("member sees %v before the provider", got)
	}
	s.SetGrantsProvider(clubGrants{member: core.UserFromContext(member).ID})
	if n, err := s.RebuildGrants(admin); err != nil || n != 3 {
		t.Fatalf("rebuild = %d, %v", n, err)
	}
	if got := titles(member, core.LiveStageID); len(got) != 2 || !got["Club news"] || !got["Public"] {
		t.Fatalf("member sees %v; want Club news and Public", got)
	}
	if got := titles(outsider, core.LiveStageID); len(got) != 1 || !got["Public"] {
		t.Fatalf("outsider sees %v; want only Public", got)
	}
	if got := titles(admin, core.LiveStageID); len(got) != 3 {
		t.Fatalf("admin sees %v; want all three", got)
	}
	// Full pages are counted on the keys with the same access rules.
	for _, tc := range []struct {
		ctx  context.Context
		want int
	}{{member, 2}, {outsider, 1}, {admin, 3}} {
		items, total, err := s.Items().FindItems(tc.ctx, core.ItemFilter{Limit: 1})
		if err != nil || len(items) != 1 || total != tc.want {
			t.Fatalf("page of 1: %d items, total %d, %v; want total %d", len(items), total, err, tc.want)
		}
		if _, total, err := s.Items().FindItems(tc.ctx, core.ItemFilter{Limit: 1, Offset: 10}); err != nil || total != tc.want {
			t.Fatalf("page past the end: total %d, %v; want %d", total, err, tc.want)
		}
	}
	// Grants follow the stage: retitling Secret to a club item in a stage
	// opens it to members there, and in live once published.
	st := mustStage(t, admin, s, "club")
	if err := s.Users().GrantPermission(admin, core.RoleAuthenticated, core.StagePerm("club", "view")); err != nil {
		t.Fatal(err)
	}
	s.Authorizer().Invalidate()
	title := "Club secret"
	if _, err := s.Items().UpdateItem(admin, st.ID, secret.ID, core.ItemUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	if got := titles(member, st.ID); !got["Club secret"] || len(got) != 3 {
		t.Fatalf("member sees %v in the stage", got)
	}
	if got := titles(member, core.LiveStageID); got["Club secret"] || got["Secret"] {
		t.Fatalf("member sees the staged change in live: %v", got)
	}
	if rep, err := s.Stages().PublishStage(admin, st.ID, core.PublishOptions{}); err != nil || !rep.Applied {
		t.Fatalf("publish = %+v, %v", rep, err)
	}
	if got := titles(member, core.LiveStageID); !got["Club secret"] {
		t.Fatalf("member sees %v after publish", got)
	}
	var stale int
	if err := s.Pool().QueryRow(admin, `SELECT count(*) FROM item_grant WHERE stage_id = $1`, st.ID).Scan(&stale); err != nil || stale != 0 {
		t.Fatalf("%d grant rows left in the published stage, %v", stale, err)
	}
}
