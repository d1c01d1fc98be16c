package postgres

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/trovato/trovato/core"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLockKey is the pg_advisory_lock key held while migrating, so two
// nodes starting together do not race ("trovato.migrate" as int64).
const migrateLockKey int64 = 0x74726f762e6d6967

// Migration is one embedded SQL file, migrations/NNNN_name.sql.
type Migration struct {
	Version  int
	Name     string
	Checksum string // hex SHA-256 of the file
	SQL      string
}

// MigrationState is a migration and whether it has been applied.
type MigrationState struct {
	Version   int
	Name      string
	Applied   bool
	AppliedAt time.Time // zero when pending
}

var migrationName = regexp.MustCompile(`^([0-9]{4})_([a-z0-9_]+)\.sql$`)

// Migrations returns the embedded migrations in version order.
//
// Errors: EInvalid for a misnamed file or a duplicate version (a build
// problem, caught by the tests).
func Migrations() ([]Migration, error) {
	return loadMigrations(migrationFiles, "migrations")
}

// MigrationsChecksum returns a hex SHA-256 over every embedded migration
// (version, name and checksum): it changes whenever the schema does.
func MigrationsChecksum() (string, error) {
	ms, err := Migrations()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range ms {
		fmt.Fprintf(h, "%d %s %s\n", m.Version, m.Name, m.Checksum)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func loadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, core.Errorf(core.EInvalid, "migration %s: name must be NNNN_lower_snake.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if v == 0 {
			return nil, core.Errorf(core.EInvalid, "migration %s: versions start at 0001", e.Name())
		}
		if other, dup := seen[v]; dup {
			return nil, core.Errorf(core.EInvalid, "migrations %s and %s share version %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(b)
		ms = append(ms, Migration{Version: v, Name: m[2], Checksum: hex.EncodeToString(sum[:]), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Migrate applies the pending embedded migrations in version order, each in
// its own transaction, holding a session advisory lock so concurrent
// callers (nodes starting together) apply each migration exactly once. It
// returns the applied files ("0002_name.sql").
//
// Errors: EInvalid when an applied migration's file changed (checksum) or
// the database has a migration this binary does not know (it is newer);
// a failing migration is reported with its file name, and nothing of it is
// kept.
func Migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) ([]string, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	return migrate(ctx, pool, log, ms)
}

func migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, ms []Migration) (applied []string, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	t0 := time.Now()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		return nil, fmt.Errorf("migrate: take advisory lock: %w", err)
	}
	defer func() {
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLockKey); uerr != nil {
			// The session still holds the lock: drop the connection so the
			// server releases it.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
			if err == nil {
				err = fmt.Errorf("migrate: release advisory lock: %w", uerr)
			}
		}
	}()
	if waited := time.Since(t0); waited > 100*time.Millisecond {
		log.Info("waited for another migration run", "took", waited.Round(time.Millisecond))
	}

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migration (
		version    int PRIMARY KEY,
		name       text NOT NULL,
		checksum   text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return nil, fmt.Errorf("migrate: create schema_migration: %w", err)
	}
	done, err := appliedMigrations(ctx, conn.Conn())
	if err != nil {
		return nil, err
	}
	known := map[int]bool{}
	for _, m := range ms {
		known[m.Version] = true
		if a, ok := done[m.Version]; ok && a.checksum != m.Checksum {
			return nil, core.Errorf(core.EInvalid, "migration %s was changed after it was applied (checksum %.12s, applied %.12s): migrations are forward-only, add a new one instead", fileName(m), m.Checksum, a.checksum)
		}
	}
	for v, a := range done {
		if !known[v] {
			return nil, core.Errorf(core.EInvalid, "database has migration %04d_%s.sql, which this binary does not know: it is newer than this binary, upgrade Trovato", v, a.name)
		}
	}
	for _, m := range ms {
		if _, ok := done[m.Version]; ok {
			continue
		}
		t := time.Now()
		err := pgx.BeginFunc(ctx, conn.Conn(), func(tx pgx.Tx) error {
			// No arguments: the simple protocol runs every statement of the file.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migration (version, name, checksum) VALUES ($1, $2, $3)", m.Version, m.Name, m.Checksum)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", fileName(m), err)
		}
		applied = append(applied, fileName(m))
		log.Info("migration applied", "migration", fileName(m), "took", time.Since(t).Round(time.Millisecond))
	}
	return applied, nil
}

type appliedMigration struct {
	name      string
	checksum  string
	appliedAt time.Time
}

func appliedMigrations(ctx context.Context, conn *pgx.Conn) (map[int]appliedMigration, error) {
	rows, err := conn.Query(ctx, "SELECT version, name, checksum, applied_at FROM schema_migration")
	if err != nil {
		return nil, fmt.Errorf("read schema_migration: %w", err)
	}
	done := map[int]appliedMigration{}
	for rows.Next() {
		var v int
		var a appliedMigration
		if err := rows.Scan(&v, &a.name, &a.checksum, &a.appliedAt); err != nil {
			return nil, fmt.Errorf("read schema_migration: %w", err)
		}
		done[v] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema_migration: %w", err)
	}
	return done, nil
}

// MigrationStatus lists every embedded migration, applied or pending, in
// version order, followed by applied migrations this binary does not know.
func MigrationStatus(ctx context.Context, pool *pgxpool.Pool) ([]MigrationState, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	return migrationStatus(ctx, pool, ms)
}

func migrationStatus(ctx context.Context, pool *pgxpool.Pool, ms []Migration) ([]MigrationState, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	defer conn.Release()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('schema_migration') IS NOT NULL").Scan(&exists); err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	done := map[int]appliedMigration{}
	if exists {
		if done, err = appliedMigrations(ctx, conn.Conn()); err != nil {
			return nil, err
		}
	}
	var out []MigrationState
	for _, m := range ms {
		s := MigrationState{Version: m.Version, Name: m.Name}
		if a, ok := done[m.Version]; ok {
			s.Applied, s.AppliedAt = true, a.appliedAt
			delete(done, m.Version)
		}
		out = append(out, s)
	}
	var unknown []MigrationState
	for v, a := range done {
		unknown = append(unknown, MigrationState{Version: v, Name: a.name, Applied: true, AppliedAt: a.appliedAt})
	}
	sort.Slice(unknown, func(i, j int) bool { return unknown[i].Version < unknown[j].Version })
	return append(out, unknown...), nil
}

func fileName(m Migration) string { return fmt.Sprintf("%04d_%s.sql", m.Version, m.Name) }
