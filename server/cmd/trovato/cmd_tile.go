package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trovato/trovato/core"
)

func init() { extraCmds = append(extraCmds, func(a *app) *cobra.Command { return a.tileCmd() }) }

func (a *app) tileCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tile", Short: "Tiles: content placed in theme regions (see docs/site.md)"}
	apply := &cobra.Command{
		Use:   "apply FILE",
		Short: "Create or change tiles from a YAML or JSON file",
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
			// Every tile must refer to stored gathers and menus before any is stored.
			regions := map[string]string{}
			for _, d := range docs {
				if d.Kind != "tile" {
					return core.Errorf(core.EInvalid, "%s: %s/%s is not a tile document", args[0], d.Kind, d.Name)
				}
				t, err := core.ParseTile(d.Body)
				if err != nil {
					return err
				}
				if err := k.Store.CheckTile(ctx, t); err != nil {
					return fmt.Errorf("%s: tile %s: %w", args[0], d.Name, err)
				}
				regions[d.Name] = t.Region
			}
			if err := a.warnTileRegions(ctx, k, regions); err != nil {
				return err
			}
			for _, d := range docs {
				doc, err := k.Store.Config().PutConfig(ctx, d.Kind, d.Name, d.Body, 0)
				if err != nil {
					return fmt.Errorf("tile %s: %w", d.Name, err)
				}
				a.say("tile %s: version %d", d.Name, doc.Version)
			}
			return nil
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List tiles by region and weight",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			tiles, err := k.Store.FindTiles(ctx)
			if err != nil {
				return err
			}
			var rows [][]string
			for _, t := range tiles {
				src := t.Content.Source()
				switch {
				case t.Content.Gather != nil:
					src += " " + strings.TrimSuffix(t.Content.Gather.Gather+"/"+t.Content.Gather.Display, "/")
				case t.Content.Menu != nil:
					src += " " + t.Content.Menu.Menu
				case t.Content.Plugin != nil:
					src += " " + t.Content.Plugin.Plugin + "/" + t.Content.Plugin.Tile
				}
				status := "enabled"
				if t.Disabled {
					status = "disabled"
				}
				rows = append(rows, []string{t.Name, t.Label, t.Region, strconv.Itoa(t.Weight), src, status, visibilitySummary(t.Visibility)})
			}
			return a.table(tiles, []string{"NAME", "LABEL", "REGION", "WEIGHT", "CONTENT", "STATUS", "VISIBILITY"}, rows)
		},
	}
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a tile document (YAML, or JSON with --json)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			d, err := k.Store.Config().FindConfig(ctx, "tile", args[0])
			if core.ErrorCode(err) == core.ENotFound {
				return core.Errorf(core.ENotFound, "tile %q not found (see: trovato tile list)", args[0])
			} else if err != nil {
				return err
			}
			return a.showConfig(d)
		},
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a tile",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			if err := k.Store.Config().DeleteConfig(ctx, "tile", args[0]); core.ErrorCode(err) == core.ENotFound {
				return core.Errorf(core.ENotFound, "tile %q not found (see: trovato tile list)", args[0])
			} else if err != nil {
				return err
			}
			a.say("deleted tile %s", args[0])
			return nil
		},
	}
	cmd.AddCommand(apply, list, show, del)
	return cmd
}

// visibilitySummary is a tile's rules in one line ("every page" when none).
func visibilitySummary(v core.TileVisibility) string {
	var parts []string
	if len(v.Pages) > 0 {
		parts = append(parts, "pages "+strings.Join(v.Pages, " "))
	}
	if len(v.Except) > 0 {
		parts = append(parts, "except "+strings.Join(v.Except, " "))
	}
	if len(v.Roles) > 0 {
		parts = append(parts, "roles "+strings.Join(v.Roles, ","))
	}
	if len(v.Types) > 0 {
		parts = append(parts, "types "+strings.Join(v.Types, ","))
	}
	if len(parts) == 0 {
		return "every page"
	}
	return strings.Join(parts, "; ")
}
