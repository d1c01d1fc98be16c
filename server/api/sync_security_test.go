package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/trovato/trovato/core"
)

// A changeset names its stage by id; the live stage's id must not let a
// push write live's heads directly (past publishing and the projection).
func TestSyncPushIntoLiveRefused(t *testing.T) {
	e := mustEnv(t, 1<<20)
	ctx := e.admin
	live := item(t, ctx, e.k, core.LiveStageID, "Original")
	st := mustSyncStage(t, ctx, e.k, "draft")
	edit(t, ctx, e.k, st.ID, live.ID, "Pushed into live")
	cs, err := e.k.Store.Sync().BuildChangeset(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Entries) != 1 {
		t.Fatalf("changeset has %d entries, want 1", len(cs.Entries))
	}
	cs.Stage = core.ChangesetStage{ID: core.LiveStageID, Name: "sneaky", Label: "Sneaky"}
	body, _ := json.Marshal(cs)
	res := e.do("POST", "/stages/"+core.LiveStageID.String()+"/changeset", "application/json", body, "token", false)
	res.Body.Close()
	if res.StatusCode == http.StatusOK {
		t.Fatalf("a push naming the live stage was applied (status %d)", res.StatusCode)
	}
	if got := mustFind(t, context.Background(), e.k, core.LiveStageID, live.ID).Title; got != "Original" {
		t.Fatalf("live shows %q after a refused push, want Original", got)
	}
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", res.StatusCode)
	}
}
