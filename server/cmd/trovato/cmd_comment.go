package main

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/server/api"
)

func init() { extraCmds = append(extraCmds, func(a *app) *cobra.Command { return a.commentCmd() }) }

// excerpt is the start of s on one line, at most n characters.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func commentText(c *postgres.Comment) string {
	var b strings.Builder
	author := c.AuthorName
	if c.Anonymous() {
		author += " (anonymous"
		if c.AuthorEmail != "" {
			author += ", " + c.AuthorEmail
		}
		author += ")"
	}
	fmt.Fprintf(&b, "id:      %s\nitem:    %s %s\nstatus:  %s\nauthor:  %s\nfrom:    %s\ncreated: %s\nchanged: %s\n",
		c.ID, c.ItemID, c.ItemTitle, c.Status, author, c.ClientAddr, c.CreatedAt.UTC().Format(time.RFC3339), c.ChangedAt.UTC().Format(time.RFC3339))
	if c.ParentID != nil {
		fmt.Fprintf(&b, "reply to: %s\n", c.ParentID)
	}
	b.WriteString("\n" + c.Body + "\n")
	return b.String()
}

func (a *app) commentCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "comment", Short: "Moderate comments (needs comments.administer; every change is audited)"}

	var (
		status, item  string
		limit, offset int
	)
	list := &cobra.Command{
		Use:   "list [--status pending|published] [--item ID]",
		Short: "List comments, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f := postgres.CommentFilter{Status: status, Limit: limit, Offset: offset}
			if item != "" {
				id, err := core.ParseID(item)
				if err != nil {
					return core.Errorf(core.EInvalid, "--item %q is not an item id", item)
				}
				f.ItemID = id
			}
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			cs, err := k.Store.FindCommentQueue(ctx, f)
			if err != nil {
				return err
			}
			out := make([]api.CommentDoc, len(cs))
			rows := make([][]string, len(cs))
			for i, c := range cs {
				out[i] = api.NewCommentDoc(c)
				author := c.AuthorName
				if c.Anonymous() {
					author += " (anonymous)"
				}
				rows[i] = []string{c.ID.String(), c.Status, c.CreatedAt.Local().Format(time.DateTime), author, excerpt(c.ItemTitle, 30), excerpt(c.Body, 50)}
			}
			return a.table(out, []string{"ID", "STATUS", "CREATED", "AUTHOR", "ITEM", "COMMENT"}, rows)
		},
	}
	list.Flags().StringVar(&status, "status", "", "only comments with this status: pending (the moderation queue) or published")
	list.Flags().StringVar(&item, "item", "", "only the comments of this item (id)")
	list.Flags().IntVar(&limit, "limit", 50, "at most this many (1 to 1000)")
	list.Flags().IntVar(&offset, "offset", 0, "skip this many (paging)")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a comment with its author's e-mail and address",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, id, err := a.actingOn(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			c, err := k.Store.FindCommentByID(ctx, id)
			if err != nil {
				return err
			}
			return a.show(api.NewCommentDoc(c), commentText(c))
		},
	}

	setStatus := func(use, short, st, done string) *cobra.Command {
		return &cobra.Command{
			Use:   use + " ID",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx, k, id, err := a.actingOn(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				c, err := k.Store.SetCommentStatus(ctx, id, st)
				if err != nil {
					return err
				}
				return a.show(api.NewCommentDoc(c), fmt.Sprintf("%s %s (%s)", done, c.ID, c.Status))
			},
		}
	}

	var body string
	edit := &cobra.Command{
		Use:   "edit ID --body TEXT",
		Short: "Change a comment's text (--body - reads it from standard input)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			text := body
			if text == "-" {
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), postgres.CommentMaxBytes+1))
				if err != nil {
					return err
				}
				text = string(b)
			}
			ctx, k, id, err := a.actingOn(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			c, err := k.Store.UpdateComment(ctx, id, postgres.CommentUpdate{Body: &text})
			if err != nil {
				return err
			}
			return a.show(api.NewCommentDoc(c), "edited "+c.ID.String())
		},
	}
	edit.Flags().StringVar(&body, "body", "", "the new text (1 to 5000 bytes), or - for standard input")
	_ = edit.MarkFlagRequired("body")

	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a comment and its replies",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, id, err := a.actingOn(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			c, err := k.Store.DeleteComment(ctx, id)
			if err != nil {
				return err
			}
			return a.show(api.NewCommentDoc(c), "deleted "+c.ID.String())
		},
	}

	cmd.AddCommand(list, show,
		setStatus("approve", "Publish a comment", postgres.CommentPublished, "approved"),
		setStatus("unpublish", "Move a published comment back to the moderation queue", postgres.CommentPending, "unpublished"),
		edit, del)
	return cmd
}
