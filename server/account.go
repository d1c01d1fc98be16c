package server

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/render"
)

// Route classes of the account forms (their POSTs; the forms themselves
// are pages).
const (
	ClassLogin = "login" // POST /user/login, /user/login-link/{token}
	ClassReset = "reset" // POST /user/password, /user/reset/{token}
)

// Account form fields.
const (
	fieldName        = "name"
	fieldPassword    = "password"
	fieldConfirm     = "confirm"
	fieldDestination = "destination"
)

// msgLogin is the one answer to every failed sign-in: unknown user,
// wrong password, blocked user, locked name or address.
const msgLogin = "Unknown user or wrong password, or too many failed attempts. Try again, or reset your password."

// accountRoutes adds the sign-in, sign-out and password reset routes.
func (s *Server) accountRoutes(m *http.ServeMux) {
	m.Handle("GET /user/login", s.handle("login", ClassPage, s.loginForm))
	m.Handle("POST /user/login", s.handle("login", ClassLogin, s.login))
	m.Handle("POST /user/logout", s.handle("logout", ClassForm, s.logout))
	m.Handle("POST /user/logout-everywhere", s.handle("logout", ClassForm, s.logoutEverywhere))
	m.Handle("GET /user/login-link/{token}", s.handle("login_link", ClassPage, s.loginLinkForm))
	m.Handle("POST /user/login-link/{token}", s.handle("login_link", ClassLogin, s.loginLink))
	m.Handle("GET /user/password", s.handle("password", ClassPage, s.resetRequestForm))
	m.Handle("POST /user/password", s.handle("password", ClassReset, s.resetRequest))
	m.Handle("GET /user/reset/{token}", s.handle("reset", ClassPage, s.resetForm))
	m.Handle("POST /user/reset/{token}", s.handle("reset", ClassReset, s.reset))
}

// formSession returns the visitor's session, starting an anonymous one
// (and setting its cookie) when there is none: a form's CSRF token is
// bound to a session. Only the account forms start sessions this way.
func (s *Server) formSession(w http.ResponseWriter, r *http.Request, st *reqState) (*core.Session, error) {
	if st.sess != nil {
		return st.sess, nil
	}
	sess := &core.Session{}
	if err := s.sessions.SaveSession(r.Context(), sess); err != nil {
		return nil, err
	}
	s.setSessionCookie(w, r, sess)
	st.sess = sess
	return sess, nil
}

// accountPage renders a page of the account forms: never stored, never
// shared.
func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, st *reqState, status int, title string, content []core.Node) error {
	p := render.Page{Title: title, Regions: map[string][]core.Node{"content": content}}
	if err := s.frame(r.Context(), st, &p, r.URL.Path); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := s.r.RenderPage(r.Context(), &buf, p); err != nil {
		return err
	}
	s.send(w, r, response{status: status, ctype: "text/html; charset=utf-8", body: buf.Bytes(), cache: "private, no-store", noValidators: true})
	return nil
}

// safeDestination returns dest when it is a path on this site (root-
// relative, not protocol-relative, well-formed), else "/".
func safeDestination(dest string) string {
	if dest == "" || len(dest) > maxURLBytes || dest[0] != '/' || strings.HasPrefix(dest, "//") || strings.HasPrefix(dest, "/\\") {
		return "/"
	}
	u, err := url.Parse(dest)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !validPath(u.Path) || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	if _, err := parseQuery(u.RawQuery); err != nil {
		return "/"
	}
	return u.RequestURI()
}

// errorNode is a form's error message.
func errorNode(msg string) core.Node {
	return core.Node{Type: core.ElemParagraph, Text: msg, Attrs: map[string]string{"role": "alert", "class": "form-error"}}
}

// loginForm shows the sign-in form.
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request, st *reqState) error {
	return s.renderLogin(w, r, st, http.StatusOK, "", safeDestination(r.URL.Query().Get(fieldDestination)))
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, st *reqState, status int, msg, dest string) error {
	sess, err := s.formSession(w, r, st)
	if err != nil {
		return err
	}
	var content []core.Node
	if !st.user.IsAnonymous() {
		content = append(content, core.Node{Type: core.ElemParagraph, Text: "You are signed in as " + st.user.Name + "."})
	}
	if msg != "" {
		content = append(content, errorNode(msg))
	}
	content = append(content,
		s.pluginForm(r.Context(), st, "user_login", core.Node{Type: core.ElemForm, Action: "/user/login", Method: "post", Children: []core.Node{
			{Type: core.ElemHidden, Name: CSRFField, Value: sess.NewCSRFToken()},
			{Type: core.ElemHidden, Name: fieldDestination, Value: dest},
			{Type: core.ElemInput, Name: fieldName, Label: "User name", Required: true},
			{Type: core.ElemInput, InputType: "password", Name: fieldPassword, Label: "Password", Required: true},
			{Type: core.ElemButton, Text: "Sign in"},
		}}),
		core.Node{Type: core.ElemParagraph, Children: []core.Node{{Type: core.ElemLink, Href: "/user/password", Text: "Forgot your password?"}}},
	)
	return s.accountPage(w, r, st, status, "Sign in", content)
}

