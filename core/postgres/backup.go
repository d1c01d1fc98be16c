package postgres

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// BackupFormat names a Trovato backup archive: a tar file holding
// manifest.json (BackupManifest) and site.dump (pg_dump's custom format
// of the whole database: content, config, users, plugins, themes and
// files, which all live in PostgreSQL).
const BackupFormat = "trovato-backup"

const (
	backupVersion  = 1
	backupManifest = "manifest.json"
	backupDump     = "site.dump"
	// maxBackupManifest bounds manifest.json.
	maxBackupManifest = 1 << 20
)

// BackupManifest describes a backup archive.
type BackupManifest struct {
	Format        string    `json:"format"`
	Version       int       `json:"version"`
	Created       time.Time `json:"created"`
	Database      string    `json:"database"`
	ServerVersion string    `json:"server_version"`
	// Migrations are the schema migrations applied in the backed-up
	// database, as "NNNN_name".
	Migrations []string `json:"migrations"`
	DumpBytes  int64    `json:"dump_bytes"`
	DumpSHA256 string   `json:"dump_sha256"`
}

// Backup writes a backup archive of the database at dbURL to w, using
// pg_dump of the server's major version (or newer).
//
// Errors: EInvalid when pg_dump is not installed (the message names the
// package); EUnavailable when the database does not answer.
func Backup(ctx context.Context, dbURL string, w io.Writer) (*BackupManifest, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, core.Errorf(core.EUnavailable, "back up: the database does not answer: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	m := &BackupManifest{Format: BackupFormat, Version: backupVersion, Created: time.Now().UTC()}
	var num int
	if err := conn.QueryRow(ctx, "SELECT current_database(), current_setting('server_version'), current_setting('server_version_num')::int").Scan(&m.Database, &m.ServerVersion, &num); err != nil {
		return nil, fmt.Errorf("back up: %w", err)
	}
	rows, err := conn.Query(ctx, "SELECT to_char(version, 'FM0000') || '_' || name FROM schema_migration ORDER BY version")
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "back up: %s is not a Trovato database (no schema_migration table): %v", m.Database, err)
	}
	if m.Migrations, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, fmt.Errorf("back up: %w", err)
	}
	bin, err := pgTool(ctx, "pg_dump", num/10000)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "trovato-backup-")
	if err != nil {
		return nil, fmt.Errorf("back up: %w", err)
	}
	defer os.RemoveAll(tmp)
	dump := filepath.Join(tmp, backupDump)
	if out, err := runTool(ctx, bin, "--format=custom", "--no-owner", "--no-privileges", "--file="+dump, "--dbname="+libpqURL(dbURL)); err != nil {
		return nil, fmt.Errorf("back up: pg_dump: %w: %s", err, lastLines(out, 3))
	}
	f, err := os.Open(dump)
	if err != nil {
		return nil, fmt.Errorf("back up: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if m.DumpBytes, err = io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("back up: %w", err)
	}
	m.DumpSHA256 = hex.EncodeToString(h.Sum(nil))
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	mb, _ := json.MarshalIndent(m, "", "  ")
	tw := tar.NewWriter(w)
	for _, e := range []struct {
		name string
		size int64
		r    io.Reader
	}{{backupManifest, int64(len(mb)), strings.NewReader(string(mb))}, {backupDump, m.DumpBytes, f}} {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o600, Size: e.size, ModTime: m.Created, Typeflag: tar.TypeReg}); err != nil {
			return nil, fmt.Errorf("back up: write the archive: %w", err)
		}
		if _, err := io.Copy(tw, e.r); err != nil {
			return nil, fmt.Errorf("back up: write the archive: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("back up: write the archive: %w", err)
	}
	return m, nil
}

// CheckedBackup is an archive that was read whole and verified: its
// manifest, its dump's size and checksum, pg_restore can list it, and its
// schema is one this binary can migrate.
type CheckedBackup struct {
	Manifest BackupManifest
	dump     string
	dir      string
}

// Close removes the extracted dump.
func (b *CheckedBackup) Close() error { return os.RemoveAll(b.dir) }

