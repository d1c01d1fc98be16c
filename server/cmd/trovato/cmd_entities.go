package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trovato/trovato/core"
)

// stagedCommands builds list/show/delete for a staged kind; create and
// update are built by each kind from its flags.
type stagedKind struct {
	kind  string
	noun  string
	row   func(id core.ID, doc json.RawMessage) []string
	head  []string
	stage *string
}

func (a *app) stagedList(sk stagedKind, filter func(json.RawMessage) bool) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List " + sk.noun + "s as a stage shows them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			st, err := a.stageID(ctx, k, *sk.stage)
			if err != nil {
				return err
			}
			docs, err := k.Store.Staged().FindStagedDocs(ctx, sk.kind, st)
			if err != nil {
				return err
			}
			var out []*core.StagedDoc
			var rows [][]string
			for _, d := range docs {
				if filter != nil && !filter(d.Doc) {
					continue
				}
				out = append(out, d)
				rows = append(rows, sk.row(d.ID, d.Doc))
			}
			return a.table(out, sk.head, rows)
		},
	}
}

func (a *app) stagedShowDelete(sk stagedKind) []*cobra.Command {
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a " + sk.noun,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, id, err := a.actingOn(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			st, err := a.stageID(ctx, k, *sk.stage)
			if err != nil {
				return err
			}
			d, err := k.Store.Staged().FindStaged(ctx, sk.kind, st, id)
			if err != nil {
				return err
			}
			return a.show(d, fmt.Sprintf("id: %s\nrevision: %s\n%s", d.ID, d.RevisionID, d.Doc))
		},
	}
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a " + sk.noun + " (in a stage: a tombstone until publish)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, id, err := a.actingOn(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			st, err := a.stageID(ctx, k, *sk.stage)
			if err != nil {
				return err
			}
			if err := k.Store.Staged().DeleteStaged(ctx, sk.kind, st, id); err != nil {
				return err
			}
			a.say("deleted %s", id)
			return nil
		},
	}
	return []*cobra.Command{show, del}
}

// putStaged writes doc for id (NilID creates), merging over the current
// document for updates.
func (a *app) putStaged(cmd *cobra.Command, kind, stage string, id core.ID, patch map[string]any, log string) error {
	ctx, k, err := a.acting(cmd.Context())
	if err != nil {
		return err
	}
	st, err := a.stageID(ctx, k, stage)
	if err != nil {
		return err
	}
	doc := map[string]any{}
	var ifRev *core.ID
	if id != core.NilID {
		cur, err := k.Store.Staged().FindStaged(ctx, kind, st, id)
		if err != nil {
			return err
		}
		_ = json.Unmarshal(cur.Doc, &doc)
		ifRev = &cur.RevisionID
	}
	delete(doc, "id")
	delete(doc, "revision_id")
	for k, v := range patch {
		doc[k] = v
	}
	body, _ := json.Marshal(doc)
	d, err := k.Store.Staged().PutStaged(ctx, kind, st, id, body, ifRev, log)
	if err != nil {
		return err
	}
	return a.show(d, d.ID.String())
}

func docString(doc json.RawMessage, key string) string {
	var m map[string]any
	_ = json.Unmarshal(doc, &m)
	switch v := m[key].(type) {
	case string:
		return v
	case nil:
		return ""
	case []any:
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = fmt.Sprint(x)
		}
		return strings.Join(s, ",")
	default:
		return fmt.Sprint(v)
	}
}

