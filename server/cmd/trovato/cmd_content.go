package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
)

// parseFields turns --field name=value flags into a JSON object. A value
// that is valid JSON is taken as JSON, anything else as a string.
func parseFields(flags []string) (json.RawMessage, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	m := map[string]json.RawMessage{}
	for _, f := range flags {
		name, value, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return nil, core.Errorf(core.EInvalid, "--field %q: write name=value", f)
		}
		v := json.RawMessage(value)
		if !json.Valid(v) {
			v = mustJSON(value)
		}
		m[name] = v
	}
	return json.Marshal(m)
}

func itemText(it *core.Item) string {
	var b strings.Builder
	fmt.Fprintf(&b, "id:       %s\ntype:     %s\ntitle:    %s\nstatus:   %s\nauthor:   %s\ncreated:  %s\nchanged:  %s\nlanguage: %s\nrevision: %s\n",
		it.ID, it.Type, it.Title, it.Status, it.AuthorID, it.CreatedAt.UTC().Format(time.RFC3339), it.ChangedAt.UTC().Format(time.RFC3339), it.Language, it.RevisionID)
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(it.Fields, &fields)
	for _, k := range sortedKeys(fields) {
		fmt.Fprintf(&b, "field %s: %s\n", k, fields[k])
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (a *app) itemCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "item", Short: "Items (content)"}
	var (
		typ, title, stage, log, status, ifRev string
		fields                                []string
	)
	create := &cobra.Command{
		Use:   "create --type TYPE --title TITLE [--field name=value ...]",
		Short: "Create an item and print its id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			st, err := a.stageID(ctx, k, stage)
			if err != nil {
				return err
			}
			fj, err := parseFields(fields)
			if err != nil {
				return err
			}
			it := &core.Item{Type: typ, Title: title, Status: status, Fields: fj}
			if err := k.Store.Items().CreateItem(ctx, st, it, log); err != nil {
				return err
			}
			return a.show(it, it.ID.String())
		},
	}
	create.Flags().StringVar(&typ, "type", "", "item type (required)")
	create.Flags().StringVar(&title, "title", "", "title (required)")
	create.Flags().StringVar(&status, "status", "", "published (default) or unpublished")
	create.Flags().StringArrayVar(&fields, "field", nil, "field value as name=value (JSON or text; repeatable)")
	create.Flags().StringVar(&stage, "stage", "", "stage to write in (default live)")
	create.Flags().StringVar(&log, "log", "", "revision log message")
	_ = create.MarkFlagRequired("type")
	_ = create.MarkFlagRequired("title")

	update := &cobra.Command{
		Use:   "update ID [--title T] [--field name=value ...]",
		Short: "Change an item (a new revision); --if-revision refuses a stale update",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, id, err := a.actingOn(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			st, err := a.stageID(ctx, k, stage)
			if err != nil {
				return err
			}
			upd := core.ItemUpdate{Log: log}
			if cmd.Flags().Changed("title") {
				upd.Title = &title
			}
			if cmd.Flags().Changed("status") {
				upd.Status = &status
			}
			if upd.Fields, err = parseFields(fields); err != nil {
				return err
			}
			if ifRev != "" {
				r, err := core.ParseID(ifRev)
				if err != nil {
					return err
				}
				upd.IfRevision = &r
			}
			it, err := k.Store.Items().UpdateItem(ctx, st, id, upd)
			if err != nil {
				return err
			}
			return a.show(it, it.RevisionID.String())
		},
	}
	update.Flags().StringVar(&title, "title", "", "new title")
	update.Flags().StringVar(&status, "status", "", "published or unpublished")
	update.Flags().StringArrayVar(&fields, "field", nil, "field value as name=value (JSON or text; null removes; repeatable)")
	update.Flags().StringVar(&stage, "stage", "", "stage to write in (default live)")
	update.Flags().StringVar(&log, "log", "", "revision log message")
	update.Flags().StringVar(&ifRev, "if-revision", "", "refuse unless this is the current revision")

	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an item (in a stage: a tombstone until publish)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, id, err := a.actingOn(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			st, err := a.stageID(ctx, k, stage)
			if err != nil {
				return err
			}
			if err := k.Store.Items().DeleteItem(ctx, st, id); err != nil {
				return err
			}
			a.say("deleted %s", id)
			return nil
		},
	}
	del.Flags().StringVar(&stage, "stage", "", "stage (default live)")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show an item as a stage shows it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, id, err := a.actingOn(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			st, err := a.stageID(ctx, k, stage)
			if err != nil {
				return err
			}
			it, err := k.Store.Items().FindItemByID(ctx, st, id)
			if err != nil {
				return err
			}
			return a.show(it, itemText(it))
		},
	}
	show.Flags().StringVar(&stage, "stage", "", "stage (default live)")

	var limit, offset int
	list := &cobra.Command{
		Use:   "list",
		Short: "List items",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			st, err := a.stageID(ctx, k, stage)
			if err != nil {
				return err
			}
			items, total, err := k.Store.Items().FindItems(ctx, core.ItemFilter{StageID: st, Type: typ, Status: status, Limit: limit, Offset: offset})
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"items": items, "total": total})
			}
			rows := make([][]string, len(items))
			for i, it := range items {
				rows[i] = []string{it.ID.String(), it.Type, it.Status, it.Title}
			}
			if err := a.table(items, []string{"ID", "TYPE", "STATUS", "TITLE"}, rows); err != nil {
				return err
			}
			a.say("%d of %d", len(items), total)
			return nil
		},
	}
	list.Flags().StringVar(&typ, "type", "", "only this type")
	list.Flags().StringVar(&status, "status", "", "only published or unpublished")
	list.Flags().StringVar(&stage, "stage", "", "stage (default live)")
	list.Flags().IntVar(&limit, "limit", 50, "page size (at most 1000)")
	list.Flags().IntVar(&offset, "offset", 0, "skip this many")

	revisions := &cobra.Command{
		Use:   "revisions ID",
		Short: "List an item's revisions, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, id, err := a.actingOn(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			revs, err := k.Store.Items().FindRevisions(ctx, id)
			if err != nil {
				return err
			}
			rows := make([][]string, len(revs))
			for i, r := range revs {
				rows[i] = []string{r.ID.String(), r.CreatedAt.UTC().Format(time.RFC3339), r.AuthorID.String(), fmt.Sprint(r.TypeVersion), r.Log}
			}
			return a.table(revs, []string{"REVISION", "CREATED", "AUTHOR", "TYPE VERSION", "LOG"}, rows)
		},
	}
	diff := &cobra.Command{
		Use:   "diff REV_A REV_B",
		Short: "Compare two revisions field by field",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			var docs [2]json.RawMessage
			for i := range 2 {
				id, err := core.ParseID(args[i])
				if err != nil {
					return err
				}
				r, err := k.Store.Items().FindRevisionByID(ctx, id)
				if err != nil {
					return err
				}
				docs[i] = r.Doc
			}
			changes := core.DiffJSON("", docs[0], docs[1])
			if a.jsonOut {
				return a.printJSON(changes)
			}
			if len(changes) == 0 {
				a.say("no differences")
				return nil
			}
			_, err = fmt.Fprint(a.stdout, core.FormatDiff(changes))
			return err
		},
	}
	restore := &cobra.Command{
		Use:   "restore REV",
		Short: "Make an old revision's content current again (as a new revision)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, id, err := a.actingOn(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			st, err := a.stageID(ctx, k, stage)
			if err != nil {
				return err
			}
			it, err := k.Store.Items().RestoreRevision(ctx, st, id, log)
			if err != nil {
				return err
			}
			return a.show(it, it.RevisionID.String())
		},
	}
	restore.Flags().StringVar(&stage, "stage", "", "stage (default live)")
	restore.Flags().StringVar(&log, "log", "", "revision log message")
	cmd.AddCommand(create, update, del, show, list, revisions, diff, restore)
	return cmd
}

