package sdk

import (
	"time"
)

// hostAPI is the "trovato" host module: the real imports inside
// WebAssembly, a Fake in tests. Results may alias a scratch buffer that
// the next host call reuses; the typed wrappers below copy what they keep.
type hostAPI interface {
	itemLoad(id string) ([]byte, error)
	itemField(id, field string) ([]byte, error)
	itemQuery(q []byte) ([]byte, error)
	itemSave(doc []byte) ([]byte, error)
	dataExec(op []byte) ([]byte, error)
	stagedExec(op []byte) ([]byte, error)
	userCurrent() ([]byte, error)
	userHasPermission(perm string) (bool, error)
	cacheGet(key string) ([]byte, error)
	cacheSet(key string, val, tags []byte, ttlSeconds uint32) error
	cacheInvalidate(tags []byte) error
	variableGet(name string) ([]byte, error)
	variableSet(name string, val []byte) error
	requestGet() ([]byte, error)
	log(level int, msg string) error
}

var host hostAPI

func current() (hostAPI, error) {
	if host == nil {
		return nil, Errorf(EUnavailable, "no host: outside WebAssembly, install a fake with sdk.UseFake")
	}
	return host, nil
}

// LoadItem loads an item in the request's stage (capability item.read).
func LoadItem(id string) (Item, error) {
	h, err := current()
	if err != nil {
		return Item{}, err
	}
	b, err := h.itemLoad(id)
	if err != nil {
		return Item{}, err
	}
	return ParseItem(Value(b).Clone())
}

// ItemField loads one field of an item (capability item.read): "title",
// "status" or a field name.
func ItemField(id, field string) (Value, error) {
	h, err := current()
	if err != nil {
		return nil, err
	}
	b, err := h.itemField(id, field)
	return Value(b).Clone(), err
}

// ItemQuery is a structured item query.
type ItemQuery struct {
	Type    string
	Filters []Filter
	Sort    []Sort
	Limit   int
	Offset  int
}

// Filter compares a field: Op is eq, ne, lt, le, gt, ge, in or contains.
type Filter struct {
	Field string
	Op    string
	Value any
}

// Sort orders a query.
type Sort struct {
	Field string
	Desc  bool
}

// ItemList is a page of query results.
type ItemList struct {
	Items []Item
	Total int
}

// QueryItems runs an item query in the request's stage (item.read).
func QueryItems(q ItemQuery) (ItemList, error) {
	h, err := current()
	if err != nil {
		return ItemList{}, err
	}
	w := NewWriter(nil)
	w.BeginObject()
	if q.Type != "" {
		w.Key("type")
		w.String(q.Type)
	}
	if len(q.Filters) > 0 {
		w.Key("filters")
		w.BeginArray()
		for _, f := range q.Filters {
			w.BeginObject()
			w.Key("field")
			w.String(f.Field)
			w.Key("op")
			w.String(f.Op)
			w.Key("value")
			w.Any(f.Value)
			w.EndObject()
		}
		w.EndArray()
	}
	if len(q.Sort) > 0 {
		w.Key("sort")
		w.BeginArray()
		for _, s := range q.Sort {
			w.BeginObject()
			w.Key("field")
			w.String(s.Field)
			if s.Desc {
				w.Key("desc")
				w.Bool(true)
			}
			w.EndObject()
		}
		w.EndArray()
	}
	if q.Limit > 0 {
		w.Key("limit")
		w.Int(int64(q.Limit))
	}
	if q.Offset > 0 {
		w.Key("offset")
		w.Int(int64(q.Offset))
	}
	w.EndObject()
	b, err := h.itemQuery(w.Bytes())
	if err != nil {
		return ItemList{}, err
	}
	v := Value(b).Clone()
	list := ItemList{Total: int(v.Get("total").Int())}
	var perr error
	v.Get("items").Elements(func(_ int, iv Value) bool {
		var it Item
		it, perr = ParseItem(iv)
		list.Items = append(list.Items, it)
		return perr == nil
	})
	return list, perr
}

