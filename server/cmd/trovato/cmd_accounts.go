package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/passwords"
	"github.com/trovato/trovato/core/postgres"
)

func init() {
	extraCmds = append(extraCmds,
		func(a *app) *cobra.Command { return a.accountCmd() },
		func(a *app) *cobra.Command { return a.tokenCmd() },
		func(a *app) *cobra.Command { return a.auditCmd() })
}

// accounts opens the kernel and its account service (with the configured
// mailer and lockouts, as serve has it), acting as --as.
func (a *app) accounts(ctx context.Context) (context.Context, *kernel.Kernel, *postgres.Accounts, error) {
	actx, k, err := a.acting(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	return actx, k, k.Accounts, nil
}

// accountCmd holds the commands that belong under `trovato user` (where
// cmd_admin.go can mount them with cmd.AddCommand(a.userAccountCmds()...)).
func (a *app) accountCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Passwords, one-time login links, ending sessions"}
	cmd.AddCommand(a.userAccountCmds()...)
	return cmd
}

// userAccountCmds are set-password, login-link and logout-everywhere.
func (a *app) userAccountCmds() []*cobra.Command {
	var passwordFile string
	setPassword := &cobra.Command{
		Use:   "set-password NAME",
		Short: "Set a user's password, read from standard input or --password-file (never from a flag)",
		Long: "Set a user's password. The password is the first line of standard input, or of --password-file;\n" +
			"it must be 12 to 128 characters and not a commonly used password. Every session of the user ends.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, ac, err := a.accounts(cmd.Context())
			if err != nil {
				return err
			}
			u, err := k.Store.Users().FindUserByName(ctx, args[0])
			if err != nil {
				return err
			}
			pw, err := a.readPassword(cmd, passwordFile, u.Name)
			if err != nil {
				return err
			}
			if err := ac.SetPassword(ctx, u.ID, pw); err != nil {
				return err
			}
			a.say("password of %s set; their sessions end", u.Name)
			return nil
		},
	}
	setPassword.Flags().StringVar(&passwordFile, "password-file", "", "read the password from this file's first line instead of standard input")
	loginLink := &cobra.Command{
		Use:   "login-link NAME",
		Short: "Print a one-time login link for a user (valid 15 minutes)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, _, ac, err := a.accounts(cmd.Context())
			if err != nil {
				return err
			}
			url, expires, err := ac.CreateLoginLink(ctx, args[0])
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"url": url, "expires_at": expires})
			}
			fmt.Fprintf(a.stderr, "one-time login link for %s, valid until %s:\n", args[0], expires.Local().Format("15:04:05"))
			_, err = fmt.Fprintln(a.stdout, url)
			return err
		},
	}
	logoutEverywhere := &cobra.Command{
		Use:   "logout-everywhere NAME",
		Short: "End every session of a user",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, ac, err := a.accounts(cmd.Context())
			if err != nil {
				return err
			}
			u, err := k.Store.Users().FindUserByName(ctx, args[0])
			if err != nil {
				return err
			}
			epoch, err := ac.LogoutEverywhere(ctx, u.ID)
			if err != nil {
				return err
			}
			return a.show(map[string]any{"user": u.Name, "session_epoch": epoch}, fmt.Sprintf("every session of %s ends", u.Name))
		},
	}
	sendReset := &cobra.Command{
		Use:   "send-reset NAME|EMAIL",
		Short: "Mail a user a password-reset link (through the configured SMTP relay, or to mail_dir)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, ac, err := a.accounts(cmd.Context())
			if err != nil {
				return err
			}
			if !core.UserFromContext(ctx).HasRole(core.RoleAdministrator) {
				return core.Errorf(core.EForbidden, "only an administrator can send reset mail from the command line")
			}
			if err := ac.RequestReset(ctx, args[0], ""); err != nil {
				return err
			}
			k.Accounts.Wait() // the mail is sent in the background
			return a.show(map[string]any{"sent_to": args[0]}, fmt.Sprintf("a reset link was mailed to %s's address, if such a user exists", args[0]))
		},
	}
	return []*cobra.Command{setPassword, loginLink, logoutEverywhere, sendReset}
}

