package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/postgres/pgtest"
	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/core/redis/redistest"
	"github.com/trovato/trovato/server"
	"github.com/trovato/trovato/server/api"
)

func TestMain(m *testing.M) { pgtest.Main(redistest.Wrap(m)) }

const articleType = `{"kind":"item_type","name":"article","label":"Article","fields":[
	{"name":"body","type":"long_text","format":"markdown"},
	{"name":"tags","label":"Tags","type":"term_ref","vocabulary":"tags","cardinality":"unlimited"}]}`

// env is a kernel on its own database, the site and the API over it,
// Redis sessions, and signed-in users.
type env struct {
	t        testing.TB
	k        *kernel.Kernel
	api      *api.API
	h        http.Handler
	sessions core.SessionStore
	admin    context.Context
	users    map[string]*core.User
	cookies  map[string]string // user name -> session id
	csrf     map[string]string
	token    string
	vars     map[string]string
	taps     *tapRecorder
}

// tapRecorder sits between the item store and the plugin manager and
// records the item taps each request fires, passing every call on.
type tapRecorder struct {
	inner core.ItemHooks
	mu    sync.Mutex
	fired []string
}

func (r *tapRecorder) record(tap string) {
	r.mu.Lock()
	r.fired = append(r.fired, tap)
	r.mu.Unlock()
}

func (r *tapRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.fired
	r.fired = nil
	return out
}

func (r *tapRecorder) PresaveItem(ctx context.Context, stage core.ID, it *core.Item, isNew bool) error {
	r.record("item_presave")
	return r.inner.PresaveItem(ctx, stage, it, isNew)
}

func (r *tapRecorder) ItemSaved(ctx context.Context, stage core.ID, it *core.Item, isNew bool) {
	if isNew {
		r.record("item_insert")
	} else {
		r.record("item_update")
	}
	r.inner.ItemSaved(ctx, stage, it, isNew)
}

func (r *tapRecorder) ItemDeleted(ctx context.Context, stage core.ID, it *core.Item) {
	r.record("item_delete")
	r.inner.ItemDeleted(ctx, stage, it)
}