// SaveItem saves an item document in the request's stage (item.write) and
// returns the saved item.
func SaveItem(doc []byte) (Item, error) {
	h, err := current()
	if err != nil {
		return Item{}, err
	}
	b, err := h.itemSave(doc)
	if err != nil {
		return Item{}, err
	}
	return ParseItem(Value(b).Clone())
}

// DataOp is an operation on one of the plugin's own tables (capability
// data). Where and Values map column names to string, number, bool, nil
// or Value.
type DataOp struct {
	Op      string // select, insert, update, delete
	Table   string
	Where   map[string]any
	Values  map[string]any
	OrderBy []Sort
	Limit   int
}

// Data runs a DataOp: select returns {"rows":[...]}, the others
// {"affected":n}.
func Data(op DataOp) (Value, error) {
	h, err := current()
	if err != nil {
		return nil, err
	}
	w := NewWriter(nil)
	w.BeginObject()
	w.Key("op")
	w.String(op.Op)
	w.Key("table")
	w.String(op.Table)
	if len(op.Where) > 0 {
		w.Key("where")
		w.Any(op.Where)
	}
	if len(op.Values) > 0 {
		w.Key("values")
		w.Any(op.Values)
	}
	if len(op.OrderBy) > 0 {
		w.Key("order_by")
		w.BeginArray()
		for _, s := range op.OrderBy {
			w.BeginObject()
			w.Key("field")
			w.String(s.Field)
			if s.Desc {
				w.Key("desc")
				w.Bool(true)
			}
			w.EndObject()
		}
		w.EndArray()
	}
	if op.Limit > 0 {
		w.Key("limit")
		w.Int(int64(op.Limit))
	}
	w.EndObject()
	b, err := h.dataExec(w.Bytes())
	return Value(b).Clone(), err
}

// StagedDoc is one document of a plugin's stageable kind as the
// request's stage shows it.
type StagedDoc struct {
	ID         string
	RevisionID string
	Doc        Value // a JSON object
}

func parseStagedDoc(v Value) StagedDoc {
	return StagedDoc{ID: v.Get("id").String(), RevisionID: v.Get("revision_id").String(), Doc: v.Get("doc")}
}

func stagedOp(fields func(w *Writer)) (Value, error) {
	h, err := current()
	if err != nil {
		return nil, err
	}
	w := NewWriter(nil)
	w.BeginObject()
	fields(w)
	w.EndObject()
	b, err := h.stagedExec(w.Bytes())
	if err != nil {
		return nil, err
	}
	return Value(b).Clone(), nil
}

// LoadStaged loads a document of one of the plugin's stageable kinds in
// the request's stage (capability data). ENotFound.
func LoadStaged(kind, id string) (StagedDoc, error) {
	v, err := stagedOp(func(w *Writer) {
		w.Key("op")
		w.String("load")
		w.Key("kind")
		w.String(kind)
		w.Key("id")
		w.String(id)
	})
	if err != nil {
		return StagedDoc{}, err
	}
	return parseStagedDoc(v), nil
}

// ListStaged lists a stageable kind's documents as the request's stage
// shows them (capability data): at most limit (0: 50, at most 500) from
// offset, and the total.
func ListStaged(kind string, limit, offset int) ([]StagedDoc, int, error) {
	v, err := stagedOp(func(w *Writer) {
		w.Key("op")
		w.String("list")
		w.Key("kind")
		w.String(kind)
		if limit > 0 {
			w.Key("limit")
			w.Int(int64(limit))
		}
		if offset > 0 {
			w.Key("offset")
			w.Int(int64(offset))
		}
	})
	if err != nil {
		return nil, 0, err
	}
	var docs []StagedDoc
	v.Get("docs").Elements(func(_ int, d Value) bool {
		docs = append(docs, parseStagedDoc(d))
		return true
	})
	return docs, int(v.Get("total").Int()), nil
}

