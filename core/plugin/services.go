package plugin

import (
	"context"
	"encoding/json"
	"time"
)

// The host modules are the plugin's only view of the world. Each is backed
// by one of the small interfaces below, implemented by the kernel; a nil
// service makes its host calls answer EUnavailable.

// ItemReader loads items for the item host module. Stage is the request's
// stage; implementations apply the core authorizer for the current user
// (from ctx) and return ENotFound or EForbidden.
type ItemReader interface {
	// LoadItem returns the item's JSON document as the stage shows it.
	LoadItem(ctx context.Context, stage, id string) ([]byte, error)
	// LoadItemField returns the JSON value of one field of an item
	// ("title", "status" or a field name). ENotFound if item or field is missing.
	LoadItemField(ctx context.Context, stage, id, field string) ([]byte, error)
	// QueryItems returns {"items": [...], "total": n}.
	QueryItems(ctx context.Context, stage string, q ItemQuery) ([]byte, error)
}

// ItemWriter saves items for plugins with item.write. It returns the saved
// item's JSON; EConflict for a stale base revision, EInvalid, EForbidden.
type ItemWriter interface {
	SaveItem(ctx context.Context, stage string, item []byte) ([]byte, error)
}

// ItemQuery is a structured item query; plugins never send SQL.
type ItemQuery struct {
	Type    string        `json:"type,omitempty"`
	Filters []QueryFilter `json:"filters,omitempty"`
	Sort    []QuerySort   `json:"sort,omitempty"`
	Limit   int           `json:"limit,omitempty"`
	Offset  int           `json:"offset,omitempty"`
}

// QueryFilter compares a field with a value. Op is one of eq, ne, lt, le,
// gt, ge, in, contains.
type QueryFilter struct {
	Field string          `json:"field"`
	Op    string          `json:"op"`
	Value json.RawMessage `json:"value"`
}

// QuerySort orders by a field.
type QuerySort struct {
	Field string `json:"field"`
	Desc  bool   `json:"desc,omitempty"`
}

// DataStore runs structured operations on a plugin's own tables. The host
// has already checked that the table belongs to the plugin and that every
// column exists and every value has the column's JSON type.
type DataStore interface {
	// ExecData returns {"rows": [...]} for select and {"affected": n}
	// otherwise. EConflict on a duplicate primary key.
	ExecData(ctx context.Context, plugin string, op DataOp) ([]byte, error)
}

// DataOp is one structured operation on a plugin table.
type DataOp struct {
	Op      string                     `json:"op"` // select, insert, update, delete
	Table   string                     `json:"table"`
	Where   map[string]json.RawMessage `json:"where,omitempty"`
	Values  map[string]json.RawMessage `json:"values,omitempty"`
	OrderBy []QuerySort                `json:"order_by,omitempty"`
	Limit   int                        `json:"limit,omitempty"`
}

// StagedStore keeps a plugin's stageable kinds (manifest `stageable`) as
// JSON documents in the kernel's revision and head tables, in the
// request's stage: the same copy-on-write, tombstones and publish as items.
// The host has already checked that the kind is the plugin's own and that
// ids and documents are well-formed; implementations check the current
// user's permissions (from ctx).
type StagedStore interface {
	// ExecStaged returns for load and save {"id", "revision_id", "doc"},
	// for list {"docs": [...], "total": n}, for delete {"id"}. ENotFound,
	// EForbidden, EConflict for a stale revision_id, EInvalid.
	ExecStaged(ctx context.Context, stage string, op StagedOp) ([]byte, error)
}

// StagedOp is one operation on a plugin's stageable kind.
type StagedOp struct {
	Op   string `json:"op"` // load, list, save, delete
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"` // load, delete; save: empty creates
	// Doc is the document to save (a JSON object).
	Doc json.RawMessage `json:"doc,omitempty"`
	// RevisionID is the revision a save starts from; a stale one is a
	// conflict. Empty saves without the check.
	RevisionID string `json:"revision_id,omitempty"`
	Log        string `json:"log,omitempty"`
	Limit      int    `json:"limit,omitempty"` // list: default 50, at most 500
	Offset     int    `json:"offset,omitempty"`
}

// User is the current user as plugins see it.
type User struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Roles         []string `json:"roles"`
	Authenticated bool     `json:"authenticated"`
}

// UserSource answers for the request's user (which it reads from ctx).
type UserSource interface {
	CurrentUser(ctx context.Context) (User, error)
	HasPermission(ctx context.Context, permission string) (bool, error)
}

// CacheStore is a tagged cache. Keys arrive namespaced by plugin.
type CacheStore interface {
	// GetCache returns the value and whether it was present.
	GetCache(ctx context.Context, key string) ([]byte, bool, error)
	SetCache(ctx context.Context, key string, value []byte, tags []string, ttl time.Duration) error
	InvalidateTags(ctx context.Context, tags ...string) error
}

// VariableStore holds plugin-namespaced configuration values (JSON).
type VariableStore interface {
	// GetVariable returns the value and whether it was set.
	GetVariable(ctx context.Context, plugin, name string) ([]byte, bool, error)
	SetVariable(ctx context.Context, plugin, name string, value []byte) error
}

// Services are the kernel's implementations behind the host modules.
type Services struct {
	Items     ItemReader
	ItemSaver ItemWriter
	Data      DataStore
	Staged    StagedStore
	Users     UserSource
	Cache     CacheStore
	Variables VariableStore
}

// Request describes the request a tap runs for; the request host module
// returns it and item calls use its stage.
type Request struct {
	Path     string              `json:"path"`
	Query    map[string][]string `json:"query"`
	Stage    string              `json:"stage"`
	Language string              `json:"language"`
}

type requestKey struct{}

// NewContextWithRequest returns a context carrying the request plugins see.
func NewContextWithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, &r)
}

// RequestFromContext returns the request stored by NewContextWithRequest,
// or a request in the live stage with no path.
func RequestFromContext(ctx context.Context) Request {
	if r, ok := ctx.Value(requestKey{}).(*Request); ok {
		return *r
	}
	return Request{Stage: "live"}
}

// OutputValidator checks a tap's output document (for example the render
// tree of item_view) before it is used. An error drops that plugin's
// contribution. What it decoded, if anything, is the Result's Decoded, so
// callers need not decode the output again.
type OutputValidator func(tap string, out []byte) (decoded any, err error)
