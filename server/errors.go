package server

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/render"
)

// statusOf is the one table mapping error codes to HTTP status. The
// site and the API both use it.
var statusOf = map[string]int{
	core.EInvalid:      http.StatusBadRequest,
	core.EUnauthorized: http.StatusUnauthorized,
	core.EForbidden:    http.StatusForbidden,
	core.ENotFound:     http.StatusNotFound,
	core.EConflict:     http.StatusConflict,
	core.ETooLarge:     http.StatusRequestEntityTooLarge,
	core.ERateLimit:    http.StatusTooManyRequests,
	core.EInternal:     http.StatusInternalServerError,
	core.ENotImpl:      http.StatusNotImplemented,
	core.EUnavailable:  http.StatusServiceUnavailable,
}

// HTTPStatus returns the status for an error's code.
func HTTPStatus(err error) int {
	if st, ok := statusOf[core.ErrorCode(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// fail answers a request with the error's status and a page in the
// theme. Only internal errors are logged; the visitor sees the safe
// message.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		err = core.Errorf(core.ETooLarge, "The request body is larger than %d bytes.", mbe.Limit)
	case errors.Is(err, context.DeadlineExceeded):
		s.log.Warn("request timed out", "path", safePath(r), "route", stateOf(r).route)
		err = core.Errorf(core.EUnavailable, "The server took too long to answer. Please try again.")
	case errors.Is(err, context.Canceled):
		return // the client went away
	}
	status := HTTPStatus(err)
	msg := core.ErrorMessage(err)
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", safePath(r), "route", stateOf(r).route, "err", err)
		if status == http.StatusInternalServerError {
			msg = "Something went wrong on our side. Please try again later."
		}
	}
	s.errorPage(w, r, status, msg)
}

var errorTitles = map[int]string{
	http.StatusBadRequest:            "Bad request",
	http.StatusUnauthorized:          "Sign in required",
	http.StatusForbidden:             "Access denied",
	http.StatusNotFound:              "Page not found",
	http.StatusMethodNotAllowed:      "Method not allowed",
	http.StatusConflict:              "Conflict",
	http.StatusRequestEntityTooLarge: "Request too large",
	http.StatusRequestURITooLong:     "Address too long",
	http.StatusTooManyRequests:       "Too many requests",
	http.StatusServiceUnavailable:    "Service unavailable",
}

// errorPage renders an error page in the theme (the site's frame without
// database-dependent parts when those fail), or plain text as a last
// resort.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	title := errorTitles[status]
	if title == "" {
		title = "Error"
	}
	if status == http.StatusNotFound && msg == "" {
		msg = "The page you asked for does not exist."
	}
	st := stateOf(r)
	p := render.Page{
		Title:       title,
		BodyClasses: []string{"page-error", "page-error--" + itoa(status)},
		Suggestions: []string{"page--" + itoa(status), "page--error"},
		Regions: map[string][]core.Node{"content": {
			{Type: core.ElemParagraph, Text: msg},
			{Type: core.ElemParagraph, Children: []core.Node{{Type: core.ElemLink, Href: "/", Text: "Go to the front page"}}},
		}},
	}
	ctx := r.Context()
	if ctx.Err() != nil {
		ctx = context.WithoutCancel(ctx)
	}
	if status < 500 {
		// The frame reads the database; a server error may be the
		// database failing, so its page stays minimal.
		_ = s.frame(ctx, st, &p, r.URL.Path)
	}
	var buf bytes.Buffer
	if err := s.r.RenderPage(ctx, &buf, p); err != nil {
		s.log.Error("render error page", "status", status, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(title + ": " + msg + "\n"))
		return
	}
	s.send(w, r, response{status: status, ctype: "text/html; charset=utf-8", body: buf.Bytes(), cache: "no-store"})
}