// SaveStaged saves a document (a JSON object) of a stageable kind in the
// request's stage as a new revision (capability data; the user needs
// the kind's permission). An empty id creates a document; a non-empty
// baseRevision makes the save a conflict (EConflict) when the document
// changed since.
func SaveStaged(kind, id string, doc []byte, baseRevision string) (StagedDoc, error) {
	v, err := stagedOp(func(w *Writer) {
		w.Key("op")
		w.String("save")
		w.Key("kind")
		w.String(kind)
		if id != "" {
			w.Key("id")
			w.String(id)
		}
		w.Key("doc")
		w.Raw(doc)
		if baseRevision != "" {
			w.Key("revision_id")
			w.String(baseRevision)
		}
	})
	if err != nil {
		return StagedDoc{}, err
	}
	return parseStagedDoc(v), nil
}

// DeleteStaged deletes a document in the request's stage (a tombstone in
// a named stage; capability data and the kind's permission).
func DeleteStaged(kind, id string) error {
	_, err := stagedOp(func(w *Writer) {
		w.Key("op")
		w.String("delete")
		w.Key("kind")
		w.String(kind)
		w.Key("id")
		w.String(id)
	})
	return err
}

// CurrentUser returns the request's user (capability user.read).
func CurrentUser() (User, error) {
	h, err := current()
	if err != nil {
		return User{}, err
	}
	b, err := h.userCurrent()
	if err != nil {
		return User{}, err
	}
	return parseUser(Value(b)), nil
}

// HasPermission asks whether the request's user holds a permission
// (capability user.read).
func HasPermission(perm string) (bool, error) {
	h, err := current()
	if err != nil {
		return false, err
	}
	return h.userHasPermission(perm)
}

// CacheGet reads the plugin's cache (capability cache); ok is false on a
// miss.
func CacheGet(key string) (val []byte, ok bool, err error) {
	h, err := current()
	if err != nil {
		return nil, false, err
	}
	b, err := h.cacheGet(key)
	if ErrorCode(err) == ENotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return append([]byte(nil), b...), true, nil
}

// CacheSet stores a value tagged for invalidation (capability cache); a
// zero ttl keeps it until a tag is invalidated.
func CacheSet(key string, val []byte, tags []string, ttl time.Duration) error {
	h, err := current()
	if err != nil {
		return err
	}
	var tb []byte
	if len(tags) > 0 {
		w := NewWriter(nil)
		w.Any(tags)
		tb = w.Bytes()
	}
	return h.cacheSet(key, val, tb, uint32(ttl/time.Second))
}

// InvalidateTags drops every cache entry carrying one of the tags
// (capability cache).
func InvalidateTags(tags ...string) error {
	h, err := current()
	if err != nil {
		return err
	}
	w := NewWriter(nil)
	w.Any(tags)
	return h.cacheInvalidate(w.Bytes())
}

// Variable reads one of the plugin's configuration variables (capability
// variables); ok is false if it is not set.
func Variable(name string) (val Value, ok bool, err error) {
	h, err := current()
	if err != nil {
		return nil, false, err
	}
	b, err := h.variableGet(name)
	if ErrorCode(err) == ENotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return Value(b).Clone(), true, nil
}

// SetVariable sets a configuration variable to a JSON value (capability
// variables).
func SetVariable(name string, val []byte) error {
	h, err := current()
	if err != nil {
		return err
	}
	return h.variableSet(name, val)
}

// CurrentRequest returns the request the tap runs for (capability request).
func CurrentRequest() (Request, error) {
	h, err := current()
	if err != nil {
		return Request{}, err
	}
	b, err := h.requestGet()
	if err != nil {
		return Request{}, err
	}
	v := Value(b)
	return Request{Path: v.Get("path").String(), Query: parseQuery(v.Get("query")), Stage: v.Get("stage").String(), Language: v.Get("language").String()}, nil
}

// Log levels.
const (
	LevelDebug = 0
	LevelInfo  = 1
	LevelWarn  = 2
	LevelError = 3
)

// Log writes to the kernel's log, tagged with the plugin's name
// (capability log). Errors are ignored: logging must not fail a tap.
func Log(level int, msg string) {
	if h, err := current(); err == nil {
		h.log(level, msg)
	}
}
