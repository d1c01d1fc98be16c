package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/server"
)

// errorBody is the one error shape.
type errorBody struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  []core.FieldError `json:"fields,omitempty"`
	// Current is the entity as it is now, on a conflict with a stale base
	// revision.
	Current any `json:"current,omitempty"`
	// Report is the publish, rollback or type migration report of a
	// write that was refused for the problems it lists.
	Report any `json:"report,omitempty"`
}

// conflictError is a refused write: the caller gets the current state of
// the entity, or the report listing the problems.
type conflictError struct {
	err     error
	current any
	report  any
}

func (e *conflictError) Error() string { return e.err.Error() }
func (e *conflictError) Unwrap() error { return e.err }

// fail writes err in the one error shape with the status from the
// server's code→status table. Internal errors are logged and shown as a
// generic message.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		err = core.Errorf(core.ETooLarge, "The request body is larger than %d bytes.", mbe.Limit)
	case errors.Is(err, context.DeadlineExceeded):
		err = core.Errorf(core.EUnavailable, "The server took too long to answer. Please try again.")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return // the client went away
	}
	if core.ErrorCode(err) == core.ENotImpl {
		// Not an API outcome: the spec has no 501.
		err = fmt.Errorf("not implemented: %w", err)
	}
	status := server.HTTPStatus(err)
	body := errorBody{Code: core.ErrorCode(err), Message: core.ErrorMessage(err), Fields: core.ErrorFields(err)}
	if body.Code == core.ENotImpl {
		body.Code = core.EInternal
	}
	var ce *conflictError
	if errors.As(err, &ce) && status == http.StatusConflict {
		body.Current, body.Report = ce.current, ce.report
	}
	if status >= 500 {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
		if status == http.StatusInternalServerError {
			body.Code, body.Message, body.Fields = core.EInternal, "Something went wrong on our side. Please try again later.", nil
		}
	}
	if body.Code == core.EUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="trovato"`)
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"code":"internal","message":"Something went wrong on our side. Please try again later."}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// decodeOptional is decode for routes whose body may be left out: an
// empty body leaves v as it is.
func decodeOptional(r *http.Request, v any) error {
	return decodeBody(r, v, true)
}

// decode reads a JSON body into v: one object, valid UTF-8, no unknown
// fields, the right types. Errors name the field path.
func decode(r *http.Request, v any) error {
	return decodeBody(r, v, false)
}

func decodeBody(r *http.Request, v any, optional bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return core.Errorf(core.EInvalid, "The body must be application/json.")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return core.Errorf(core.EInvalid, "The request needs a JSON body.")
	}
	if !utf8.Valid(body) {
		return core.InvalidFields("The body is not valid UTF-8.", []core.FieldError{{Path: "", Message: "invalid UTF-8 at byte " + strconv.Itoa(firstInvalidUTF8(body))}})
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return core.Errorf(core.EInvalid, "The body must hold exactly one JSON value.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return core.Errorf(core.EInvalid, "The body must hold exactly one JSON value.")
	}
	return nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// jsonError turns a decoding error into EINVALID with a field path.
func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.As(err, &te):
		path := te.Field
		return core.InvalidFields("The body has a value of the wrong type.", []core.FieldError{{Path: path, Message: "must be " + jsonType(te.Type.Kind().String()) + ", not " + te.Value}})
	case errors.As(err, &se):
		return core.InvalidFields("The body is not valid JSON.", []core.FieldError{{Path: "", Message: fmt.Sprintf("syntax error at byte %d", se.Offset)}})
	case errors.Is(err, io.ErrUnexpectedEOF):
		return core.Errorf(core.EInvalid, "The body is not valid JSON: it ends early.")
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return core.InvalidFields("The body has an unknown field.", []core.FieldError{{Path: strings.Trim(f, `"`), Message: "is not a known field"}})
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		return err
	}
	return core.Errorf(core.EInvalid, "The body is not valid: %s", strings.TrimPrefix(msg, "json: "))
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	}
	return "a " + kind
}

