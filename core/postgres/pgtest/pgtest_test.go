package pgtest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core/postgres"
)

func TestMain(m *testing.M) { Main(m) }

func TestNewDBIsMigrated(t *testing.T) {
	ctx := context.Background()
	pool := NewDB(t)
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM schema_migration").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Errorf("%d migrations applied, want %d", n, len(ms))
	}
	var tmpl string
	if err := pool.QueryRow(ctx, "SELECT current_database()").Scan(&tmpl); err != nil {
		t.Fatal(err)
	}
	want, _ := TemplateName()
	if tmpl == want {
		t.Error("NewDB handed out the template itself")
	}
}

func TestNewEmptyDB(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, NewEmptyDBURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('schema_migration') IS NOT NULL").Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Error("empty database has schema_migration")
	}
}

// TestIsolatedAndDropped checks that parallel tests get separate databases
// and that each is dropped when its test ends.
func TestIsolatedAndDropped(t *testing.T) {
	ctx := context.Background()
	const n = 6
	names := make(chan string, n)
	t.Run("group", func(t *testing.T) {
		for i := 0; i < n; i++ {
			t.Run(fmt.Sprintf("db%d", i), func(t *testing.T) {
				t.Parallel()
				pool := NewDB(t)
				if _, err := pool.Exec(ctx, "CREATE TABLE only_here (id int)"); err != nil {
					t.Fatalf("create table (is the database shared?): %v", err)
				}
				var name string
				if err := pool.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
					t.Fatal(err)
				}
				names <- name
			})
		}
	})
	close(names)
	admin, _, _, err := h.get(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for name := range names {
		if seen[name] {
			t.Errorf("database %s handed out twice", name)
		}
		seen[name] = true
		var exists bool
		if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists {
			t.Errorf("database %s not dropped after its test", name)
		}
	}
	if len(seen) != n {
		t.Errorf("%d databases, want %d", len(seen), n)
	}
}

// TestTemplateOnce creates a new template from several goroutines with
// separate pools at once: the lock makes one create it and the others use
// it.
func TestTemplateOnce(t *testing.T) {
	ctx := context.Background()
	admin, base, _, err := h.get(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := "trovato_tmpl_test_" + randomHex(4)
	t.Cleanup(func() {
		admin.Exec(ctx, "ALTER DATABASE "+ident(tmpl)+" WITH IS_TEMPLATE false")
		admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(tmpl))
	})
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool, err := postgres.Open(ctx, base)
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			got, err := ensureTemplate(ctx, pool, base, tmpl)
			if err == nil && got != tmpl {
				err = fmt.Errorf("template %s, want %s", got, tmpl)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	var isTemplate, allowConn bool
	if err := admin.QueryRow(ctx, "SELECT datistemplate, datallowconn FROM pg_database WHERE datname = $1", tmpl).Scan(&isTemplate, &allowConn); err != nil {
		t.Fatal(err)
	}
	if !isTemplate || allowConn {
		t.Errorf("template %s: datistemplate %v, datallowconn %v", tmpl, isTemplate, allowConn)
	}
	var applied int
	clone := "t_" + randomHex(4)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident(clone)+" TEMPLATE "+ident(tmpl)); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec(ctx, "DROP DATABASE "+ident(clone)+" WITH (FORCE)")
	u, _ := WithDatabase(base, clone)
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM schema_migration").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if ms, _ := postgres.Migrations(); applied != len(ms) {
		t.Errorf("template has %d migrations applied, want %d (migrated twice or not at all?)", applied, len(ms))
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"Socket", "postgres:///trovato?host=%2Ftmp%2Fx&user=trovato", "postgres:///t_1?host=%2Ftmp%2Fx&user=trovato"},
		{"TCP", "postgres://u:p@db:5432/trovato?sslmode=disable", "postgres://u:p@db:5432/t_1?sslmode=disable"},
		{"Postgresql", "postgresql://db/x", "postgresql://db/t_1"},
		{"KeywordValue", "host=db user=u dbname=trovato", "host=db user=u dbname=trovato dbname=t_1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WithDatabase(tt.in, "t_1")
			if err != nil || got != tt.want {
				t.Errorf("WithDatabase(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// BenchmarkNewDB measures cloning a test database from the template (the
// drops run in cleanup, outside the timing).
func BenchmarkNewDB(b *testing.B) {
	NewDBURL(b) // server and template ready
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		NewDBURL(b)
	}
	b.StopTimer()
}

// TestHelperProcess is not a test: re-executed with TROVATO_PGTEST_HELPER
// set, it starts the private cluster, prints its directory and waits to be
// killed.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("TROVATO_PGTEST_HELPER") == "" {
		t.Skip("helper process")
	}
	NewDBURL(t)
	fmt.Println(h.dir)
	select {}
}

// TestReaperCleansUpAfterKill kills a test process that started a private
// cluster: its reaper must stop the cluster and remove the directory.
func TestReaperCleansUpAfterKill(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, EnvDatabaseURL+"=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "TROVATO_PGTEST_HELPER=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	dir := strings.TrimSpace(line)
	if err != nil || !strings.Contains(dir, "trovato-pgtest-") {
		t.Fatalf("helper said %q, %v", line, err)
	}
	pidFile := filepath.Join(dir, "pg", "data", "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("no running cluster: %v", err)
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := os.Stat(dir)
		if os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still exists a minute after its process was killed", dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if syscall.Kill(pid, 0) == nil {
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(st), ") Z ") {
			t.Errorf("postmaster %d still runs", pid)
		}
	}
}

func TestWithoutMainOrURL(t *testing.T) {
	t.Setenv(EnvDatabaseURL, "")
	var fresh harness
	_, _, _, err := fresh.get(context.Background(), true)
	if err == nil || !strings.Contains(err.Error(), "pgtest.Main") || !strings.Contains(err.Error(), EnvDatabaseURL) {
		t.Fatalf("got %v, want an error naming pgtest.Main and %s", err, EnvDatabaseURL)
	}
}