func (a *app) fileCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "file", Short: "Files"}
	add := &cobra.Command{
		Use:   "add PATH",
		Short: "Store a file (its type is sniffed from the content) and print its id",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return core.Errorf(core.EInvalid, "open %s: %v", args[0], err)
			}
			defer f.Close()
			file, err := k.Files().CreateFile(ctx, args[0], f)
			if err != nil {
				return err
			}
			return a.show(file, file.ID.String())
		},
	}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a file's metadata",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, id, err := a.actingOn(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			f, err := k.Files().FindFileByID(ctx, id)
			if err != nil {
				return err
			}
			return a.show(f, fmt.Sprintf("id:    %s\nname:  %s\ntype:  %s\nsize:  %d\nhash:  %s\nowner: %s", f.ID, f.Name, f.MIME, f.Size, f.Hash, f.OwnerID))
		},
	}
	cmd.AddCommand(add, show)
	return cmd
}

func (a *app) findStage(ctx context.Context, k *kernel.Kernel, name string) (*core.Stage, error) {
	return k.Store.Stages().FindStage(ctx, name)
}

func (a *app) printReport(rep *core.PublishReport) {
	if a.jsonOut {
		_ = a.printJSON(rep)
		return
	}
	for _, e := range rep.Entries {
		status := "ok"
		if e.Problem != "" {
			status = strings.ToUpper(e.Problem) + " -> " + e.Resolution
		}
		a.say("%-7s %-9s %s %q  [%s]", e.Action, e.Kind, e.EntityID, e.Label, status)
		for _, m := range e.Messages {
			a.say("          %s", m)
		}
		for _, d := range e.Diff {
			a.say("          %s: %s -> %s", d.Path, short(string(d.Old)), short(string(d.New)))
		}
	}
	switch {
	case rep.Applied:
		a.say("published: release %s (%d changes)", rep.Release.ID, len(rep.Release.Entries))
	case rep.DryRun && !rep.Unresolved():
		a.say("dry run: %d changes would be published", len(rep.Entries))
	default:
		a.say("not published: resolve every conflict and violation (--on-conflict mine|theirs, or fix the stage)")
	}
}