// cursor is a position in one list: the offset of the next page, bound
// (by the MAC) to the list and its filters.
type cursor struct {
	Scope  string `json:"s"`
	Offset int    `json:"o"`
}

// encodeCursor returns the opaque, signed cursor for offset in scope.
func (a *API) encodeCursor(scope string, offset int) string {
	sum := sha256.Sum256([]byte(scope))
	payload, _ := json.Marshal(cursor{Scope: base64.RawURLEncoding.EncodeToString(sum[:8]), Offset: offset})
	mac := hmac.New(sha256.New, a.cursorKey)
	mac.Write(payload)
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// decodeCursor checks a cursor's signature and scope; a tampered cursor,
// or one from another list or other filters, is EINVALID.
func (a *API) decodeCursor(scope, s string) (int, error) {
	bad := core.InvalidFields("The cursor is not valid for this list.", []core.FieldError{{Path: "cursor", Message: "was tampered with or belongs to another list or filter"}})
	p, m, ok := strings.Cut(s, ".")
	if !ok || len(s) > 256 {
		return 0, bad
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	sig, err2 := base64.RawURLEncoding.DecodeString(m)
	if err1 != nil || err2 != nil {
		return 0, bad
	}
	mac := hmac.New(sha256.New, a.cursorKey)
	mac.Write(payload)
	if !hmac.Equal(sig, mac.Sum(nil)[:16]) {
		return 0, bad
	}
	var c cursor
	if err := json.Unmarshal(payload, &c); err != nil || c.Offset < 0 {
		return 0, bad
	}
	sum := sha256.Sum256([]byte(scope))
	if c.Scope != base64.RawURLEncoding.EncodeToString(sum[:8]) {
		return 0, bad
	}
	return c.Offset, nil
}

// pageReq is a list request's position and size.
type pageReq struct {
	scope  string
	offset int
	limit  int
}

// maxPage bounds a page.
const maxPage = 200

// pageOf reads cursor and limit from the query; scope names the list and
// its filters.
func (a *API) pageOf(r *http.Request, scope string) (pageReq, error) {
	q := r.URL.Query()
	p := pageReq{scope: scope, limit: 50}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxPage {
			return p, core.InvalidFields("The limit is not valid.", []core.FieldError{{Path: "limit", Message: fmt.Sprintf("must be a whole number from 1 to %d", maxPage)}})
		}
		p.limit = n
	}
	if c := q.Get("cursor"); c != "" {
		off, err := a.decodeCursor(scope, c)
		if err != nil {
			return p, err
		}
		p.offset = off
	}
	return p, nil
}

// page is one page of a list.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
	Total      *int   `json:"total,omitempty"`
}

// pageSlice returns one page of a list the service returned whole.
func pageSlice[T any](a *API, p pageReq, all []T) page[T] {
	out := page[T]{Items: []T{}}
	total := len(all)
	out.Total = &total
	if p.offset >= len(all) {
		return out
	}
	end := min(p.offset+p.limit, len(all))
	out.Items = all[p.offset:end]
	if end < len(all) {
		out.NextCursor = a.encodeCursor(p.scope, end)
	}
	return out
}

// scopeOf is the cursor scope of a list: its route and the filters.
func scopeOf(r *http.Request, filters ...string) string {
	q := r.URL.Query()
	var b strings.Builder
	b.WriteString(r.URL.Path)
	for _, f := range filters {
		b.WriteString("\x00" + f + "=" + q.Get(f))
	}
	return b.String()
}

// idParam parses a path parameter as an id; a malformed id is not found.
func idParam(r *http.Request, name string) (core.ID, error) {
	id, err := core.ParseID(r.PathValue(name))
	if err != nil {
		return core.NilID, core.Errorf(core.ENotFound, "No %s has the id %q.", name, r.PathValue(name))
	}
	return id, nil
}

// boolParam reads an optional true/false query parameter.
func boolParam(r *http.Request, name string) (bool, error) {
	switch v := r.URL.Query().Get(name); v {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, core.InvalidFields("A query parameter is not valid.", []core.FieldError{{Path: name, Message: "must be true or false"}})
}
