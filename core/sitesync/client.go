package sitesync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trovato/trovato/core"
)

// client speaks the server's /api/v1 sync routes with a bearer token.
type client struct {
	base    string // the server's URL, without a trailing slash
	token   string
	hc      *http.Client
	timeout time.Duration
}

// transientError is a failure worth retrying: the server did not answer,
// the connection dropped, or the server said it is busy or broken (5xx,
// 429).
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func isTransient(err error) bool {
	var t *transientError
	return errors.As(err, &t)
}

// apiError is the server's error body.
type apiError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  []core.FieldError `json:"fields"`
	Report  json.RawMessage   `json:"report"`
}

// ConflictError is a push the server refused entity by entity: Report
// lists the problems (conflicts with both sides, or invalid entities).
type ConflictError struct {
	Report *core.ChangesetReport
	Err    *core.Error
}

func (e *ConflictError) Error() string { return e.Err.Error() }
func (e *ConflictError) Unwrap() error { return e.Err }

// request sends one request; out, when not nil, receives the JSON body of
// a 2xx answer. body is re-read from the start on every call.
func (c *client) request(ctx context.Context, method, path string, body []byte, ctype string, out any) error {
	res, err := c.send(ctx, method, path, body, ctype)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return &transientError{fmt.Errorf("%s %s: the connection dropped while reading the answer: %v", method, c.base, err)}
	}
	if res.StatusCode/100 != 2 {
		return c.statusError(method, path, res, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return core.Errorf(core.EInvalid, "%s answered %s %s with something that is not a Trovato sync answer: %v", c.base, method, path, err)
		}
	}
	return nil
}

// send sends a request and returns a 2xx or error response unread;
// network failures come back as transient errors.
func (c *client) send(ctx context.Context, method, path string, body []byte, ctype string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/api/v1"+path, rd)
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "server URL %q: %v", c.base, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	res, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, &transientError{core.Errorf(core.EUnavailable, "the server %s did not answer within %s", c.base, c.timeout)}
		}
		return nil, &transientError{core.Errorf(core.EUnavailable, "cannot reach the server %s: %s", c.base, netReason(err))}
	}
	return res, nil
}

// netReason is the last part of a network error, without the URL noise.
func netReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		return s[i+2:]
	}
	return s
}

func (c *client) statusError(method, path string, res *http.Response, b []byte) error {
	var ae apiError
	_ = json.Unmarshal(b, &ae)
	msg := ae.Message
	if msg == "" {
		msg = strings.TrimSpace(string(b))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
	}
	switch {
	case res.StatusCode == http.StatusUnauthorized:
		return core.Errorf(core.EUnauthorized, "the server %s refused the API token: %s", c.base, msg)
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		return &transientError{core.Errorf(core.EUnavailable, "the server %s answered %s %s with %d: %s", c.base, method, path, res.StatusCode, msg)}
	}
	code := ae.Code
	if code == "" {
		code = core.EInvalid
		if res.StatusCode == http.StatusNotFound {
			code = core.ENotFound
		}
	}
	e := &core.Error{Code: code, Message: fmt.Sprintf("the server refused %s %s: %s", method, path, msg), Fields: ae.Fields}
	if len(ae.Report) > 0 && string(ae.Report) != "null" {
		var rep core.ChangesetReport
		if err := json.Unmarshal(ae.Report, &rep); err == nil {
			return &ConflictError{Report: &rep, Err: e}
		}
	}
	return e
}

func jsonBody(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return b, nil
}
