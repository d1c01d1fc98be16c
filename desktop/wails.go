//go:build desktop

package desktop

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/menu"
	"github.com/wailsapp/wails/v2/pkg/menu/keys"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/trovato/trovato/core/kernel"
)

func init() { run = runWindow }

// uniqueID names the app for the single-instance lock (D-Bus).
const uniqueID = "org.trovato.desktop"

// Test and bench hooks (environment variables).
const (
	// envTestScript names a JavaScript file run in the window after
	// every page load.
	envTestScript = "TROVATO_DESKTOP_TEST_SCRIPT"
	// envTestReport names a file that receives, one per line, what the
	// script posts to /_desktop/report; a report with "quit": true ends
	// the app.
	envTestReport = "TROVATO_DESKTOP_TEST_REPORT"
	// envAutoSetup answers the first-start screen: "new" or "demo".
	envAutoSetup = "TROVATO_DESKTOP_AUTOSETUP"
	// envExitWhenReady quits once the editor is editable, printing how
	// long that took (build/bench-desktop.sh).
	envExitWhenReady = "TROVATO_DESKTOP_EXIT_WHEN_READY"
)

func runWindow(opts Options) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, err := settings()
	if err != nil {
		return err
	}
	cfg.Logger = log
	if err := os.MkdirAll(cfg.Kernel.DataDir, 0o755); err != nil {
		return fmt.Errorf("data directory %s cannot be created (%v): choose another with TROVATO_DATA_DIR", cfg.Kernel.DataDir, err)
	}
	lock, err := lockInstance(cfg.Kernel.DataDir)
	if err != nil {
		return err
	}
	if lock == nil {
		if notifyFirstInstance() {
			fmt.Fprintln(os.Stderr, "trovato-desktop: already running; its window was brought to the front")
		} else {
			fmt.Fprintln(os.Stderr, "trovato-desktop: already running for "+cfg.Kernel.DataDir)
		}
		return nil
	}
	defer lock.Close()

	ctx := context.Background()
	connector := opts.Connector
	if connector == nil {
		connector = &SyncConnector{Logger: log}
	}
	app := StartApp(ctx, cfg, connector)
	if auto := os.Getenv(envAutoSetup); auto != "" {
		app.Wait()
	}
	if auto := os.Getenv(envAutoSetup); auto != "" && app.Err() == nil && app.Site() == nil {
		t0 := time.Now()
		if err := app.Setup(ctx, SetupChoice{Demo: auto == "demo"}); err != nil {
			return fmt.Errorf("first-run setup: %w", err)
		}
		fmt.Printf("trovato-desktop: first-run setup took %d ms\n", time.Since(t0).Milliseconds())
		if site := app.Site(); site != nil {
			for _, p := range site.Phases {
				fmt.Printf("trovato-desktop:   setup phase %s: %d ms\n", p.Name, p.Took.Milliseconds())
			}
		}
	}
	defer app.Close(context.Background())

	var wctx atomic.Pointer[context.Context]
	quit := func() {
		if c := wctx.Load(); c != nil {
			runtime.Quit(*c)
		}
	}
	if os.Getenv(envExitWhenReady) != "" {
		app.OnReady = func() {
			fmt.Printf("trovato-desktop: editable after %d ms\n", time.Since(opts.Started).Milliseconds())
			go func() {
				// The plugins load (or, on the first run, compile and
				// install) in the background: wait for them, so the
				// figure is printed and the next start finds them.
				if site := app.Site(); site != nil {
					if err := site.WaitPlugins(context.Background()); err != nil {
						fmt.Printf("trovato-desktop: plugins not loaded: %v\n", err)
					} else {
						fmt.Printf("trovato-desktop: plugins loaded in %d ms (in the background, from the site's opening)\n", site.PluginsTook().Milliseconds())
					}
				}
				time.Sleep(100 * time.Millisecond)
				quit()
			}()
		}
	}
	if path := os.Getenv(envTestReport); path != "" {
		app.Report = func(b []byte) {
			f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
			if err == nil {
				_, _ = f.Write(append(bytesOneLine(b), '\n'))
				_ = f.Close()
			}
			var r struct {
				Quit bool `json:"quit"`
			}
			if json.Unmarshal(b, &r) == nil && r.Quit {
				go func() { time.Sleep(200 * time.Millisecond); quit() }()
			}
		}
	}
	var script string
	if path := os.Getenv(envTestScript); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%s: %w", envTestScript, err)
		}
		script = string(b)
	}

	ws := LoadWindowState(cfg.Kernel.DataDir)
	start := WindowStartNormal
	if ws.Maximised {
		start = WindowStartMaximised
	}
	var started atomic.Bool
	site := WebviewRedirects(app)
	nav := func(path string) func(*menu.CallbackData) {
		return func(*menu.CallbackData) {
			if c := wctx.Load(); c != nil {
				runtime.WindowExecJS(*c, "window.location.href = "+jsString(path)+";")
			}
		}
	}
	js := func(code string) func(*menu.CallbackData) {
		return func(*menu.CallbackData) {
			if c := wctx.Load(); c != nil {
				runtime.WindowExecJS(*c, code)
			}
		}
	}

	appMenu := menu.NewMenu()
	file := appMenu.AddSubmenu("File")
	file.AddText("New item", keys.CmdOrCtrl("n"), nav("/admin/content"))
	file.AddText("Stages", nil, nav("/admin/stages"))
	file.AddSeparator()
	file.AddText("Back up the site…", keys.Combo("b", keys.CmdOrCtrlKey, keys.ShiftKey), func(*menu.CallbackData) {
		c := wctx.Load()
		if c == nil || app.Site() == nil {
			return
		}
		name, err := runtime.SaveFileDialog(*c, runtime.SaveDialogOptions{
			Title: "Back up the site", DefaultFilename: "trovato-" + time.Now().Format("2006-01-02") + ".tar",
			Filters: []runtime.FileFilter{{DisplayName: "Trovato backups (*.tar)", Pattern: "*.tar"}},
		})
		if err != nil || name == "" {
			return
		}
		go func() {
			msg := app.BackupTo(context.Background(), name)
			_, _ = runtime.MessageDialog(*c, runtime.MessageDialogOptions{Type: runtime.InfoDialog, Title: "Backup", Message: msg})
		}()
	})
	file.AddText("Open the data folder", nil, func(*menu.CallbackData) {
		if c := wctx.Load(); c != nil {
			runtime.BrowserOpenURL(*c, "file://"+cfg.Kernel.DataDir)
		}
	})
	file.AddSeparator()
	file.AddText("Quit", keys.CmdOrCtrl("q"), func(*menu.CallbackData) { quit() })
	view := appMenu.AddSubmenu("View")
	view.AddText("Editor", keys.CmdOrCtrl("e"), nav("/admin/"))
	view.AddText("Site", keys.Combo("s", keys.CmdOrCtrlKey, keys.ShiftKey), nav("/"))
	view.AddSeparator()
	view.AddText("Back", keys.OptionOrAlt("Left"), js("history.back();"))
	view.AddText("Forward", keys.OptionOrAlt("Right"), js("history.forward();"))
	view.AddText("Reload", keys.CmdOrCtrl("r"), js("location.reload();"))
	syncMenu := appMenu.AddSubmenu("Sync")
	syncMenu.AddText("Pull from the server", keys.Combo("p", keys.CmdOrCtrlKey, keys.ShiftKey), func(*menu.CallbackData) {
		go func() {
			res, err := app.Pull(context.Background())
			if c := wctx.Load(); c != nil {
				var msg string
				if err != nil {
					msg = "The pull did not finish: " + errText(err)
				} else {
					msg = fmt.Sprintf("Pulled %d changes (%d conflicts to resolve).", res.Changes, res.Conflicts)
				}
				runtime.WindowSetTitle(*c, app.Status().Title())
				_, _ = runtime.MessageDialog(*c, runtime.MessageDialogOptions{Type: runtime.InfoDialog, Title: "Sync", Message: msg})
			}
		}()
	})
	syncMenu.AddText("Sync status", nil, func(*menu.CallbackData) {
		if c := wctx.Load(); c != nil {
			st := app.Status()
			msg := "This site is not connected to a server."
			if s := st.SyncState; s != nil {
				msg = fmt.Sprintf("Server: %s\nState: %s\nLast error: %s\nStages waiting to push: %s\nConflicts: %d",
					s.Remote, s.State, s.LastError, strings.Join(s.Queued, ", "), s.Conflicts)
			}
			_, _ = runtime.MessageDialog(*c, runtime.MessageDialogOptions{Type: runtime.InfoDialog, Title: "Sync status", Message: msg})
		}
	})
	help := appMenu.AddSubmenu("Help")
	help.AddText("About Trovato", nil, func(*menu.CallbackData) {
		if c := wctx.Load(); c != nil {
			st := app.Status()
			_, _ = runtime.MessageDialog(*c, runtime.MessageDialogOptions{
				Type: runtime.InfoDialog, Title: "About Trovato",
				Message: fmt.Sprintf("Trovato desktop editor\n\nSite: %s\nData: %s\nUser: %s\nSync: %s", st.State, st.DataDir, st.User, st.Sync),
			})
		}
	})

	return wails.Run(&options.App{
		Title:            "Trovato",
		Width:            ws.Width,
		Height:           ws.Height,
		MinWidth:         MinWindowWidth,
		MinHeight:        MinWindowHeight,
		WindowStartState: options.WindowStartState(start),
		BackgroundColour: &options.RGBA{R: 255, G: 255, B: 255, A: 255},
		Menu:             appMenu,
		AssetServer: &assetserver.Options{
			Handler: app,
			// Everything but Wails' own /wails/ files goes straight to
			// the app: no runtime injection into the site's pages, and
			// the site's own 404 pages.
			Middleware: func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.HasPrefix(r.URL.Path, "/wails/") {
						next.ServeHTTP(w, r)
						return
					}
					// The window opens on "/": the editor, not the site.
					if r.URL.Path == "/" && started.CompareAndSwap(false, true) {
						WebviewRedirects(http.RedirectHandler("/admin/", http.StatusFound)).ServeHTTP(w, r)
						return
					}
					started.Store(true)
					site.ServeHTTP(w, r)
				})
			},
		},
		OnStartup: func(ctx context.Context) {
			wctx.Store(&ctx)
			if ws.Placed && !ws.Maximised {
				runtime.WindowSetPosition(ctx, ws.X, ws.Y)
			}
			// The sync indicator: the window title follows the state.
			go func() {
				title := ""
				for {
					if t := app.Status().Title(); t != title {
						title = t
						runtime.WindowSetTitle(ctx, t)
					}
					select {
					case <-ctx.Done():
						return
					case <-time.After(3 * time.Second):
					}
				}
			}()
		},
		OnDomReady: func(ctx context.Context) {
			if script != "" {
				runtime.WindowExecJS(ctx, script)
			}
		},
		OnBeforeClose: func(ctx context.Context) bool {
			st := WindowState{Maximised: runtime.WindowIsMaximised(ctx)}
			if st.Maximised {
				st.Width, st.Height, st.X, st.Y, st.Placed = ws.Width, ws.Height, ws.X, ws.Y, ws.Placed
			} else {
				st.Width, st.Height = runtime.WindowGetSize(ctx)
				st.X, st.Y = runtime.WindowGetPosition(ctx)
				st.Placed = true
			}
			if err := SaveWindowState(cfg.Kernel.DataDir, st); err != nil {
				log.Warn("window state not saved", "err", err)
			}
			return false
		},
		SingleInstanceLock: &options.SingleInstanceLock{
			UniqueId: uniqueID,
			OnSecondInstanceLaunch: func(options.SecondInstanceData) {
				if c := wctx.Load(); c != nil {
					runtime.WindowUnminimise(*c)
					runtime.WindowShow(*c)
				}
			},
		},
		Linux: &linux.Options{
			Icon:             opts.Icon,
			ProgramName:      "trovato",
			WebviewGpuPolicy: linux.WebviewGpuPolicyNever,
		},
	})
}

