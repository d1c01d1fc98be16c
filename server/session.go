package server

import (
	"context"
	"errors"
	"math"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trovato/trovato/core"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "trovato_session"

// CSRFField and CSRFHeader carry the CSRF token of a POST.
const (
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
)

// Sessions returns the session store (the API and tests set a session's
// preview stage through it).
func (s *Server) Sessions() core.SessionStore { return s.sessions }

// loadSession finds the request's session, its user and its preview
// stage. A missing, expired or unreadable session leaves the request
// anonymous; the store failing is logged, never shown.
func (s *Server) loadSession(r *http.Request, st *reqState) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || !core.ValidSessionID(c.Value) {
		return
	}
	ctx := r.Context()
	sess, err := s.sessions.GetSession(ctx, c.Value)
	if err != nil {
		if core.ErrorCode(err) != core.ENotFound {
			s.log.Warn("session store failed; serving the request anonymously", "err", err)
		}
		return
	}
	u, ok, err := s.k.SessionUsers.Resolve(ctx, sess)
	if err != nil {
		s.log.Warn("load the session's user; serving the request anonymously", "err", err)
		return
	}
	if !ok {
		// Ended by "log out everywhere" or a new password, or its user
		// was deleted: the session goes.
		if err := s.sessions.DeleteSession(ctx, sess.ID); err != nil {
			s.log.Warn("delete an ended session", "err", err)
		}
		return
	}
	st.sess, st.user = sess, u
	if sess.PreviewStageID != core.NilID && sess.PreviewStageID != core.LiveStageID {
		uctx := core.NewContextWithUser(ctx, st.user)
		stage, err := s.k.Store.Stages().FindStage(uctx, sess.PreviewStageID.String())
		switch {
		case err == nil && stage.State == core.StageOpen:
			st.stage, st.preview = stage.ID, stage
		case err == nil:
			// A published or discarded stage shows what live shows.
		case core.ErrorCode(err) == core.ENotFound || core.ErrorCode(err) == core.EUnauthorized || core.ErrorCode(err) == core.EForbidden:
			st.previewDenied = true
		default:
			s.log.Warn("load preview stage", "err", err)
			st.previewDenied = true
		}
	}
}

// SignIn makes the visitor's session belong to user: an existing session
// moves to a new id and CSRF secret (RotateSession: every privilege change
// rotates), a visitor without one gets a new session. It sets the cookie
// and returns the session.
func (s *Server) SignIn(w http.ResponseWriter, r *http.Request, user core.ID) (*core.Session, error) {
	ctx := r.Context()
	var sess *core.Session
	if c, err := r.Cookie(SessionCookie); err == nil {
		if old, err := s.sessions.GetSession(ctx, c.Value); err == nil {
			sess = old
		}
	}
	epoch, err := s.k.Accounts.SessionEpoch(ctx, user)
	if err != nil {
		return nil, err
	}
	if sess != nil {
		sess.UserID, sess.Epoch = user, epoch
		if err := s.sessions.RotateSession(ctx, sess); err != nil {
			return nil, err
		}
	} else {
		sess = &core.Session{UserID: user, Epoch: epoch}
		if err := s.sessions.SaveSession(ctx, sess); err != nil {
			return nil, err
		}
	}
	s.setSessionCookie(w, r, sess)
	return sess, nil
}

// SignOut deletes the visitor's session and expires the cookie.
func (s *Server) SignOut(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := s.sessions.DeleteSession(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secure || s.https(r)})
	return nil
}

// setSessionCookie sends the session cookie: HttpOnly, SameSite=Lax,
// Secure over TLS, for the session's absolute lifetime.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, sess *core.Session) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: sess.ID, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.secure || s.https(r),
		MaxAge: int(s.timeouts.Absolute / time.Second),
	})
}

// checkCSRF requires, for a POST, a same-origin request (when the browser
// says where it comes from) and a token bound to the request's session.
// It answers 403 itself when they are missing.
func (s *Server) checkCSRF(w http.ResponseWriter, r *http.Request, st *reqState) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || (u.Host != r.Host && !s.siteOrigin(r, st, o)) {
			s.fail(w, r, core.Errorf(core.EForbidden, "The form was sent from another site."))
			return false
		}
	}
	token := r.Header.Get(CSRFHeader)
	if token == "" {
		var err error
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
			err = r.ParseMultipartForm(1 << 20)
		} else {
			err = r.ParseForm()
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				s.fail(w, r, mbe)
			} else {
				s.fail(w, r, core.Errorf(core.EInvalid, "The form could not be read."))
			}
			return false
		}
		token = r.PostForm.Get(CSRFField)
	}
	if st.sess == nil || token == "" || !st.sess.CheckCSRFToken(token) {
		s.fail(w, r, core.Errorf(core.EForbidden, "The form has expired or did not come from this site. Reload the page and try again."))
		return false
	}
	return true
}

// allow applies the class's rate limit to the client's address and
// answers 429 with Retry-After itself when it is exceeded. A limiter that
// fails lets the request through (and is logged).
func (s *Server) allow(w http.ResponseWriter, r *http.Request, class string) bool {
	l, ok := s.limits[class]
	if !ok || l.Limit <= 0 {
		return true
	}
	ok, retry, err := s.limiter.Allow(r.Context(), class+":"+s.clientIP(r), l.Limit, l.Window)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			s.log.Warn("rate limiter failed; allowing the request", "class", class, "err", err)
		}
		return true
	}
	if ok {
		return true
	}
	s.metrics.rateLimited.WithLabelValues(class).Inc()
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
	s.fail(w, r, core.Errorf(core.ERateLimit, "Too many requests. Please wait a moment and try again."))
	return false
}

// clientIP is the visitor's address: the peer's, or, when the peer is a
// trusted proxy (Options.TrustedProxies), the nearest address in
// X-Forwarded-For that is not a trusted proxy.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = a.Unmap()
		if !s.trusted(client) {
			break
		}
	}
	return client.String()
}

// https reports whether the visitor's connection is TLS: this hop's, or
// X-Forwarded-Proto set by a trusted proxy.
func (s *Server) https(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	peer, err := netip.ParseAddr(host)
	return err == nil && s.trusted(peer) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
