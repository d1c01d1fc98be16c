package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/redis"
)

func (a *app) migrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate [status]",
		Short: "Apply pending database migrations, or show their status",
		Args:  cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && args[0] != "status" {
				return fmt.Errorf("unknown argument %q: use `trovato migrate` or `trovato migrate status`", args[0])
			}
			ctx := cmd.Context()
			cfg, err := a.settings()
			if err != nil {
				return err
			}
			k, err := kernel.New(ctx, cfg, kernel.Options{Logger: a.logger(), SkipMigrate: true})
			if err != nil {
				return err
			}
			a.k = k
			if len(args) == 0 {
				applied, err := postgres.Migrate(ctx, k.Pool, a.logger())
				if err != nil {
					return err
				}
				if a.jsonOut {
					return a.printJSON(map[string]any{"applied": applied})
				}
				if len(applied) == 0 {
					a.say("no pending migrations")
				}
				for _, m := range applied {
					a.say("applied %s", m)
				}
				return nil
			}
			states, err := postgres.MigrationStatus(ctx, k.Pool)
			if err != nil {
				return err
			}
			rows := make([][]string, len(states))
			for i, s := range states {
				at := "pending"
				if s.Applied {
					at = s.AppliedAt.UTC().Format(time.RFC3339)
				}
				rows[i] = []string{fmt.Sprintf("%04d", s.Version), s.Name, at}
			}
			return a.table(states, []string{"VERSION", "NAME", "APPLIED"}, rows)
		},
	}
	return cmd
}

func (a *app) servicesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "services", Short: "Start or stop the embedded services for other commands to share"}
	cmd.AddCommand(&cobra.Command{
		Use:   "start",
		Short: "Start the embedded PostgreSQL and keep it running until `trovato services stop`",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := a.kernel(cmd.Context())
			if err != nil {
				return err
			}
			if k.Cluster == nil {
				a.say("using DATABASE_URL; no embedded services to start")
				return nil
			}
			if err := k.Cluster.AcquirePersistentLease(cmd.Context()); err != nil {
				return err
			}
			a.say("embedded PostgreSQL %s running in %s (socket %s)", k.Cluster.MajorVersion(), k.Cluster.Dir(), k.Cluster.SocketDir())
			if a.cfg.RedisURL != "" {
				return nil
			}
			rs, err := redis.StartServer(cmd.Context(), redis.ServerConfig{Dir: filepath.Join(a.cfg.DataDir, "redis"), Logger: a.logger()})
			if err != nil {
				a.say("no private redis-server (%s); serve will keep sessions and caches in memory", oneLine(err))
				return nil
			}
			defer rs.Close(context.WithoutCancel(cmd.Context()))
			if err := rs.AcquirePersistentLease(cmd.Context()); err != nil {
				return err
			}
			a.say("private redis-server running at %s", rs.URL())
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "stop",
		Short: "Release the lease taken by `trovato services start`; the last user stops the cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := a.kernel(cmd.Context())
			if err != nil {
				return err
			}
			if k.Cluster == nil {
				return nil
			}
			if err := k.Cluster.ReleasePersistentLease(cmd.Context()); err != nil {
				return err
			}
			if a.cfg.RedisURL == "" {
				if rs, err := redis.StartServer(cmd.Context(), redis.ServerConfig{Dir: filepath.Join(a.cfg.DataDir, "redis"), Logger: a.logger()}); err == nil {
					_ = rs.ReleasePersistentLease(cmd.Context())
					_ = rs.Close(context.WithoutCancel(cmd.Context()))
				}
			}
			a.say("released; the cluster stops when no other process uses it")
			return nil
		},
	})
	return cmd
}

