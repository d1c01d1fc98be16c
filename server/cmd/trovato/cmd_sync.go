package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/sitesync"
)

func init() { extraCmds = append(extraCmds, func(a *app) *cobra.Command { return a.syncCmd() }) }

func (a *app) syncCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sync", Short: "Sync this (local) site with a Trovato server: pull its site, push stages (see docs/sync.md)"}
	var timeout time.Duration
	cmd.PersistentFlags().DurationVar(&timeout, "timeout", 60*time.Second, "how long to wait for one answer from the server")
	engine := func(ctx context.Context, progress bool) (*sitesync.Engine, error) {
		k, err := a.kernel(ctx)
		if err != nil {
			return nil, err
		}
		opts := sitesync.Options{Store: k.Store, TokenFile: filepath.Join(k.Config.DataDir, sitesync.TokenFileName), Timeout: timeout, Logger: a.logger()}
		if progress && !a.jsonOut {
			opts.Progress = func(st core.SyncStatus) {
				if st.State == core.SyncPulling {
					fmt.Fprintf(a.stderr, "\rpulling %d/%d changes", st.Done, st.Total)
				}
			}
		}
		return sitesync.New(opts)
	}

	var token string
	connect := &cobra.Command{
		Use:   "connect URL",
		Short: "Connect this site to a server with an API token (checks both, then stores them)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := engine(cmd.Context(), false)
			if err != nil {
				return err
			}
			info, err := e.Connect(cmd.Context(), args[0], token)
			if err != nil {
				return err
			}
			return a.show(info, fmt.Sprintf("connected to %s (%s) as %s; run trovato sync pull", args[0], info.SiteName, info.User))
		},
	}
	connect.Flags().StringVar(&token, "token", "", "an API token made on the server (trovato token create)")
	_ = connect.MarkFlagRequired("token")

	pull := &cobra.Command{
		Use:   "pull",
		Short: "Retry queued pushes, then copy every change on the server since the last pull (resumes an interrupted pull)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, _, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			e, err := engine(ctx, true)
			if err != nil {
				return err
			}
			// Queued pushes go first, as the desktop's sync loop does.
			if err := e.FlushQueue(ctx); err != nil {
				fmt.Fprintln(a.stderr, "queued push: "+oneLine(err))
			}
			res, err := e.Pull(ctx)
			if !a.jsonOut && res != nil && res.Batches > 0 {
				fmt.Fprintln(a.stderr)
			}
			if err != nil {
				return err
			}
			text := fmt.Sprintf("pulled %d changes (%d entities) in %d batches", res.Changes, res.Entities, res.Batches)
			if res.Conflicts > 0 {
				text += fmt.Sprintf("; %d met local edits and wait for a choice: trovato sync conflicts", res.Conflicts)
			}
			return a.show(res, text)
		},
	}

	var resolve string
	push := &cobra.Command{
		Use:   "push STAGE",
		Short: "Push a local stage to the server as one changeset (queued when the server does not answer)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if resolve != "" && resolve != core.ResolveMine && resolve != core.ResolveTheirs {
				return core.Errorf(core.EInvalid, "--resolve takes mine or theirs, not %q", resolve)
			}
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			stage, err := a.stageID(ctx, k, args[0])
			if err != nil {
				return err
			}
			e, err := engine(cmd.Context(), false)
			if err != nil {
				return err
			}
			rep, err := e.Push(ctx, stage)
			var ce *sitesync.ConflictError
			if errors.As(err, &ce) && resolve != "" && core.ErrorCode(err) == core.EConflict {
				for _, p := range ce.Report.Problems {
					if p.Problem == "conflict" {
						if err := e.ResolvePushConflict(ctx, stage, p, resolve); err != nil {
							return err
						}
					}
				}
				rep, err = e.Push(ctx, stage)
			}
			if errors.As(err, &ce) {
				if a.jsonOut {
					_ = a.printJSON(ce.Report)
				} else {
					a.printProblems(ce.Report.Problems)
				}
				return err
			}
			if err != nil {
				return err
			}
			return a.show(rep, fmt.Sprintf("pushed stage %s: %d changes applied, %d already there", rep.Stage.Name, rep.Entries-rep.Skipped, rep.Skipped))
		},
	}
	push.Flags().StringVar(&resolve, "resolve", "", "on conflicts: mine (apply over the server's version) or theirs (drop the local change), then push again")

	status := &cobra.Command{
		Use:   "status",
		Short: "Show the sync state: idle, pulling n/m, pushing, offline since, last error, queued pushes, conflicts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := a.kernel(cmd.Context())
			if err != nil {
				return err
			}
			st, err := k.Store.Sync().Status(cmd.Context())
			if err != nil {
				return err
			}
			return a.show(st, statusText(st))
		},
	}

	conflicts := &cobra.Command{
		Use:   "conflicts",
		Short: "List pulled changes that met local edits of live",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := a.kernel(cmd.Context())
			if err != nil {
				return err
			}
			cs, err := k.Store.Sync().FindPullConflicts(cmd.Context())
			if err != nil {
				return err
			}
			docs, err := k.Store.Sync().FindDocConflicts(cmd.Context())
			if err != nil {
				return err
			}
			var rows [][]string
			for _, c := range cs {
				rows = append(rows, []string{c.Kind, c.EntityID.String(), idText(c.LocalRevision), idText(c.ServerRevison)})
			}
			for _, c := range docs {
				server := "changed"
				if c.Server.Deleted {
					server = "deleted"
				}
				rows = append(rows, []string{c.Kind, c.ID, "changed here", server})
			}
			out := struct {
				Live []postgres.PullConflict `json:"live"`
				Docs []postgres.DocConflict  `json:"docs"`
			}{cs, docs}
			return a.table(out, []string{"KIND", "ID", "LOCAL REVISION", "SERVER REVISION"}, rows)
		},
	}
	resolvePull := &cobra.Command{
		Use:   "resolve KIND ID mine|theirs",
		Short: "Settle a pulled change that met a local edit: theirs takes the server's revision, mine keeps the local one",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == core.KindConfig || args[0] == core.KindRole || args[0] == core.KindPlugin || args[0] == core.KindTheme {
				ctx, _, err := a.acting(cmd.Context())
				if err != nil {
					return err
				}
				e, err := engine(ctx, false)
				if err != nil {
					return err
				}
				if err := e.ResolveDocConflict(ctx, args[0], args[1], args[2]); err != nil {
					return err
				}
				a.say("%s %s: kept %s", args[0], args[1], args[2])
				return nil
			}
			ctx, _, id, err := a.actingOn(cmd.Context(), args[1])
			if err != nil {
				return err
			}
			e, err := engine(cmd.Context(), false)
			if err != nil {
				return err
			}
			if err := e.ResolvePullConflict(ctx, args[0], id, args[2]); err != nil {
				return err
			}
			a.say("%s %s: kept %s", args[0], id, args[2])
			return nil
		},
	}
	cmd.AddCommand(connect, pull, push, status, conflicts, resolvePull)
	return cmd
}

