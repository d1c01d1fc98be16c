// Package sitesync keeps a local site (the desktop's) in sync with a
// Trovato server over HTTP+JSON (/api/v1, docs/sync.md): it pulls the
// server's live site incrementally from its change feed, resumably, and
// pushes local stages as changesets with base revisions. Offline pushes
// queue and retry with backoff; the sync state is stored in the local
// database, where GET /api/v1/sync/status and `trovato sync status` read
// it. It is a client only: it never imports the server.
package sitesync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

// Options configure an Engine.
type Options struct {
	// Store is the local site's store.
	Store *postgres.Store
	// TokenFile holds the server's API token (mode 0600), normally
	// TokenFileName in the local site's data directory. Required.
	TokenFile string
	// Blobs receives pulled file and plugin bytes; nil means the store's.
	Blobs core.BlobStore
	// HTTPClient; nil builds one with Timeout.
	HTTPClient *http.Client
	// Timeout bounds one request (default 60 s).
	Timeout time.Duration
	// BatchSize is how many feed rows one pull request asks for (default
	// 500).
	BatchSize int
	// Retries is how many times a failed request is retried when the
	// failure is transient (default 4); Backoff the first wait (default
	// 500 ms), doubled per retry up to MaxBackoff (default 30 s).
	Retries    int
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Progress, when set, is told the state after every pull batch.
	Progress func(core.SyncStatus)
	Logger   *slog.Logger
}

// Engine syncs one local site with its server.
type Engine struct {
	opts  Options
	local *postgres.Sync
	blobs core.BlobStore
	hc    *http.Client
	log   *slog.Logger
}

