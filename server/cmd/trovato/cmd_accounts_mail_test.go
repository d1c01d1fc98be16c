package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/trovato/trovato/core"
)

// TestCLISendReset checks that the CLI's account service has the
// configured mailer: send-reset writes a mail with a reset link to
// mail_dir, says the same for an unknown user without mailing, and is
// refused to a non-administrator.
func TestCLISendReset(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.must("user", "create", "ed", "--email", "ed@example.org", "--role", "editor")
	mails := func() []string {
		m, _ := filepath.Glob(filepath.Join(c.dataDir, "mail", "*.eml"))
		return m
	}
	c.must("account", "send-reset", "ed")
	got := mails()
	if len(got) != 1 {
		t.Fatalf("%d mails in mail_dir, want 1", len(got))
	}
	body, err := os.ReadFile(got[0])
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?s)To: .*ed@example\.org.*/user/reset/`).Match(body) {
		t.Fatalf("the mail has no reset link for ed@example.org:\n%s", body)
	}
	c.must("account", "send-reset", "nobody")
	if n := len(mails()); n != 1 {
		t.Fatalf("a mail for an unknown user: %d mails", n)
	}
	if _, err := c.run("--as", "ed", "account", "send-reset", "admin"); core.ErrorCode(err) != core.EForbidden {
		t.Fatalf("an editor sent reset mail: %v", err)
	}
}
