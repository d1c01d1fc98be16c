// Package postgres implements Trovato's stores on PostgreSQL with pgx, runs
// the embedded, versioned SQL migrations and manages the embedded
// PostgreSQL cluster used when no DATABASE_URL is configured.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/trovato/trovato/core"
)

// Open connects a pool to databaseURL (a postgres:// URL or a keyword/value
// string) and checks that the server answers. Settings given in the URL
// (pool_max_conns, connect_timeout, application_name, ...) win over the
// defaults: at least 8 connections (4 per CPU), a 5 s connect timeout,
// idle connections closed after 5 minutes, application_name "trovato".
//
// Errors: EInvalid for a malformed URL, EUnavailable when the server does
// not answer.
func Open(ctx context.Context, databaseURL string) (*pgxpool.Pool, error) {
	cfg, err := ParsePoolConfig(databaseURL)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "database URL: %v", err)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.ConnConfig.ConnectTimeout+time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, core.Errorf(core.EUnavailable, "database %s does not answer: %v: check DATABASE_URL and that the server runs", describe(cfg.ConnConfig), unwrapConnectErr(err))
	}
	return pool, nil
}

// ParsePoolConfig parses databaseURL and applies Open's defaults where the
// URL leaves a setting out.
//
// Errors: EInvalid for a malformed URL.
func ParsePoolConfig(databaseURL string) (*pgxpool.Config, error) {
	if strings.TrimSpace(databaseURL) == "" {
		return nil, core.Errorf(core.EInvalid, "database URL is empty")
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgx's message can quote the URL, password included.
		return nil, core.Errorf(core.EInvalid, "database URL is not valid: expected postgres://user@host/db or host=... dbname=...")
	}
	if !strings.Contains(databaseURL, "pool_max_conns") {
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	if !strings.Contains(databaseURL, "pool_max_conn_idle_time") {
		cfg.MaxConnIdleTime = 5 * time.Minute
	}
	if !strings.Contains(databaseURL, "connect_timeout") {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "trovato"
	}
	cfg.AfterConnect = afterConnect // ids in binary (idcodec.go)
	return cfg, nil
}

// describe names the server of cfg without its password.
func describe(cfg *pgx.ConnConfig) string {
	host := cfg.Host
	if strings.HasPrefix(host, "/") {
		return fmt.Sprintf("%q on socket %s", cfg.Database, host)
	}
	return fmt.Sprintf("%q on %s:%d", cfg.Database, host, cfg.Port)
}

// unwrapConnectErr drops pgconn's connect wrapper, which repeats the host.
func unwrapConnectErr(err error) error {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		return ce.Unwrap()
	}
	return err
}

// TranslateError maps pgx and PostgreSQL errors to core error codes at the
// adapter's edge:
//
//   - pgx.ErrNoRows: ENotFound
//   - unique violation (23505), exclusion violation (23P01), serialization
//     failure (40001), deadlock (40P01): EConflict
//   - not-null (23502), check (23514), foreign key (23503) violations, bad
//     text representation (22P02), value too long (22001): EInvalid
//
// The original error stays in the chain (errors.As finds the
// *pgconn.PgError with its constraint name). Other errors, and nil, are
// returned unchanged.
func TranslateError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w (%w)", core.Errorf(core.ENotFound, "not found"), err)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	var ce *core.Error
	switch pgErr.Code {
	case "23505":
		ce = core.Errorf(core.EConflict, "already exists%s", constraint(pgErr))
	case "23P01":
		ce = core.Errorf(core.EConflict, "conflicts with an existing row%s", constraint(pgErr))
	case "40001", "40P01":
		ce = core.Errorf(core.EConflict, "conflicting concurrent change, try again")
	case "23502":
		ce = core.Errorf(core.EInvalid, "%s is required", orUnknown(pgErr.ColumnName, "a value"))
	case "23514":
		ce = core.Errorf(core.EInvalid, "invalid value%s", constraint(pgErr))
	case "23503":
		ce = core.Errorf(core.EInvalid, "refers to something that does not exist or is still referred to%s", constraint(pgErr))
	case "22P02", "22001", "22003", "22007", "22008":
		ce = core.Errorf(core.EInvalid, "invalid value: %s", pgErr.Message)
	default:
		return err
	}
	return fmt.Errorf("%w (%w)", ce, err)
}

func constraint(e *pgconn.PgError) string {
	if e.ConstraintName == "" {
		return ""
	}
	return " (" + e.ConstraintName + ")"
}

func orUnknown(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// translateErr is TranslateError, for this package's stores.
func translateErr(err error) error { return TranslateError(err) }