// New returns an engine over the local store.
func New(opts Options) (*Engine, error) {
	if opts.Store == nil {
		return nil, errors.New("sitesync: a local store is required")
	}
	if opts.TokenFile == "" {
		return nil, errors.New("sitesync: a token file is required (TokenFileName in the data directory)")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.Retries < 0 {
		opts.Retries = 0
	} else if opts.Retries == 0 {
		opts.Retries = 4
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	e := &Engine{opts: opts, local: opts.Store.Sync(), blobs: opts.Blobs, hc: opts.HTTPClient, log: opts.Logger}
	if e.blobs == nil {
		e.blobs = opts.Store.Blobs()
	}
	if e.hc == nil {
		e.hc = &http.Client{Timeout: opts.Timeout}
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.log = e.log.With("component", "sync")
	return e, nil
}

// NoRetries is the Retries value that turns retrying off.
const NoRetries = -1

func (e *Engine) client(base, token string) *client {
	return &client{base: strings.TrimRight(base, "/"), token: token, hc: e.hc, timeout: e.opts.Timeout}
}

// retry runs fn until it succeeds, fails for good, or the retries are
// spent, waiting Backoff, 2×Backoff, ... between attempts.
func (e *Engine) retry(ctx context.Context, what string, fn func() error) error {
	wait := e.opts.Backoff
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || !isTransient(err) || attempt >= e.opts.Retries {
			return err
		}
		e.log.Info("retrying", "what", what, "attempt", attempt+1, "wait", wait, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
		if wait > e.opts.MaxBackoff {
			wait = e.opts.MaxBackoff
		}
	}
}

// Connect checks the server (its sync version, the token) and stores it
// as this site's server. Connecting to another URL starts pulling anew.
func (e *Engine) Connect(ctx context.Context, serverURL, token string) (*core.SyncInfo, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, core.Errorf(core.EInvalid, "server URL %q: give http(s)://host[:port]", serverURL)
	}
	if strings.TrimSpace(token) == "" {
		return nil, core.Errorf(core.EInvalid, "an API token is required (create one on the server: trovato token create)")
	}
	info, err := e.info(ctx, e.client(serverURL, token))
	if err != nil {
		return nil, err
	}
	if err := writeToken(e.opts.TokenFile, token); err != nil {
		return nil, err
	}
	if err := e.local.Connect(ctx, strings.TrimRight(serverURL, "/")); err != nil {
		return nil, err
	}
	return info, nil
}

func (e *Engine) info(ctx context.Context, c *client) (*core.SyncInfo, error) {
	var info core.SyncInfo
	err := e.retry(ctx, "info", func() error { return c.request(ctx, "GET", "/sync/info", nil, "", &info) })
	if err != nil {
		if core.ErrorCode(err) == core.ENotFound {
			return nil, core.Errorf(core.EInvalid, "%s does not serve Trovato sync (no /api/v1/sync/info); is it a Trovato server of this version?", c.base)
		}
		return nil, err
	}
	if info.SyncVersion != core.SyncVersion {
		return nil, core.Errorf(core.EInvalid, "the server %s speaks sync version %d; this site speaks version %d: update the older side", c.base, info.SyncVersion, core.SyncVersion)
	}
	return &info, nil
}

// remote opens the connected server and checks it.
func (e *Engine) remote(ctx context.Context) (*postgres.Remote, *client, error) {
	r, err := e.local.FindRemote(ctx)
	if err != nil {
		return nil, nil, err
	}
	tok, err := e.token(ctx, r.LegacyToken)
	if err != nil {
		return nil, nil, err
	}
	c := e.client(r.URL, tok)
	if _, err := e.info(ctx, c); err != nil {
		return nil, nil, err
	}
	return r, c, nil
}

// Status returns the sync state.
func (e *Engine) Status(ctx context.Context) (*core.SyncStatus, error) { return e.local.Status(ctx) }

// setStatus changes the stored state through fn.
func (e *Engine) setStatus(ctx context.Context, fn func(st *core.SyncStatus)) {
	st, err := e.local.Status(ctx)
	if err != nil {
		e.log.Warn("read sync status", "err", err)
		return
	}
	fn(st)
	if err := e.local.SaveStatus(context.WithoutCancel(ctx), st); err != nil {
		e.log.Warn("store sync status", "err", err)
	}
	if e.opts.Progress != nil {
		e.opts.Progress(*st)
	}
}

// failed records err in the state: offline for a server that does not
// answer, failed otherwise.
func (e *Engine) failed(ctx context.Context, err error) {
	now := time.Now().UTC()
	e.setStatus(ctx, func(st *core.SyncStatus) {
		st.LastError = errorLine(err)
		st.Stage = ""
		if isTransient(err) {
			st.State = core.SyncOffline
			if st.OfflineSince == nil {
				st.OfflineSince = &now
			}
		} else {
			st.State = core.SyncFailed
		}
	})
}

func errorLine(err error) string {
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		return ce.Error()
	}
	return err.Error()
}

// PullResult says what a pull did.
type PullResult struct {
	Batches   int             `json:"batches"`
	Changes   int             `json:"changes"`
	Entities  int             `json:"entities"`
	Conflicts int             `json:"conflicts"`
	Cursor    core.FeedCursor `json:"cursor,string"`
}

// Pull copies every change since the last pull into the local site, one
// batch per transaction with the cursor; an interrupted pull resumes at
// the last applied batch. Changes that met local edits of live are pull
// conflicts (Status().Conflicts; ResolvePullConflict).
func (e *Engine) Pull(ctx context.Context) (*PullResult, error) {
	res, err := e.pull(ctx)
	if err != nil {
		e.failed(ctx, err)
		return res, err
	}
	now := time.Now().UTC()
	e.setStatus(ctx, func(st *core.SyncStatus) {
		st.State, st.LastError, st.OfflineSince, st.LastPull = core.SyncIdle, "", nil, &now
	})
	return res, nil
}

func (e *Engine) pull(ctx context.Context) (*PullResult, error) {
	res := &PullResult{}
	r, c, err := e.remote(ctx)
	if err != nil {
		return res, err
	}
	cur := r.Cursor
	res.Cursor = cur
	total := -1
	for {
		var b core.SyncBatch
		path := "/sync/changes?cursor=" + strconv.FormatUint(uint64(cur), 10) + "&limit=" + strconv.Itoa(e.opts.BatchSize)
		if err := e.retry(ctx, "pull", func() error { return c.request(ctx, "GET", path, nil, "", &b) }); err != nil {
			return res, fmt.Errorf("pull: %w", err)
		}
		if total < 0 {
			total = b.Changes + b.Pending
		}
		if err := e.fetchBlobs(ctx, c, b.Entities); err != nil {
			return res, fmt.Errorf("pull: %w", err)
		}
		n, err := e.local.ApplyBatch(ctx, cur, &b)
		if err != nil {
			return res, fmt.Errorf("pull: %w", err)
		}
		cur = b.Cursor
		res.Batches++
		res.Changes += b.Changes
		res.Entities += len(b.Entities)
		res.Conflicts += n
		res.Cursor = cur
		done := res.Changes
		e.setStatus(ctx, func(st *core.SyncStatus) {
			st.State, st.Done, st.Total, st.Stage = core.SyncPulling, done, max(total, done), ""
		})
		if b.Pending == 0 || b.Changes == 0 {
			return res, nil
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
	}
}

// fetchBlobs stores the bytes of every file and plugin of a batch that
// the local site lacks, checking each hash.
func (e *Engine) fetchBlobs(ctx context.Context, c *client, ents []core.SyncEntity) error {
	type blob struct{ hash, what string }
	var want []blob
	for _, ent := range ents {
		switch {
		case ent.File != nil:
			want = append(want, blob{ent.File.Hash, fmt.Sprintf("file %s (%s)", ent.File.ID, ent.File.Name)})
		case ent.Plugin != nil:
			want = append(want, blob{ent.Plugin.WasmHash, "plugin " + ent.Plugin.Name})
		case ent.Theme != nil:
			for path, hash := range ent.Theme.Files {
				want = append(want, blob{hash, "theme " + ent.Theme.Name + " file " + path})
			}
		}
	}
	for _, bl := range want {
		hash, what := bl.hash, bl.what
		ok, err := e.local.HasBlob(ctx, hash)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			continue
		}
		err = e.retry(ctx, "blob", func() error {
			res, err := c.send(ctx, "GET", "/sync/blobs/"+hash, nil, "")
			if err != nil {
				return err
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
				return c.statusError("GET", "/sync/blobs/"+hash, res, b)
			}
			got, _, err := e.blobs.PutBlob(ctx, &netReader{r: res.Body}, 0)
			if err != nil {
				var ne *netError
				if errors.As(err, &ne) {
					return &transientError{fmt.Errorf("download %s: the connection dropped: %v", what, ne.err)}
				}
				return fmt.Errorf("store %s: %w", what, err)
			}
			if got != hash {
				return &transientError{fmt.Errorf("download %s: got bytes hashing to %s, not %s", what, got, hash)}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// netReader marks read errors as the network's, so a blob store's error
// is told apart from a dropped download.
type netReader struct{ r io.Reader }

type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

func (n *netReader) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if err != nil && err != io.EOF {
		return k, &netError{err}
	}
	return k, err
}

// Push sends a local stage to the server as one changeset. Applied, it
// returns the report. A conflict or refusal comes back as *ConflictError
// with the report (nothing applied on either side). When the server does
// not answer, the push is queued (FlushQueue and Run retry it) and the
// error says so.
func (e *Engine) Push(ctx context.Context, stage core.ID) (*core.ChangesetReport, error) {
	rep, err := e.push(ctx, stage, 0)
	if err != nil {
		e.failed(ctx, err)
		return rep, err
	}
	return rep, nil
}

func (e *Engine) push(ctx context.Context, stage core.ID, attempts int) (*core.ChangesetReport, error) {
	cs, err := e.local.BuildChangeset(ctx, stage)
	if err != nil {
		return nil, err
	}
	e.setStatus(ctx, func(st *core.SyncStatus) { st.State, st.Stage = core.SyncPushing, cs.Stage.Name })
	var rep core.ChangesetReport
	err = e.sendChangeset(ctx, cs, &rep)
	if err != nil {
		if isTransient(err) {
			next := time.Now().Add(e.backoffAfter(attempts + 1))
			if qerr := e.local.QueuePush(ctx, cs.Stage.ID, attempts+1, next, errorLine(err)); qerr != nil {
				return nil, fmt.Errorf("%w (and queueing the push failed: %v)", err, qerr)
			}
			return nil, &transientError{core.Errorf(core.EUnavailable, "%s; the push of stage %q is queued and will be retried", errorLine(err), cs.Stage.Name)}
		}
		return nil, err
	}
	if err := e.local.RecordPush(ctx, cs); err != nil {
		return &rep, err
	}
	now := time.Now().UTC()
	e.setStatus(ctx, func(st *core.SyncStatus) {
		st.State, st.Stage, st.LastError, st.OfflineSince, st.LastPush = core.SyncIdle, "", "", nil, &now
	})
	return &rep, nil
}

func (e *Engine) sendChangeset(ctx context.Context, cs *core.Changeset, rep *core.ChangesetReport) error {
	r, c, err := e.remote(ctx)
	if err != nil {
		return err
	}
	_ = r
	for _, f := range cs.Files {
		if err := e.uploadBlob(ctx, c, f); err != nil {
			return err
		}
	}
	body, err := jsonBody(cs)
	if err != nil {
		return err
	}
	return e.retry(ctx, "push", func() error {
		return c.request(ctx, "POST", "/stages/"+cs.Stage.ID.String()+"/changeset", body, "application/json", rep)
	})
}

func (e *Engine) uploadBlob(ctx context.Context, c *client, f core.File) error {
	return e.retry(ctx, "upload", func() error {
		rc, _, err := e.opts.Store.Blobs().OpenBlob(ctx, f.Hash)
		if err != nil {
			return fmt.Errorf("file %s (%s): %w", f.ID, f.Name, err)
		}
		defer rc.Close()
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, rc); err != nil {
			return fmt.Errorf("read file %s (%s): %w", f.ID, f.Name, err)
		}
		return c.request(ctx, "PUT", "/sync/blobs/"+f.Hash, buf.Bytes(), "application/octet-stream", nil)
	})
}

func (e *Engine) backoffAfter(attempts int) time.Duration {
	d := e.opts.Backoff
	for i := 1; i < attempts && d < e.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, e.opts.MaxBackoff)
}

// FlushQueue retries queued pushes whose time has come; each that still
// cannot reach the server waits twice as long next time.
func (e *Engine) FlushQueue(ctx context.Context) error {
	qs, err := e.local.FindQueuedPushes(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, q := range qs {
		if q.NextAt.After(time.Now()) {
			continue
		}
		if _, err := e.push(ctx, q.StageID, q.Attempts); err != nil {
			if !isTransient(err) {
				// A refusal or conflict needs a person; it leaves the queue.
				if derr := e.local.DropQueuedPush(ctx, q.StageID); derr != nil {
					errs = append(errs, derr)
				}
			}
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		e.failed(ctx, err)
		return err
	}
	return nil
}

// Run pulls and flushes the push queue every interval until ctx ends,
// backing off while the server does not answer. The desktop runs it.
func (e *Engine) Run(ctx context.Context, every time.Duration) error {
	wait := every
	for {
		err := e.FlushQueue(ctx)
		if err == nil {
			_, err = e.Pull(ctx)
		}
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && isTransient(err):
			wait = min(max(wait*2, e.opts.Backoff), e.opts.MaxBackoff)
		default:
			wait = every
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// ResolvePushConflict settles one entity of a refused push: mine keeps
// the local change and takes the server's current revision as its base
// (the next push applies it over theirs); theirs makes the local stage
// show the server's version. ctx carries the local user.
func (e *Engine) ResolvePushConflict(ctx context.Context, stage core.ID, p core.ChangesetProblem, choice string) error {
	return e.local.ResolvePushConflict(ctx, stage, p, choice)
}

// ResolvePullConflict settles a pulled change that met a local edit of
// live: theirs takes the server's revision, mine keeps the local one.
func (e *Engine) ResolvePullConflict(ctx context.Context, kind string, id core.ID, choice string) error {
	return e.local.ResolvePullConflict(ctx, kind, id, choice)
}

// ResolveDocConflict settles a pull conflict of a config document (id
// KIND/NAME), role, plugin or theme (id its name): theirs applies the
// server's copy, mine keeps the local one.
func (e *Engine) ResolveDocConflict(ctx context.Context, kind, id, choice string) error {
	return e.local.ResolveDocConflict(ctx, kind, id, choice)
}
