package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/trovato/trovato/core"
)

// ConfigValidator checks (and may normalise) a config document body of a
// kind before it is stored.
type ConfigValidator func(kind, name string, body json.RawMessage) (json.RawMessage, error)

// Store is the PostgreSQL implementation of the kernel's services. Each
// service is a thin view over it (Users, Config, Items, Stages, Files).
type Store struct {
	pool     *pgxpool.Pool
	log      *slog.Logger
	authz    *core.Authorizer
	perms    *core.Permissions
	validate ConfigValidator
	grants   core.GrantsProvider
	hooks    core.ItemHooks
	gext     core.GatherExtender // see SetGatherExtender
	now      func() time.Time
	// afterCommit are told about every committed change (the writing
	// node bumps cache tags and evicts cached users right after commit).
	afterCommit []func([]core.Change)
}

// StoreConfig configures a Store.
type StoreConfig struct {
	Pool        *pgxpool.Pool
	Logger      *slog.Logger
	Permissions *core.Permissions
	// ValidateConfig checks config documents; nil accepts any JSON object.
	ValidateConfig ConfigValidator
	// AuthzTTL bounds how long role permissions are cached (default 2 s).
	AuthzTTL time.Duration
}

// NewStore returns a store over a migrated database.
func NewStore(cfg StoreConfig) *Store {
	s := &Store{pool: cfg.Pool, log: cfg.Logger, perms: cfg.Permissions, validate: cfg.ValidateConfig, now: time.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.perms == nil {
		s.perms = core.NewPermissions()
	}
	ttl := cfg.AuthzTTL
	if ttl == 0 {
		ttl = 2 * time.Second
	}
	s.authz = core.NewAuthorizer(&Users{s}, ttl)
	return s
}

// SetItemHooks installs the plugin item hooks (nil removes them).
func (s *Store) SetItemHooks(h core.ItemHooks) { s.hooks = h }

// Pool returns the connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Authorizer returns the store's authorizer.
func (s *Store) Authorizer() *core.Authorizer { return s.authz }

// Permissions returns the permission registry.
func (s *Store) Permissions() *core.Permissions { return s.perms }

// OnCommit registers fn, after those registered before, to be told about
// changes right after they commit. Call it while setting up.
func (s *Store) OnCommit(fn func([]core.Change)) { s.afterCommit = append(s.afterCommit, fn) }

// txn is one write transaction; it collects the feed rows it appends.
type txn struct {
	pgx.Tx
	s       *Store
	changes []core.Change
	// Caches for the transaction's lifetime (a publish reads the same
	// revisions and types many times).
	revs  map[core.ID]*revision
	types map[string]cachedType
}

type cachedType struct {
	t       *core.ItemType
	version int
}

// inTx runs fn in a transaction and commits it; fn's error rolls back.
func (s *Store) inTx(ctx context.Context, fn func(tx *txn) error) error {
	ptx, err := s.pool.Begin(ctx)
	if err != nil {
		return TranslateError(err)
	}
	tx := &txn{Tx: ptx, s: s}
	defer func() { _ = ptx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return TranslateError(err)
	}
	if len(tx.changes) > 0 {
		for _, fn := range s.afterCommit {
			fn(tx.changes)
		}
	}
	return nil
}

// feed appends one row to the change feed in the transaction.
func (tx *txn) feed(ctx context.Context, kind, entityID string, stage, rev, release *core.ID, op string) error {
	_, err := tx.Exec(ctx, `INSERT INTO change_feed (kind, entity_id, stage_id, revision_id, release_id, op)
		VALUES ($1, $2, $3, $4, $5, $6)`, kind, entityID, stage, rev, release, op)
	if err != nil {
		return fmt.Errorf("append change %s %s: %w", kind, entityID, TranslateError(err))
	}
	tx.changes = append(tx.changes, core.Change{Kind: kind, EntityID: entityID, StageID: stage, RevisionID: rev, ReleaseID: release, Op: op})
	return nil
}

func idPtr(id core.ID) *core.ID { return &id }

// querier is what both a pool and a transaction offer.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}
