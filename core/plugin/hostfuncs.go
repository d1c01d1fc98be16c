package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"

	"github.com/trovato/trovato/core"
)

// callState is what host functions know about the call they serve. It
// lives in the instance and is reset by instance.begin.
type callState struct {
	sb        *sandbox
	inst      *instance
	ctx       context.Context // the tap call's context (deadline, request values)
	parent    context.Context // the caller's context
	hostCalls int
	pending   []byte   // a result kept for result_read
	fault     *failure // set by a host function that aborts the call
}

type callStateKey struct{}

// hostFault aborts the guest: the host function panics with it, wazero
// turns the panic into an error from the tap call, and the instance is
// discarded.
type hostFault struct{ f *failure }

func (h *hostFault) Error() string { return h.f.Error() }

func (st *callState) abort(f *failure) {
	st.fault = f
	panic(&hostFault{f})
}

// read returns a view of guest memory or aborts the call.
func (st *callState) read(mod api.Module, what string, ptr, n uint32) []byte {
	if n == 0 {
		return nil
	}
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		st.abort(fail(ReasonBadPointer, "host call argument %s [%d, +%d) is outside linear memory of %d bytes", what, ptr, n, mod.Memory().Size()))
	}
	return b
}

// text reads a UTF-8 string argument.
func (st *callState) text(mod api.Module, what string, ptr, n uint32) (string, bool) {
	b := st.read(mod, what, ptr, n)
	if !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// hostFunc is the shape shared by every host function: it gets the call
// state and the raw i32 parameters and returns an i32.
type hostFunc struct {
	params int
	cap    Capability // "" for functions every plugin may call
	fn     func(st *callState, mod api.Module, p []uint32) int32
}

// hostFunctions is the "trovato" import module. docs/plugin-abi.md
// documents each function.
var hostFunctions = map[string]hostFunc{
	"result_read":         {2, "", hostResultRead},
	"log":                 {3, CapLog, hostLog},
	"request_get":         {2, CapRequest, hostRequestGet},
	"item_load":           {4, CapItemRead, hostItemLoad},
	"item_field":          {6, CapItemRead, hostItemField},
	"item_query":          {4, CapItemRead, hostItemQuery},
	"item_save":           {4, CapItemWrite, hostItemSave},
	"data_exec":           {4, CapData, hostDataExec},
	"staged_exec":         {4, CapData, hostStagedExec},
	"user_current":        {2, CapUserRead, hostUserCurrent},
	"user_has_permission": {2, CapUserRead, hostUserHasPermission},
	"cache_get":           {4, CapCache, hostCacheGet},
	"cache_set":           {7, CapCache, hostCacheSet},
	"cache_invalidate":    {2, CapCache, hostCacheInvalidate},
	"variable_get":        {4, CapVariables, hostVariableGet},
	"variable_set":        {4, CapVariables, hostVariableSet},
}

func (s *sandbox) instantiateHostModule(ctx context.Context) error {
	b := s.runtime.NewHostModuleBuilder(hostModule)
	for name, hf := range hostFunctions {
		params := make([]api.ValueType, hf.params)
		for i := range params {
			params[i] = api.ValueTypeI32
		}
		b.NewFunctionBuilder().
			WithGoModuleFunction(wrapHostFunc(name, hf), params, []api.ValueType{api.ValueTypeI32}).
			WithParameterNames().
			Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

func wrapHostFunc(name string, hf hostFunc) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		st, _ := ctx.Value(callStateKey{}).(*callState)
		if st == nil {
			panic(fmt.Errorf("host function %s called outside a tap call", name))
		}
		st.hostCalls++
		if st.hostCalls > st.sb.limits.MaxHostCalls {
			st.abort(fail(ReasonHostCallLimit, "more than %d host calls in one tap call", st.sb.limits.MaxHostCalls))
		}
		var p [7]uint32
		for i := 0; i < hf.params; i++ {
			p[i] = uint32(stack[i])
		}
		if name != "result_read" {
			st.pending = nil
		}
		var r int32
		if hf.cap != "" && !(*st.sb.approved.Load())[hf.cap] {
			r = st.fail(core.Errorf(core.EForbidden, "%s needs the %s capability, which is not approved for plugin %s", name, hf.cap, st.sb.name))
		} else {
			r = hf.fn(st, mod, p[:hf.params])
		}
		stack[0] = uint64(uint32(r))
	}
}

// fail keeps err's document for result_read and returns its status.
func (st *callState) fail(err error) int32 {
	code := core.ErrorCode(err)
	msg := core.ErrorMessage(err)
	if code == core.EInternal {
		st.sb.logger.Error("plugin host call failed", "err", err)
	}
	doc, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, msg})
	st.pending = doc
	switch code {
	case core.ENotFound:
		return statusNotFound
	case core.EForbidden, core.EUnauthorized:
		return statusForbidden
	case core.EInvalid:
		return statusInvalid
	case core.ETooLarge:
		return statusTooLarge
	case core.EUnavailable, core.ENotImpl:
		return statusUnavailable
	case core.EConflict:
		return statusConflict
	}
	return statusInternal
}

