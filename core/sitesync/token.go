package sitesync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/trovato/trovato/core"
)

// TokenFileName is the file in a site's data directory that holds the
// API token of its sync server (mode 0600). The token is never stored in
// the database, where a backup or a pull could copy it.
const TokenFileName = "sync-token"

// writeToken replaces the token file atomically, readable by its owner
// only.
func writeToken(path, token string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("store the API token: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".sync-token-*")
	if err != nil {
		return fmt.Errorf("store the API token: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("store the API token: %w", err)
	}
	if _, err := f.WriteString(token + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("store the API token in %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("store the API token in %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store the API token in %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("store the API token in %s: %w", path, err)
	}
	return nil
}

// readToken reads the token file; one readable by others is refused.
func readToken(path string) (string, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", core.Errorf(core.EInvalid, "the API token file %s is missing; run trovato sync connect URL --token TOKEN again", path)
	} else if err != nil {
		return "", fmt.Errorf("read the API token: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", core.Errorf(core.EInvalid, "the API token file %s can be read by others (mode %04o); run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the API token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", core.Errorf(core.EInvalid, "the API token file %s is empty; run trovato sync connect URL --token TOKEN again", path)
	}
	return tok, nil
}

// token returns the connected server's token, first moving one the
// database still holds (a site connected before tokens moved to a file)
// into the file.
func (e *Engine) token(ctx context.Context, legacy string) (string, error) {
	if legacy != "" {
		if err := writeToken(e.opts.TokenFile, legacy); err != nil {
			return "", err
		}
		if err := e.local.ForgetLegacyToken(ctx); err != nil {
			return "", err
		}
		return legacy, nil
	}
	return readToken(e.opts.TokenFile)
}
