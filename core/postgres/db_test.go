package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/postgres/pgtest"
)

func TestTranslateError(t *testing.T) {
	other := errors.New("boom")
	tests := []struct {
		name string
		err  error
		code string // "" = returned unchanged
	}{
		{name: "Nil", err: nil},
		{name: "Other", err: other},
		{name: "NoRows", err: fmt.Errorf("find: %w", pgx.ErrNoRows), code: core.ENotFound},
		{name: "Unique", err: &pgconn.PgError{Code: "23505", ConstraintName: "users_name_ci"}, code: core.EConflict},
		{name: "Serialization", err: &pgconn.PgError{Code: "40001"}, code: core.EConflict},
		{name: "NotNull", err: &pgconn.PgError{Code: "23502", ColumnName: "name"}, code: core.EInvalid},
		{name: "Check", err: &pgconn.PgError{Code: "23514", ConstraintName: "users_status_check"}, code: core.EInvalid},
		{name: "ForeignKey", err: &pgconn.PgError{Code: "23503"}, code: core.EInvalid},
		{name: "SyntaxIsInternal", err: &pgconn.PgError{Code: "42601"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := postgres.TranslateError(tt.err)
			if tt.code == "" {
				if got != tt.err {
					t.Fatalf("got %v, want the error unchanged", got)
				}
				return
			}
			if c := core.ErrorCode(got); c != tt.code {
				t.Errorf("code %q, want %q (%v)", c, tt.code, got)
			}
			if !errors.Is(got, tt.err) && !errors.Is(got, pgx.ErrNoRows) {
				t.Error("original error left the chain")
			}
			var pgErr *pgconn.PgError
			if errors.As(tt.err, &pgErr) && !errors.As(got, &pgErr) {
				t.Error("PgError not reachable with errors.As")
			}
		})
	}
}

// TestTranslateErrorFromServer checks the mapping on errors a real server
// returns.
func TestTranslateErrorFromServer(t *testing.T) {
	ctx := context.Background()
	pool := mustEmptyPool(t)
	if _, err := pool.Exec(ctx, `CREATE TABLE u (name text NOT NULL UNIQUE, n int CHECK (n > 0))`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO u VALUES ('a', 1)`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, sql, code string
	}{
		{"Unique", `INSERT INTO u VALUES ('a', 2)`, core.EConflict},
		{"NotNull", `INSERT INTO u VALUES (NULL, 2)`, core.EInvalid},
		{"Check", `INSERT INTO u VALUES ('b', 0)`, core.EInvalid},
		{"NoRows", `SELECT name FROM u WHERE name = 'zz'`, core.ENotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s string
			err := pool.QueryRow(ctx, tt.sql).Scan(&s)
			if got := core.ErrorCode(postgres.TranslateError(err)); got != tt.code {
				t.Errorf("%v -> %q, want %q", err, got, tt.code)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name, url, code string
		contains        string
	}{
		{"ErrEmpty", "", core.EInvalid, "empty"},
		{"ErrMalformed", "postgres://user:s3cret@host:notaport/db", core.EInvalid, "not valid"},
		{"ErrNoAnswer", "postgres:///trovato?host=/nonexistent/socket/dir&user=trovato&connect_timeout=2", core.EUnavailable, "does not answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool, err := postgres.Open(context.Background(), tt.url)
			if err == nil {
				pool.Close()
				t.Fatal("no error")
			}
			if core.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("got %q (%s), want %s mentioning %q", err, core.ErrorCode(err), tt.code, tt.contains)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error leaks the password or spans lines: %q", err)
			}
		})
	}
}

func TestOpenDefaults(t *testing.T) {
	url := pgtest.NewDBURL(t)
	cfg, err := postgres.ParsePoolConfig(url + "&pool_max_conns=3")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns != 3 {
		t.Errorf("MaxConns %d: the URL's pool_max_conns must win", cfg.MaxConns)
	}
	cfg, err = postgres.ParsePoolConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConns < 8 || cfg.ConnConfig.RuntimeParams["application_name"] != "trovato" {
		t.Errorf("defaults not applied: MaxConns %d, application_name %q", cfg.MaxConns, cfg.ConnConfig.RuntimeParams["application_name"])
	}
}
