//go:build !wasip1

package sdk

import (
	"sort"
	"strings"
	"sync"
)

// Fake stands in for the host in plain `go test`. Zero fields answer
// "not found"; set what the plugin under test needs. It records logs,
// cache writes, saved items and data operations for assertions.
type Fake struct {
	mu sync.Mutex

	Items       map[string]string // id -> item JSON
	User        User
	Permissions map[string]bool
	Request     Request
	Variables   map[string]string // name -> JSON value
	Cache       map[string][]byte
	CacheTags   map[string][]string
	// Data answers data operations (JSON); nil answers EUnavailable.
	Data func(op Value) (string, error)
	// Staged answers staged_exec operations (JSON op in, JSON out); nil
	// answers EUnavailable.
	Staged func(op Value) (string, error)
	// Query answers item queries (JSON query in, {"items":[...],"total":n} out).
	Query func(q Value) (string, error)
	// Denied lists capabilities the fake refuses with EForbidden, to test
	// how a plugin copes without them.
	Denied map[string]bool

	Logs        []string // "level: message"
	Saved       []string // item documents passed to SaveItem
	Ops         []string // data operations passed to Data
	StagedOps   []string // operations passed to LoadStaged, SaveStaged, ...
	Invalidated []string
}

// UseFake makes f the host for host calls and returns a function that
// restores the previous one (use with t.Cleanup).
func UseFake(f *Fake) (restore func()) {
	prev := host
	host = f
	return func() { host = prev }
}

func (f *Fake) deny(c string) error {
	if f.Denied[c] {
		return Errorf(EForbidden, "capability %s is not approved", c)
	}
	return nil
}

func (f *Fake) itemLoad(id string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.deny("item.read"); err != nil {
		return nil, err
	}
	doc, ok := f.Items[id]
	if !ok {
		return nil, Errorf(ENotFound, "item %s not found", id)
	}
	return []byte(doc), nil
}

func (f *Fake) itemField(id, field string) ([]byte, error) {
	doc, err := f.itemLoad(id)
	if err != nil {
		return nil, err
	}
	v := Value(doc).Get(field)
	if !v.Exists() {
		v = Value(doc).Get("fields").Get(field)
	}
	if !v.Exists() {
		return nil, Errorf(ENotFound, "item %s has no field %s", id, field)
	}
	return v, nil
}

func (f *Fake) itemQuery(q []byte) ([]byte, error) {
	if err := f.deny("item.read"); err != nil {
		return nil, err
	}
	if f.Query == nil {
		return nil, Errorf(EUnavailable, "fake: no Query")
	}
	s, err := f.Query(Value(q))
	return []byte(s), err
}

func (f *Fake) itemSave(doc []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.deny("item.write"); err != nil {
		return nil, err
	}
	if !Valid(doc) {
		return nil, Errorf(EInvalid, "item document is not valid JSON")
	}
	f.Saved = append(f.Saved, string(doc))
	return doc, nil
}

func (f *Fake) dataExec(op []byte) ([]byte, error) {
	f.mu.Lock()
	f.Ops = append(f.Ops, string(op))
	data := f.Data
	f.mu.Unlock()
	if err := f.deny("data"); err != nil {
		return nil, err
	}
	if data == nil {
		return nil, Errorf(EUnavailable, "fake: no Data")
	}
	s, err := data(Value(op))
	return []byte(s), err
}

func (f *Fake) stagedExec(op []byte) ([]byte, error) {
	f.mu.Lock()
	f.StagedOps = append(f.StagedOps, string(op))
	staged := f.Staged
	f.mu.Unlock()
	if err := f.deny("data"); err != nil {
		return nil, err
	}
	if staged == nil {
		return nil, Errorf(EUnavailable, "fake: no Staged")
	}
	s, err := staged(Value(op))
	return []byte(s), err
}

func (f *Fake) userCurrent() ([]byte, error) {
	if err := f.deny("user.read"); err != nil {
		return nil, err
	}
	w := NewWriter(nil)
	w.BeginObject()
	w.Key("id")
	w.String(f.User.ID)
	w.Key("name")
	w.String(f.User.Name)
	w.Key("roles")
	w.Any(append([]string{}, f.User.Roles...))
	w.Key("authenticated")
	w.Bool(f.User.Authenticated)
	w.EndObject()
	return w.Bytes(), nil
}

func (f *Fake) userHasPermission(perm string) (bool, error) {
	if err := f.deny("user.read"); err != nil {
		return false, err
	}
	return f.Permissions[perm], nil
}

func (f *Fake) cacheGet(key string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.deny("cache"); err != nil {
		return nil, err
	}
	v, ok := f.Cache[key]
	if !ok {
		return nil, Errorf(ENotFound, "cache miss")
	}
	return v, nil
}

func (f *Fake) cacheSet(key string, val, tags []byte, ttl uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.deny("cache"); err != nil {
		return err
	}
	if f.Cache == nil {
		f.Cache = map[string][]byte{}
		f.CacheTags = map[string][]string{}
	}
	f.Cache[key] = append([]byte(nil), val...)
	f.CacheTags[key] = Value(tags).Strings()
	return nil
}

func (f *Fake) cacheInvalidate(tags []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.deny("cache"); err != nil {
		return err
	}
	for _, t := range Value(tags).Strings() {
		f.Invalidated = append(f.Invalidated, t)
		for k, kt := range f.CacheTags {
			for _, x := range kt {
				if x == t {
					delete(f.Cache, k)
					delete(f.CacheTags, k)
				}
			}
		}
	}
	return nil
}

func (f *Fake) variableGet(name string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.deny("variables"); err != nil {
		return nil, err
	}
	v, ok := f.Variables[name]
	if !ok {
		return nil, Errorf(ENotFound, "variable %s is not set", name)
	}
	return []byte(v), nil
}

func (f *Fake) variableSet(name string, val []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.deny("variables"); err != nil {
		return err
	}
	if !Valid(val) {
		return Errorf(EInvalid, "variable value must be JSON")
	}
	if f.Variables == nil {
		f.Variables = map[string]string{}
	}
	f.Variables[name] = string(val)
	return nil
}

func (f *Fake) requestGet() ([]byte, error) {
	if err := f.deny("request"); err != nil {
		return nil, err
	}
	r := f.Request
	if r.Stage == "" {
		r.Stage = "live"
	}
	w := NewWriter(nil)
	w.BeginObject()
	w.Key("path")
	w.String(r.Path)
	w.Key("query")
	w.BeginObject()
	keys := make([]string, 0, len(r.Query))
	for k := range r.Query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.Key(k)
		w.Any(r.Query[k])
	}
	w.EndObject()
	w.Key("stage")
	w.String(r.Stage)
	w.Key("language")
	w.String(r.Language)
	w.EndObject()
	return w.Bytes(), nil
}

var levelNames = []string{"debug", "info", "warn", "error"}

func (f *Fake) log(level int, msg string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.deny("log"); err != nil {
		return err
	}
	if level < 0 || level >= len(levelNames) {
		return Errorf(EInvalid, "log level %d", level)
	}
	f.Logs = append(f.Logs, levelNames[level]+": "+strings.TrimSpace(msg))
	return nil
}

var _ hostAPI = (*Fake)(nil)