func (a *app) feedCmd() *cobra.Command {
	var after uint64
	var limit int
	cmd := &cobra.Command{
		Use:   "feed",
		Short: "Print the change feed (every committed change)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := a.kernel(cmd.Context())
			if err != nil {
				return err
			}
			changes, next, err := k.Store.Feed().ReadChanges(cmd.Context(), core.FeedCursor(after), limit)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"changes": changes, "next": next})
			}
			rows := make([][]string, len(changes))
			for i, c := range changes {
				stage := ""
				if c.StageID != nil {
					stage = c.StageID.String()
				}
				rows[i] = []string{fmt.Sprint(c.Seq), c.Kind, c.Op, c.EntityID, stage}
			}
			if err := a.table(changes, []string{"SEQ", "KIND", "OP", "ENTITY", "STAGE"}, rows); err != nil {
				return err
			}
			a.say("next: --after %d", next)
			return nil
		},
	}
	cmd.Flags().Uint64Var(&after, "after", 0, "cursor from a previous read")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many changes")
	return cmd
}

func (a *app) configCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Site settings and other config documents (kind/name)"}
	get := &cobra.Command{
		Use:   "get KIND/NAME [KEY]",
		Short: "Print a config document, or one top-level key of it",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			kind, name, err := splitKindName(args[0])
			if err != nil {
				return err
			}
			d, err := k.Store.Config().FindConfig(ctx, kind, name)
			if err != nil {
				return err
			}
			if len(args) == 2 {
				var m map[string]json.RawMessage
				_ = json.Unmarshal(d.Body, &m)
				v, ok := m[args[1]]
				if !ok {
					return core.Errorf(core.ENotFound, "%s/%s has no key %q", kind, name, args[1])
				}
				var s string
				if json.Unmarshal(v, &s) == nil && !a.jsonOut {
					a.say("%s", s)
					return nil
				}
				_, err = fmt.Fprintln(a.stdout, string(v))
				return err
			}
			return a.showConfig(d)
		},
	}
	set := &cobra.Command{
		Use:   "set KIND/NAME KEY VALUE",
		Short: "Set one top-level key of a config document (VALUE is JSON, or else a string)",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			kind, name, err := splitKindName(args[0])
			if err != nil {
				return err
			}
			m := map[string]json.RawMessage{"kind": mustJSON(kind), "name": mustJSON(name)}
			version := 0
			if d, err := k.Store.Config().FindConfig(ctx, kind, name); err == nil {
				_ = json.Unmarshal(d.Body, &m)
				version = d.Version
			} else if core.ErrorCode(err) != core.ENotFound {
				return err
			}
			if args[1] == "kind" || args[1] == "name" {
				return core.Errorf(core.EInvalid, "kind and name cannot be set")
			}
			v := json.RawMessage(args[2])
			if !json.Valid(v) {
				v = mustJSON(args[2])
			}
			m[args[1]] = v
			body, _ := json.Marshal(m)
			d, err := k.Store.Config().PutConfig(ctx, kind, name, body, version)
			if err != nil {
				return err
			}
			return a.show(d, fmt.Sprintf("%s/%s is at version %d", d.Kind, d.Name, d.Version))
		},
	}
	apply := &cobra.Command{
		Use:   "apply FILE...",
		Short: "Store the config documents in YAML or JSON files (item types go through `trovato type apply`)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.applyFiles(cmd, args, "")
		},
	}
	export := &cobra.Command{
		Use:   "export DIR",
		Short: "Write every config document to DIR/<kind>/<name>.yaml",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			docs, err := k.Store.Config().FindConfigs(ctx, "")
			if err != nil {
				return err
			}
			for _, d := range docs {
				cd := core.ConfigDoc{Kind: d.Kind, Name: d.Name, Body: d.Body}
				y, err := core.MarshalConfigYAML(cd)
				if err != nil {
					return err
				}
				p := filepath.Join(args[0], filepath.FromSlash(core.ConfigExportPath(cd)))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(p, y, 0o644); err != nil {
					return err
				}
			}
			a.say("exported %d documents to %s", len(docs), args[0])
			return nil
		},
	}
	imp := &cobra.Command{
		Use:   "import DIR",
		Short: "Store every document under DIR (as written by export)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var files []string
			err := filepath.WalkDir(args[0], func(p string, d os.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".json")) {
					files = append(files, p)
				}
				return nil
			})
			if err != nil {
				return err
			}
			sort.Strings(files)
			return a.applyFiles(cmd, files, "")
		},
	}
	cmd.AddCommand(get, set, apply, export, imp)
	return cmd
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func splitKindName(s string) (string, string, error) {
	kind, name, ok := strings.Cut(s, "/")
	if !ok || kind == "" || name == "" {
		return "", "", core.Errorf(core.EInvalid, "%q: name a document as KIND/NAME, e.g. site/site or item_type/article", s)
	}
	return kind, name, nil
}