func idText(id *core.ID) string {
	if id == nil {
		return "-"
	}
	return id.String()
}

func statusText(st *core.SyncStatus) string {
	if st.Remote == "" {
		return "not connected; run trovato sync connect URL --token TOKEN"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "server:    %s\nstate:     %s", st.Remote, st.State)
	if st.State == core.SyncPulling || st.Total > 0 {
		fmt.Fprintf(&b, " (%d/%d changes)", st.Done, st.Total)
	}
	if st.Stage != "" {
		fmt.Fprintf(&b, " (stage %s)", st.Stage)
	}
	if st.OfflineSince != nil {
		fmt.Fprintf(&b, "\noffline since %s", st.OfflineSince.Local().Format(time.RFC3339))
	}
	if st.LastError != "" {
		fmt.Fprintf(&b, "\nlast error: %s", st.LastError)
	}
	if st.LastPull != nil {
		fmt.Fprintf(&b, "\nlast pull: %s", st.LastPull.Local().Format(time.RFC3339))
	}
	if st.LastPush != nil {
		fmt.Fprintf(&b, "\nlast push: %s", st.LastPush.Local().Format(time.RFC3339))
	}
	if len(st.Queued) > 0 {
		fmt.Fprintf(&b, "\nqueued pushes: %s", strings.Join(st.Queued, ", "))
	}
	if st.Conflicts > 0 {
		fmt.Fprintf(&b, "\npull conflicts: %d (trovato sync conflicts)", st.Conflicts)
	}
	return b.String()
}

func (a *app) printProblems(ps []core.ChangesetProblem) {
	for _, p := range ps {
		fmt.Fprintf(a.stdout, "%s %s %s: %s\n", p.Problem, p.Kind, p.EntityID, p.Message)
		for _, d := range p.Diff {
			fmt.Fprintf(a.stdout, "    %s: server %s, local %s\n", d.Path, jsonText(d.Old), jsonText(d.New))
		}
	}
}

func jsonText(v json.RawMessage) string {
	s := string(v)
	if s == "" {
		return "(none)"
	}
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}