func (a *app) categoryCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "category", Short: "Vocabularies and their hierarchical terms"}
	var label, hierarchy string
	vocab := &cobra.Command{Use: "vocabulary", Aliases: []string{"vocab"}, Short: "Vocabularies"}
	vcreate := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a vocabulary",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			if label == "" {
				label = args[0]
			}
			body := map[string]any{"kind": "vocabulary", "name": args[0], "label": label}
			if hierarchy != "" {
				body["hierarchy"] = hierarchy
			}
			b, _ := json.Marshal(body)
			d, err := k.Store.Config().PutConfig(ctx, "vocabulary", args[0], b, 0)
			if err != nil {
				return err
			}
			return a.show(d, "vocabulary "+d.Name)
		},
	}
	vcreate.Flags().StringVar(&label, "label", "", "human name")
	vcreate.Flags().StringVar(&hierarchy, "hierarchy", "", "single or multiple parents")
	vlist := &cobra.Command{
		Use:   "list",
		Short: "List vocabularies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			docs, err := k.Store.Config().FindConfigs(ctx, "vocabulary")
			if err != nil {
				return err
			}
			rows := make([][]string, len(docs))
			for i, d := range docs {
				rows[i] = []string{d.Name, docString(d.Body, "label")}
			}
			return a.table(docs, []string{"NAME", "LABEL"}, rows)
		},
	}
	vocab.AddCommand(vcreate, vlist)

	var stage, vocabulary, name, description, log string
	var parents []string
	var weight int
	term := &cobra.Command{Use: "term", Short: "Category terms (staged)"}
	term.PersistentFlags().StringVar(&stage, "stage", "", "stage (default live)")
	sk := stagedKind{kind: core.KindTerm, noun: "term", stage: &stage, head: []string{"ID", "VOCABULARY", "NAME", "PARENTS"},
		row: func(id core.ID, d json.RawMessage) []string {
			return []string{id.String(), docString(d, "vocabulary"), docString(d, "name"), docString(d, "parents")}
		}}
	termPatch := func(cmd *cobra.Command) (map[string]any, error) {
		p := map[string]any{}
		if cmd.Flags().Changed("vocabulary") {
			p["vocabulary"] = vocabulary
		}
		if cmd.Flags().Changed("name") {
			p["name"] = name
		}
		if cmd.Flags().Changed("description") {
			p["description"] = description
		}
		if cmd.Flags().Changed("weight") {
			p["weight"] = weight
		}
		if cmd.Flags().Changed("parent") {
			ids := []core.ID{}
			for _, s := range parents {
				id, err := core.ParseID(s)
				if err != nil {
					return nil, err
				}
				ids = append(ids, id)
			}
			p["parents"] = ids
		}
		return p, nil
	}
	add := &cobra.Command{
		Use:   "add --vocabulary V --name NAME [--parent ID ...]",
		Short: "Add a term and print its id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := termPatch(cmd)
			if err != nil {
				return err
			}
			return a.putStaged(cmd, core.KindTerm, stage, core.NilID, p, log)
		},
	}
	update := &cobra.Command{
		Use:   "update ID [--name NAME] [--parent ID ...]",
		Short: "Change a term",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := core.ParseID(args[0])
			if err != nil {
				return err
			}
			p, err := termPatch(cmd)
			if err != nil {
				return err
			}
			return a.putStaged(cmd, core.KindTerm, stage, id, p, log)
		},
	}
	for _, c := range []*cobra.Command{add, update} {
		c.Flags().StringVar(&vocabulary, "vocabulary", "", "vocabulary name")
		c.Flags().StringVar(&name, "name", "", "term name")
		c.Flags().StringVar(&description, "description", "", "description")
		c.Flags().StringSliceVar(&parents, "parent", nil, "parent term id (repeatable)")
		c.Flags().IntVar(&weight, "weight", 0, "sort weight")
		c.Flags().StringVar(&log, "log", "", "revision log message")
	}
	var onlyVocab string
	tlist := a.stagedList(sk, func(d json.RawMessage) bool { return onlyVocab == "" || docString(d, "vocabulary") == onlyVocab })
	tlist.Flags().StringVar(&onlyVocab, "vocabulary", "", "only this vocabulary")
	term.AddCommand(append([]*cobra.Command{add, update, tlist}, a.stagedShowDelete(sk)...)...)
	cmd.AddCommand(vocab, term)
	return cmd
}

