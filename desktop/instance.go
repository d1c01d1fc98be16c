package desktop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockInstance takes desktop.lock in the data directory; nil (and no
// error) when another app holds it. The lock goes with the process.
func lockInstance(dataDir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dataDir, "desktop.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory %s is not writable (%v): choose another with TROVATO_DATA_DIR", dataDir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, nil
	}
	return f, nil
}

// BackupTo is File > Back up the site…: it writes a backup archive of
// the open site to file (as `trovato backup FILE`) and returns the line
// the app shows.
func (a *App) BackupTo(ctx context.Context, file string) string {
	site := a.Site()
	if site == nil {
		return "The backup failed: there is no local site yet."
	}
	if _, err := site.Backup(ctx, file); err != nil {
		return "The backup failed: " + errText(err)
	}
	return "Backed up to " + file + ". Restore it with: trovato restore " + file
}