// login checks the name and password. Every failure gets the same
// answer; malformed input is 400 and counts nothing.
func (s *Server) login(w http.ResponseWriter, r *http.Request, st *reqState) error {
	dest := safeDestination(r.PostForm.Get(fieldDestination))
	if errs := s.pluginFormValidate(r, st, "user_login", fieldPassword); errs != nil {
		return s.renderLogin(w, withFormErrors(r, errs), st, http.StatusBadRequest, "", dest)
	}
	ctx := core.NewContextWithClientAddr(r.Context(), s.clientIP(r))
	u, err := s.k.Accounts.Authenticate(ctx, r.PostForm.Get(fieldName), r.PostForm.Get(fieldPassword), s.clientIP(r))
	switch core.ErrorCode(err) {
	case "":
	case core.EInvalid:
		return s.renderLogin(w, r, st, http.StatusBadRequest, "The user name or password is not valid.", dest)
	case core.EUnauthorized, core.ERateLimit:
		return s.renderLogin(w, r, st, http.StatusUnauthorized, msgLogin, dest)
	default:
		return err
	}
	if _, err := s.SignIn(w, r, u.ID); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, dest, http.StatusSeeOther)
	return nil
}

// logout ends the visitor's session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ *reqState) error {
	if err := s.SignOut(w, r); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// logoutEverywhere ends every session of the signed-in user: it bumps the
// session epoch (which also ends sessions this store does not know of)
// and deletes the user's sessions.
func (s *Server) logoutEverywhere(w http.ResponseWriter, r *http.Request, st *reqState) error {
	if st.user.IsAnonymous() {
		return core.Errorf(core.EUnauthorized, "Sign in first.")
	}
	ctx := core.NewContextWithClientAddr(r.Context(), s.clientIP(r))
	if _, err := s.k.Accounts.LogoutEverywhere(ctx, st.user.ID); err != nil {
		return err
	}
	if _, err := s.sessions.DeleteUserSessions(ctx, st.user.ID); err != nil {
		s.log.Warn("delete the user's sessions (the new epoch ends them)", "err", err)
	}
	return s.logout(w, r, st)
}

// loginLinkForm asks to use a one-time login link. Opening the link does
// not use it (mail scanners open links); the button's POST does.
func (s *Server) loginLinkForm(w http.ResponseWriter, r *http.Request, st *reqState) error {
	return s.renderLoginLink(w, r, st, http.StatusOK, "")
}

func (s *Server) renderLoginLink(w http.ResponseWriter, r *http.Request, st *reqState, status int, msg string) error {
	sess, err := s.formSession(w, r, st)
	if err != nil {
		return err
	}
	var content []core.Node
	if msg != "" {
		content = append(content, errorNode(msg),
			core.Node{Type: core.ElemParagraph, Children: []core.Node{{Type: core.ElemLink, Href: "/user/login", Text: "Sign in with your password"}}})
	} else {
		content = append(content,
			core.Node{Type: core.ElemParagraph, Text: "This link signs you in once. It expires 15 minutes after it was made."},
			s.pluginForm(r.Context(), st, "user_login_link", core.Node{Type: core.ElemForm, Action: r.URL.Path, Method: "post", Children: []core.Node{
				{Type: core.ElemHidden, Name: CSRFField, Value: sess.NewCSRFToken()},
				{Type: core.ElemButton, Text: "Sign in"},
			}}))
	}
	return s.accountPage(w, r, st, status, "Sign in", content)
}