// applyFiles parses every file first (so one bad file changes nothing),
// then stores the documents: item types through the type migration,
// everything else as config. onlyKind restricts the kinds accepted.
func (a *app) applyFiles(cmd *cobra.Command, files []string, onlyKind string) error {
	ctx, k, err := a.acting(cmd.Context())
	if err != nil {
		return err
	}
	var docs []core.ConfigDoc
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return core.Errorf(core.EInvalid, "read %s: %v", f, err)
		}
		ds, err := core.ParseConfigFile(f, data)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if onlyKind != "" && d.Kind != onlyKind {
				return core.Errorf(core.EInvalid, "%s: %s/%s is not a %s document", f, d.Kind, d.Name, onlyKind)
			}
		}
		docs = append(docs, ds...)
	}
	// Vocabularies and menus first: types and links refer to them.
	sort.SliceStable(docs, func(i, j int) bool { return kindOrder(docs[i].Kind) < kindOrder(docs[j].Kind) })
	var reports []any
	for _, d := range docs {
		if d.Kind == "item_type" {
			rep, err := k.Store.ApplyType(ctx, d.Body, false)
			if err != nil {
				return fmt.Errorf("item_type/%s: %w", d.Name, err)
			}
			reports = append(reports, rep)
			if !rep.Applied {
				a.printMigration(rep)
				return &exitError{fmt.Sprintf("item_type/%s: %d items cannot be converted; fix them, then apply again", d.Name, len(rep.Failed))}
			}
			a.say("item_type/%s: version %d (%d items converted)", d.Name, rep.ToVersion, len(rep.Converted))
			continue
		}
		doc, err := k.Store.Config().PutConfig(ctx, d.Kind, d.Name, d.Body, 0)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", d.Kind, d.Name, err)
		}
		reports = append(reports, doc)
		a.say("%s/%s: version %d", doc.Kind, doc.Name, doc.Version)
	}
	if a.jsonOut {
		return a.printJSON(reports)
	}
	return nil
}

func kindOrder(kind string) int {
	switch kind {
	case "site":
		return 0
	case "vocabulary", "menu":
		return 1
	case "item_type":
		return 2
	}
	return 3
}

func (a *app) printMigration(rep *postgres.TypeMigration) {
	if a.jsonOut {
		_ = a.printJSON(rep)
		return
	}
	switch {
	case rep.FromVersion == 0 && rep.Applied:
		a.say("item type %s: created (version %d)", rep.Type, rep.ToVersion)
	case rep.FromVersion == rep.ToVersion:
		a.say("item type %s: unchanged (version %d)", rep.Type, rep.ToVersion)
	case rep.DryRun || !rep.Applied:
		a.say("item type %s: version %d (not changed)", rep.Type, rep.FromVersion)
	default:
		a.say("item type %s: version %d -> %d", rep.Type, rep.FromVersion, rep.ToVersion)
	}
	if rep.FromVersion > 0 && rep.Plan.Changed() {
		a.say("%s", strings.TrimRight(rep.Plan.String(), "\n"))
	}
	for _, c := range rep.Converted {
		a.say("  convert %s in %s (%s)", c.ItemID, c.Stage, c.Title)
	}
	for _, f := range rep.Failed {
		for _, p := range f.Problems {
			a.say("  FAIL %s in %s (%s): %s: %s", f.ItemID, f.Stage, f.Title, p.Path, p.Message)
		}
	}
}

