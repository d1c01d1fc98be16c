// Package mailer delivers the kernel's mail (password resets): through an
// operator's SMTP relay with STARTTLS (net/smtp), or, in development, into
// a folder of .eml files.
package mailer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/trovato/trovato/core"
)

// checkAddress accepts one bare address (no display name) without CR or
// LF, so that it cannot add headers or recipients.
func checkAddress(what, addr string) error {
	if strings.ContainsAny(addr, "\r\n") || len(addr) > 254 {
		return core.Errorf(core.EInvalid, "%s address must be one address on one line", what)
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr {
		return core.Errorf(core.EInvalid, "%s address %q is not a plain email address", what, addr)
	}
	return nil
}

// Compose renders m as an RFC 5322 message from from: UTF-8 text,
// quoted-printable, the subject encoded per RFC 2047. EInvalid for a bad
// address or a subject with CR or LF.
func Compose(from string, m *core.MailMessage, now time.Time) ([]byte, error) {
	if err := checkAddress("sender", from); err != nil {
		return nil, err
	}
	if err := checkAddress("recipient", m.To); err != nil {
		return nil, err
	}
	if strings.ContainsAny(m.Subject, "\r\n") || len(m.Subject) > 500 {
		return nil, core.Errorf(core.EInvalid, "a mail subject is one line of at most 500 bytes")
	}
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	domain := from[strings.LastIndexByte(from, '@')+1:]
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", m.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", hex.EncodeToString(id), domain)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// SMTPConfig is an operator's relay.
type SMTPConfig struct {
	Host string
	Port int // default 587
	// Username and Password, when set, authenticate with PLAIN (only
	// after STARTTLS).
	Username, Password string
	From               string
	// AllowPlaintext delivers without STARTTLS when the relay does not
	// offer it (a relay on localhost); otherwise that is an error.
	AllowPlaintext bool
	// TLS overrides the TLS settings (tests: a private CA). ServerName
	// defaults to Host.
	TLS *tls.Config
}

// SMTP sends mail through a relay.
type SMTP struct {
	cfg SMTPConfig
	now func() time.Time
}

var _ core.Mailer = (*SMTP)(nil)

// NewSMTP returns an SMTP mailer. EInvalid for a missing host or a bad
// sender address.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" || strings.ContainsAny(cfg.Host, "\r\n/ ") {
		return nil, core.Errorf(core.EInvalid, "smtp host must be a host name or address")
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, core.Errorf(core.EInvalid, "smtp port %d is out of range", cfg.Port)
	}
	if err := checkAddress("sender", cfg.From); err != nil {
		return nil, err
	}
	return &SMTP{cfg: cfg, now: time.Now}, nil
}

// SendMail implements core.Mailer.
func (s *SMTP) SendMail(ctx context.Context, m *core.MailMessage) error {
	msg, err := Compose(s.cfg.From, m, s.now())
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		tc := &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
		if s.cfg.TLS != nil {
			tc = s.cfg.TLS.Clone()
			if tc.ServerName == "" {
				tc.ServerName = s.cfg.Host
			}
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("smtp %s: starttls: %w", addr, err)
		}
	} else if !s.cfg.AllowPlaintext {
		return fmt.Errorf("smtp %s does not offer STARTTLS; refusing to send in plain text", addr)
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return fmt.Errorf("smtp %s: auth: %w", addr, err)
		}
	}
	if err := c.Mail(s.cfg.From); err != nil {
		return fmt.Errorf("smtp %s: MAIL FROM: %w", addr, err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return fmt.Errorf("smtp %s: RCPT TO: %w", addr, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", addr, err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", addr, err)
	}
	return c.Quit()
}

// Folder writes each message as a .eml file into a directory and logs it:
// the development mailer.
type Folder struct {
	dir  string
	from string
	log  *slog.Logger
	now  func() time.Time
}

var _ core.Mailer = (*Folder)(nil)

// NewFolder returns a mailer writing into dir (created 0700 if missing).
func NewFolder(dir, from string, log *slog.Logger) (*Folder, error) {
	if from == "" {
		from = "trovato@localhost"
	}
	if err := checkAddress("sender", from); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail folder: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Folder{dir: dir, from: from, log: log, now: time.Now}, nil
}

// SendMail implements core.Mailer.
func (f *Folder) SendMail(ctx context.Context, m *core.MailMessage) error {
	now := f.now()
	msg, err := Compose(f.from, m, now)
	if err != nil {
		return err
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	path := filepath.Join(f.dir, now.UTC().Format("20060102T150405.000000000Z")+"-"+hex.EncodeToString(suffix)+".eml")
	if err := os.WriteFile(path, msg, 0o600); err != nil {
		return fmt.Errorf("write mail: %w", err)
	}
	f.log.Info("mail written", "path", path, "to", m.To, "subject", m.Subject)
	return nil
}
