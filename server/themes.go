package server

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/render"
)

// themeSlot holds the renderer of the site's current theme. A theme
// change swaps it while the site serves; a request that started with the
// previous renderer finishes with it.
type themeSlot struct {
	p atomic.Pointer[render.Renderer]
}

func (t *themeSlot) load() *render.Renderer { return t.p.Load() }

func (t *themeSlot) RenderPage(ctx context.Context, w io.Writer, p render.Page) error {
	return t.p.Load().RenderPage(ctx, w, p)
}

func (t *themeSlot) RenderNode(ctx context.Context, w io.Writer, n core.Node) error {
	return t.p.Load().RenderNode(ctx, w, n)
}

func (t *themeSlot) FormatText(text, format string, fullHTML bool) (template.HTML, error) {
	return t.p.Load().FormatText(text, format, fullHTML)
}

func (t *themeSlot) LookupAsset(urlPath string) (*render.Asset, bool, bool) {
	return t.p.Load().LookupAsset(urlPath)
}

func (t *themeSlot) Asset(name string) string { return t.p.Load().Asset(name) }

// SetRenderer makes r the site's renderer at once (requests in flight
// finish with the previous one) and invalidates every cached page through
// the theme's cache tag, on every node sharing the page cache.
func (s *Server) SetRenderer(ctx context.Context, r *render.Renderer) {
	s.r.p.Store(r)
	s.assetMu.Lock()
	s.assetGzip = map[string][]byte{}
	s.assetMu.Unlock()
	if s.tags != nil {
		// Bumped after the swap: a page built with the old renderer
		// while the tag moved is stale at its next read.
		if err := s.tags.BumpTags(ctx, core.ListTag(core.KindTheme)); err != nil {
			s.log.Warn("theme changed: invalidating cached pages failed; they expire with their TTL", "err", err)
		}
	}
}

// themeStore is what loading a stored theme needs.
type themeStore interface {
	EnabledTheme(ctx context.Context) (*postgres.InstalledTheme, error)
	FindTheme(ctx context.Context, name string) (*postgres.InstalledTheme, error)
	ReadThemeFiles(ctx context.Context, name string) (map[string][]byte, error)
}

// StoredTheme reads an installed theme's files from the blob store.
func StoredTheme(ctx context.Context, ts *postgres.Themes, name string) (*render.Theme, error) {
	return storedTheme(ctx, ts, name)
}

func storedTheme(ctx context.Context, ts themeStore, name string) (*render.Theme, error) {
	files, err := ts.ReadThemeFiles(ctx, name)
	if err != nil {
		return nil, err
	}
	m, err := render.ParseThemeManifest(files[render.ManifestFile])
	if err != nil {
		return nil, fmt.Errorf("stored theme %s: %w", name, err)
	}
	return &render.Theme{Manifest: m, Files: files}, nil
}

// ThemeLookup finds installed themes in the database (base chains).
func ThemeLookup(ctx context.Context, ts *postgres.Themes) render.ThemeLookup {
	return func(name string) (*render.Theme, error) { return storedTheme(ctx, ts, name) }
}

// BuildTheme builds a renderer for a theme, its base chain read from the
// database. Template errors are *render.TemplateError (file:line).
func BuildTheme(ctx context.Context, ts *postgres.Themes, t *render.Theme, opts render.Options) (*render.Renderer, error) {
	return render.NewTheme(t, ThemeLookup(ctx, ts), opts)
}

// enabledRenderer builds the renderer of the enabled theme, or of the
// default theme when none is enabled.
func (s *Server) enabledRenderer(ctx context.Context) (*render.Renderer, error) {
	opts := render.Options{Logger: s.log.With("component", "render")}
	ts := s.k.Store.Themes()
	row, err := ts.EnabledTheme(ctx)
	if core.ErrorCode(err) == core.ENotFound {
		return render.New(render.DefaultTheme(), opts)
	} else if err != nil {
		return nil, err
	}
	t, err := storedTheme(ctx, ts, row.Name)
	if err != nil {
		return nil, err
	}
	r, err := render.NewTheme(t, ThemeLookup(ctx, ts), opts)
	if err != nil {
		return nil, fmt.Errorf("theme %s: %w", row.Name, err)
	}
	return r, nil
}