// CheckBackup reads an archive from r (name is for messages) and verifies
// it before anything is touched.
//
// Errors: EInvalid for anything that is not a whole, intact Trovato
// backup, or one made by a newer Trovato.
func CheckBackup(ctx context.Context, name string, r io.Reader) (*CheckedBackup, error) {
	corrupt := func(format string, args ...any) error {
		return core.Errorf(core.EInvalid, "%s is not a usable Trovato backup: %s; the site was not touched", name, fmt.Sprintf(format, args...))
	}
	dir, err := os.MkdirTemp("", "trovato-restore-")
	if err != nil {
		return nil, err
	}
	b := &CheckedBackup{dir: dir, dump: filepath.Join(dir, backupDump)}
	fail := func(err error) (*CheckedBackup, error) {
		b.Close()
		return nil, err
	}
	tr := tar.NewReader(r)
	var haveManifest, haveDump bool
	var sum string
	var size int64
	for {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(corrupt("the archive is truncated or damaged (%v)", err))
		}
		switch {
		case hd.Name == backupManifest && !haveManifest && !haveDump:
			mb, err := io.ReadAll(io.LimitReader(tr, maxBackupManifest+1))
			if err != nil {
				return fail(corrupt("the archive is truncated or damaged (%v)", err))
			}
			if len(mb) > maxBackupManifest || json.Unmarshal(mb, &b.Manifest) != nil || b.Manifest.Format != BackupFormat {
				return fail(corrupt("its manifest is not a Trovato backup manifest"))
			}
			if b.Manifest.Version > backupVersion {
				return fail(core.Errorf(core.EInvalid, "%s was made by a newer Trovato (backup format %d): update Trovato to restore it; the site was not touched", name, b.Manifest.Version))
			}
			haveManifest = true
		case hd.Name == backupDump && haveManifest && !haveDump:
			f, err := os.OpenFile(b.dump, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return fail(err)
			}
			h := sha256.New()
			size, err = io.Copy(io.MultiWriter(f, h), tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fail(corrupt("the archive is truncated or damaged (%v)", err))
			}
			sum = hex.EncodeToString(h.Sum(nil))
			haveDump = true
		default:
			return fail(corrupt("unexpected entry %q", hd.Name))
		}
	}
	switch {
	case !haveManifest:
		return fail(corrupt("it holds no manifest"))
	case !haveDump:
		return fail(corrupt("it holds no database dump (the archive is truncated)"))
	case size != b.Manifest.DumpBytes || sum != b.Manifest.DumpSHA256:
		return fail(corrupt("the database dump does not match its checksum (the file is damaged)"))
	}
	ms, err := Migrations()
	if err != nil {
		return fail(err)
	}
	known := map[string]bool{}
	for _, m := range ms {
		known[fmt.Sprintf("%04d_%s", m.Version, m.Name)] = true
	}
	for _, m := range b.Manifest.Migrations {
		if !known[m] {
			return fail(core.Errorf(core.EInvalid, "%s holds schema migration %s, which this Trovato does not know: restore it with the Trovato that made it, or a newer one; the site was not touched", name, m))
		}
	}
	major, _ := strconv.Atoi(strings.SplitN(b.Manifest.ServerVersion, ".", 2)[0])
	bin, err := pgTool(ctx, "pg_restore", major)
	if err != nil {
		return fail(err)
	}
	if out, err := runTool(ctx, bin, "--list", b.dump); err != nil {
		return fail(corrupt("pg_restore cannot read its database dump: %s", lastLines(out, 2)))
	}
	return b, nil
}

