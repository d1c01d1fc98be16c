package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/trovato/trovato/core/demo"
	"github.com/trovato/trovato/core/kernel"
)

func init() { extraCmds = append(extraCmds, func(a *app) *cobra.Command { return a.demoCmd() }) }

func (a *app) demoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The demo site: articles, pages, categories, menus",
	}
	var dryRun bool
	load := &cobra.Command{
		Use:   "load",
		Short: "Load the demo content, or bring it up to date",
		Long: `Load the demo site into live: site settings, item types, vocabularies, menus,
images, categories and tags, articles and pages, path aliases and menu links.

Entities have fixed ids, so loading again creates only what is missing and
updates only what the demo itself wrote and a newer demo changed. Anything you
edited or deleted is left alone and listed as edited. Exits 0 when the load
succeeded, whether or not it changed anything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := a.loadDemo(cmd.Context(), demo.Options{DryRun: dryRun})
			if err != nil {
				return err
			}
			return a.demoReport(rep)
		},
	}
	load.Flags().BoolVar(&dryRun, "dry-run", false, "report what would change without writing")
	cmd.AddCommand(load)
	return cmd
}

// loadDemo loads the demo as the acting user (--as); `trovato run` can
// call it before serving.
func (a *app) loadDemo(ctx context.Context, opts demo.Options) (*demo.Report, error) {
	ctx, k, err := a.acting(ctx)
	if err != nil {
		return nil, err
	}
	rep, err := demo.Load(ctx, demo.NewStoreLoader(k.Store, k.Files()), opts)
	if err != nil || opts.DryRun {
		return rep, err
	}
	// The reference plugins (blog, related) come with the demo, enabled
	// with their capabilities approved.
	if err := kernel.InstallBundled(ctx, k); err != nil {
		return rep, fmt.Errorf("reference plugins: %w", err)
	}
	return rep, nil
}

func (a *app) demoReport(rep *demo.Report) error {
	if a.jsonOut {
		return a.printJSON(rep)
	}
	n := strconv.Itoa
	var rows [][]string
	for _, k := range rep.Kinds {
		rows = append(rows, []string{k.Kind, n(k.Created), n(k.Updated), n(k.Unchanged), n(k.Edited)})
	}
	if err := a.table(rep, []string{"KIND", "CREATED", "UPDATED", "UNCHANGED", "EDITED"}, rows); err != nil {
		return err
	}
	if len(rep.Edited) > 0 {
		a.say("\nLeft alone (changed outside the demo):")
		var erows [][]string
		for _, e := range rep.Edited {
			erows = append(erows, []string{e.Kind, e.ID, e.Label, e.Reason})
		}
		if err := a.table(nil, []string{"KIND", "ID", "LABEL", "REASON"}, erows); err != nil {
			return err
		}
	}
	switch {
	case rep.DryRun:
		a.say("\nDry run of demo %d: nothing was written.", rep.Version)
	case rep.Changed():
		a.say("\nDemo %d loaded.", rep.Version)
	default:
		a.say("\nDemo %d: everything is up to date.", rep.Version)
	}
	return nil
}