func (a *app) typeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "type", Short: "Item types"}
	var dryRun bool
	apply := &cobra.Command{
		Use:   "apply FILE",
		Short: "Create or change an item type; a change converts affected items as new revisions",
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
				if d.Kind != "item_type" {
					return core.Errorf(core.EInvalid, "%s: %s/%s is not an item_type document", args[0], d.Kind, d.Name)
				}
			}
			for _, d := range docs {
				rep, err := k.Store.ApplyType(ctx, d.Body, dryRun)
				if err != nil {
					return err
				}
				a.printMigration(rep)
				if !rep.Applied && !dryRun {
					return &exitError{fmt.Sprintf("item type %s not changed: %d items cannot be converted", rep.Type, len(rep.Failed))}
				}
			}
			return nil
		},
	}
	apply.Flags().BoolVar(&dryRun, "dry-run", false, "report what would change without writing")
	list := &cobra.Command{
		Use:   "list",
		Short: "List item types",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			docs, err := k.Store.Config().FindConfigs(ctx, "item_type")
			if err != nil {
				return err
			}
			var types []*core.ItemType
			var rows [][]string
			for _, d := range docs {
				t, err := core.ParseItemType(d.Body)
				if err != nil {
					return err
				}
				t.Version = d.Version
				types = append(types, t)
				rows = append(rows, []string{t.Name, t.Label, fmt.Sprint(d.Version), fmt.Sprint(len(t.Fields))})
			}
			return a.table(types, []string{"NAME", "LABEL", "VERSION", "FIELDS"}, rows)
		},
	}
	show := &cobra.Command{
		Use:   "show TYPE",
		Short: "Show an item type",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			d, err := k.Store.Config().FindConfig(ctx, "item_type", args[0])
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(d)
			}
			y, err := core.MarshalConfigYAML(core.ConfigDoc{Kind: d.Kind, Name: d.Name, Body: d.Body})
			if err != nil {
				return err
			}
			a.say("# version %d", d.Version)
			_, err = a.stdout.Write(y)
			return err
		},
	}
	cmd.AddCommand(apply, list, show)
	return cmd
}

func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Users"}
	var email string
	var roles []string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a user",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			u := &core.User{Name: args[0], Email: email, Roles: roles}
			if err := k.Store.Users().CreateUser(ctx, u); err != nil {
				return err
			}
			return a.show(u, u.ID.String())
		},
	}
	create.Flags().StringVar(&email, "email", "", "email address")
	create.Flags().StringSliceVar(&roles, "role", nil, "role to grant (repeatable)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			users, err := k.Store.Users().FindUsers(ctx, core.UserFilter{})
			if err != nil {
				return err
			}
			rows := make([][]string, len(users))
			for i, u := range users {
				rows[i] = []string{u.ID.String(), u.Name, u.Email, u.Status, strings.Join(u.Roles, ",")}
			}
			return a.table(users, []string{"ID", "NAME", "EMAIL", "STATUS", "ROLES"}, rows)
		},
	}
	setStatus := func(use, status string) *cobra.Command {
		return &cobra.Command{
			Use:   use + " NAME",
			Short: strings.ToUpper(use[:1]) + use[1:] + " a user",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx, k, err := a.acting(cmd.Context())
				if err != nil {
					return err
				}
				u, err := k.Store.Users().FindUserByName(ctx, args[0])
				if err != nil {
					return err
				}
				u, err = k.Store.Users().UpdateUser(ctx, u.ID, core.UserUpdate{Status: &status})
				if err != nil {
					return err
				}
				return a.show(u, fmt.Sprintf("%s is %s", u.Name, u.Status))
			},
		}
	}
	var reassign string
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a user; their content goes to --reassign-to (default: system)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			u, err := k.Store.Users().FindUserByName(ctx, args[0])
			if err != nil {
				return err
			}
			to := core.NilID
			if reassign != "" {
				r, err := k.Store.Users().FindUserByName(ctx, reassign)
				if err != nil {
					return err
				}
				to = r.ID
			}
			if err := k.Store.Users().DeleteUser(ctx, u.ID, to); err != nil {
				return err
			}
			a.say("deleted %s", u.Name)
			return nil
		},
	}
	del.Flags().StringVar(&reassign, "reassign-to", "", "user who takes over the deleted user's content")
	roleChange := func(use string, add bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " NAME ROLE",
			Short: map[bool]string{true: "Grant a role to a user", false: "Take a role from a user"}[add],
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx, k, err := a.acting(cmd.Context())
				if err != nil {
					return err
				}
				u, err := k.Store.Users().FindUserByName(ctx, args[0])
				if err != nil {
					return err
				}
				if add {
					err = k.AddUserRole(ctx, u, args[1])
				} else {
					err = k.RemoveUserRole(ctx, u, args[1])
				}
				if err != nil {
					return err
				}
				a.say("done")
				return nil
			},
		}
	}
	cmd.AddCommand(create, list, setStatus("block", core.UserBlocked), setStatus("unblock", core.UserActive), del,
		roleChange("add-role", true), roleChange("remove-role", false))
	cmd.AddCommand(a.userAccountCmds()...)
	return cmd
}

