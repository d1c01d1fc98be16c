package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/postgres/pgtest"
	"github.com/trovato/trovato/core/sitesync"
	"github.com/trovato/trovato/plugins"
	"github.com/trovato/trovato/server"
	"github.com/trovato/trovato/server/api"
)

var syncPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89sync")

// syncPerms are what a desktop's token needs to pull and push.
var syncPerms = []string{core.PermAccessContent, core.PermAdministerContent, core.PermCreateStage, core.PermViewAnyStage,
	core.PermEditAnyStage, core.PermUploadFiles, core.PermAdministerCategory, core.PermAdministerMenus, core.PermAdministerAliases}

// syncPair is a server (the API env over its own database, served over
// TCP by httptest, through an optional fault injector) and a local site
// on a second database with an engine connected to the server.
type syncPair struct {
	t      testing.TB
	srv    *env
	ts     *httptest.Server
	token  string
	local  *kernel.Kernel
	ladmin context.Context
	eng    *sitesync.Engine
	// tokenFile is where the engine keeps the API token.
	tokenFile string
	// fault, when set, may answer a request itself (return true).
	fault atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]
}

func mustSyncPair(tb testing.TB, opts sitesync.Options) *syncPair {
	tb.Helper()
	ctx := context.Background()
	p := &syncPair{t: tb, srv: mustEnv(tb, 1<<20)}
	accounts, err := postgres.NewAccounts(p.srv.k.Store, postgres.AccountsConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	if p.token, _, err = accounts.CreateToken(p.srv.admin, "desktop", syncPerms, nil, time.Now().Add(time.Hour)); err != nil {
		tb.Fatal(err)
	}
	p.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := p.fault.Load(); f != nil && (*f)(w, r) {
			return
		}
		p.srv.h.ServeHTTP(w, r)
	}))
	tb.Cleanup(p.ts.Close)
	cfg := kernel.DefaultConfig(tb.TempDir())
	cfg.DatabaseURL = pgtest.NewDBURL(tb)
	if p.local, err = kernel.New(ctx, cfg, kernel.Options{}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.local.Close(context.Background()) })
	if p.ladmin, err = p.local.AsUser(ctx, "admin"); err != nil {
		tb.Fatal(err)
	}
	opts.Store = p.local.Store
	if opts.TokenFile == "" {
		opts.TokenFile = filepath.Join(cfg.DataDir, sitesync.TokenFileName)
	}
	p.tokenFile = opts.TokenFile
	if opts.Backoff == 0 {
		opts.Backoff = 5 * time.Millisecond
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	if p.eng, err = sitesync.New(opts); err != nil {
		tb.Fatal(err)
	}
	if _, err := p.eng.Connect(ctx, p.ts.URL, p.token); err != nil {
		tb.Fatal(err)
	}
	return p
}

func (p *syncPair) setFault(f func(w http.ResponseWriter, r *http.Request) bool) {
	if f == nil {
		p.fault.Store(nil)
		return
	}
	p.fault.Store(&f)
}

// item creates a live article on a side.
func item(tb testing.TB, ctx context.Context, k *kernel.Kernel, stage core.ID, title string) *core.Item {
	tb.Helper()
	it := &core.Item{Type: "article", Title: title, Status: core.StatusPublished}
	if err := k.Store.Items().CreateItem(ctx, stage, it, ""); err != nil {
		tb.Fatal(err)
	}
	return it
}

func edit(tb testing.TB, ctx context.Context, k *kernel.Kernel, stage, id core.ID, title string) *core.Item {
	tb.Helper()
	it, err := k.Store.Items().UpdateItem(ctx, stage, id, core.ItemUpdate{Title: &title})
	if err != nil {
		tb.Fatal(err)
	}
	return it
}

func mustFind(tb testing.TB, ctx context.Context, k *kernel.Kernel, stage, id core.ID) *core.Item {
	tb.Helper()
	it, err := k.Store.Items().FindItemByID(ctx, stage, id)
	if err != nil {
		tb.Fatalf("find item %s: %v", id, err)
	}
	return it
}

func mustSyncStage(tb testing.TB, ctx context.Context, k *kernel.Kernel, name string) *core.Stage {
	tb.Helper()
	st := &core.Stage{Name: name, Label: strings.ToUpper(name)}
	if err := k.Store.Stages().CreateStage(ctx, st); err != nil {
		tb.Fatal(err)
	}
	return st
}