// mustEnv builds an env; limit sets the API's per-user rate limit (0:
// the default).
func mustEnv(tb testing.TB, limit int) *env {
	tb.Helper()
	ctx := context.Background()
	cfg := kernel.DefaultConfig(tb.TempDir())
	cfg.DatabaseURL = pgtest.NewDBURL(tb)
	cfg.MaxUploadBytes = 64 << 10
	k, err := kernel.New(ctx, cfg, kernel.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { k.Close(context.Background()) })
	c, prefix := redistest.New(tb)
	sessions := redis.NewSessionStore(c, prefix, core.SessionTimeouts{})
	site, err := server.New(k, server.Options{Sessions: sessions, Limiter: redis.NewRateLimiter(c, prefix), Cache: redis.NewCache(c, prefix)})
	if err != nil {
		tb.Fatal(err)
	}
	accounts, err := postgres.NewAccounts(k.Store, postgres.AccountsConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	a, err := api.New(api.Options{Kernel: k, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})), Sessions: sessions, Accounts: accounts, Site: site,
		Limiter: redis.NewRateLimiter(c, prefix), RateLimit: limit, CursorKey: []byte("test cursor key")})
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(api.Prefix+"/", a)
	mux.Handle("/", site)
	admin, err := k.AsUser(ctx, "admin")
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{t: tb, k: k, api: a, h: mux, sessions: sessions, admin: admin, users: map[string]*core.User{},
		cookies: map[string]string{}, csrf: map[string]string{}, vars: map[string]string{}}
	e.users["admin"] = core.UserFromContext(admin)
	for name, role := range map[string]string{"ed": core.RoleEditor, "al": ""} {
		u := &core.User{Name: name, Email: name + "@example.org", Status: core.UserActive}
		if err := k.Store.Users().CreateUser(admin, u); err != nil {
			tb.Fatal(err)
		}
		if role != "" {
			if err := k.Store.Users().AddUserRole(admin, u.ID, role); err != nil {
				tb.Fatal(err)
			}
		}
		if u, err = k.Store.Users().FindUserByID(admin, u.ID); err != nil {
			tb.Fatal(err)
		}
		e.users[name] = u
	}
	for name, u := range e.users {
		epoch, err := accounts.SessionEpoch(ctx, u.ID)
		if err != nil {
			tb.Fatal(err)
		}
		s := &core.Session{UserID: u.ID, Epoch: epoch}
		if err := sessions.SaveSession(ctx, s); err != nil {
			tb.Fatal(err)
		}
		e.cookies[name], e.csrf[name] = s.ID, s.NewCSRFToken()
	}
	e.taps = &tapRecorder{inner: k.Plugins}
	k.Store.SetItemHooks(e.taps)
	tok, _, err := accounts.CreateToken(admin, "script", []string{core.PermAccessContent, core.PermAdministerContent,
		core.PermViewAnyStage, core.PermEditAnyStage}, nil, time.Now().Add(time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	e.token = tok
	for _, d := range [][3]string{
		{"site", "site", `{"kind":"site","name":"site","site_name":"Test Site","base_url":"https://example.org"}`},
		{"vocabulary", "tags", `{"kind":"vocabulary","name":"tags","label":"Tags"}`},
		{"menu", "main", `{"kind":"menu","name":"main","label":"Main"}`},
	} {
		if _, err := k.Store.Config().PutConfig(admin, d[0], d[1], json.RawMessage(d[2]), 0); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := k.Store.ApplyType(admin, json.RawMessage(articleType), false); err != nil {
		tb.Fatal(err)
	}
	return e
}

// spec is the API's document and a router over it, loaded once.
var spec = sync.OnceValues(func() (*openapi3.T, error) {
	return openapi3.NewLoader().LoadFromData(api.Spec())
})

func specRouter(tb testing.TB) (*openapi3.T, routers.Router) {
	tb.Helper()
	doc, err := spec()
	if err != nil {
		tb.Fatal(err)
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return doc, r
}

func init() {
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}

// scenario is one request and what must come back.
type scenario struct {
	name   string
	method string
	path   string // under api.Prefix; {var} is replaced from env.vars
	body   string
	ctype  string // default application/json when body is set
	raw    []byte // a body sent as is (uploads)
	user   string // "" anonymous, a user name, or "token"
	// noCSRF leaves the X-CSRF-Token header out.
	noCSRF bool
	// invalid: the request breaks the spec on purpose (bad input), so
	// only the response is validated.
	invalid bool
	status  int
	// contains are substrings the body must hold.
	contains []string
	// code is the error code the body must carry.
	code string
	// save records values from the response body in env.vars.
	save func(e *env, body map[string]any)
	// taps, when not nil, are the item taps the request must fire, in
	// order (an empty slice: none).
	taps []string
	// check runs extra assertions.
	check func(t *testing.T, e *env, body []byte)
}

var reVar = regexp.MustCompile(`\{(\w+)\}`)

func (e *env) expand(s string) string {
	return reVar.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := e.vars[m[1:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// do sends one request as user and returns the recorded response.
func (e *env) do(method, path, ctype string, body []byte, user string, csrf bool) *http.Response {
	req := httptest.NewRequest(method, api.Prefix+path, bytes.NewReader(body))
	if body == nil {
		req = httptest.NewRequest(method, api.Prefix+path, nil)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	switch user {
	case "":
	case "token":
		req.Header.Set("Authorization", "Bearer "+e.token)
	case "forged":
		req.Header.Set("Authorization", "Bearer trovato_forged")
	default:
		req.AddCookie(&http.Cookie{Name: server.SessionCookie, Value: e.cookies[user]})
		if csrf {
			req.Header.Set(server.CSRFHeader, e.csrf[user])
		}
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Result()
}

// covered records which spec operations scenarios reached.
var (
	coveredMu sync.Mutex
	covered   = map[string]bool{}
	// uncoverable are operations whose scenarios were skipped, and why.
	uncoverable = map[string]string{}
)

// run runs scenarios in order, validating every request and response
// against the spec.
func (e *env) run(t *testing.T, scenarios []scenario) {
	t.Helper()
	doc, router := specRouter(t)
	_ = doc
	for _, sc := range scenarios {
		path := e.expand(sc.path)
		body := []byte(e.expand(sc.body))
		ctype := sc.ctype
		if sc.raw != nil {
			body = sc.raw
		} else if sc.body == "" {
			body = nil
		} else if ctype == "" {
			ctype = "application/json"
		}
		ok := t.Run(sc.name, func(t *testing.T) {
			e.taps.take()
			res := e.do(sc.method, path, ctype, body, sc.user, !sc.noCSRF)
			resBody, _ := io.ReadAll(res.Body)
			if fired := e.taps.take(); sc.taps != nil && strings.Join(fired, ",") != strings.Join(sc.taps, ",") {
				t.Errorf("taps fired: %v, want %v", fired, sc.taps)
			}
			if res.StatusCode != sc.status {
				t.Fatalf("%s %s: status %d, want %d; body: %s", sc.method, path, res.StatusCode, sc.status, trunc(resBody))
			}
			// Validate against the spec.
			req := httptest.NewRequest(sc.method, api.Prefix+path, bytes.NewReader(body))
			if ctype != "" {
				req.Header.Set("Content-Type", ctype)
			}
			if sc.user == "token" || sc.user == "forged" {
				req.Header.Set("Authorization", "Bearer x")
			} else if sc.user != "" {
				req.AddCookie(&http.Cookie{Name: server.SessionCookie, Value: "x"})
				if !sc.noCSRF {
					req.Header.Set(server.CSRFHeader, "x")
				}
			}
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatalf("%s %s is not in the spec: %v", sc.method, path, err)
			}
			coveredMu.Lock()
			covered[strings.ToUpper(route.Method)+" "+route.Path] = true
			coveredMu.Unlock()
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
			if !sc.invalid {
				if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
					t.Fatalf("request does not match the spec: %v", err)
				}
			}
			out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
				Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
			out.SetBodyBytes(resBody)
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				t.Fatalf("response %d does not match the spec: %v\nbody: %s", res.StatusCode, err, trunc(resBody))
			}
			if res.StatusCode >= 400 {
				var eb struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				}
				if err := json.Unmarshal(resBody, &eb); err != nil || eb.Code == "" || eb.Message == "" {
					t.Fatalf("error body is not {code, message}: %s", resBody)
				}
				if sc.code != "" && eb.Code != sc.code {
					t.Fatalf("code %q, want %q: %s", eb.Code, sc.code, resBody)
				}
			}
			for _, s := range sc.contains {
				if !bytes.Contains(resBody, []byte(e.expand(s))) {
					t.Fatalf("body lacks %q: %s", e.expand(s), trunc(resBody))
				}
			}
			if sc.save != nil {
				var m map[string]any
				if err := json.Unmarshal(resBody, &m); err != nil {
					t.Fatalf("save: %v", err)
				}
				sc.save(e, m)
			}
			if sc.check != nil {
				sc.check(t, e, resBody)
			}
		})
		if !ok {
			t.FailNow() // later scenarios depend on earlier ones
		}
	}
}

func trunc(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// saveVar saves a top-level string (or a path like "items.0.id") as name.
func saveVar(name, path string) func(e *env, m map[string]any) {
	return func(e *env, m map[string]any) {
		var cur any = m
		for _, p := range strings.Split(path, ".") {
			switch c := cur.(type) {
			case map[string]any:
				cur = c[p]
			case []any:
				var i int
				fmt.Sscan(p, &i)
				if i < len(c) {
					cur = c[i]
				} else {
					cur = nil
				}
			}
		}
		s, ok := cur.(string)
		if !ok {
			e.t.Fatalf("save %s: %s is %v", name, path, cur)
		}
		e.vars[name] = s
	}
}

func multipartBody(field, name string, content []byte) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile(field, name)
	_, _ = fw.Write(content)
	_ = w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

// TestSpecMatchesRouter fails when the spec names a route the router
// does not serve, or the router serves one the spec does not describe;
// it also asks the live router for every spec operation.
func TestSpecMatchesRouter(t *testing.T) {
	doc, _ := specRouter(t)
	e := mustEnv(t, 0)
	served := map[string]bool{}
	for _, r := range e.api.Routes() {
		served[r.Method+" "+r.Pattern] = true
	}
	inSpec := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			key := method + " " + path
			inSpec[key] = true
			if !served[key] {
				t.Errorf("the spec names %s, which the router does not serve", key)
				continue
			}
			// The live router answers it with something other than "no route".
			p := reVar.ReplaceAllString(path, core.NewID().String())
			res := e.do(method, p, "", nil, "admin", true)
			b, _ := io.ReadAll(res.Body)
			if bytes.Contains(b, []byte("No API route")) {
				t.Errorf("%s %s: the router has no route: %s", method, p, b)
			}
		}
	}
	for key := range served {
		if !inSpec[key] {
			t.Errorf("the router serves %s, which the spec does not describe", key)
		}
	}
	// And an unknown route is a JSON 404.
	res := e.do("GET", "/nope", "", nil, "admin", true)
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown route: %d", res.StatusCode)
	}
}

// TestOpenAPIServed checks the document is served, public, and valid.
func TestOpenAPIServed(t *testing.T) {
	e := mustEnv(t, 0)
	res := e.do("GET", "/openapi.json", "", nil, "", false)
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// coverage lists spec operations no scenario reached.
func coverage(t *testing.T) {
	doc, _ := specRouter(t)
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			key := method + " " + path
			if why, ok := uncoverable[key]; ok {
				t.Logf("%s has no scenario in this run: %s", key, why)
			} else if !covered[key] {
				missing = append(missing, key)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d operations have no scenario:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}
