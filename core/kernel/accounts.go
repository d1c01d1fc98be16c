package kernel

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/mailer"
	"github.com/trovato/trovato/core/postgres"
)

// newAccounts builds the account service with the configured mailer and
// lockouts.
func newAccounts(k *Kernel) (*postgres.Accounts, error) {
	m, err := newMailer(k.Config, k)
	if err != nil {
		return nil, err
	}
	acct, _ := ParseLockout(k.Config.LoginLockout, core.DefaultAccountLockout)
	addr, _ := ParseLockout(k.Config.AddressLockout, core.DefaultAddressLockout)
	return postgres.NewAccounts(k.Store, postgres.AccountsConfig{
		Mailer: m, AccountLockout: acct, AddressLockout: addr,
		Logger: k.Log.With("component", "accounts"),
	})
}

// newMailer is the SMTP relay when smtp_host is set, else a folder of
// .eml files under mail_dir (development). The folder is created on the
// first mail, so read-only commands do not create it.
func newMailer(cfg Config, k *Kernel) (core.Mailer, error) {
	if cfg.SMTPHost == "" {
		return &lazyFolder{dir: cfg.MailDir, from: cfg.MailFrom, k: k}, nil
	}
	from := cfg.MailFrom
	if from == "" {
		return nil, core.Errorf(core.EInvalid, "mail_from is empty: set it (TROVATO_MAIL_FROM) to the sender address of the site's mail")
	}
	local := cfg.SMTPHost == "localhost" || cfg.SMTPHost == "127.0.0.1" || cfg.SMTPHost == "::1"
	m, err := mailer.NewSMTP(mailer.SMTPConfig{Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername,
		Password: cfg.SMTPPassword, From: from, AllowPlaintext: local})
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "smtp settings: %s", core.ErrorMessage(err))
	}
	return m, nil
}

// ParseLockout reads "FAILURES/WINDOW" (for example "5/15m": 5 failures
// within 15 minutes lock for 15 minutes); "" is def.
func ParseLockout(s string, def core.LockoutPolicy) (core.LockoutPolicy, error) {
	if s == "" {
		return def, nil
	}
	n, w, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 {
		return def, core.Errorf(core.EInvalid, "%q is not FAILURES/WINDOW such as 5/15m", s)
	}
	d, err := time.ParseDuration(w)
	if err != nil || d < time.Second {
		return def, core.Errorf(core.EInvalid, "%q is not FAILURES/WINDOW such as 5/15m (the window is at least 1s)", s)
	}
	return core.LockoutPolicy{MaxFailures: count, Window: d, LockFor: d}, nil
}

// lazyFolder is mailer.Folder made on the first message.
type lazyFolder struct {
	dir, from string
	k         *Kernel
	mu        sync.Mutex
	f         *mailer.Folder
}

// SendMail implements core.Mailer.
func (l *lazyFolder) SendMail(ctx context.Context, m *core.MailMessage) error {
	l.mu.Lock()
	if l.f == nil {
		f, err := mailer.NewFolder(l.dir, l.from, l.k.Log.With("component", "mail"))
		if err != nil {
			l.mu.Unlock()
			return err
		}
		l.f = f
	}
	f := l.f
	l.mu.Unlock()
	return f.SendMail(ctx, m)
}

// RateLimit is a number of events per window; a Limit of 0 is off.
type RateLimit struct {
	Limit  int
	Window time.Duration
}

// ParseRateLimits reads "CLASS=N/WINDOW,CLASS=off" (the rate_limits
// setting) into limits by route class.
func ParseRateLimits(s string) (map[string]RateLimit, error) {
	out := map[string]RateLimit{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		class, v, ok := strings.Cut(part, "=")
		if !ok || class == "" {
			return nil, core.Errorf(core.EInvalid, "%q is not CLASS=N/WINDOW or CLASS=off (for example login=10/1m)", part)
		}
		if v == "off" {
			out[class] = RateLimit{}
			continue
		}
		n, w, ok := strings.Cut(v, "/")
		count, err := strconv.Atoi(n)
		if !ok || err != nil || count < 0 {
			return nil, core.Errorf(core.EInvalid, "%q is not CLASS=N/WINDOW or CLASS=off (for example login=10/1m)", part)
		}
		d, err := time.ParseDuration(w)
		if err != nil || d < time.Millisecond {
			return nil, core.Errorf(core.EInvalid, "%q: the window must be a duration of at least 1ms (for example 1m)", part)
		}
		out[class] = RateLimit{Limit: count, Window: d}
	}
	return out, nil
}