func TestSyncPullPushConflicts(t *testing.T) {
	ctx := context.Background()
	p := mustSyncPair(t, sitesync.Options{})
	srv, sadmin := p.srv.k, p.srv.admin
	one := item(t, sadmin, srv, core.LiveStageID, "One")
	two := item(t, sadmin, srv, core.LiveStageID, "Two")
	term, err := srv.Store.Staged().PutStaged(sadmin, core.KindTerm, core.LiveStageID, core.NilID, json.RawMessage(`{"vocabulary":"tags","name":"Go","parents":[],"weight":0}`), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	file, err := srv.Files().CreateFile(sadmin, "dot.png", bytes.NewReader(syncPNG))
	if err != nil {
		t.Fatal(err)
	}
	link, err := srv.Store.Staged().PutStaged(sadmin, core.KindMenuLink, core.LiveStageID, core.NilID, json.RawMessage(`{"menu":"main","title":"One","path":"/item/`+one.ID.String()+`","weight":1}`), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	alias, err := srv.Store.Staged().PutStaged(sadmin, core.KindAlias, core.LiveStageID, core.NilID, json.RawMessage(`{"alias":"/one","language":"und","path":"/item/`+one.ID.String()+`"}`), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	gone := item(t, sadmin, srv, core.LiveStageID, "Gone soon")

	res, err := p.eng.Pull(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Changes == 0 || res.Conflicts != 0 {
		t.Fatalf("pull: %+v", res)
	}
	// Live content with the server's revision ids, terms, config, the
	// user directory without e-mail, files with their bytes.
	for _, it := range []*core.Item{one, two} {
		if got := mustFind(t, p.ladmin, p.local, core.LiveStageID, it.ID); got.RevisionID != it.RevisionID || got.Title != it.Title {
			t.Fatalf("local %s: rev %s title %q, want %s %q", it.ID, got.RevisionID, got.Title, it.RevisionID, it.Title)
		}
	}
	if d, err := p.local.Store.Staged().FindStaged(p.ladmin, core.KindTerm, core.LiveStageID, term.ID); err != nil || d.RevisionID != term.RevisionID {
		t.Fatalf("term: %v %v", d, err)
	}
	for _, d := range []*core.StagedDoc{link, alias} {
		if got, err := p.local.Store.Staged().FindStaged(p.ladmin, d.Kind, core.LiveStageID, d.ID); err != nil || got.RevisionID != d.RevisionID {
			t.Fatalf("%s: %v %v", d.Kind, got, err)
		}
	}
	var path string
	if err := p.local.Store.Pool().QueryRow(ctx, `SELECT path FROM path_alias WHERE alias = '/one'`).Scan(&path); err != nil || path != "/item/"+one.ID.String() {
		t.Fatalf("alias projection: %q %v", path, err)
	}
	// A deletion on the server reaches the local site's live.
	if err := srv.Store.Items().DeleteItem(sadmin, core.LiveStageID, gone.ID); err != nil {
		t.Fatal(err)
	}
	mustFind(t, p.ladmin, p.local, core.LiveStageID, gone.ID)
	if _, err := p.eng.Pull(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.local.Store.Items().FindItemByID(p.ladmin, core.LiveStageID, gone.ID); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("deleted on the server, still here: %v", err)
	}
	if _, err := p.local.Store.Config().FindConfig(ctx, "vocabulary", "tags"); err != nil {
		t.Fatal(err)
	}
	ed, err := p.local.Store.Users().FindUserByName(ctx, "ed")
	if err != nil || ed.ID != p.srv.users["ed"].ID || !ed.HasRole(core.RoleEditor) || ed.Email != "" {
		t.Fatalf("user directory: %+v %v", ed, err)
	}
	lf, rc, err := p.local.Files().OpenFile(ctx, file.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if lf.Hash != file.Hash || !bytes.Equal(b, syncPNG) {
		t.Fatalf("file: %+v %d bytes", lf, len(b))
	}
	if st, _ := p.eng.Status(ctx); st.State != core.SyncIdle || st.Done != st.Total || st.Remote != p.ts.URL {
		t.Fatalf("status after pull: %+v", st)
	}

	// Push a local stage: an edit and a new item; the server makes the
	// stage with the same id and name, keeps revision ids and records
	// them as the token user's.
	spring := mustSyncStage(t, p.ladmin, p.local, "spring")
	e1 := edit(t, p.ladmin, p.local, spring.ID, one.ID, "One (spring)")
	three := item(t, p.ladmin, p.local, spring.ID, "Three")
	rep, err := p.eng.Push(p.ladmin, spring.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Applied || !rep.Created || rep.Stage.ID != spring.ID || rep.Stage.Name != "spring" {
		t.Fatalf("push report: %+v", rep)
	}
	got := mustFind(t, sadmin, srv, spring.ID, one.ID)
	if got.RevisionID != e1.RevisionID || got.Title != "One (spring)" {
		t.Fatalf("server stage item: %+v", got)
	}
	if r, err := srv.Store.Items().FindRevisionByID(sadmin, e1.RevisionID); err != nil || r.AuthorID != core.AdminUserID || r.StageID != spring.ID {
		t.Fatalf("server revision: %+v %v", r, err)
	}
	mustFind(t, sadmin, srv, spring.ID, three.ID)
	if _, err := srv.Store.Items().FindItemByID(sadmin, core.LiveStageID, three.ID); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("a pushed stage must not touch live: %v", err)
	}
	// Pushing again changes nothing.
	if rep, err = p.eng.Push(p.ladmin, spring.ID); err != nil || !rep.Applied || rep.Skipped != 2 {
		t.Fatalf("second push: %+v %v", rep, err)
	}

	// Conflict, push direction: live moved on the server since the stage
	// copied it. Nothing of the changeset is applied.
	theirs := edit(t, sadmin, srv, core.LiveStageID, two.ID, "Two (server)")
	if _, err := p.eng.Pull(ctx); err != nil {
		t.Fatal(err)
	}
	summerItem := edit(t, p.ladmin, p.local, spring.ID, one.ID, "One (spring 2)")
	autumn := mustSyncStage(t, p.ladmin, p.local, "autumn")
	mine := edit(t, p.ladmin, p.local, autumn.ID, two.ID, "Two (mine)")
	// Server moves live again after the local copy.
	theirs2 := edit(t, sadmin, srv, core.LiveStageID, two.ID, "Two (server 2)")
	_, err = p.eng.Push(p.ladmin, autumn.ID)
	var ce *sitesync.ConflictError
	if !errors.As(err, &ce) || core.ErrorCode(err) != core.EConflict || len(ce.Report.Problems) != 1 {
		t.Fatalf("push over a moved live: %v", err)
	}
	prob := ce.Report.Problems[0]
	if prob.EntityID != two.ID || prob.Problem != "conflict" || *prob.Base != theirs.RevisionID || *prob.Theirs != theirs2.RevisionID ||
		*prob.Mine != mine.RevisionID || !strings.Contains(string(prob.TheirsDoc), "Two (server 2)") || !strings.Contains(string(prob.MineDoc), "Two (mine)") {
		t.Fatalf("problem: %+v", prob)
	}
	if _, err := srv.Store.Stages().FindStage(sadmin, autumn.ID.String()); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("a refused push must leave nothing, not even the stage: %v", err)
	}
	if st, _ := p.eng.Status(ctx); st.State != core.SyncFailed || !strings.Contains(st.LastError, "conflict") {
		t.Fatalf("status after a conflict: %+v", st)
	}
	// Mine: the next push applies over theirs.
	if err := p.eng.ResolvePushConflict(p.ladmin, autumn.ID, prob, core.ResolveMine); err != nil {
		t.Fatal(err)
	}
	if rep, err = p.eng.Push(p.ladmin, autumn.ID); err != nil || !rep.Applied {
		t.Fatalf("push after choosing mine: %+v %v", rep, err)
	}
	if got := mustFind(t, sadmin, srv, autumn.ID, two.ID); got.RevisionID != mine.RevisionID {
		t.Fatalf("server autumn: %+v", got)
	}
	// Theirs: someone changed the server's autumn stage; the local stage
	// takes their revision and the next push has nothing to send.
	theirs3 := edit(t, sadmin, srv, autumn.ID, two.ID, "Two (their autumn)")
	edit(t, p.ladmin, p.local, autumn.ID, two.ID, "Two (my autumn)")
	_, err = p.eng.Push(p.ladmin, autumn.ID)
	if !errors.As(err, &ce) || len(ce.Report.Problems) != 1 || *ce.Report.Problems[0].Theirs != theirs3.RevisionID {
		t.Fatalf("push over a changed server stage: %v", err)
	}
	if err := p.eng.ResolvePushConflict(p.ladmin, autumn.ID, ce.Report.Problems[0], core.ResolveTheirs); err != nil {
		t.Fatal(err)
	}
	if got := mustFind(t, p.ladmin, p.local, autumn.ID, two.ID); got.RevisionID != theirs3.RevisionID || got.Title != "Two (their autumn)" {
		t.Fatalf("local autumn after theirs: %+v", got)
	}
	if rep, err = p.eng.Push(p.ladmin, autumn.ID); err != nil || !rep.Applied || rep.Skipped != 1 {
		t.Fatalf("push after theirs: %+v %v", rep, err)
	}
	if _, err = p.eng.Push(p.ladmin, spring.ID); err != nil {
		t.Fatalf("spring: %v", err)
	}
	if got := mustFind(t, sadmin, srv, spring.ID, one.ID); got.RevisionID != summerItem.RevisionID {
		t.Fatalf("server spring after a second edit: %+v", got)
	}

	// Conflict, pull direction: local live edited here, the server edits
	// it too; the pull keeps the local edit and records the conflict.
	localLive := edit(t, p.ladmin, p.local, core.LiveStageID, one.ID, "One (local live)")
	serverLive := edit(t, sadmin, srv, core.LiveStageID, one.ID, "One (server live)")
	res, err = p.eng.Pull(ctx)
	if err != nil || res.Conflicts != 1 {
		t.Fatalf("pull over a local edit: %+v %v", res, err)
	}
	if got := mustFind(t, p.ladmin, p.local, core.LiveStageID, one.ID); got.RevisionID != localLive.RevisionID {
		t.Fatalf("the pull overwrote a local edit: %+v", got)
	}
	if st, _ := p.eng.Status(ctx); st.Conflicts != 1 {
		t.Fatalf("status conflicts: %+v", st)
	}
	if err := p.eng.ResolvePullConflict(ctx, core.KindItem, one.ID, core.ResolveTheirs); err != nil {
		t.Fatal(err)
	}
	if got := mustFind(t, p.ladmin, p.local, core.LiveStageID, one.ID); got.RevisionID != serverLive.RevisionID || got.Title != "One (server live)" {
		t.Fatalf("after theirs: %+v", got)
	}

	// The same stage name under another id is reported, never merged.
	mustSyncStage(t, sadmin, srv, "winter")
	winter := mustSyncStage(t, p.ladmin, p.local, "winter")
	item(t, p.ladmin, p.local, winter.ID, "Cold")
	if _, err := p.eng.Push(p.ladmin, winter.ID); core.ErrorCode(err) != core.EConflict || !strings.Contains(err.Error(), "another open stage named \"winter\"") {
		t.Fatalf("same name, other id: %v", err)
	}
}

func TestSyncRefusals(t *testing.T) {
	ctx := context.Background()
	// The timeout bounds every request of these subtests, and a loaded CI
	// machine can take over a second to apply a changeset: NoAnswer waits
	// it out once.
	p := mustSyncPair(t, sitesync.Options{Retries: sitesync.NoRetries, Timeout: 3 * time.Second})
	if _, err := p.eng.Pull(ctx); err != nil {
		t.Fatal(err)
	}
	t.Run("WrongToken", func(t *testing.T) {
		_, err := p.eng.Connect(ctx, p.ts.URL, "trovato_wrong")
		if core.ErrorCode(err) != core.EUnauthorized || !strings.Contains(err.Error(), "refused the API token") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("OtherVersion", func(t *testing.T) {
		p.setFault(func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == api.Prefix+"/sync/info" {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"sync_version":%d,"site_name":"x","user":"admin"}`, core.SyncVersion+1)
				return true
			}
			return false
		})
		defer p.setFault(nil)
		_, err := p.eng.Pull(ctx)
		if core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), "speaks sync version 2") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("NoAnswer", func(t *testing.T) {
		p.setFault(func(w http.ResponseWriter, r *http.Request) bool {
			<-r.Context().Done()
			return true
		})
		defer p.setFault(nil)
		_, err := p.eng.Pull(ctx)
		if core.ErrorCode(err) != core.EUnavailable || !strings.Contains(err.Error(), "did not answer within 3s") {
			t.Fatalf("%v", err)
		}
		st, _ := p.eng.Status(ctx)
		if st.State != core.SyncOffline || st.OfflineSince == nil {
			t.Fatalf("status: %+v", st)
		}
	})
	t.Run("Rejected", func(t *testing.T) {
		// A term in a vocabulary only this site has: the server refuses it
		// and applies nothing of the changeset.
		if _, err := p.local.Store.Config().PutConfig(p.ladmin, "vocabulary", "local_only", json.RawMessage(`{"kind":"vocabulary","name":"local_only","label":"Local"}`), 0); err != nil {
			t.Fatal(err)
		}
		st := mustSyncStage(t, p.ladmin, p.local, "rejected")
		okItem := item(t, p.ladmin, p.local, st.ID, "Fine")
		if _, err := p.local.Store.Staged().PutStaged(p.ladmin, core.KindTerm, st.ID, core.NilID, json.RawMessage(`{"vocabulary":"local_only","name":"Here","parents":[],"weight":0}`), nil, ""); err != nil {
			t.Fatal(err)
		}
		_, err := p.eng.Push(p.ladmin, st.ID)
		var ce *sitesync.ConflictError
		if !errors.As(err, &ce) || core.ErrorCode(err) != core.EInvalid || len(ce.Report.Problems) != 1 ||
			!strings.Contains(ce.Report.Problems[0].Message, `vocabulary "local_only" does not exist`) {
			t.Fatalf("%v", err)
		}
		if _, err := p.srv.k.Store.Items().FindItemByID(p.srv.admin, st.ID, okItem.ID); core.ErrorCode(err) != core.ENotFound {
			t.Fatalf("half a refused changeset was applied: %v", err)
		}
	})
	t.Run("Forbidden", func(t *testing.T) {
		accounts, _ := postgres.NewAccounts(p.srv.k.Store, postgres.AccountsConfig{})
		tok, _, err := accounts.CreateToken(p.srv.admin, "reader", []string{core.PermAccessContent}, nil, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.eng.Connect(ctx, p.ts.URL, tok); err != nil {
			t.Fatal(err)
		}
		defer p.eng.Connect(ctx, p.ts.URL, p.token)
		st := mustSyncStage(t, p.ladmin, p.local, "notallowed")
		item(t, p.ladmin, p.local, st.ID, "Nope")
		if _, err := p.eng.Push(p.ladmin, st.ID); core.ErrorCode(err) != core.EForbidden {
			t.Fatalf("%v", err)
		}
	})
}

// dropAfter answers a request matching match by sending the headers and
// part of the body, then cutting the connection.
func dropAfter(h http.Handler, match func(*http.Request) bool, times *atomic.Int32) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !match(r) || times.Add(-1) < 0 {
			return false
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r) // the server does the work; the answer is lost
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		body := rec.Body.Bytes()
		fmt.Fprintf(buf, "HTTP/1.1 %d OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", rec.Code, len(body))
		buf.Write(body[:len(body)/2])
		buf.Flush()
		conn.Close()
		return true
	}
}

func TestSyncDroppedConnectionAndQueue(t *testing.T) {
	ctx := context.Background()
	p := mustSyncPair(t, sitesync.Options{Retries: 3, BatchSize: 4})
	for i := 0; i < 6; i++ {
		item(t, p.srv.admin, p.srv.k, core.LiveStageID, fmt.Sprintf("Item %d", i))
	}
	var drops atomic.Int32
	drops.Store(2)
	p.setFault(dropAfter(p.srv.h, func(r *http.Request) bool { return r.URL.Path == api.Prefix+"/sync/changes" }, &drops))
	res, err := p.eng.Pull(ctx)
	if err != nil || drops.Load() >= 0 {
		t.Fatalf("pull through dropped connections: %+v %v (drops left %d)", res, err, drops.Load())
	}
	if n := countLive(t, p.local); n != 6 {
		t.Fatalf("local live items: %d", n)
	}

	// A push whose answer is lost after the server applied it: the retry
	// finds every entry applied.
	st := mustSyncStage(t, p.ladmin, p.local, "lost")
	item(t, p.ladmin, p.local, st.ID, "Lost answer")
	drops.Store(1)
	p.setFault(dropAfter(p.srv.h, func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/changeset") }, &drops))
	rep, err := p.eng.Push(p.ladmin, st.ID)
	if err != nil || !rep.Applied || rep.Skipped != 1 {
		t.Fatalf("push through a lost answer: %+v %v", rep, err)
	}

	// The server is down: the push queues, the state says offline since;
	// when it is back the queue flushes.
	p.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return true
	})
	q := mustSyncStage(t, p.ladmin, p.local, "queued")
	queued := item(t, p.ladmin, p.local, q.ID, "Queued")
	if _, err := p.eng.Push(p.ladmin, q.ID); core.ErrorCode(err) != core.EUnavailable || !strings.Contains(err.Error(), "queued") {
		t.Fatalf("push while down: %v", err)
	}
	s, _ := p.eng.Status(ctx)
	if s.State != core.SyncOffline || s.OfflineSince == nil || len(s.Queued) != 1 || s.Queued[0] != "queued" {
		t.Fatalf("status while down: %+v", s)
	}
	p.setFault(nil)
	time.Sleep(20 * time.Millisecond) // the queued push's backoff
	if err := p.eng.FlushQueue(p.ladmin); err != nil {
		t.Fatal(err)
	}
	mustFind(t, p.srv.admin, p.srv.k, q.ID, queued.ID)
	if s, _ = p.eng.Status(ctx); s.State != core.SyncIdle || len(s.Queued) != 0 {
		t.Fatalf("status after the flush: %+v", s)
	}

	// The desktop's loop: while the server is down it backs off; when it
	// is back the queued push goes and the server's changes come.
	p.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return true
	})
	q2 := mustSyncStage(t, p.ladmin, p.local, "queued-again")
	again := item(t, p.ladmin, p.local, q2.ID, "Queued again")
	if _, err := p.eng.Push(p.ladmin, q2.ID); core.ErrorCode(err) != core.EUnavailable {
		t.Fatalf("push while down: %v", err)
	}
	rctx, stop := context.WithCancel(p.ladmin)
	done := make(chan error, 1)
	go func() { done <- p.eng.Run(rctx, 20*time.Millisecond) }()
	time.Sleep(50 * time.Millisecond)
	late := item(t, p.srv.admin, p.srv.k, core.LiveStageID, "Late")
	p.setFault(nil)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, perr := p.local.Store.Items().FindItemByID(p.ladmin, core.LiveStageID, late.ID)
		_, serr := p.srv.k.Store.Items().FindItemByID(p.srv.admin, q2.ID, again.ID)
		if perr == nil && serr == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Run: pulled %v, pushed %v", perr, serr)
		}
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run ended with %v", err)
	}
}

func countLive(tb testing.TB, k *kernel.Kernel) int {
	tb.Helper()
	var n int
	if err := k.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM item`).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// failingBlobs is a blob store whose disk is full.
type failingBlobs struct{ core.BlobStore }

func (failingBlobs) PutBlob(ctx context.Context, r io.Reader, maxSize int64) (string, int64, error) {
	_, _ = io.CopyN(io.Discard, r, 8)
	return "", 0, fmt.Errorf("write blob: %w", syscall.ENOSPC)
}

func TestSyncResumeAndDiskFull(t *testing.T) {
	ctx := context.Background()
	p := mustSyncPair(t, sitesync.Options{BatchSize: 3, Blobs: failingBlobs{}})
	for i := 0; i < 8; i++ {
		item(t, p.srv.admin, p.srv.k, core.LiveStageID, fmt.Sprintf("Item %d", i))
	}
	file, err := p.srv.k.Files().CreateFile(p.srv.admin, "dot.png", bytes.NewReader(syncPNG))
	if err != nil {
		t.Fatal(err)
	}
	item(t, p.srv.admin, p.srv.k, core.LiveStageID, "After the file")

	// The disk fills while the file is stored: a clear error, the
	// batches before it kept, nothing of its batch applied.
	_, err = p.eng.Pull(ctx)
	if err == nil || !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), "dot.png") {
		t.Fatalf("pull onto a full disk: %v", err)
	}
	st, _ := p.eng.Status(ctx)
	if st.State != core.SyncFailed || !strings.Contains(st.LastError, "no space left") || st.Cursor == 0 {
		t.Fatalf("status: %+v", st)
	}
	if _, err := p.local.Files().FindFileByID(ctx, file.ID); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("file row without its bytes: %v", err)
	}
	before := countLive(t, p.local)
	if before == 0 || before >= 9 {
		t.Fatalf("live items after the failed batch: %d", before)
	}

	// Space again; an interrupted pull (cancelled after one batch) then
	// resumes where it stopped.
	eng, err := sitesync.New(sitesync.Options{Store: p.local.Store, TokenFile: p.tokenFile, BatchSize: 1, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	eng2, _ := sitesync.New(sitesync.Options{Store: p.local.Store, TokenFile: p.tokenFile, BatchSize: 1, Progress: func(core.SyncStatus) { cancel() }})
	res, err := eng2.Pull(cctx)
	if !errors.Is(err, context.Canceled) || res.Batches != 1 {
		t.Fatalf("interrupted pull: %+v %v", res, err)
	}
	mid, _ := eng.Status(ctx)
	if mid.Cursor <= st.Cursor {
		t.Fatalf("the interrupted pull kept no progress: %v -> %v", st.Cursor, mid.Cursor)
	}
	res, err = eng.Pull(ctx)
	if err != nil || res.Batches < 1 {
		t.Fatalf("resumed pull: %+v %v", res, err)
	}
	if n := countLive(t, p.local); n != 9 {
		t.Fatalf("live items: %d", n)
	}
	// Listings see them: every pulled item has its grant rows.
	if list, total, err := p.local.Store.Items().FindItems(core.NewContextWithUser(ctx, core.Anonymous), core.ItemFilter{Limit: 100}); err != nil || total != 9 || len(list) != 9 {
		t.Fatalf("anonymous listing of pulled items: %d of %d, %v", len(list), total, err)
	}
	if f, err := p.local.Files().FindFileByID(ctx, file.ID); err != nil || f.Hash != file.Hash {
		t.Fatalf("file: %v %v", f, err)
	}
	if st, _ := eng.Status(ctx); st.State != core.SyncIdle || st.LastError != "" || st.Done != st.Total {
		t.Fatalf("status after resuming: %+v", st)
	}
}

// TestSyncScenarios covers the sync routes with spec-checked scenarios.
func TestSyncScenarios(t *testing.T) {
	e := mustEnv(t, 0)
	f, err := e.k.Files().CreateFile(e.admin, "dot.png", bytes.NewReader(syncPNG))
	if err != nil {
		t.Fatal(err)
	}
	e.vars["hash"] = f.Hash
	stage := core.NewID()
	e.vars["sid"] = stage.String()
	e.vars["newhash"] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // sha256("abc")
	e.run(t, []scenario{
		{name: "InfoAnonymous", method: "GET", path: "/sync/info", status: 401, code: core.EUnauthorized},
		{name: "Info", method: "GET", path: "/sync/info", user: "token", status: 200, contains: []string{`"sync_version":1`, `"site_name":"Test Site"`}},
		{name: "Changes", method: "GET", path: "/sync/changes?limit=1000", user: "token", status: 200, contains: []string{`"kind":"user"`, `"kind":"config"`, f.ID.String()},
			check: func(t *testing.T, e *env, body []byte) {
				if bytes.Contains(body, []byte("@example.org")) || bytes.Contains(body, []byte("password")) {
					t.Fatalf("the user directory leaks: %s", trunc(body))
				}
			}},
		{name: "ChangesNotAnEditor", method: "GET", path: "/sync/changes", user: "al", status: 403, code: core.EForbidden},
		{name: "ChangesBadCursor", method: "GET", path: "/sync/changes?cursor=x", user: "token", status: 400, code: core.EInvalid, invalid: true},
		{name: "Blob", method: "GET", path: "/sync/blobs/{hash}", user: "token", status: 200},
		{name: "BlobMissing", method: "GET", path: "/sync/blobs/{newhash}", user: "token", status: 404},
		{name: "PutBlobWrongHash", method: "PUT", path: "/sync/blobs/{newhash}", raw: []byte("abd"), ctype: "application/octet-stream", user: "admin", status: 400, code: core.EInvalid},
		{name: "PutBlob", method: "PUT", path: "/sync/blobs/{newhash}", raw: []byte("abc"), ctype: "application/octet-stream", user: "admin", status: 200},
		{name: "Status", method: "GET", path: "/sync/status", user: "admin", status: 200, contains: []string{`"state":"idle"`}},
		{name: "ChangesetOtherStage", method: "POST", path: "/stages/{sid}/changeset", user: "admin", status: 400, code: core.EInvalid,
			body: `{"stage":{"id":"` + core.NewID().String() + `","name":"x"},"entries":[]}`},
		{name: "ChangesetMalformed", method: "POST", path: "/stages/{sid}/changeset", user: "admin", status: 400, code: core.EInvalid,
			body: `{"stage":{"id":"{sid}","name":"Bad Name"},"entries":[{"kind":"nope","entity_id":"{sid}","action":"create","base_revision_id":null,"revision":{"id":"{sid}","doc":{}}}]}`},
		{name: "ChangesetCreate", method: "POST", path: "/stages/{sid}/changeset", user: "admin", status: 200, contains: []string{`"applied":true`, `"created":true`},
			body: `{"stage":{"id":"{sid}","name":"pushed"},"entries":[{"kind":"alias","entity_id":"` + core.NewID().String() + `","action":"create","base_revision_id":null,
				"revision":{"id":"` + core.NewID().String() + `","created_at":"2026-01-02T03:04:05Z","log":"","type_version":0,"doc":{"alias":"/pushed","language":"und","path":"/item/1"}}}],"files":[]}`},
		{name: "ChangesetNoCSRF", method: "POST", path: "/stages/{sid}/changeset", user: "admin", noCSRF: true, status: 403,
			body: `{"stage":{"id":"{sid}","name":"pushed"},"entries":[]}`},
	})
}

func TestSyncThemesAndPlugins(t *testing.T) {
	ctx := context.Background()
	p := mustSyncPair(t, sitesync.Options{})
	// A plugin: its manifest and module (any bytes: nothing loads it here).
	module := []byte("\x00asm\x01\x00\x00\x00 sync test module")
	hash, _, err := p.srv.k.Store.Blobs().PutBlob(ctx, bytes.NewReader(module), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.srv.k.Store.Plugins().InstallPlugin(p.srv.admin, "hello", "1.2.3", "name = \"hello\"\n", hash, nil); err != nil {
		t.Fatal(err)
	}
	ts := p.srv.k.Store.Themes()
	for _, name := range []string{"acme", "beta"} {
		files := map[string][]byte{
			"theme.yaml":              []byte("name: " + name + "\nlabel: " + name + "\nregions: [header, content]\n"),
			"assets/" + name + ".css": []byte("body{color:#" + name[:3] + "}\n"),
		}
		if _, err := ts.InstallTheme(p.srv.admin, postgres.ThemeInstall{Name: name, Label: name, Regions: []string{"header", "content"}, Files: files}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.EnableTheme(p.srv.admin, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.eng.Pull(ctx); err != nil {
		t.Fatal(err)
	}
	pl, err := p.local.Store.Plugins().FindPlugin(ctx, "hello")
	if err != nil || pl.Version != "1.2.3" || pl.WasmHash != hash || pl.Manifest != "name = \"hello\"\n" {
		t.Fatalf("pulled plugin: %+v %v", pl, err)
	}
	if rc, _, err := p.local.Store.Blobs().OpenBlob(ctx, hash); err != nil {
		t.Fatalf("plugin module: %v", err)
	} else {
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(b, module) {
			t.Fatalf("plugin module bytes differ")
		}
	}
	local := p.local.Store.Themes()
	if th, err := local.EnabledTheme(ctx); err != nil || th == nil || th.Name != "acme" {
		t.Fatalf("enabled theme after the pull: %+v %v", th, err)
	}
	files, err := local.ReadThemeFiles(ctx, "beta")
	if err != nil || string(files["assets/beta.css"]) != "body{color:#bet}\n" || len(files) != 2 {
		t.Fatalf("beta's files: %q %v", files, err)
	}
	// Enabling another theme on the server disables the first here too.
	if err := ts.EnableTheme(p.srv.admin, "beta"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.eng.Pull(ctx); err != nil {
		t.Fatal(err)
	}
	if th, err := local.EnabledTheme(ctx); err != nil || th == nil || th.Name != "beta" {
		t.Fatalf("enabled theme after the second pull: %+v %v", th, err)
	}
	if err := ts.EnableTheme(p.srv.admin, "default"); err != nil {
		t.Fatal(err)
	}
	if err := ts.UninstallTheme(p.srv.admin, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.eng.Pull(ctx); err != nil {
		t.Fatal(err)
	}
	if th, err := local.EnabledTheme(ctx); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("the default theme is enabled on the server, here: %+v %v", th, err)
	}
	if _, err := local.FindTheme(ctx, "acme"); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("uninstalled on the server, still here: %v", err)
	}
}

// docConflicts reads the pull conflicts of config, roles, plugins and
// themes as GET /sync/status shows them to the app.
func docConflicts(tb testing.TB, p *syncPair) map[string]postgres.DocConflict {
	tb.Helper()
	out := map[string]postgres.DocConflict{}
	cs, err := p.local.Store.Sync().FindDocConflicts(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range cs {
		out[c.Kind+" "+c.ID] = c
	}
	return out
}

func mustPull(tb testing.TB, p *syncPair) *sitesync.PullResult {
	tb.Helper()
	res, err := p.eng.Pull(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// TestSyncPulledDocConflicts: a pull never overwrites a local change of a
// config document, role, plugin or theme; it records a conflict that
// theirs or mine settles. Unchanged local copies follow the server.
func TestSyncPulledDocConflicts(t *testing.T) {
	ctx := context.Background()
	p := mustSyncPair(t, sitesync.Options{})
	srv, sadmin, ladmin := p.srv.k.Store, p.srv.admin, p.ladmin
	local := p.local.Store
	putSite := func(ctx context.Context, s *postgres.Store, name string) {
		t.Helper()
		d, err := s.Config().FindConfig(ctx, "site", "site")
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		if err := json.Unmarshal(d.Body, &body); err != nil {
			t.Fatal(err)
		}
		body["site_name"] = name
		b, _ := json.Marshal(body)
		if _, err := s.Config().PutConfig(ctx, "site", "site", b, d.Version); err != nil {
			t.Fatal(err)
		}
	}
	siteName := func(s *postgres.Store) string {
		d, err := s.Config().FindConfig(ctx, "site", "site")
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Name string `json:"site_name"`
		}
		_ = json.Unmarshal(d.Body, &body)
		return body.Name
	}
	perms := func(s *postgres.Store) []string {
		r, err := s.Users().FindRoleByName(ctx, "reviewer")
		if err != nil {
			t.Fatal(err)
		}
		return r.Permissions
	}
	module := []byte("\x00asm\x01\x00\x00\x00 doc conflict module")
	hash, _, err := srv.Blobs().PutBlob(ctx, bytes.NewReader(module), 0)
	if err != nil {
		t.Fatal(err)
	}
	theme := func(css string) postgres.ThemeInstall {
		return postgres.ThemeInstall{Name: "acme", Label: "Acme", Regions: []string{"header", "content"}, Files: map[string][]byte{
			"theme.yaml": []byte("name: acme\nlabel: Acme\nregions: [header, content]\n"), "assets/acme.css": []byte(css)}}
	}

	// The server's state arrives; unchanged local copies follow it.
	putSite(sadmin, srv, "Server one")
	if err := srv.Users().CreateRole(sadmin, &core.Role{Name: "reviewer", Label: "Reviewer", Permissions: []string{core.PermAccessContent}}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Plugins().InstallPlugin(sadmin, "hello", "1.0.0", "name = \"hello\"\n", hash, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Themes().InstallTheme(sadmin, theme("a{}")); err != nil {
		t.Fatal(err)
	}
	if err := srv.Themes().EnableTheme(sadmin, "acme"); err != nil {
		t.Fatal(err)
	}
	if res := mustPull(t, p); res.Conflicts != 0 {
		t.Fatalf("first pull: %d conflicts", res.Conflicts)
	}
	putSite(sadmin, srv, "Server two")
	mustPull(t, p)
	if got := siteName(local); got != "Server two" {
		t.Fatalf("an unchanged local config did not follow the server: %q", got)
	}

	// Both sides change each of them.
	putSite(ladmin, local, "Local")
	putSite(sadmin, srv, "Server three")
	if err := local.Users().GrantPermission(ladmin, "reviewer", core.PermCreateStage); err != nil {
		t.Fatal(err)
	}
	if err := srv.Users().GrantPermission(sadmin, "reviewer", core.PermUploadFiles); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Plugins().SetPluginEnabled(ladmin, "hello", true, nil, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Plugins().InstallPlugin(sadmin, "hello", "1.1.0", "name = \"hello\"\n", hash, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Themes().InstallTheme(ladmin, theme("a{color:red}")); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Themes().InstallTheme(sadmin, theme("a{color:blue}")); err != nil {
		t.Fatal(err)
	}
	res := mustPull(t, p)
	if res.Conflicts != 4 {
		t.Fatalf("pull conflicts: %d, want 4 (%v)", res.Conflicts, docConflicts(t, p))
	}
	cs := docConflicts(t, p)
	for _, key := range []string{"config site/site", "role reviewer", "plugin hello", "theme acme"} {
		if _, ok := cs[key]; !ok {
			t.Errorf("no conflict for %s: %v", key, cs)
		}
	}
	// Nothing local was overwritten.
	if got := siteName(local); got != "Local" {
		t.Errorf("local site name overwritten: %q", got)
	}
	if got := perms(local); !slices.Contains(got, core.PermCreateStage) || slices.Contains(got, core.PermUploadFiles) {
		t.Errorf("local role overwritten: %v", got)
	}
	if pl, err := local.Plugins().FindPlugin(ctx, "hello"); err != nil || pl.Version != "1.0.0" || !pl.Enabled {
		t.Errorf("local plugin overwritten: %+v %v", pl, err)
	}
	if files, err := local.Themes().ReadThemeFiles(ctx, "acme"); err != nil || string(files["assets/acme.css"]) != "a{color:red}" {
		t.Errorf("local theme overwritten: %q %v", files["assets/acme.css"], err)
	}

	// The app sees them on GET /sync/status: the route reads the sync
	// tables of the site it serves (here the server's, given the rows).
	for _, c := range cs {
		b, _ := json.Marshal(c.Server)
		if _, err := p.srv.k.Pool.Exec(ctx, `INSERT INTO sync_doc_conflict (kind, id, server) VALUES ($1, $2, $3)`, c.Kind, c.ID, b); err != nil {
			t.Fatal(err)
		}
	}
	resp := p.srv.do("GET", "/sync/status", "", nil, "admin", false)
	var st struct {
		Conflicts     int                    `json:"conflicts"`
		LiveConflicts []any                  `json:"live_conflicts"`
		DocConflicts  []postgres.DocConflict `json:"doc_conflicts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK || len(st.DocConflicts) != 4 || st.LiveConflicts == nil {
		t.Fatalf("GET /sync/status: %d %+v %v", resp.StatusCode, st, err)
	}
	resp.Body.Close()

	// A second server change of a conflicted one replaces the stored one.
	putSite(sadmin, srv, "Server four")
	if res := mustPull(t, p); res.Conflicts != 0 {
		t.Fatalf("a conflict counted twice: %d", res.Conflicts)
	}
	if c := docConflicts(t, p)["config site/site"]; !strings.Contains(string(c.Server.Config.Body), "Server four") {
		t.Fatalf("stored server copy: %s", c.Server.Config.Body)
	}

	for _, c := range []struct{ kind, id, choice string }{
		{"config", "site/site", core.ResolveTheirs}, {"role", "reviewer", core.ResolveMine},
		{"plugin", "hello", core.ResolveTheirs}, {"theme", "acme", core.ResolveMine},
	} {
		if err := p.eng.ResolveDocConflict(ladmin, c.kind, c.id, c.choice); err != nil {
			t.Fatalf("resolve %s %s: %v", c.kind, c.id, err)
		}
	}
	if err := p.eng.ResolveDocConflict(ladmin, "role", "reviewer", core.ResolveMine); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("resolving twice: %v", err)
	}
	if got := siteName(local); got != "Server four" {
		t.Errorf("theirs: site name %q", got)
	}
	if pl, err := local.Plugins().FindPlugin(ctx, "hello"); err != nil || pl.Version != "1.1.0" {
		t.Errorf("theirs: plugin %+v %v", pl, err)
	}
	if got := perms(local); !slices.Contains(got, core.PermCreateStage) {
		t.Errorf("mine: role %v", got)
	}
	if files, _ := local.Themes().ReadThemeFiles(ctx, "acme"); string(files["assets/acme.css"]) != "a{color:red}" {
		t.Errorf("mine: theme %q", files["assets/acme.css"])
	}
	if st, _ := p.eng.Status(ctx); st.Conflicts != 0 {
		t.Fatalf("conflicts left: %d", st.Conflicts)
	}

	// Taken theirs: the server's next change applies. Kept mine: the
	// server's next change is a conflict again.
	putSite(sadmin, srv, "Server five")
	if err := srv.Users().GrantPermission(sadmin, "reviewer", core.PermAdministerMenus); err != nil {
		t.Fatal(err)
	}
	if res := mustPull(t, p); res.Conflicts != 1 {
		t.Fatalf("after resolving: %d conflicts (%v)", res.Conflicts, docConflicts(t, p))
	}
	if _, ok := docConflicts(t, p)["role reviewer"]; !ok || siteName(local) != "Server five" {
		t.Fatalf("after resolving: %v, site %q", docConflicts(t, p), siteName(local))
	}

	// The same change on both sides is no conflict.
	if _, err := local.Plugins().SetPluginEnabled(ladmin, "hello", true, nil, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Plugins().SetPluginEnabled(sadmin, "hello", true, nil, ""); err != nil {
		t.Fatal(err)
	}
	if res := mustPull(t, p); res.Conflicts != 0 {
		t.Fatalf("the same change on both sides: %d conflicts", res.Conflicts)
	}
	// A deletion on the server meets a local change.
	if err := srv.Themes().EnableTheme(sadmin, "default"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Themes().UninstallTheme(sadmin, "acme"); err != nil {
		t.Fatal(err)
	}
	mustPull(t, p)
	if c, ok := docConflicts(t, p)["theme acme"]; !ok || !c.Server.Deleted {
		t.Fatalf("server deletion of a locally changed theme: %+v", c)
	}
	if _, err := local.Themes().FindTheme(ctx, "acme"); err != nil {
		t.Fatalf("the local theme was deleted: %v", err)
	}
	if err := p.eng.ResolveDocConflict(ladmin, "theme", "acme", core.ResolveTheirs); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Themes().FindTheme(ctx, "acme"); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("theirs of a deletion: %v", err)
	}

	// Another server URL: what the old one brought is forgotten, so the
	// first pull from the new one adopts its copies.
	if _, ok := docConflicts(t, p)["role reviewer"]; !ok {
		t.Fatal("the role's conflict is gone before reconnecting")
	}
	other := strings.Replace(p.ts.URL, "127.0.0.1", "localhost", 1)
	if _, err := p.eng.Connect(ctx, other, p.token); err != nil {
		t.Fatal(err)
	}
	if cs := docConflicts(t, p); len(cs) != 0 {
		t.Fatalf("conflicts with the old server kept: %v", cs)
	}
	if res := mustPull(t, p); res.Conflicts != 0 {
		t.Fatalf("first pull from the new server: %d conflicts", res.Conflicts)
	}
	if got, want := perms(local), perms(srv); !slices.Equal(got, want) {
		t.Fatalf("the new server's role not adopted: %v, server %v", got, want)
	}
}

// TestSyncTokenFile: the API token lives in a 0600 file, never in the
// database; a token an older version stored there moves to the file.
func TestSyncTokenFile(t *testing.T) {
	ctx := context.Background()
	p := mustSyncPair(t, sitesync.Options{})
	fi, err := os.Stat(p.tokenFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(p.tokenFile); strings.TrimSpace(string(b)) != p.token {
		t.Fatalf("token file holds %q", b)
	}
	var stored string
	if err := p.local.Pool.QueryRow(ctx, `SELECT token FROM sync_remote`).Scan(&stored); err != nil || stored != "" {
		t.Fatalf("token in the database: %q %v", stored, err)
	}
	mustPull(t, p)

	// Readable by others: refused with what to do.
	if err := os.Chmod(p.tokenFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := p.eng.Pull(ctx); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable token file: %v", err)
	}
	// Missing, with a token left in the database by an older version:
	// moved to the file, blanked in the database.
	if err := os.Remove(p.tokenFile); err != nil {
		t.Fatal(err)
	}
	if _, err := p.eng.Pull(ctx); err == nil || !strings.Contains(err.Error(), "sync connect") {
		t.Fatalf("missing token file: %v", err)
	}
	if _, err := p.local.Pool.Exec(ctx, `UPDATE sync_remote SET token = $1`, p.token); err != nil {
		t.Fatal(err)
	}
	mustPull(t, p)
	if err := p.local.Pool.QueryRow(ctx, `SELECT token FROM sync_remote`).Scan(&stored); err != nil || stored != "" {
		t.Fatalf("legacy token left in the database: %q %v", stored, err)
	}
	if fi, err := os.Stat(p.tokenFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("legacy token not moved to its file: %v %v", fi, err)
	}
}

// TestSyncPulledPluginRuns: the reference blog plugin, installed and
// enabled on the server, is pulled and then loads and runs its taps on
// the local site: its /blog route lists a blog entry pulled with it.
func TestSyncPulledPluginRuns(t *testing.T) {
	manifest, err1 := fs.ReadFile(plugins.Dist, "dist/blog/plugin.toml")
	module, err2 := fs.ReadFile(plugins.Dist, "dist/blog/blog.wasm")
	if err1 != nil || err2 != nil {
		t.Skip("no blog plugin in plugins/dist (run build/plugins.sh)")
	}
	ctx := context.Background()
	p := mustSyncPair(t, sitesync.Options{})
	srv, sadmin := p.srv.k, p.srv.admin
	if _, err := srv.Plugins.InstallBytes(sadmin, "blog.wasm", manifest, module); err != nil {
		t.Fatal(err)
	}
	if err := srv.Plugins.Enable(sadmin, "blog", []string{"item.read", "user.read", "variables", "access.vote"}); err != nil {
		t.Fatal(err)
	}
	entry := &core.Item{Type: "blog", Title: "Pulled blog entry", Status: core.StatusPublished}
	if err := srv.Store.Items().CreateItem(sadmin, core.LiveStageID, entry, ""); err != nil {
		t.Fatal(err)
	}
	mustPull(t, p)

	// What the local site's Watch does for the pulled plugin's feed row.
	pm := p.local.Plugins
	if err := pm.Reload(ctx, "blog"); err != nil {
		t.Fatal(err)
	}
	if !pm.Implements(ctx, "page_view") {
		t.Fatal("the pulled plugin's taps are not loaded here")
	}
	route, params, ok := pm.MatchRoute(ctx, "/blog")
	if !ok || route.Plugin != "blog" {
		t.Fatalf("/blog is not the pulled plugin's route here: %+v %v", route, ok)
	}
	page, err := pm.PageView(p.ladmin, "blog", kernel.PageViewInput{Path: "/blog", Route: route.Path, Params: params, Stage: core.LiveStageID.String()})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(page.Content)
	if !strings.Contains(string(b), "Pulled blog entry") {
		t.Fatalf("the pulled plugin's page does not list the pulled entry: %s", b)
	}
}

// TestSyncPulledThemeRenders: a theme enabled on the server is pulled and
// the local site renders its pages with it.
func TestSyncPulledThemeRenders(t *testing.T) {
	p := mustSyncPair(t, sitesync.Options{})
	srv, sadmin := p.srv.k, p.srv.admin
	page := `<!DOCTYPE html>
<html lang="{{.Lang}}">
<head><meta charset="utf-8"><title>{{.HeadTitle}}</title>
<link rel="stylesheet" href="{{.Asset "acme.css"}}"></head>
<body class="acme-pulled">
<main>{{if not .HideTitle}}<h1>{{.Title}}</h1>{{end}}{{.Region "content"}}</main>
</body>
</html>
`
	files := map[string][]byte{
		"theme.yaml":          []byte("name: acme\nlabel: Acme\nregions: [header, content]\n"),
		"templates/page.html": []byte(page),
		"assets/acme.css":     []byte("body{color:#123}\n"),
	}
	if _, err := srv.Store.Themes().InstallTheme(sadmin, postgres.ThemeInstall{Name: "acme", Label: "Acme", Regions: []string{"header", "content"}, Files: files}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Store.Themes().EnableTheme(sadmin, "acme"); err != nil {
		t.Fatal(err)
	}
	it := item(t, sadmin, srv, core.LiveStageID, "Themed here")
	mustPull(t, p)

	// The local site starts as serve and the desktop do: with the enabled
	// theme.
	site, err := server.New(p.local, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := site.LoadTheme(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	site.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/item/"+it.ID.String(), nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `class="acme-pulled"`) || !strings.Contains(rec.Body.String(), "Themed here") {
		t.Fatalf("GET /item/%s on the local site: %d\n%.600s", it.ID, rec.Code, rec.Body.String())
	}
}
