package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trovato/trovato/core"
)

func init() { extraCmds = append(extraCmds, func(a *app) *cobra.Command { return a.gatherCmd() }) }

func (a *app) gatherCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "gather", Short: "Gathers: stored listings of items (see docs/gathers.md)"}
	apply := &cobra.Command{
		Use:   "apply FILE",
		Short: "Create or change gathers (and search weights) from a YAML or JSON file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return core.Errorf(core.EInvalid, "read %s: %v", args[0], err)
			}
			docs, err := core.ParseConfigFile(args[0], data)
			if err != nil {
				return err
			}
			for _, d := range docs {
				if d.Kind != "gather" && d.Kind != "search" {
					return core.Errorf(core.EInvalid, "%s: %s/%s is not a gather or search document", args[0], d.Kind, d.Name)
				}
			}
			// Every gather must fit today's item types before any is stored.
			for _, d := range docs {
				if d.Kind != "gather" {
					continue
				}
				g, err := core.ParseGather(d.Body)
				if err != nil {
					return err
				}
				if err := k.Store.Gathers().CheckGather(ctx, g); err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
			}
			for _, d := range docs {
				doc, err := k.Store.Config().PutConfig(ctx, d.Kind, d.Name, d.Body, 0)
				if err != nil {
					return fmt.Errorf("%s/%s: %w", d.Kind, d.Name, err)
				}
				a.say("%s %s: version %d", d.Kind, d.Name, doc.Version)
			}
			return nil
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List gathers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			docs, err := k.Store.Config().FindConfigs(ctx, "gather")
			if err != nil {
				return err
			}
			var out []*core.Gather
			var rows [][]string
			for _, d := range docs {
				g, err := core.GatherFromConfig(d)
				if err != nil {
					return err
				}
				out = append(out, g)
				var displays []string
				for _, disp := range g.Displays {
					displays = append(displays, strings.TrimSpace(disp.Type+" "+disp.Path))
				}
				types := strings.Join(g.Types, ",")
				if types == "" {
					types = "(all)"
				}
				rows = append(rows, []string{g.Name, g.Label, types, strconv.Itoa(g.PerPage("")), strings.Join(displays, ", ")})
			}
			return a.table(out, []string{"NAME", "LABEL", "TYPES", "PER PAGE", "DISPLAYS"}, rows)
		},
	}
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a gather document (YAML, or JSON with --json)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			d, err := k.Store.Config().FindConfig(ctx, "gather", args[0])
			if err != nil {
				if core.ErrorCode(err) == core.ENotFound {
					return core.Errorf(core.ENotFound, "gather %q not found (see: trovato gather list)", args[0])
				}
				return err
			}
			return a.showConfig(d)
		},
	}
	var stage, display string
	var page int
	var pathArgs, exposed []string
	run := &cobra.Command{
		Use:   "run NAME",
		Short: "Run a gather as --as sees it and print one page",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			st, err := a.stageID(ctx, k, stage)
			if err != nil {
				return err
			}
			g, err := k.Store.FindGather(ctx, args[0])
			if err != nil {
				return err
			}
			ga := core.GatherArgs{PathArgs: pathArgs, Page: page, Display: display, Exposed: map[string]string{}}
			for _, kv := range exposed {
				name, v, ok := strings.Cut(kv, "=")
				if !ok {
					return core.Errorf(core.EInvalid, "--exposed %q: use name=value", kv)
				}
				ga.Exposed[name] = v
			}
			res, err := k.Store.RunGather(ctx, g, st, ga)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(res)
			}
			a.say("page %d of %d, %d items", res.Page, res.Pages, res.Total)
			var rows [][]string
			for _, it := range res.Items {
				rows = append(rows, []string{it.ID.String(), it.Type, it.Status, it.CreatedAt.Format("2006-01-02 15:04"), it.Title})
			}
			return a.table(res, []string{"ID", "TYPE", "STATUS", "CREATED", "TITLE"}, rows)
		},
	}
	run.Flags().StringVar(&stage, "stage", "", "stage to read (default live)")
	run.Flags().IntVar(&page, "page", 1, "page number")
	run.Flags().StringVar(&display, "display", "", "display whose item count sets the page size")
	run.Flags().StringArrayVar(&pathArgs, "arg", nil, "path argument {arg0}, {arg1}, … (repeatable, in order)")
	run.Flags().StringArrayVar(&exposed, "exposed", nil, "exposed filter value as name=value (repeatable)")
	var searchStage string
	var searchPage int
	search := &cobra.Command{
		Use:   "search TEXT",
		Short: "Full-text search as --as sees it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			st, err := a.stageID(ctx, k, searchStage)
			if err != nil {
				return err
			}
			res, err := k.Store.Search(ctx, args[0], st, searchPage)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(res)
			}
			a.say("page %d of %d, %d hits", res.Page, res.Pages, res.Total)
			var rows [][]string
			for _, h := range res.Hits {
				rows = append(rows, []string{h.Item.ID.String(), strconv.FormatFloat(h.Rank, 'f', 4, 64), h.Item.Title, strings.Join(strings.Fields(h.Snippet), " ")})
			}
			return a.table(res, []string{"ID", "RANK", "TITLE", "SNIPPET"}, rows)
		},
	}
	search.Flags().StringVar(&searchStage, "stage", "", "stage to search (default live)")
	search.Flags().IntVar(&searchPage, "page", 1, "page number")
	cmd.AddCommand(apply, list, show, run, search)
	return cmd
}
