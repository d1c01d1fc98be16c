package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/server/api"
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

// An author who may edit their own articles and create nothing else may
// not turn an article into another type through a push: the editor's
// update never changes an item's type either.
func TestSyncPushTypeChangeRefused(t *testing.T) {
	e := mustEnv(t, 1<<20)
	admin := e.admin
	if _, err := e.k.Store.ApplyType(admin, json.RawMessage(`{"kind":"item_type","name":"page","label":"Page","fields":[]}`), false); err != nil {
		t.Fatal(err)
	}
	perms := []string{core.PermAccessContent, core.PermCreateStage, core.PermEditAnyStage, core.PermViewAnyStage,
		core.ItemPerm("article", "create"), core.ItemPerm("article", "edit_own")}
	if err := e.k.Store.Users().CreateRole(admin, &core.Role{Name: "writer", Label: "Writer", Permissions: perms}); err != nil {
		t.Fatal(err)
	}
	al := e.users["al"]
	if err := e.k.Store.Users().AddUserRole(admin, al.ID, "writer"); err != nil {
		t.Fatal(err)
	}
	alctx, err := e.k.AsUser(context.Background(), "al")
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := postgres.NewAccounts(e.k.Store, postgres.AccountsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := accounts.CreateToken(alctx, "desktop", perms, nil, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	mine := item(t, alctx, e.k, core.LiveStageID, "Mine")
	st := mustSyncStage(t, alctx, e.k, "retype")
	edit(t, alctx, e.k, st.ID, mine.ID, "Now a page")
	cs, err := e.k.Store.Sync().BuildChangeset(alctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Entries) != 1 {
		t.Fatalf("changeset has %d entries, want 1", len(cs.Entries))
	}
	var doc map[string]any
	if err := json.Unmarshal(cs.Entries[0].Revision.Doc, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["type"] != "article" {
		t.Fatalf("revision doc type %v, want article", doc["type"])
	}
	cs.Stage = core.ChangesetStage{ID: core.NewID(), Name: "retype-push", Label: "Retype"}
	doc["type"] = "page"
	cs.Entries[0].Revision.Doc, _ = json.Marshal(doc)
	cs.Entries[0].Revision.ID = core.NewID()
	body, _ := json.Marshal(cs)
	req := httptest.NewRequest("POST", api.Prefix+"/stages/"+cs.Stage.ID.String()+"/changeset", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code == http.StatusOK {
		t.Fatalf("a push changing an article into a page was applied: %s", rec.Body)
	}
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "type") {
		t.Fatalf("status %d %s, want 400 naming the type", rec.Code, rec.Body)
	}
}

// A pushed revision whose id the server already has (an older revision of
// the same item) must carry that revision's document: otherwise the
// server validates and grants the pushed document while the stage shows
// the stored one.
func TestSyncPushReusedRevisionIDRefused(t *testing.T) {
	e := mustEnv(t, 1<<20)
	ctx := e.admin
	it := item(t, ctx, e.k, core.LiveStageID, "First")
	first := it.RevisionID
	edit(t, ctx, e.k, core.LiveStageID, it.ID, "Second")
	st := mustSyncStage(t, ctx, e.k, "reuse")
	edit(t, ctx, e.k, st.ID, it.ID, "Pushed")
	cs, err := e.k.Store.Sync().BuildChangeset(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Entries) != 1 {
		t.Fatalf("changeset has %d entries, want 1", len(cs.Entries))
	}
	cs.Stage = core.ChangesetStage{ID: core.NewID(), Name: "reuse-push", Label: "Reuse"}
	cs.Entries[0].Revision.ID = first // the document says "Pushed"
	accounts, err := postgres.NewAccounts(e.k.Store, postgres.AccountsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if e.token, _, err = accounts.CreateToken(ctx, "desktop", syncPerms, nil, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(cs)
	res := e.do("POST", "/stages/"+cs.Stage.ID.String()+"/changeset", "application/json", body, "token", false)
	var out struct {
		Applied bool `json:"applied"`
	}
	_ = json.NewDecoder(res.Body).Decode(&out)
	res.Body.Close()
	if res.StatusCode == http.StatusOK {
		got := mustFind(t, ctx, e.k, cs.Stage.ID, it.ID).Title
		t.Fatalf("a push reusing revision %s with another document was applied; the stage shows %q", first, got)
	}
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", res.StatusCode)
	}
}

// A user who may neither edit the stage nor create one is refused before
// the changeset (up to 64 MB of JSON) is read.
func TestSyncPushRefusedBeforeReading(t *testing.T) {
	e := mustEnv(t, 1<<20)
	alctx, err := e.k.AsUser(context.Background(), "al")
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := postgres.NewAccounts(e.k.Store, postgres.AccountsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if e.token, _, err = accounts.CreateToken(alctx, "reader", []string{core.PermAccessContent}, nil, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	existing := mustSyncStage(t, e.admin, e.k, "existing")
	for _, id := range []core.ID{core.NewID(), existing.ID} {
		res := e.do("POST", "/stages/"+id.String()+"/changeset", "application/json", []byte(`{"stage": not json`), "token", false)
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusNotFound {
			t.Errorf("stage %s: status %d for a user without stage permissions, want 403 (or 404) before the body is read", id, res.StatusCode)
		}
	}
}

// Bytes uploaded under a hash they do not have are refused and not kept.
func TestSyncBlobHashMismatchNotStored(t *testing.T) {
	e := mustEnv(t, 1<<20)
	accounts, err := postgres.NewAccounts(e.k.Store, postgres.AccountsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if e.token, _, err = accounts.CreateToken(e.admin, "desktop", syncPerms, nil, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	body := []byte("bytes that are not what the hash says")
	sum := sha256.Sum256(body)
	real := hex.EncodeToString(sum[:])
	claimed := strings.Repeat("ab", 32)
	res := e.do("PUT", "/sync/blobs/"+claimed, "application/octet-stream", body, "token", false)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d for bytes under another hash, want 400", res.StatusCode)
	}
	for _, h := range []string{claimed, real} {
		if ok, err := e.k.Store.Sync().HasBlob(e.admin, h); err != nil || ok {
			t.Errorf("blob %s stored after a refused upload (%v, %v)", h, ok, err)
		}
	}
}