// readPassword reads the first line of --password-file or of standard
// input, without its line ending.
func (a *app) readPassword(cmd *cobra.Command, file, name string) (string, error) {
	var r io.Reader
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return "", core.Errorf(core.EInvalid, "--password-file: %v", unwrapPathErr(err))
		}
		defer f.Close()
		r = f
	} else {
		r = cmd.InOrStdin()
		if f, ok := r.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				fmt.Fprintf(a.stderr, "New password for %s (it shows as you type; pipe it in or use --password-file to avoid that): ", name)
			}
		}
	}
	line, err := bufio.NewReaderSize(io.LimitReader(r, 4096), 4096).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	if !strings.HasSuffix(line, "\n") && len(line) >= 4096 {
		return "", core.Errorf(core.EInvalid, "the password is longer than %d characters", passwords.MaxLength)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", core.Errorf(core.EInvalid, "no password given: write it to standard input or use --password-file")
	}
	return line, nil
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (a *app) tokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Personal API tokens (Authorization: Bearer)"}
	var name, stage string
	var perms []string
	var expires time.Duration
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API token for the --as user; it is shown once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, ac, err := a.accounts(cmd.Context())
			if err != nil {
				return err
			}
			var stageID *core.ID
			if stage != "" {
				st, err := k.Store.Stages().FindStage(ctx, stage)
				if err != nil {
					return err
				}
				stageID = &st.ID
			}
			if expires <= 0 {
				return core.Errorf(core.EInvalid, "--expires must be positive, e.g. 720h")
			}
			plain, t, err := ac.CreateToken(ctx, name, perms, stageID, time.Now().Add(expires))
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(struct {
					Token string `json:"token"`
					*core.APIToken
				}{plain, t})
			}
			fmt.Fprintf(a.stderr, "token %s (%s), expires %s; it is shown only now:\n", t.ID, t.Name, t.ExpiresAt.Local().Format(time.DateTime))
			_, err = fmt.Fprintln(a.stdout, plain)
			return err
		},
	}
	create.Flags().StringVar(&name, "name", "", "what the token is for (required)")
	create.Flags().StringArrayVar(&perms, "permission", nil, "permission the token carries (repeatable; each one the user holds)")
	create.Flags().StringVar(&stage, "stage", "", "limit the token to this stage")
	create.Flags().DurationVar(&expires, "expires", 720*time.Hour, "lifetime")
	_ = create.MarkFlagRequired("name")

	var owner string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the API tokens of the --as user (or --user)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, ac, err := a.accounts(cmd.Context())
			if err != nil {
				return err
			}
			u := core.UserFromContext(ctx)
			if owner != "" {
				if u, err = k.Store.Users().FindUserByName(ctx, owner); err != nil {
					return err
				}
			}
			ts, err := ac.FindTokens(ctx, u.ID)
			if err != nil {
				return err
			}
			if ts == nil {
				ts = []*core.APIToken{}
			}
			now := time.Now()
			rows := make([][]string, len(ts))
			for i, t := range ts {
				state, stage, used := "active", "-", "never"
				if t.RevokedAt != nil {
					state = "revoked"
				} else if !now.Before(t.ExpiresAt) {
					state = "expired"
				}
				if t.StageID != nil {
					stage = t.StageID.String()
					if st, err := k.Store.Stages().FindStage(ctx, stage); err == nil {
						stage = st.Name
					}
				}
				if t.LastUsedAt != nil {
					used = t.LastUsedAt.Local().Format(time.DateTime)
				}
				rows[i] = []string{t.ID.String(), t.Name, state, strings.Join(t.Permissions, ","), stage,
					t.ExpiresAt.Local().Format(time.DateTime), used}
			}
			return a.table(ts, []string{"ID", "NAME", "STATE", "PERMISSIONS", "STAGE", "EXPIRES", "LAST USED"}, rows)
		},
	}
	list.Flags().StringVar(&owner, "user", "", "list this user's tokens (needs users.administer)")
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, _, ac, err := a.accounts(cmd.Context())
			if err != nil {
				return err
			}
			id, err := core.ParseID(args[0])
			if err != nil {
				return err
			}
			if err := ac.RevokeToken(ctx, id); err != nil {
				return err
			}
			a.say("revoked %s", id)
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func (a *app) auditCmd() *cobra.Command {
	var f core.AuditFilter
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read the audit log, newest first (needs audit.view)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, _, ac, err := a.accounts(cmd.Context())
			if err != nil {
				return err
			}
			es, err := ac.FindAuditEntries(ctx, f)
			if err != nil {
				return err
			}
			if es == nil {
				es = []*core.AuditEntry{}
			}
			rows := make([][]string, len(es))
			for i, e := range es {
				actor := e.ActorName
				if actor == "" {
					actor = "-"
				}
				addr := e.ClientAddr
				if addr == "" {
					addr = "-"
				}
				detail := string(e.Detail)
				if detail == "{}" {
					detail = ""
				}
				rows[i] = []string{strconv.FormatInt(e.ID, 10), e.At.Local().Format(time.DateTime), actor, e.Action, e.Object, addr, detail}
			}
			return a.table(es, []string{"ID", "AT", "ACTOR", "ACTION", "OBJECT", "FROM", "DETAIL"}, rows)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.Limit, "limit", 50, "at most this many entries (up to 1000)")
	fl.StringVar(&f.Action, "action", "", `only this action, or actions starting with a prefix ending in "." (login.)`)
	fl.StringVar(&f.Actor, "actor", "", "only entries by this user")
	fl.StringVar(&f.Object, "object", "", "only entries about this object (user/NAME, token/ID)")
	fl.Int64Var(&f.Before, "before", 0, "only entries older than this id (paging)")
	return cmd
}