// LoadTheme renders with the enabled theme from now on (the default
// theme when none is). A stored theme that does not build is an error
// and the current renderer stays.
func (s *Server) LoadTheme(ctx context.Context) error {
	r, err := s.enabledRenderer(ctx)
	if err != nil {
		return err
	}
	if cur := s.r.load(); cur != nil && cur.Theme().Name == render.DefaultThemeName && r.Theme().Name == render.DefaultThemeName {
		return nil // nothing to swap
	}
	s.SetRenderer(ctx, r)
	s.log.Info("theme loaded", "theme", r.Theme().Name)
	return nil
}

// FollowThemes loads the enabled theme, then follows the change feed in
// the background until ctx ends: a theme installed, enabled or
// uninstalled on any node is loaded here within one poll (default 1 s). A
// theme that fails to build is logged and the current one keeps serving.
// It returns once the first theme is loaded (an error only when the feed
// cannot be read).
func (s *Server) FollowThemes(ctx context.Context, poll time.Duration) error {
	if poll <= 0 {
		poll = time.Second
	}
	feed := s.k.Store.Feed()
	cur, err := feed.FeedHead(ctx)
	if err != nil {
		return fmt.Errorf("themes: %w", err)
	}
	if err := s.LoadTheme(ctx); err != nil {
		s.log.Error("theme not loaded; the default theme serves", "err", err)
	}
	go func() {
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			changes, next, err := feed.ReadChanges(ctx, cur, 1000)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("themes: read change feed", "err", err)
				}
				continue
			}
			cur = next
			if !slices.ContainsFunc(changes, func(c core.Change) bool { return c.Kind == core.KindTheme }) {
				continue
			}
			if err := s.reloadTheme(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("theme not loaded; the previous one serves", "err", err)
			}
		}
	}()
	return nil
}

// reloadTheme rebuilds the enabled theme's renderer and swaps it in.
func (s *Server) reloadTheme(ctx context.Context) error {
	r, err := s.enabledRenderer(ctx)
	if err != nil {
		return err
	}
	s.SetRenderer(ctx, r)
	s.log.Info("theme loaded", "theme", r.Theme().Name)
	return nil
}

// WatchThemeDir is the development installer of themes: it renders with
// the theme in dir (theme.yaml, templates/, assets/) at once, and again
// after each change, once the folder has been quiet for 200 ms. A theme
// that does not build is logged with its file and line and the last good
// one keeps serving. The folder's theme serves this node only and is not
// stored; its base chain is read from the database. It returns when ctx
// ends, or at once when the folder cannot be watched.
func (s *Server) WatchThemeDir(ctx context.Context, dir string) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch theme %s: %w", dir, err)
	}
	defer w.Close()
	add := func(p string) {
		if err := w.Add(p); err != nil {
			s.log.Warn("theme folder watch", "dir", p, "err", err)
		}
	}
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("watch theme %s: %w", dir, err)
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != dir {
			add(p)
		}
		return nil
	})
	s.loadThemeDir(ctx, dir)
	const quiet = 200 * time.Millisecond
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.Errors:
			s.log.Warn("theme folder watch", "err", err)
		case ev := <-w.Events:
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					add(ev.Name)
				}
			}
			timer = time.After(quiet)
		case <-timer:
			timer = nil
			s.loadThemeDir(ctx, dir)
		}
	}
}

// loadThemeDir builds the folder's theme and swaps it in, or logs why not.
func (s *Server) loadThemeDir(ctx context.Context, dir string) {
	t, err := render.ReadThemeDir(dir)
	if err == nil {
		var r *render.Renderer
		r, err = render.NewTheme(t, ThemeLookup(ctx, s.k.Store.Themes()), render.Options{Logger: s.log.With("component", "render")})
		if err == nil {
			s.SetRenderer(ctx, r)
			s.log.Info("theme loaded from folder", "theme", t.Manifest.Name, "dir", dir)
			return
		}
	}
	var te *render.TemplateError
	if errors.As(err, &te) {
		s.log.Error("theme not loaded; the last good one serves", "error", filepath.ToSlash(dir)+"/"+te.Error())
		return
	}
	s.log.Error("theme not loaded; the last good one serves", "dir", dir, "error", err.Error())
}

// themeInfo names the theme of Options.Theme and its regions: its
// theme.yaml's, else "site" with the default regions (a theme without
// manifest), or the default theme's.
func themeInfo(fsys fs.FS) (string, []string) {
	if fsys == nil {
		return render.DefaultThemeName, nil
	}
	if b, err := fs.ReadFile(fsys, render.ManifestFile); err == nil {
		if m, err := render.ParseThemeManifest(b); err == nil {
			return m.Name, m.Regions
		}
	}
	return "site", nil
}