// Restore replaces the database at dbURL with the checked backup. The
// backup is restored into a new database beside it first; only when that
// succeeded are the two swapped (and the old one dropped), so a failure
// leaves the site as it was. The site must not be in use.
//
// Errors: EConflict while other sessions use the database; EInvalid when
// the dump does not restore.
func Restore(ctx context.Context, dbURL string, b *CheckedBackup) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return core.Errorf(core.EUnavailable, "restore: the database does not answer: %v", err)
	}
	var db string
	var num int
	err = conn.QueryRow(ctx, "SELECT current_database(), current_setting('server_version_num')::int").Scan(&db, &num)
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	adminURL, err := withDatabase(dbURL, "postgres")
	if err != nil {
		return err
	}
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return core.Errorf(core.EUnavailable, "restore: cannot reach the server's postgres database: %v", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	side := db + "_restore_" + randomSuffix()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{side}.Sanitize()+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		return fmt.Errorf("restore: create database %s: %w", side, err)
	}
	dropSide := func() {
		_, _ = admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+pgx.Identifier{side}.Sanitize()+" WITH (FORCE)")
	}
	sideURL, err := withDatabase(dbURL, side)
	if err != nil {
		dropSide()
		return err
	}
	bin, err := pgTool(ctx, "pg_restore", num/10000)
	if err != nil {
		dropSide()
		return err
	}
	if out, err := runTool(ctx, bin, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname="+libpqURL(sideURL), b.dump); err != nil {
		dropSide()
		return core.Errorf(core.EInvalid, "restore: the backup does not restore (%s); the site was not touched", lastLines(out, 3))
	}
	var users int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'", db).Scan(&users); err != nil {
		dropSide()
		return fmt.Errorf("restore: %w", err)
	}
	if users > 0 {
		dropSide()
		return core.Errorf(core.EConflict, "restore: the site is in use (%d connections): quit the desktop app and stop trovato serve, then restore again; the site was not touched", users)
	}
	old := db + "_before_restore_" + randomSuffix()
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{db}.Sanitize()+" RENAME TO "+pgx.Identifier{old}.Sanitize()); err != nil {
		dropSide()
		return core.Errorf(core.EConflict, "restore: the site could not be swapped (%v); it was not touched", err)
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{side}.Sanitize()+" RENAME TO "+pgx.Identifier{db}.Sanitize()); err != nil {
		if _, err2 := admin.Exec(context.WithoutCancel(ctx), "ALTER DATABASE "+pgx.Identifier{old}.Sanitize()+" RENAME TO "+pgx.Identifier{db}.Sanitize()); err2 != nil {
			return fmt.Errorf("restore: swap failed (%v) and the site is now database %s: rename it to %s (%v)", err, old, db, err2)
		}
		dropSide()
		return fmt.Errorf("restore: swap failed: %w; the site was not touched", err)
	}
	if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{old}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("restore: the backup is in place, but the previous site (database %s) could not be dropped: %w", old, err)
	}
	return nil
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// withDatabase returns dbURL pointing at another database of the server.
func withDatabase(dbURL, db string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", core.Errorf(core.EInvalid, "backup and restore need a postgres:// database URL")
	}
	u.Path, u.RawPath = "/"+db, ""
	return u.String(), nil
}

// libpqURL drops the pgx-only pool settings that libpq tools refuse.
func libpqURL(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return dbURL
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// pgTool finds a client program (pg_dump, pg_restore) of the server's
// major version, or newer.
func pgTool(ctx context.Context, name string, major int) (string, error) {
	var candidates []string
	if major > 0 {
		candidates = append(candidates, filepath.Join(pgLibDir, strconv.Itoa(major), "bin", name))
	}
	if out, err := exec.CommandContext(ctx, pgConfigName, "--bindir").Output(); err == nil {
		candidates = append(candidates, filepath.Join(strings.TrimSpace(string(out)), name))
	}
	dirs, _ := filepath.Glob(filepath.Join(pgLibDir, "*", "bin", name))
	candidates = append(candidates, dirs...)
	if p, err := exec.LookPath(name); err == nil {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		out, err := exec.CommandContext(ctx, c, "--version").Output()
		if err != nil {
			continue
		}
		v, err := parseMajor(string(out))
		if err != nil {
			continue
		}
		n, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
		if n >= major {
			return c, nil
		}
	}
	return "", core.Errorf(core.EInvalid, "%s of PostgreSQL %d or newer is not installed: apt-get install postgresql-client-%d", name, major, major)
}

func runTool(ctx context.Context, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cleanEnv()
	return cmd.CombinedOutput()
}