// reply hands a result to the guest: written to [outPtr, +outCap) when it
// fits, otherwise kept for result_read. It returns the result's length.
func (st *callState) reply(mod api.Module, outPtr, outCap uint32, res []byte, err error) int32 {
	if err != nil {
		return st.fail(err)
	}
	if len(res) > st.sb.limits.MaxOutput {
		return st.fail(core.Errorf(core.ETooLarge, "result of %d bytes exceeds the cap of %d", len(res), st.sb.limits.MaxOutput))
	}
	if outCap > 0 {
		if _, ok := mod.Memory().Read(outPtr, outCap); !ok {
			st.abort(fail(ReasonBadPointer, "host call output buffer [%d, +%d) is outside linear memory of %d bytes", outPtr, outCap, mod.Memory().Size()))
		}
	}
	if uint32(len(res)) <= outCap {
		mod.Memory().Write(outPtr, res)
	} else {
		st.pending = res
	}
	return int32(len(res))
}

func unavailable(what string) error {
	return core.Errorf(core.EUnavailable, "the %s service is not available", what)
}

func hostResultRead(st *callState, mod api.Module, p []uint32) int32 {
	if st.pending == nil {
		return st.fail(core.Errorf(core.ENotFound, "no pending result"))
	}
	res := st.pending
	if uint32(len(res)) > p[1] {
		// The result stays for a retry with a large enough buffer.
		return statusTooLarge
	}
	st.pending = nil
	b := st.read(mod, "buffer", p[0], p[1])
	copy(b, res)
	return int32(len(res))
}

var logLevels = []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}

const maxLogMessage = 4096

func hostLog(st *callState, mod api.Module, p []uint32) int32 {
	if p[0] >= uint32(len(logLevels)) {
		return st.fail(core.Errorf(core.EInvalid, "log level %d is not 0-3", p[0]))
	}
	msg := st.read(mod, "message", p[1], p[2])
	if len(msg) > maxLogMessage {
		msg = msg[:maxLogMessage]
	}
	st.sb.logger.Log(st.ctx, logLevels[p[0]], strings.ToValidUTF8(string(msg), "\uFFFD"), "source", "plugin")
	return 0
}

func hostRequestGet(st *callState, mod api.Module, p []uint32) int32 {
	r := RequestFromContext(st.ctx)
	if r.Query == nil {
		r.Query = map[string][]string{}
	}
	doc, err := json.Marshal(r)
	return st.reply(mod, p[0], p[1], doc, err)
}

func hostItemLoad(st *callState, mod api.Module, p []uint32) int32 {
	id, ok := st.text(mod, "id", p[0], p[1])
	if !ok || id == "" {
		return st.fail(core.Errorf(core.EInvalid, "item id must be a non-empty UTF-8 string"))
	}
	svc := st.sb.services.Items
	if svc == nil {
		return st.fail(unavailable("item"))
	}
	res, err := svc.LoadItem(st.ctx, RequestFromContext(st.ctx).Stage, id)
	return st.reply(mod, p[2], p[3], res, err)
}

func hostItemField(st *callState, mod api.Module, p []uint32) int32 {
	id, ok1 := st.text(mod, "id", p[0], p[1])
	field, ok2 := st.text(mod, "field", p[2], p[3])
	if !ok1 || !ok2 || id == "" || field == "" {
		return st.fail(core.Errorf(core.EInvalid, "item id and field must be non-empty UTF-8 strings"))
	}
	svc := st.sb.services.Items
	if svc == nil {
		return st.fail(unavailable("item"))
	}
	res, err := svc.LoadItemField(st.ctx, RequestFromContext(st.ctx).Stage, id, field)
	return st.reply(mod, p[4], p[5], res, err)
}

const maxQueryLimit = 500

