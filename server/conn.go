package server

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
)

// Whole responses in one write. net/http writes a response through a
// 4 KB buffer per connection, so a page whose headers and body pass 4 KB
// leaves in two writes or more: two system calls, and on loopback two
// TCP segments the client wakes up for. nginx corks its socket for the
// same reason (tcp_nopush). Listener wraps the connections it accepts so
// that a handler holding a whole body (sendWhole: a cached page, a built
// page) gathers the response and hands it to the kernel in one write.

// Listener wraps the connections ln accepts (TLS ones excepted) so that
// whole responses leave in one write; the http.Server must use
// ConnContext. NewHTTPServer sets ConnContext; ListenAndServe serves on
// Listener.
func Listener(ln net.Listener) net.Listener { return wholeListener{ln} }

// ConnContext is the http.Server.ConnContext that makes a connection
// accepted by Listener known to the handler.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if wc, ok := c.(*wholeConn); ok {
		return context.WithValue(ctx, connKey{}, wc)
	}
	return ctx
}

type connKey struct{}

type wholeListener struct{ net.Listener }

func (l wholeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	// net/http recognises TLS connections by their type: those stay as
	// they are.
	if _, ok := c.(interface {
		ConnectionState() tls.ConnectionState
	}); ok {
		return c, nil
	}
	return &wholeConn{Conn: c}, nil
}

// wholeConn is a connection that can gather the writes of one response.
// A connection serves one request at a time and its writes come from the
// goroutine serving it, so gathering needs no lock.
type wholeConn struct {
	net.Conn
	buf *[]byte // non-nil while gathering
}

// gatherMax bounds a gathered response (larger bodies are written as
// they come) and gatherMin is where gathering starts to pay: below it,
// headers and body fit net/http's buffer and leave in one write anyway.
const (
	gatherMax = 256 << 10
	gatherMin = 2 << 10
)

var gatherBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func (c *wholeConn) Write(p []byte) (int, error) {
	if c.buf != nil {
		*c.buf = append(*c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// ReadFrom keeps the connection's own ReadFrom (sendfile, splice) for
// file downloads.
func (c *wholeConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok && c.buf == nil {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c}, r)
}

// CloseWrite is the TCP half-close net/http uses before closing.
func (c *wholeConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *wholeConn) gather() { c.buf = gatherBufs.Get().(*[]byte) }

// release writes what was gathered in one write and stops gathering.
func (c *wholeConn) release() error {
	b := c.buf
	if b == nil {
		return nil
	}
	c.buf = nil
	var err error
	if len(*b) > 0 {
		_, err = c.Conn.Write(*b)
	}
	if cap(*b) <= 2*gatherMax {
		*b = (*b)[:0]
		gatherBufs.Put(b)
	}
	return err
}

// sendWhole writes status and body (HEAD: no body) after the headers
// already set, in one write when the connection allows it.
func sendWhole(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	if r.Method == http.MethodHead {
		body = nil
	}
	var wc *wholeConn
	if len(body) >= gatherMin && len(body) <= gatherMax {
		wc, _ = r.Context().Value(connKey{}).(*wholeConn)
	}
	if wc == nil {
		w.WriteHeader(status)
		if body != nil {
			_, _ = w.Write(body)
		}
		return
	}
	wc.gather()
	defer func() { _ = wc.release() }()
	w.WriteHeader(status)
	_, _ = w.Write(body)
	// Out of net/http's buffer into the gathered response.
	_ = http.NewResponseController(w).Flush()
}