func (a *app) roleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "role", Short: "Roles and permissions"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List roles with their permissions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			roles, err := k.Store.Users().FindRoles(ctx)
			if err != nil {
				return err
			}
			rows := make([][]string, len(roles))
			for i, r := range roles {
				perms := strings.Join(r.Permissions, ",")
				if r.Name == core.RoleAdministrator {
					perms = "(all)"
				}
				rows[i] = []string{r.Name, r.Label, fmt.Sprint(r.Builtin), perms}
			}
			return a.table(roles, []string{"NAME", "LABEL", "BUILTIN", "PERMISSIONS"}, rows)
		},
	}
	var label string
	create := &cobra.Command{
		Use:   "create NAME [PERMISSION...]",
		Short: "Create a role",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			r := &core.Role{Name: args[0], Label: label, Permissions: args[1:]}
			if err := k.CreateRole(ctx, r); err != nil {
				return err
			}
			return a.show(r, "created role "+r.Name)
		},
	}
	create.Flags().StringVar(&label, "label", "", "human name")
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a custom role",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			if err := k.DeleteRole(ctx, args[0]); err != nil {
				return err
			}
			a.say("deleted role %s", args[0])
			return nil
		},
	}
	change := func(use string, grant bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " ROLE PERMISSION...",
			Short: map[bool]string{true: "Grant permissions to a role", false: "Revoke permissions from a role"}[grant],
			Args:  cobra.MinimumNArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx, k, err := a.acting(cmd.Context())
				if err != nil {
					return err
				}
				for _, p := range args[1:] {
					if grant {
						err = k.GrantPermission(ctx, args[0], p)
					} else {
						err = k.RevokePermission(ctx, args[0], p)
					}
					if err != nil {
						return err
					}
				}
				a.say("done")
				return nil
			},
		}
	}
	perms := &cobra.Command{
		Use:   "permissions",
		Short: "List the registered permissions (plus item.TYPE.OP and stage.NAME.OP patterns)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			list := k.Store.Permissions().List()
			rows := make([][]string, len(list))
			for i, p := range list {
				rows[i] = []string{p.Name, p.Source, p.Title}
			}
			rows = append(rows, []string{"item.TYPE.{" + strings.Join(core.ItemTypeOps, ",") + "}", "kernel", "per item type"},
				[]string{"stage.NAME.{" + strings.Join(core.StageOps, ",") + "}", "kernel", "per stage"})
			return a.table(list, []string{"PERMISSION", "SOURCE", "TITLE"}, rows)
		},
	}
	cmd.AddCommand(list, create, del, change("grant", true), change("revoke", false), perms)
	return cmd
}

func (a *app) accessCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "access", Short: "List access (grants)"}
	cmd.AddCommand(&cobra.Command{
		Use:   "rebuild",
		Short: "Recompute the grant rows of every item in live and open stages",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			n, err := k.Store.RebuildGrants(ctx)
			if err != nil {
				return err
			}
			return a.show(map[string]int{"items": n}, fmt.Sprintf("rebuilt grants of %d items", n))
		},
	})
	return cmd
}