func hostItemQuery(st *callState, mod api.Module, p []uint32) int32 {
	var q ItemQuery
	if err := decodeStrict(st.read(mod, "query", p[0], p[1]), &q); err != nil {
		return st.fail(core.Errorf(core.EInvalid, "item query: %v", err))
	}
	if q.Limit <= 0 || q.Limit > maxQueryLimit {
		q.Limit = min(max(q.Limit, 0), maxQueryLimit)
		if q.Limit == 0 {
			q.Limit = 50
		}
	}
	if q.Offset < 0 {
		return st.fail(core.Errorf(core.EInvalid, "item query: negative offset"))
	}
	for i, f := range q.Filters {
		switch f.Op {
		case "eq", "ne", "lt", "le", "gt", "ge", "in", "contains":
		default:
			return st.fail(core.Errorf(core.EInvalid, "item query: filters[%d]: unknown operator %q", i, f.Op))
		}
		if f.Field == "" {
			return st.fail(core.Errorf(core.EInvalid, "item query: filters[%d]: field is required", i))
		}
	}
	svc := st.sb.services.Items
	if svc == nil {
		return st.fail(unavailable("item"))
	}
	res, err := svc.QueryItems(st.ctx, RequestFromContext(st.ctx).Stage, q)
	return st.reply(mod, p[2], p[3], res, err)
}

func hostItemSave(st *callState, mod api.Module, p []uint32) int32 {
	doc := st.read(mod, "item", p[0], p[1])
	if !json.Valid(doc) {
		return st.fail(core.Errorf(core.EInvalid, "item document is not valid JSON"))
	}
	svc := st.sb.services.ItemSaver
	if svc == nil {
		return st.fail(unavailable("item"))
	}
	res, err := svc.SaveItem(st.ctx, RequestFromContext(st.ctx).Stage, append([]byte(nil), doc...))
	return st.reply(mod, p[2], p[3], res, err)
}

func hostDataExec(st *callState, mod api.Module, p []uint32) int32 {
	var op DataOp
	if err := decodeStrict(st.read(mod, "operation", p[0], p[1]), &op); err != nil {
		return st.fail(core.Errorf(core.EInvalid, "data operation: %v", err))
	}
	if err := checkDataOp(st.sb.manifest, &op); err != nil {
		return st.fail(err)
	}
	svc := st.sb.services.Data
	if svc == nil {
		return st.fail(unavailable("data"))
	}
	res, err := svc.ExecData(st.ctx, st.sb.name, op)
	return st.reply(mod, p[2], p[3], res, err)
}

func hostStagedExec(st *callState, mod api.Module, p []uint32) int32 {
	var op StagedOp
	if err := decodeStrict(st.read(mod, "operation", p[0], p[1]), &op); err != nil {
		return st.fail(core.Errorf(core.EInvalid, "staged operation: %v", err))
	}
	if err := checkStagedOp(st.sb.manifest, &op); err != nil {
		return st.fail(err)
	}
	svc := st.sb.services.Staged
	if svc == nil {
		return st.fail(unavailable("staged"))
	}
	res, err := svc.ExecStaged(st.ctx, RequestFromContext(st.ctx).Stage, op)
	return st.reply(mod, p[2], p[3], res, err)
}

// checkStagedOp allows only the plugin's own stageable kinds and checks
// the operation's shape.
func checkStagedOp(m *Manifest, op *StagedOp) error {
	if !slices.Contains(m.Stageable, op.Kind) {
		return core.Errorf(core.EForbidden, "kind %q is not a stageable kind of plugin %s", op.Kind, m.Name)
	}
	if op.ID != "" && !isUUID(op.ID) {
		return core.Errorf(core.EInvalid, "id must be a UUID")
	}
	if op.RevisionID != "" && !isUUID(op.RevisionID) {
		return core.Errorf(core.EInvalid, "revision_id must be a UUID")
	}
	hasDoc := len(op.Doc) > 0
	switch op.Op {
	case "load", "delete":
		if op.ID == "" || hasDoc || op.RevisionID != "" || op.Limit != 0 || op.Offset != 0 {
			return core.Errorf(core.EInvalid, "%s takes an id only", op.Op)
		}
	case "list":
		if op.ID != "" || hasDoc || op.RevisionID != "" {
			return core.Errorf(core.EInvalid, "list takes limit and offset only")
		}
		if op.Limit < 0 || op.Limit > maxQueryLimit || op.Offset < 0 {
			return core.Errorf(core.EInvalid, "list: limit must be 0-%d and offset not negative", maxQueryLimit)
		}
	case "save":
		if !hasDoc || op.Doc[0] != '{' {
			return core.Errorf(core.EInvalid, "save needs doc, a JSON object")
		}
		if op.Limit != 0 || op.Offset != 0 {
			return core.Errorf(core.EInvalid, "save takes no limit or offset")
		}
		if len(op.Log) > 1024 || !utf8.ValidString(op.Log) {
			return core.Errorf(core.EInvalid, "log must be at most 1024 bytes of UTF-8")
		}
	default:
		return core.Errorf(core.EInvalid, "unknown staged operation %q (load, list, save, delete)", op.Op)
	}
	return nil
}