// Window start states (options.WindowStartState values).
const (
	WindowStartNormal    = int(options.Normal)
	WindowStartMaximised = int(options.Maximised)
)

// settings are the process settings: defaults < <data dir>/trovato.toml <
// TROVATO_* environment, as for the trovato command.
func settings() (Config, error) {
	home, _ := os.UserHomeDir()
	// The app's own TROVATO_DESKTOP_* variables are not process settings.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TROVATO_DESKTOP_") {
			env = append(env, kv)
		}
	}
	kc := kernel.DefaultConfig(kernel.DefaultDataDir(os.Getuid(), home))
	if v := os.Getenv("TROVATO_DATA_DIR"); v != "" {
		kc.DataDir = v
	}
	kc, err := kernel.LoadConfig(kc, filepath.Join(kc.DataDir, "trovato.toml"), false, env)
	if err != nil {
		return Config{}, err
	}
	if err := kc.Validate(); err != nil {
		return Config{}, err
	}
	return Config{Kernel: kc, User: os.Getenv("TROVATO_DESKTOP_USER")}, nil
}

// notifyFirstInstance asks the running app (through Wails' single-instance
// D-Bus service) to show its window.
func notifyFirstInstance() bool {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return false
	}
	defer conn.Close()
	id := "wails_app_" + strings.ReplaceAll(strings.ReplaceAll(uniqueID, "-", "_"), ".", "_")
	name, path := "org."+id+".SingleInstance", dbus.ObjectPath("/org/"+id+"/SingleInstance")
	wd, _ := os.Getwd()
	msg, _ := json.Marshal(options.SecondInstanceData{Args: os.Args[1:], WorkingDirectory: wd})
	return conn.Object(name, path).Call(name+".SendMessage", 0, string(msg)).Store() == nil
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func bytesOneLine(b []byte) []byte {
	return []byte(strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", " "))
}