// loginLink signs in with a one-time link.
func (s *Server) loginLink(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := core.NewContextWithClientAddr(r.Context(), s.clientIP(r))
	u, err := s.k.Accounts.ConsumeLoginLink(ctx, r.PathValue("token"))
	switch core.ErrorCode(err) {
	case "":
	case core.EInvalid, core.EUnauthorized:
		return s.renderLoginLink(w, r, st, HTTPStatus(err), "This login link is not valid: it was used already, has expired or was mistyped.")
	default:
		return err
	}
	if _, err := s.SignIn(w, r, u.ID); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// resetRequestForm asks for a name or email address to mail a reset link
// to.
func (s *Server) resetRequestForm(w http.ResponseWriter, r *http.Request, st *reqState) error {
	return s.renderResetRequest(w, r, st, http.StatusOK, "")
}

func (s *Server) renderResetRequest(w http.ResponseWriter, r *http.Request, st *reqState, status int, msg string) error {
	sess, err := s.formSession(w, r, st)
	if err != nil {
		return err
	}
	var content []core.Node
	if msg != "" {
		content = append(content, errorNode(msg))
	}
	content = append(content,
		core.Node{Type: core.ElemParagraph, Text: "Enter your user name or email address. If it belongs to an account, we mail a link to set a new password."},
		s.pluginForm(r.Context(), st, "user_password", core.Node{Type: core.ElemForm, Action: "/user/password", Method: "post", Children: []core.Node{
			{Type: core.ElemHidden, Name: CSRFField, Value: sess.NewCSRFToken()},
			{Type: core.ElemInput, Name: fieldName, Label: "User name or email address", Required: true},
			{Type: core.ElemButton, Text: "Mail me a link"},
		}}))
	return s.accountPage(w, r, st, status, "Reset your password", content)
}

// resetRequest mails a reset link when the name or address belongs to an
// account, and answers the same either way.
func (s *Server) resetRequest(w http.ResponseWriter, r *http.Request, st *reqState) error {
	if errs := s.pluginFormValidate(r, st, "user_password"); errs != nil {
		return s.renderResetRequest(w, withFormErrors(r, errs), st, http.StatusBadRequest, "")
	}
	ctx := core.NewContextWithClientAddr(r.Context(), s.clientIP(r))
	err := s.k.Accounts.RequestReset(ctx, r.PostForm.Get(fieldName), s.clientIP(r))
	switch core.ErrorCode(err) {
	case "":
	case core.EInvalid:
		return s.renderResetRequest(w, r, st, http.StatusBadRequest, "That is not a user name or email address.")
	default:
		return err
	}
	return s.accountPage(w, r, st, http.StatusOK, "Check your mail", []core.Node{
		{Type: core.ElemParagraph, Text: "If the name or address belongs to an account, a link to set a new password is on its way. It works once, within an hour."},
	})
}

// resetForm asks for a new password.
func (s *Server) resetForm(w http.ResponseWriter, r *http.Request, st *reqState) error {
	return s.renderReset(w, r, st, http.StatusOK, "")
}

func (s *Server) renderReset(w http.ResponseWriter, r *http.Request, st *reqState, status int, msg string) error {
	sess, err := s.formSession(w, r, st)
	if err != nil {
		return err
	}
	var content []core.Node
	if msg != "" {
		content = append(content, errorNode(msg))
	}
	content = append(content, s.pluginForm(r.Context(), st, "user_reset", core.Node{Type: core.ElemForm, Action: r.URL.Path, Method: "post", Children: []core.Node{
		{Type: core.ElemHidden, Name: CSRFField, Value: sess.NewCSRFToken()},
		{Type: core.ElemInput, InputType: "password", Name: fieldPassword, Label: "New password", Required: true,
			Description: "12 to 128 characters; not a commonly used password."},
		{Type: core.ElemInput, InputType: "password", Name: fieldConfirm, Label: "New password again", Required: true},
		{Type: core.ElemButton, Text: "Set password"},
	}}))
	return s.accountPage(w, r, st, status, "Set a new password", content)
}

// reset sets a new password with a reset link's token (once).
func (s *Server) reset(w http.ResponseWriter, r *http.Request, st *reqState) error {
	pw := r.PostForm.Get(fieldPassword)
	if pw != r.PostForm.Get(fieldConfirm) {
		return s.renderReset(w, r, st, http.StatusBadRequest, "The two passwords differ.")
	}
	if errs := s.pluginFormValidate(r, st, "user_reset", fieldPassword, fieldConfirm); errs != nil {
		return s.renderReset(w, withFormErrors(r, errs), st, http.StatusBadRequest, "")
	}
	ctx := core.NewContextWithClientAddr(r.Context(), s.clientIP(r))
	err := s.k.Accounts.ResetPassword(ctx, r.PathValue("token"), pw)
	switch core.ErrorCode(err) {
	case "":
	case core.EInvalid:
		if !validToken(r.PathValue("token")) {
			return s.renderLoginLink(w, r, st, http.StatusBadRequest, "This reset link is not valid: it was used already, has expired or was mistyped.")
		}
		return s.renderReset(w, r, st, http.StatusBadRequest, core.ErrorMessage(err))
	case core.EUnauthorized, core.ENotFound:
		return s.renderLoginLink(w, r, st, http.StatusUnauthorized, "This reset link is not valid: it was used already, has expired or was mistyped.")
	default:
		return err
	}
	return s.accountPage(w, r, st, http.StatusOK, "Password changed", []core.Node{
		{Type: core.ElemParagraph, Text: "Your password is set, and every session of your account has ended."},
		{Type: core.ElemParagraph, Children: []core.Node{{Type: core.ElemLink, Href: "/user/login", Text: "Sign in"}}},
	})
}

// validToken reports whether t has the shape of an account token (43
// characters of base64url), so that a malformed link is told apart from
// a password the rules refuse.
func validToken(t string) bool {
	if len(t) != 43 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// signInMenu is the user menu's sign-in link, back to path afterwards.
func signInMenu(path string) core.Node {
	href := "/user/login"
	if path != "" && path != "/" && !strings.HasPrefix(path, "/user/") {
		href += "?" + url.Values{fieldDestination: {path}}.Encode()
	}
	return core.Node{Type: core.ElemLink, Href: href, Text: "Sign in"}
}

// signOutForm is the user menu's sign-out button: a POST with the
// session's CSRF token.
func signOutForm(sess *core.Session) core.Node {
	return core.Node{Type: core.ElemForm, Action: "/user/logout", Method: "post", Attrs: map[string]string{"class": "user-menu__signout"}, Children: []core.Node{
		{Type: core.ElemHidden, Name: CSRFField, Value: sess.NewCSRFToken()},
		{Type: core.ElemButton, Text: "Sign out"},
	}}
}