// checkDataOp allows only the plugin's own declared tables and columns and
// values of each column's JSON type.
func checkDataOp(m *Manifest, op *DataOp) error {
	t, ok := m.Table(op.Table)
	if !ok {
		return core.Errorf(core.EForbidden, "table %q is not declared by plugin %s", op.Table, m.Name)
	}
	checkCols := func(what string, vals map[string]json.RawMessage) error {
		for name, v := range vals {
			c, ok := t.Column(name)
			if !ok {
				return core.Errorf(core.EInvalid, "%s: table %s has no column %q", what, t.Name, name)
			}
			if err := checkColumnValue(c, v); err != nil {
				return core.Errorf(core.EInvalid, "%s: column %s: %v", what, name, err)
			}
		}
		return nil
	}
	switch op.Op {
	case "select", "delete":
		if len(op.Values) > 0 {
			return core.Errorf(core.EInvalid, "%s takes no values", op.Op)
		}
	case "insert":
		if len(op.Values) == 0 || len(op.Where) > 0 {
			return core.Errorf(core.EInvalid, "insert takes values and no where")
		}
		for _, k := range t.PrimaryKey {
			if _, ok := op.Values[k]; !ok {
				return core.Errorf(core.EInvalid, "insert: primary key column %s is required", k)
			}
		}
	case "update":
		if len(op.Values) == 0 {
			return core.Errorf(core.EInvalid, "update takes values")
		}
	default:
		return core.Errorf(core.EInvalid, "unknown data operation %q (select, insert, update, delete)", op.Op)
	}
	if (op.Op == "update" || op.Op == "delete") && len(op.Where) == 0 {
		return core.Errorf(core.EInvalid, "%s needs a where clause", op.Op)
	}
	if err := checkCols("where", op.Where); err != nil {
		return err
	}
	if err := checkCols("values", op.Values); err != nil {
		return err
	}
	for _, o := range op.OrderBy {
		if _, ok := t.Column(o.Field); !ok {
			return core.Errorf(core.EInvalid, "order_by: table %s has no column %q", t.Name, o.Field)
		}
	}
	if op.Limit < 0 || op.Limit > maxQueryLimit {
		return core.Errorf(core.EInvalid, "limit must be 0-%d", maxQueryLimit)
	}
	return nil
}

func checkColumnValue(c Column, raw json.RawMessage) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	if v == nil {
		if c.NotNull {
			return errors.New("null in a not-null column")
		}
		return nil
	}
	switch c.Type {
	case "text":
		if _, ok := v.(string); !ok {
			return errors.New("want a string")
		}
	case "uuid":
		s, ok := v.(string)
		if !ok || !isUUID(s) {
			return errors.New("want a UUID string")
		}
	case "timestamptz":
		s, ok := v.(string)
		if !ok {
			return errors.New("want an RFC 3339 time string")
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return errors.New("want an RFC 3339 time string")
		}
	case "int", "bigint":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return errors.New("want an integer")
		}
		if c.Type == "int" && (f < -2147483648 || f > 2147483647) {
			return errors.New("out of range for int")
		}
	case "float":
		if _, ok := v.(float64); !ok {
			return errors.New("want a number")
		}
	case "bool":
		if _, ok := v.(bool); !ok {
			return errors.New("want true or false")
		}
	case "jsonb":
	}
	return nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func hostUserCurrent(st *callState, mod api.Module, p []uint32) int32 {
	svc := st.sb.services.Users
	if svc == nil {
		return st.fail(unavailable("user"))
	}
	u, err := svc.CurrentUser(st.ctx)
	if err != nil {
		return st.fail(err)
	}
	if u.Roles == nil {
		u.Roles = []string{}
	}
	doc, err := json.Marshal(u)
	return st.reply(mod, p[0], p[1], doc, err)
}

