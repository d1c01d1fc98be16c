package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
)

// NewHTTPServer returns an http.Server for h with the site's time and
// size limits: headers within 10 s and 64 KiB, a request within 60 s,
// idle keep-alive connections closed after 2 minutes. Responses get no
// overall write timeout (file downloads set their own deadline); pages
// have their own time limit (Options.PageTimeout). Serve it on
// Listener(ln) for whole responses in one write.
func NewHTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      0,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ConnContext:       ConnContext, // whole responses in one write (conn.go)
	}
}

// ListenAndServe serves h on addr until ctx ends, then shuts down
// gracefully: new connections are refused and requests in flight get up
// to grace to finish. ready, when set, is called once the listener is
// open with its address.
func ListenAndServe(ctx context.Context, addr string, h http.Handler, log *slog.Logger, grace time.Duration, ready func(net.Addr)) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return core.Errorf(core.EInvalid, "cannot listen on %s: %v (choose another with --addr or TROVATO_ADDR)", addr, err)
	}
	srv := NewHTTPServer(addr, h, log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(Listener(ln)) }()
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// RunScheduler publishes scheduled stages every interval until ctx ends.
func RunScheduler(ctx context.Context, k *kernel.Kernel, log *slog.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		reps, err := k.Store.Stages().RunScheduled(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("scheduled publish", "err", err)
		}
		for _, rep := range reps {
			if rep.Stage != nil {
				log.Info("scheduled publish", "stage", rep.Stage.Name, "applied", rep.Applied)
				if rep.Applied {
					if err := k.Accounts.Audit(ctx, kernel.AuditStagePublish, "stage/"+rep.Stage.Name, map[string]any{"scheduled": true}); err != nil {
						log.Error("audit a scheduled publish", "stage", rep.Stage.Name, "err", err)
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