func short(s string) string {
	if s == "" {
		return "(none)"
	}
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

func (a *app) stageCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "stage", Short: "Stages: change many things, preview, publish at once"}
	var label string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a stage",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			st := &core.Stage{Name: args[0], Label: label}
			if err := k.Store.Stages().CreateStage(ctx, st); err != nil {
				return err
			}
			return a.show(st, st.ID.String())
		},
	}
	create.Flags().StringVar(&label, "label", "", "human name")
	var all bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List stages",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			stages, err := k.Store.Stages().FindStages(ctx, all)
			if err != nil {
				return err
			}
			rows := make([][]string, len(stages))
			for i, s := range stages {
				at := ""
				if s.PublishAt != nil {
					at = s.PublishAt.UTC().Format(time.RFC3339)
				}
				rows[i] = []string{s.ID.String(), s.Name, s.State, at, s.Label}
			}
			return a.table(stages, []string{"ID", "NAME", "STATE", "PUBLISH AT", "LABEL"}, rows)
		},
	}
	list.Flags().BoolVar(&all, "all", false, "include published and discarded stages")
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a stage",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			st, err := a.findStage(ctx, k, args[0])
			if err != nil {
				return err
			}
			changes, err := k.Store.Stages().DiffStage(ctx, st.ID)
			if err != nil {
				return err
			}
			at := "-"
			if st.PublishAt != nil {
				at = st.PublishAt.UTC().Format(time.RFC3339)
			}
			return a.show(map[string]any{"stage": st, "changes": len(changes)},
				fmt.Sprintf("id:         %s\nname:       %s\nstate:      %s\npublish at: %s\nchanges:    %d", st.ID, st.Name, st.State, at, len(changes)))
		},
	}
	diff := &cobra.Command{
		Use:   "diff NAME",
		Short: "List every change the stage makes against live",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			st, err := a.findStage(ctx, k, args[0])
			if err != nil {
				return err
			}
			changes, err := k.Store.Stages().DiffStage(ctx, st.ID)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(changes)
			}
			entries := make([]core.PublishEntry, len(changes))
			for i, c := range changes {
				entries[i].StageChange = c
			}
			a.printReport(&core.PublishReport{Stage: st, Entries: entries, DryRun: true})
			return nil
		},
	}
	discard := &cobra.Command{
		Use:   "discard NAME",
		Short: "Drop every change of a stage",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			st, err := a.findStage(ctx, k, args[0])
			if err != nil {
				return err
			}
			if err := k.Store.Stages().DiscardStage(ctx, st.ID); err != nil {
				return err
			}
			a.say("discarded %s", st.Name)
			return nil
		},
	}
	var onConflict, message string
	var dryRun bool
	publish := &cobra.Command{
		Use:   "publish NAME",
		Short: "Publish a stage into live in one transaction; exits 0 only when live changed (or a dry run is clean)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			st, err := a.findStage(ctx, k, args[0])
			if err != nil {
				return err
			}
			rep, err := k.PublishStage(ctx, st.ID, core.PublishOptions{OnConflict: onConflict, DryRun: dryRun, Message: message})
			if err != nil {
				return err
			}
			a.printReport(rep)
			if rep.Applied || (dryRun && !rep.Unresolved()) {
				return nil
			}
			return &exitError{"stage " + st.Name + " was not published"}
		},
	}
	publish.Flags().StringVar(&onConflict, "on-conflict", "abort", "abort, mine or theirs")
	publish.Flags().BoolVar(&dryRun, "dry-run", false, "report without publishing")
	publish.Flags().StringVar(&message, "message", "", "release message")
	schedule := &cobra.Command{
		Use:   "schedule NAME TIME|none",
		Short: "Publish the stage at TIME (RFC 3339, e.g. 2026-12-01T09:00:00Z); none clears it",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			st, err := a.findStage(ctx, k, args[0])
			if err != nil {
				return err
			}
			var at *time.Time
			if args[1] != "none" {
				t, err := time.Parse(time.RFC3339, args[1])
				if err != nil {
					return core.Errorf(core.EInvalid, "time %q: write RFC 3339, e.g. 2026-12-01T09:00:00Z", args[1])
				}
				at = &t
			}
			st, err = k.Store.Stages().ScheduleStage(ctx, st.ID, at)
			if err != nil {
				return err
			}
			if at == nil {
				return a.show(st, "schedule cleared")
			}
			return a.show(st, "publishes at "+at.UTC().Format(time.RFC3339))
		},
	}
	cmd.AddCommand(create, list, show, diff, discard, publish, schedule)
	return cmd
}