func hostUserHasPermission(st *callState, mod api.Module, p []uint32) int32 {
	perm, ok := st.text(mod, "permission", p[0], p[1])
	if !ok || perm == "" {
		return st.fail(core.Errorf(core.EInvalid, "permission must be a non-empty UTF-8 string"))
	}
	svc := st.sb.services.Users
	if svc == nil {
		return st.fail(unavailable("user"))
	}
	has, err := svc.HasPermission(st.ctx, perm)
	if err != nil {
		return st.fail(err)
	}
	if has {
		return 1
	}
	return 0
}

func (st *callState) cacheKey(mod api.Module, ptr, n uint32) (string, error) {
	k, ok := st.text(mod, "key", ptr, n)
	if !ok || k == "" || len(k) > 250 {
		return "", core.Errorf(core.EInvalid, "cache key must be 1-250 bytes of UTF-8")
	}
	return "plugin:" + st.sb.name + ":" + k, nil
}

func (st *callState) tags(mod api.Module, ptr, n uint32) ([]string, error) {
	if n == 0 {
		return nil, nil
	}
	var tags []string
	if err := json.Unmarshal(st.read(mod, "tags", ptr, n), &tags); err != nil {
		return nil, core.Errorf(core.EInvalid, "tags must be a JSON array of strings")
	}
	return tags, nil
}

func hostCacheGet(st *callState, mod api.Module, p []uint32) int32 {
	key, err := st.cacheKey(mod, p[0], p[1])
	if err != nil {
		return st.fail(err)
	}
	svc := st.sb.services.Cache
	if svc == nil {
		return st.fail(unavailable("cache"))
	}
	v, ok, err := svc.GetCache(st.ctx, key)
	if err == nil && !ok {
		err = core.Errorf(core.ENotFound, "cache miss")
	}
	return st.reply(mod, p[2], p[3], v, err)
}

func hostCacheSet(st *callState, mod api.Module, p []uint32) int32 {
	key, err := st.cacheKey(mod, p[0], p[1])
	if err != nil {
		return st.fail(err)
	}
	val := st.read(mod, "value", p[2], p[3])
	if len(val) > st.sb.limits.MaxOutput {
		return st.fail(core.Errorf(core.ETooLarge, "cache value of %d bytes exceeds the cap of %d", len(val), st.sb.limits.MaxOutput))
	}
	tags, err := st.tags(mod, p[4], p[5])
	if err != nil {
		return st.fail(err)
	}
	svc := st.sb.services.Cache
	if svc == nil {
		return st.fail(unavailable("cache"))
	}
	if err := svc.SetCache(st.ctx, key, append([]byte(nil), val...), tags, time.Duration(p[6])*time.Second); err != nil {
		return st.fail(err)
	}
	return 0
}

func hostCacheInvalidate(st *callState, mod api.Module, p []uint32) int32 {
	tags, err := st.tags(mod, p[0], p[1])
	if err != nil {
		return st.fail(err)
	}
	svc := st.sb.services.Cache
	if svc == nil {
		return st.fail(unavailable("cache"))
	}
	if err := svc.InvalidateTags(st.ctx, tags...); err != nil {
		return st.fail(err)
	}
	return 0
}

func (st *callState) variableName(mod api.Module, ptr, n uint32) (string, error) {
	name, ok := st.text(mod, "name", ptr, n)
	if !ok || !reName.MatchString(name) {
		return "", core.Errorf(core.EInvalid, "variable name must match %s", reName)
	}
	return name, nil
}

func hostVariableGet(st *callState, mod api.Module, p []uint32) int32 {
	name, err := st.variableName(mod, p[0], p[1])
	if err != nil {
		return st.fail(err)
	}
	svc := st.sb.services.Variables
	if svc == nil {
		return st.fail(unavailable("variables"))
	}
	v, ok, err := svc.GetVariable(st.ctx, st.sb.name, name)
	if err == nil && !ok {
		err = core.Errorf(core.ENotFound, "variable %s is not set", name)
	}
	return st.reply(mod, p[2], p[3], v, err)
}

func hostVariableSet(st *callState, mod api.Module, p []uint32) int32 {
	name, err := st.variableName(mod, p[0], p[1])
	if err != nil {
		return st.fail(err)
	}
	val := st.read(mod, "value", p[2], p[3])
	if !json.Valid(val) {
		return st.fail(core.Errorf(core.EInvalid, "variable value must be JSON"))
	}
	svc := st.sb.services.Variables
	if svc == nil {
		return st.fail(unavailable("variables"))
	}
	if err := svc.SetVariable(st.ctx, st.sb.name, name, append([]byte(nil), val...)); err != nil {
		return st.fail(err)
	}
	return 0
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the document")
	}
	return nil
}
