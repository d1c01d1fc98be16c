package mailer

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
)

func TestComposeRefusesHeaderInjection(t *testing.T) {
	ok := &core.MailMessage{To: "ann@example.org", Subject: "Reset your password", Body: "Hello\nworld"}
	for name, tc := range map[string]struct {
		from string
		m    core.MailMessage
	}{
		"ToCRLF":       {"site@example.org", core.MailMessage{To: "ann@example.org\r\nBcc: all@example.org", Subject: "x"}},
		"ToLF":         {"site@example.org", core.MailMessage{To: "ann@example.org\nBcc: all@example.org", Subject: "x"}},
		"ToTwo":        {"site@example.org", core.MailMessage{To: "ann@example.org, bob@example.org", Subject: "x"}},
		"ToDisplay":    {"site@example.org", core.MailMessage{To: "Ann <ann@example.org>", Subject: "x"}},
		"ToEmpty":      {"site@example.org", core.MailMessage{To: "", Subject: "x"}},
		"SubjectCRLF":  {"site@example.org", core.MailMessage{To: "ann@example.org", Subject: "hi\r\nBcc: all@example.org"}},
		"FromCRLF":     {"site@example.org\r\nX: y", *ok},
		"FromNotAMail": {"site", *ok},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Compose(tc.from, &tc.m, time.Now()); core.ErrorCode(err) != core.EInvalid {
				t.Fatalf("Compose = %v, want invalid", err)
			}
		})
	}
	msg, err := Compose("site@example.org", &core.MailMessage{To: "ann@example.org", Subject: "Réinitialiser", Body: "Lien : https://x.org/user/reset/" + strings.Repeat("a", 43) + "\n"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := mail.ReadMessage(strings.NewReader(string(msg)))
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header.Get("To") != "ann@example.org" || parsed.Header.Get("Subject") != "=?utf-8?q?R=C3=A9initialiser?=" {
		t.Fatalf("headers %v", parsed.Header)
	}
	body, _ := readQP(parsed)
	if !strings.Contains(body, "Lien : https://x.org/user/reset/"+strings.Repeat("a", 43)+"\r\n") {
		t.Fatalf("body %q", body)
	}
}

func readQP(m *mail.Message) (string, error) {
	var b strings.Builder
	_, err := bufio.NewReader(quotedprintable.NewReader(m.Body)).WriteTo(&b)
	return b.String(), err
}

func TestFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	f, err := NewFolder(dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SendMail(context.Background(), &core.MailMessage{To: "ann@example.org", Subject: "s", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := f.SendMail(context.Background(), &core.MailMessage{To: "ann@example.org\r\nBcc: x@example.org", Subject: "s"}); core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("injected recipient: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	st, _ := os.Stat(files[0])
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
}

// fakeRelay is a minimal SMTP server on loopback: EHLO, optional STARTTLS,
// AUTH PLAIN, one message.
type fakeRelay struct {
	ln       net.Listener
	tls      *tls.Config // nil: no STARTTLS offered
	mu       sync.Mutex
	tlsUsed  bool
	auth     string
	from, to string
	data     string
}

func (r *fakeRelay) serve(t *testing.T) {
	conn, err := r.ln.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	rd, w := bufio.NewReader(conn), conn
	say := func(s string) { _, _ = w.Write([]byte(s + "\r\n")) }
	say("220 fake ESMTP")
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO":
			if r.tls != nil && !r.tlsUsed {
				say("250-fake\r\n250 STARTTLS")
			} else {
				say("250-fake\r\n250 AUTH PLAIN")
			}
		case "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(conn, r.tls)
			if err := tc.Handshake(); err != nil {
				t.Errorf("relay handshake: %v", err)
				return
			}
			r.mu.Lock()
			r.tlsUsed = true
			r.mu.Unlock()
			rd, w = bufio.NewReader(tc), tc
		case "AUTH":
			r.mu.Lock()
			r.auth = line
			r.mu.Unlock()
			say("235 ok")
		case "MAIL":
			r.from = line
			say("250 ok")
		case "RCPT":
			r.to = line
			say("250 ok")
		case "DATA":
			say("354 go")
			var b strings.Builder
			for {
				l, err := rd.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			r.mu.Lock()
			r.data = b.String()
			r.mu.Unlock()
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("500 what")
		}
	}
}

func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relay"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func startRelay(t *testing.T, withTLS bool) (*fakeRelay, int, *x509.CertPool) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	r := &fakeRelay{ln: ln}
	var pool *x509.CertPool
	if withTLS {
		r.tls, pool = selfSigned(t)
	}
	done := make(chan struct{})
	go func() { defer close(done); r.serve(t) }()
	t.Cleanup(func() { ln.Close(); <-done })
	return r, ln.Addr().(*net.TCPAddr).Port, pool
}

func TestSMTPStartTLS(t *testing.T) {
	r, port, pool := startRelay(t, true)
	m, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: port, Username: "site", Password: "relay-secret", From: "site@example.org", TLS: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.SendMail(ctx, &core.MailMessage{To: "ann@example.org", Subject: "Reset your password", Body: "the link"}); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.tlsUsed || !strings.HasPrefix(r.auth, "AUTH PLAIN") || r.from != "MAIL FROM:<site@example.org>" || r.to != "RCPT TO:<ann@example.org>" ||
		!strings.Contains(r.data, "Subject: Reset your password\r\n") || !strings.Contains(r.data, "the link") {
		t.Fatalf("relay saw tls=%v auth=%q from=%q to=%q data=%q", r.tlsUsed, r.auth, r.from, r.to, r.data)
	}
}

func TestSMTPRefusesPlaintextRelay(t *testing.T) {
	r, port, _ := startRelay(t, false)
	m, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: port, From: "site@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	err = m.SendMail(context.Background(), &core.MailMessage{To: "ann@example.org", Subject: "s", Body: "b"})
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("plain relay: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.data != "" {
		t.Fatal("the message went out in plain text")
	}
}

func TestNewSMTPValidates(t *testing.T) {
	for name, cfg := range map[string]SMTPConfig{
		"NoHost":   {From: "site@example.org"},
		"HostCRLF": {Host: "relay\r\nX", From: "site@example.org"},
		"BadPort":  {Host: "relay", Port: 70000, From: "site@example.org"},
		"BadFrom":  {Host: "relay", From: "site"},
	} {
		if _, err := NewSMTP(cfg); core.ErrorCode(err) != core.EInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}
