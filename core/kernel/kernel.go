// Package kernel is Trovato's composition root: kernel.New(ctx, cfg) wires
// the stores, services and plugins that the server, the desktop and the
// CLI share.
package kernel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

// Options tunes New.
type Options struct {
	Logger *slog.Logger
	// SkipMigrate opens the database without applying migrations (for
	// `trovato migrate status`).
	SkipMigrate bool
}

// Kernel is one running Trovato: its database, stores and services.
type Kernel struct {
	Config  Config
	Log     *slog.Logger
	Pool    *pgxpool.Pool
	Store   *postgres.Store
	Cluster *postgres.Cluster // nil with an external DATABASE_URL
	Plugins *PluginManager
	// Accounts signs people and programs in and writes the audit log.
	Accounts *postgres.Accounts
	// SessionUsers resolves signed-in sessions to their users (cached
	// once serve wires its invalidation).
	SessionUsers *SessionUsers
}

// New opens (and, without DATABASE_URL, starts) the database, applies
// pending migrations under an advisory lock, and builds the services.
func New(ctx context.Context, cfg Config, opts Options) (*Kernel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	k := &Kernel{Config: cfg, Log: log}
	url := cfg.DatabaseURL
	if url == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, core.Errorf(core.EInvalid, "data directory %s is not writable (%v): choose another with --data-dir or TROVATO_DATA_DIR, or fix its permissions", cfg.DataDir, unwrapPath(err))
		}
		cl, err := postgres.OpenCluster(ctx, postgres.ClusterConfig{Dir: filepath.Join(cfg.DataDir, "pg"), Logger: log.With("component", "postgres")})
		if err != nil {
			return nil, err
		}
		k.Cluster = cl
		url = cl.URL(postgres.ClusterDatabase)
	}
	pool, err := postgres.Open(ctx, url)
	if err != nil {
		k.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	k.Pool = pool
	if !opts.SkipMigrate {
		applied, err := postgres.Migrate(ctx, pool, log.With("component", "migrate"))
		if err != nil {
			k.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("migrate: %w", err)
		}
		for _, m := range applied {
			log.Info("applied migration", "migration", m)
		}
	}
	k.Store = postgres.NewStore(postgres.StoreConfig{Pool: pool, Logger: log.With("component", "store"), ValidateConfig: core.CheckConfigDocument})
	if k.Accounts, err = newAccounts(k); err != nil {
		k.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	k.SessionUsers = NewSessionUsers(k.Store.Users(), k.Accounts, 10000)
	k.Store.OnCommit(k.SessionUsers.Apply)
	if k.Plugins, err = NewPluginManager(ctx, k.Store, PluginOptions{Logger: log, CacheDir: cfg.PluginCacheDir}); err != nil {
		k.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return k, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Files returns the file service with the configured limits.
func (k *Kernel) Files() *postgres.Files {
	return k.Store.Files(postgres.FileLimits{MaxSize: k.Config.MaxUploadBytes, Allowed: k.Config.AllowedUploadTypes})
}

// Close releases the database and, when this process holds the last lease
// on the embedded cluster, stops it.
func (k *Kernel) Close(ctx context.Context) {
	if k.Accounts != nil {
		k.Accounts.Wait()
	}
	if k.Plugins != nil {
		_ = k.Plugins.Close(ctx)
	}
	if k.Pool != nil {
		k.Pool.Close()
	}
	if k.Cluster != nil {
		if err := k.Cluster.Close(ctx); err != nil {
			k.Log.Error("stop embedded PostgreSQL", "err", err)
		}
	}
}

// AsUser returns ctx acting as the named user (the CLI's --as).
func (k *Kernel) AsUser(ctx context.Context, name string) (context.Context, error) {
	u, err := k.Store.Users().FindUserByName(ctx, name)
	if err != nil {
		return nil, core.Errorf(core.ENotFound, "--as %s: user %q does not exist (see: trovato user list)", name, name)
	}
	if u.Status != core.UserActive {
		return nil, core.Errorf(core.EForbidden, "--as %s: the user is blocked", name)
	}
	return core.NewContextWithUser(ctx, u), nil
}
