package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/demo"
	"github.com/trovato/trovato/core/memory"
	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/server"
	"github.com/trovato/trovato/server/admin"
	"github.com/trovato/trovato/server/api"
)

func init() {
	extraCmds = append(extraCmds,
		func(a *app) *cobra.Command { return a.serveCmd() },
		func(a *app) *cobra.Command { return a.runCmd() },
	)
}

func (a *app) serveCmd() *cobra.Command {
	var (
		addr       string
		proxies    []string
		watchTheme string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the site (and run scheduled publishes) until interrupted",
		Long: `Serve the site on --addr (default 127.0.0.1:8080, or TROVATO_ADDR, or addr in
trovato.toml). Pending migrations are applied first. Sessions, rate limits and
caches live in Redis: REDIS_URL, else a private redis-server under the data
directory, else (redis-server not installed) in this process only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nets, err := parseProxies(proxies)
			if err != nil {
				return err
			}
			a.watchTheme = watchTheme
			return a.serve(cmd.Context(), addr, nets, nil)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen on HOST:PORT")
	cmd.Flags().StringVar(&watchTheme, "watch-theme", "", "development: serve the theme in this folder on this node, reloaded on every change (docs/site.md#themes)")
	cmd.Flags().DurationVar(&a.invalidateEvery, "invalidate-every", time.Second, "how often to read the change feed and invalidate cached pages edited by other processes")
	cmd.Flags().StringSliceVar(&proxies, "trusted-proxy", nil, "address or CIDR of a load balancer in front (repeatable): its X-Forwarded-For and X-Forwarded-Proto are believed")
	return cmd
}

// parseProxies reads --trusted-proxy values: addresses or CIDR prefixes.
func parseProxies(vals []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vals {
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(v); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		} else {
			return nil, core.Errorf(core.EInvalid, "--trusted-proxy %q is not an address or CIDR (for example 10.0.0.0/8)", v)
		}
	}
	return out, nil
}

func (a *app) runCmd() *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Start everything for a first look: migrate, load the demo site, serve",
		Long: `Open (and migrate) the database, load or update the demo content as --as
(admin by default; it never overwrites what you edited), then serve as
` + "`trovato serve`" + ` does and print the site's address.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := a.loadDemo(cmd.Context(), demo.Options{})
			if err != nil {
				return fmt.Errorf("load the demo: %w", err)
			}
			if rep.Changed() {
				fmt.Fprintf(a.stdout, "Demo %d loaded.\n", rep.Version)
			}
			return a.serve(cmd.Context(), addr, nil, func(url string) {
				fmt.Fprintf(a.stdout, "Trovato is running at %s (press Ctrl+C to stop)\n", url)
				link, err := a.firstLoginLink(cmd.Context(), url)
				if err != nil {
					fmt.Fprintf(a.stderr, "No login link for %s: %s\n", a.as, core.ErrorMessage(err))
					return
				}
				fmt.Fprintf(a.stdout, "Sign in as %s within 15 minutes (once): %s\n", a.as, link)
			})
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen on HOST:PORT")
	return cmd
}

// serveLogger logs at the configured level (request logs are info).
func (a *app) serveLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	if a.verbose && l > slog.LevelInfo {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: l}))
}

