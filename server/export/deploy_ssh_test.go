package export

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

// A deploy_target document never makes serve run a command of its
// choosing: ssh is the ssh program from PATH, and the document gives only
// user@host (in path), a port and an identity file.
func TestDeployTargetSSHIsNotACommand(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string // want: "" = accepted, else part of the error
	}{
		{"OK", `{"path":"deploy@www1.example.com:/srv/www","ssh":{"port":2222,"identity_file":"/etc/trovato/deploy_key"}}`, ""},
		{"OKNoSSH", `{"path":"www1.example.com:/srv/www"}`, ""},
		{"OKLocalPath", `{"path":"/srv/www"}`, ""},
		{"OKIPv6", `{"path":"deploy@[2001:db8::1]:/srv/www"}`, ""},
		{"ErrCommandString", `{"path":"h:/srv","ssh":"sh -c 'touch /tmp/pwned'"}`, "ssh"},
		{"ErrUnknownSSHKey", `{"path":"h:/srv","ssh":{"command":"sh"}}`, "ssh"},
		{"ErrPortRange", `{"path":"h:/srv","ssh":{"port":70000}}`, "port"},
		{"ErrIdentityRelative", `{"path":"h:/srv","ssh":{"identity_file":"key"}}`, "identity_file"},
		{"ErrIdentityOption", `{"path":"h:/srv","ssh":{"identity_file":"/k -oProxyCommand=sh"}}`, "identity_file"},
		{"ErrIdentityQuote", `{"path":"h:/srv","ssh":{"identity_file":"/k'x"}}`, "identity_file"},
		{"ErrHostOption", `{"path":"-oProxyCommand=sh:/srv"}`, "path"},
		{"ErrHostOptionAfterUser", `{"path":"u@-oProxyCommand=sh:/srv"}`, "host"},
		{"ErrUserOption", `{"path":"-l@h:/srv"}`, "path"},
		{"ErrHostSpace", `{"path":"h x:/srv"}`, "host"},
		{"ErrDaemon", `{"path":"h::module/x"}`, "host"},
		{"ErrRsyncURL", `{"path":"rsync://h/module"}`, "host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"kind":"deploy_target","name":"x","type":"rsync",` + strings.TrimPrefix(tc.body, "{")
			_, target, err := ParseTarget([]byte(body))
			schemaErr := core.ValidateConfigDoc("deploy_target", []byte(body))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("ParseTarget: %v", err)
				}
				if schemaErr != nil {
					t.Fatalf("schema: %v", schemaErr)
				}
				if _, ok := target.(*RsyncTarget); !ok {
					t.Fatalf("target %T", target)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseTarget accepted %s", body)
			}
			if core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("ParseTarget error %q (code %s), want a one-line EINVALID naming %q", err, core.ErrorCode(err), tc.want)
			}
			if tc.want != "host" && tc.want != "path" && schemaErr == nil {
				t.Errorf("the schema accepted %s", body)
			}
		})
	}
}

// The ssh settings reach rsync as ssh -p PORT -i FILE, and nothing from
// the document becomes an rsync option: a fake rsync on PATH records its
// arguments.
func TestRsyncTargetArguments(t *testing.T) {
	bin := t.TempDir()
	argsFile := filepath.Join(bin, "args")
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > " + argsFile + "\n"
	if err := os.WriteFile(filepath.Join(bin, "rsync"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	_, target, err := ParseTarget([]byte(`{"kind":"deploy_target","name":"x","type":"rsync","path":"deploy@www1.example.com:/srv/www","ssh":{"port":2222,"identity_file":"/etc/trovato/deploy_key"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := target.Remove(context.Background(), []string{"a.html"}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimSpace(string(raw)), "\n")
	var e string
	for i, a := range args {
		if a == "-e" && i+1 < len(args) {
			e = args[i+1]
		}
	}
	if e != "ssh -p 2222 -i /etc/trovato/deploy_key" {
		t.Errorf("rsync -e %q, want %q (args %q)", e, "ssh -p 2222 -i /etc/trovato/deploy_key", args)
	}
	if last := args[len(args)-1]; last != "deploy@www1.example.com:/srv/www/" {
		t.Errorf("destination %q", last)
	}
}
