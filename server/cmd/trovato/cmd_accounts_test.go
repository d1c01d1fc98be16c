package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

// runIn runs a command with stdin.
func (c *cli) runIn(stdin string, args ...string) (string, error) {
	c.tb.Helper()
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb, env: c.env}
	root := a.root()
	root.SetArgs(append([]string{"--data-dir", c.dataDir, "--database-url", c.dbURL}, args...))
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(context.Background())
	a.close()
	return out.String(), err
}

// signIn checks a password against the database the CLI uses.
func (c *cli) signIn(name, pw string) error {
	c.tb.Helper()
	pool, err := postgres.Open(context.Background(), c.dbURL)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer pool.Close()
	ac, err := postgres.NewAccounts(postgres.NewStore(postgres.StoreConfig{Pool: pool}), postgres.AccountsConfig{})
	if err != nil {
		c.tb.Fatal(err)
	}
	_, err = ac.Authenticate(context.Background(), name, pw, "")
	return err
}

func TestCLIAccounts(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.must("user", "create", "ed", "--email", "ed@example.org", "--role", "editor")

	// set-password reads standard input or a file, never a flag.
	if _, err := c.runIn("correct horse battery staple\n", "account", "set-password", "ed"); err != nil {
		t.Fatal(err)
	}
	if err := c.signIn("ed", "correct horse battery staple"); err != nil {
		t.Fatalf("sign in with the password from stdin: %v", err)
	}
	c.must("account", "set-password", "admin", "--password-file", c.file("pw", "a-file-held-passphrase\r\n"))
	if err := c.signIn("admin", "a-file-held-passphrase"); err != nil {
		t.Fatalf("sign in with the password from the file: %v", err)
	}
	for name, tc := range map[string]struct {
		stdin string
		args  []string
		code  string
	}{
		"Common":    {"password1234\n", []string{"account", "set-password", "ed"}, core.EInvalid},
		"Short":     {"short\n", []string{"account", "set-password", "ed"}, core.EInvalid},
		"Empty":     {"", []string{"account", "set-password", "ed"}, core.EInvalid},
		"Control":   {"correct horse\x1b battery\n", []string{"account", "set-password", "ed"}, core.EInvalid},
		"NoFile":    {"", []string{"account", "set-password", "ed", "--password-file", "/nonexistent/pw"}, core.EInvalid},
		"NoUser":    {"correct horse battery staple\n", []string{"account", "set-password", "nobody"}, core.ENotFound},
		"NotAdmin":  {"correct horse battery staple\n", []string{"--as", "ed", "account", "set-password", "admin"}, core.EForbidden},
		"FlagValue": {"", []string{"account", "set-password", "ed", "--password", "x"}, core.EInternal},
	} {
		if _, err := c.runIn(tc.stdin, tc.args...); core.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v (%s), want %s", name, err, core.ErrorCode(err), tc.code)
		}
	}
	if err := c.signIn("ed", "correct horse battery staple"); err != nil {
		t.Fatalf("a refused set-password changed the password: %v", err)
	}

	// login-link prints one URL on the site's base URL.
	link := c.must("account", "login-link", "ed")
	if !regexp.MustCompile(`^http://127\.0\.0\.1:8080/user/login-link/[A-Za-z0-9_-]{43}$`).MatchString(link) {
		t.Fatalf("login-link printed %q", link)
	}
	c.must("config", "apply", c.file("site.yaml", "kind: site\nname: site\nsite_name: T\nbase_url: https://cms.example.org\n"))
	if link := c.must("account", "login-link", "ed"); !strings.HasPrefix(link, "https://cms.example.org/user/login-link/") {
		t.Fatalf("login-link with a base_url printed %q", link)
	}

	var lo struct {
		Epoch int64 `json:"session_epoch"`
	}
	if err := json.Unmarshal([]byte(c.must("account", "logout-everywhere", "ed", "--json")), &lo); err != nil || lo.Epoch < 3 {
		t.Fatalf("logout-everywhere: %+v, %v", lo, err)
	}

	// Tokens: created as --as, shown once, listed, revoked.
	plain := c.must("--as", "ed", "token", "create", "--name", "desktop", "--permission", "files.upload", "--expires", "24h")
	if !regexp.MustCompile(`^trv_[A-Za-z0-9_-]{43}$`).MatchString(plain) {
		t.Fatalf("token create printed %q", plain)
	}
	if _, err := c.run("--as", "ed", "token", "create", "--name", "x", "--permission", "users.administer"); core.ErrorCode(err) != core.EForbidden {
		t.Fatalf("token with a permission ed lacks: %v", err)
	}
	var ts []core.APIToken
	if err := json.Unmarshal([]byte(c.must("--as", "ed", "token", "list", "--json")), &ts); err != nil || len(ts) != 1 || ts[0].Name != "desktop" {
		t.Fatalf("token list = %+v, %v", ts, err)
	}
	if out := c.must("token", "list", "--user", "ed"); strings.Contains(out, plain) || !strings.Contains(out, "active") {
		t.Fatalf("token list (admin) = %q", out)
	}
	c.must("--as", "ed", "token", "revoke", ts[0].ID.String())
	if out := c.must("--as", "ed", "token", "list"); !strings.Contains(out, "revoked") {
		t.Fatalf("token list after revoke = %q", out)
	}

	// The audit log saw all of it; editors may not read it.
	var es []core.AuditEntry
	if err := json.Unmarshal([]byte(c.must("audit", "--json", "--limit", "100")), &es); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range es {
		seen[e.Action] = true
	}
	for _, a := range []string{core.AuditPasswordChange, core.AuditLogin, core.AuditLoginLinkCreate, core.AuditLogoutEverywhere, core.AuditTokenCreate, core.AuditTokenRevoke} {
		if !seen[a] {
			t.Errorf("audit lacks %s: %v", a, seen)
		}
	}
	if out := c.must("audit", "--action", "token."); strings.Contains(out, "login") || !strings.Contains(out, "token.revoke") {
		t.Fatalf("audit --action token. = %q", out)
	}
	if _, err := c.run("--as", "ed", "audit"); core.ErrorCode(err) != core.EForbidden {
		t.Fatalf("editor reads the audit log: %v", err)
	}
}