func (a *app) releaseCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "release", Short: "Releases: every publish into live"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List releases, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			rels, err := k.Store.Stages().FindReleases(ctx, 100)
			if err != nil {
				return err
			}
			rows := make([][]string, len(rels))
			for i, r := range rels {
				rb := ""
				if r.RollbackOf != nil {
					rb = "rollback of " + r.RollbackOf.String()
				}
				rows[i] = []string{r.ID.String(), r.CreatedAt.UTC().Format(time.RFC3339), r.StageName, rb, r.Message}
			}
			return a.table(rels, []string{"ID", "CREATED", "STAGE", "", "MESSAGE"}, rows)
		},
	}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show what a release changed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, id, err := a.actingOn(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			r, err := k.Store.Stages().FindReleaseByID(ctx, id)
			if err != nil {
				return err
			}
			rows := make([][]string, len(r.Entries))
			for i, e := range r.Entries {
				prev, next := "-", "-"
				if e.PrevRevision != nil {
					prev = e.PrevRevision.String()
				}
				if e.NewRevision != nil {
					next = e.NewRevision.String()
				}
				rows[i] = []string{e.Kind, e.EntityID.String(), prev, next}
			}
			return a.table(r, []string{"KIND", "ENTITY", "PREVIOUS", "NEW"}, rows)
		},
	}
	var onConflict string
	var dryRun bool
	rollback := &cobra.Command{
		Use:   "rollback ID",
		Short: "Publish live back to before a release; later changes are reported as conflicts",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, id, err := a.actingOn(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			rep, err := k.RollbackRelease(ctx, id, core.PublishOptions{OnConflict: onConflict, DryRun: dryRun})
			if err != nil {
				return err
			}
			a.printReport(rep)
			if rep.Applied || (dryRun && !rep.Unresolved()) {
				return nil
			}
			return &exitError{"release " + id.String() + " was not rolled back"}
		},
	}
	rollback.Flags().StringVar(&onConflict, "on-conflict", "abort", "abort, mine or theirs")
	rollback.Flags().BoolVar(&dryRun, "dry-run", false, "report without changing live")
	cmd.AddCommand(list, show, rollback)
	return cmd
}

func (a *app) schedulerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "scheduler", Short: "The scheduler: scheduled publishes"}
	var once bool
	var every time.Duration
	run := &cobra.Command{
		Use:   "run",
		Short: "Run due scheduled publishes (once, or every --every until stopped)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			k, err := a.kernel(ctx)
			if err != nil {
				return err
			}
			for {
				reps, err := k.Store.Stages().RunScheduled(ctx)
				if err != nil {
					return err
				}
				for _, r := range reps {
					if r.Applied {
						a.say("published stage %s: release %s", r.Stage.Name, r.Release.ID)
					} else {
						a.say("scheduled publish of %s not applied: it has conflicts or violations (see trovato stage diff %s)", r.Stage.Name, r.Stage.Name)
					}
				}
				if once {
					return nil
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(every):
				}
			}
		},
	}
	run.Flags().BoolVar(&once, "once", false, "run due publishes once and exit")
	run.Flags().DurationVar(&every, "every", 10*time.Second, "poll interval")
	cmd.AddCommand(run)
	return cmd
}