// serve opens the kernel and the session backend and serves until ctx
// ends. started is told the site's URL once it listens.
func (a *app) serve(ctx context.Context, addr string, proxies []netip.Prefix, started func(url string)) error {
	k, err := a.kernel(ctx)
	if err != nil {
		return err
	}
	cfg := a.cfg
	if addr != "" {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return core.Errorf(core.EInvalid, "--addr %q is not HOST:PORT (for example 127.0.0.1:8080)", addr)
		}
		cfg.Addr = addr
	}
	log := a.serveLogger(cfg.LogLevel)
	opts := server.Options{Logger: log.With("component", "server"), MaxRequestBytes: cfg.MaxRequestBytes, TrustedProxies: proxies}

	var cacheRedis redisClient
	redisURL := cfg.RedisURL
	if redisURL == "" {
		rs, err := redis.StartServer(ctx, redis.ServerConfig{Dir: filepath.Join(cfg.DataDir, "redis"), Logger: log.With("component", "redis")})
		if err != nil {
			log.Warn("no Redis: sessions, rate limits and caches stay in this process, so run only one node", "reason", core.ErrorMessage(err))
		} else {
			defer func() { _ = rs.Close(context.WithoutCancel(ctx)) }()
			redisURL = rs.URL()
		}
	}
	if redisURL != "" {
		c, err := redis.Dial(ctx, redisURL)
		if err != nil {
			return err
		}
		defer c.Close()
		const prefix = "trovato:"
		// Sessions read here are kept in process, dropped by every node's
		// announcement of a change (and all of them when the
		// subscription is lost), trusted for at most a few seconds.
		sessions := redis.NewSessionTier(ctx, redis.NewSessionStore(c, prefix, core.SessionTimeouts{}),
			redis.SessionTierOptions{Log: log.With("component", "sessions")})
		defer sessions.Close()
		opts.Sessions = sessions
		opts.Limiter = redis.NewRateLimiter(c, prefix)
		opts.Cache = redis.NewCache(c, prefix)
		opts.Checks = map[string]func(context.Context) error{"redis": func(ctx context.Context) error { return c.Ping(ctx).Err() }}
		cacheRedis = c
	} else {
		opts.Sessions = memory.NewSessionStore(core.SessionTimeouts{})
		opts.Limiter = memory.NewRateLimiter()
		opts.Cache = memory.NewCache(0)
	}
	// The editor API and UI share the site's sessions; the API renders
	// stage previews through the site.
	accounts := k.Accounts
	var site http.Handler
	apiH, err := api.New(api.Options{
		Kernel: k, Logger: log, Sessions: opts.Sessions, Accounts: accounts, Limiter: opts.Limiter,
		Site:            http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { site.ServeHTTP(w, r) }),
		MaxRequestBytes: cfg.MaxRequestBytes, MaxUploadBytes: cfg.MaxUploadBytes,
	})
	if err != nil {
		return err
	}
	opts.Mounts = map[string]http.Handler{api.Prefix + "/": apiH, admin.Prefix: admin.Handler()}
	stopCache, err := caching(ctx, k, cacheRedis, "trovato:", cfg.Addr, a.invalidateEvery, &opts, log)
	if err != nil {
		return err
	}
	defer stopCache()
	srv, err := server.New(k, opts)
	if err != nil {
		return err
	}
	site = srv
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := serveThemes(sctx, srv, a.watchTheme, log); err != nil {
		return err
	}
	go server.RunScheduler(sctx, k, log.With("component", "scheduler"), 10*time.Second)
	// Search vectors are computed after commit, on any node, woken by
	// PostgreSQL's notification of each write.
	go k.Store.RunSearchIndexer(sctx, 10*time.Second)
	go deployOnPublish(sctx, k, cfg.DataDir, 5*time.Second, log.With("component", "deploy"))
	if k.Plugins != nil {
		// Load the enabled plugins now, then follow the change feed so a
		// plugin installed, enabled or disabled on any node reloads here.
		go func() {
			if err := k.Plugins.Watch(sctx, 0); err != nil && sctx.Err() == nil {
				log.Error("plugin watcher stopped", "err", err)
			}
		}()
	}
	return server.ListenAndServe(ctx, cfg.Addr, srv, log, 15*time.Second, func(ln net.Addr) {
		url := "http://" + ln.String() + "/"
		log.Info("serving", "url", url)
		if started != nil {
			started(url)
		}
	})
}

// firstLoginLink makes a one-time login link for the --as user (admin)
// on the address this process serves at (siteURL ends in "/"), so a new
// site can be signed in to at once.
func (a *app) firstLoginLink(ctx context.Context, siteURL string) (string, error) {
	actx, k, err := a.acting(ctx)
	if err != nil {
		return "", err
	}
	link, _, err := k.Accounts.CreateLoginLink(actx, a.as)
	if err != nil {
		return "", err
	}
	i := strings.Index(link, core.LoginLinkPath)
	if i < 0 {
		return link, nil
	}
	return strings.TrimSuffix(siteURL, "/") + link[i:], nil
}