func (a *app) aliasCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "alias", Short: "Path aliases (staged)"}
	var stage, language, log string
	cmd.PersistentFlags().StringVar(&stage, "stage", "", "stage (default live)")
	sk := stagedKind{kind: core.KindAlias, noun: "alias", stage: &stage, head: []string{"ID", "ALIAS", "LANGUAGE", "PATH"},
		row: func(id core.ID, d json.RawMessage) []string {
			return []string{id.String(), docString(d, "alias"), docString(d, "language"), docString(d, "path")}
		}}
	add := &cobra.Command{
		Use:   "add ALIAS PATH",
		Short: "Add an alias (e.g. /about /item/ID) and print its id",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.putStaged(cmd, core.KindAlias, stage, core.NilID, map[string]any{"alias": args[0], "path": args[1], "language": language}, log)
		},
	}
	add.Flags().StringVar(&language, "language", "und", "language code")
	add.Flags().StringVar(&log, "log", "", "revision log message")
	update := &cobra.Command{
		Use:   "update ID ALIAS PATH",
		Short: "Change an alias",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := core.ParseID(args[0])
			if err != nil {
				return err
			}
			return a.putStaged(cmd, core.KindAlias, stage, id, map[string]any{"alias": args[1], "path": args[2]}, log)
		},
	}
	cmd.AddCommand(append([]*cobra.Command{add, update, a.stagedList(sk, nil)}, a.stagedShowDelete(sk)...)...)
	return cmd
}

func (a *app) menuCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "menu", Short: "Menus and their links (staged)"}
	var label string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a menu",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			if label == "" {
				label = args[0]
			}
			b, _ := json.Marshal(map[string]any{"kind": "menu", "name": args[0], "label": label})
			d, err := k.Store.Config().PutConfig(ctx, "menu", args[0], b, 0)
			if err != nil {
				return err
			}
			return a.show(d, "menu "+d.Name)
		},
	}
	create.Flags().StringVar(&label, "label", "", "human name")
	var stage, menu, title, path, parent, log string
	var weight int
	link := &cobra.Command{Use: "link", Short: "Menu links"}
	link.PersistentFlags().StringVar(&stage, "stage", "", "stage (default live)")
	sk := stagedKind{kind: core.KindMenuLink, noun: "menu link", stage: &stage, head: []string{"ID", "MENU", "TITLE", "PATH", "PARENT", "WEIGHT"},
		row: func(id core.ID, d json.RawMessage) []string {
			return []string{id.String(), docString(d, "menu"), docString(d, "title"), docString(d, "path"), docString(d, "parent_id"), docString(d, "weight")}
		}}
	patch := func(cmd *cobra.Command) (map[string]any, error) {
		p := map[string]any{}
		if cmd.Flags().Changed("menu") {
			p["menu"] = menu
		}
		if cmd.Flags().Changed("title") {
			p["title"] = title
		}
		if cmd.Flags().Changed("path") {
			p["path"] = path
		}
		if cmd.Flags().Changed("weight") {
			p["weight"] = weight
		}
		if cmd.Flags().Changed("parent") {
			if parent == "" || parent == "none" {
				p["parent_id"] = nil
			} else {
				id, err := core.ParseID(parent)
				if err != nil {
					return nil, err
				}
				p["parent_id"] = id
			}
		}
		return p, nil
	}
	add := &cobra.Command{
		Use:   "add --menu M --title T --path P [--parent ID] [--weight N]",
		Short: "Add a menu link and print its id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := patch(cmd)
			if err != nil {
				return err
			}
			return a.putStaged(cmd, core.KindMenuLink, stage, core.NilID, p, log)
		},
	}
	update := &cobra.Command{
		Use:   "update ID [--title T] [--path P] [--parent ID|none] [--weight N]",
		Short: "Change, move or reorder a menu link",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := core.ParseID(args[0])
			if err != nil {
				return err
			}
			p, err := patch(cmd)
			if err != nil {
				return err
			}
			return a.putStaged(cmd, core.KindMenuLink, stage, id, p, log)
		},
	}
	for _, c := range []*cobra.Command{add, update} {
		c.Flags().StringVar(&menu, "menu", "", "menu name")
		c.Flags().StringVar(&title, "title", "", "link text")
		c.Flags().StringVar(&path, "path", "", "path or URL")
		c.Flags().StringVar(&parent, "parent", "", "parent link id (none for top level)")
		c.Flags().IntVar(&weight, "weight", 0, "sort weight")
		c.Flags().StringVar(&log, "log", "", "revision log message")
	}
	var onlyMenu string
	llist := a.stagedList(sk, func(d json.RawMessage) bool { return onlyMenu == "" || docString(d, "menu") == onlyMenu })
	llist.Flags().StringVar(&onlyMenu, "menu", "", "only this menu")
	link.AddCommand(append([]*cobra.Command{add, update, llist}, a.stagedShowDelete(sk)...)...)
	cmd.AddCommand(create, link)
	return cmd
}
