package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/postgres/pgtest"
)

// mustEmptyPool returns a pool on a new empty database.
func mustEmptyPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, err := postgres.Open(context.Background(), pgtest.NewEmptyDBURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// mustMigrations builds a migration set from name -> SQL.
func mustMigrations(tb testing.TB, files map[string]string) []postgres.Migration {
	tb.Helper()
	fsys := fstest.MapFS{}
	for name, sql := range files {
		fsys["m/"+name] = &fstest.MapFile{Data: []byte(sql)}
	}
	ms, err := postgres.LoadMigrations(fsys, "m")
	if err != nil {
		tb.Fatal(err)
	}
	return ms
}

func TestMigrateEmbedded(t *testing.T) {
	ctx := context.Background()
	pool := mustEmptyPool(t)
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
	st, err := postgres.MigrationStatus(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Applied || !s.AppliedAt.IsZero() {
			t.Errorf("before Migrate: %04d_%s applied", s.Version, s.Name)
		}
	}
	applied, err := postgres.Migrate(ctx, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(ms) {
		t.Errorf("applied %v, want %d migrations", applied, len(ms))
	}
	again, err := postgres.Migrate(ctx, pool, nil)
	if err != nil || len(again) != 0 {
		t.Errorf("second Migrate applied %v, %v; want nothing", again, err)
	}
	st, err = postgres.MigrationStatus(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != len(ms) {
		t.Fatalf("status lists %d migrations, want %d", len(st), len(ms))
	}
	for _, s := range st {
		if !s.Applied || s.AppliedAt.IsZero() {
			t.Errorf("after Migrate: %04d_%s pending", s.Version, s.Name)
		}
	}
}

// TestMigrateConcurrent runs two migrators on separate pools at once, as two
// nodes starting together: each migration runs exactly once and both
// succeed.
func TestMigrateConcurrent(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewEmptyDBURL(t)
	ms := mustMigrations(t, map[string]string{
		// Not idempotent: a second run would fail.
		"0001_slow.sql":   "CREATE TABLE a (id int); SELECT pg_sleep(0.3);",
		"0002_second.sql": "CREATE TABLE b (id int); INSERT INTO b VALUES (1);",
	})
	var wg sync.WaitGroup
	results := make([][]string, 2)
	errs := make([]error, 2)
	for i := range results {
		pool, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = postgres.MigrateWith(ctx, pool, nil, ms)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
	if total := len(results[0]) + len(results[1]); total != 2 {
		t.Errorf("applied %v and %v, want 2 migrations in all", results[0], results[1])
	}
	pool := mustPool(t, url)
	var rows, n int
	if err := pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM schema_migration), (SELECT count(*) FROM b)").Scan(&rows, &n); err != nil {
		t.Fatal(err)
	}
	if rows != 2 || n != 1 {
		t.Errorf("schema_migration has %d rows, b has %d; want 2 and 1", rows, n)
	}
}

func mustPool(tb testing.TB, url string) *pgxpool.Pool {
	tb.Helper()
	pool, err := postgres.Open(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

func TestMigrateFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	pool := mustEmptyPool(t)
	files := map[string]string{
		"0001_ok.sql":  "CREATE TABLE a (id int);",
		"0002_bad.sql": "CREATE TABLE c (id int); SELECT 1/0;",
	}
	applied, err := postgres.MigrateWith(ctx, pool, nil, mustMigrations(t, files))
	if err == nil {
		t.Fatal("no error from a failing migration")
	}
	if !strings.Contains(err.Error(), "0002_bad.sql") {
		t.Errorf("error %q does not name the file", err)
	}
	if len(applied) != 1 || applied[0] != "0001_ok.sql" {
		t.Errorf("applied %v, want [0001_ok.sql]", applied)
	}
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('c') IS NOT NULL").Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Error("the failed migration's table c was kept")
	}
	files["0002_bad.sql"] = "CREATE TABLE c (id int);"
	applied, err = postgres.MigrateWith(ctx, pool, nil, mustMigrations(t, files))
	if err != nil || len(applied) != 1 || applied[0] != "0002_bad.sql" {
		t.Errorf("after the fix: applied %v, %v", applied, err)
	}
}

func TestMigrateRefuses(t *testing.T) {
	ctx := context.Background()
	base := map[string]string{
		"0001_a.sql": "CREATE TABLE a (id int);",
		"0002_b.sql": "CREATE TABLE b (id int);",
	}
	tests := []struct {
		name    string
		next    map[string]string
		message string
	}{
		{name: "ErrChangedChecksum", next: map[string]string{
			"0001_a.sql": "CREATE TABLE a (id bigint);",
			"0002_b.sql": base["0002_b.sql"],
		}, message: "0001_a.sql was changed"},
		{name: "ErrDatabaseNewer", next: map[string]string{
			"0001_a.sql": base["0001_a.sql"],
		}, message: "0002_b.sql, which this binary does not know"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := mustEmptyPool(t)
			if _, err := postgres.MigrateWith(ctx, pool, nil, mustMigrations(t, base)); err != nil {
				t.Fatal(err)
			}
			_, err := postgres.MigrateWith(ctx, pool, nil, mustMigrations(t, tt.next))
			if core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), tt.message) {
				t.Errorf("got %v (%s), want EInvalid mentioning %q", err, core.ErrorCode(err), tt.message)
			}
		})
	}
}

func TestMigrationStatusLists(t *testing.T) {
	ctx := context.Background()
	pool := mustEmptyPool(t)
	one := mustMigrations(t, map[string]string{"0001_a.sql": "SELECT 1;"})
	two := mustMigrations(t, map[string]string{"0001_a.sql": "SELECT 1;", "0002_b.sql": "SELECT 2;"})
	if _, err := postgres.MigrateWith(ctx, pool, nil, one); err != nil {
		t.Fatal(err)
	}
	st, err := postgres.MigrationStatusWith(ctx, pool, two)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || !st[0].Applied || st[0].Name != "a" || st[1].Applied || st[1].Version != 2 {
		t.Errorf("status %+v, want 0001 applied and 0002 pending", st)
	}
}

func TestLoadMigrations(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		want    []int
		message string
	}{
		{name: "OK", files: []string{"0002_b.sql", "0001_a.sql", "0010_c.sql", "README.md"}, want: []int{1, 2, 10}},
		{name: "ErrBadName", files: []string{"1_a.sql"}, message: "NNNN_lower_snake.sql"},
		{name: "ErrUpperCase", files: []string{"0001_Init.sql"}, message: "NNNN_lower_snake.sql"},
		{name: "ErrZero", files: []string{"0000_a.sql"}, message: "start at 0001"},
		{name: "ErrDuplicate", files: []string{"0001_a.sql", "0001_b.sql"}, message: "share version 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tt.files {
				fsys["m/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			}
			ms, err := postgres.LoadMigrations(fsys, "m")
			if tt.message != "" {
				if err == nil || !strings.Contains(err.Error(), tt.message) {
					t.Fatalf("got %v, want error mentioning %q", err, tt.message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("versions %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("versions %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestEmbeddedMigrationsLoad(t *testing.T) {
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.Version != i+1 {
			t.Errorf("migration %04d_%s: versions must be 1, 2, 3... without gaps", m.Version, m.Name)
		}
	}
	a, _ := postgres.MigrationsChecksum()
	b, _ := postgres.MigrationsChecksum()
	if len(a) != 64 || a != b {
		t.Errorf("checksum %q, %q", a, b)
	}
}
