package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/trovato/trovato/core"
)

// DefaultQueryTimeout bounds every statement of a gather or search.
const DefaultQueryTimeout = 2 * time.Second

// Gathers runs gathers: each compiles to parameterised SQL over the items a
// stage shows (the stageItemKeys shape), with list access through the
// grants join. No SQL text comes from a document, a plugin or a visitor:
// the statement is assembled from constant fragments chosen by operator
// and field type, and every name and value is a parameter.
type Gathers struct {
	s   *Store
	ext core.GatherExtender
	// Timeout is the statement_timeout of a run's transaction.
	Timeout time.Duration
	// all: a run reads every matching row (RunGatherAll), not one page.
	all bool
}

// Gathers returns the gather runner, with the store's gather extender
// (SetGatherExtender).
func (s *Store) Gathers() *Gathers {
	return &Gathers{s: s, ext: s.gext, Timeout: DefaultQueryTimeout}
}

// SetGatherExtender makes every runner from Gathers consult e (the plugins'
// gather_extend tap) before compiling; nil removes it. Call it while
// setting up, before the store serves requests.
func (s *Store) SetGatherExtender(e core.GatherExtender) { s.gext = e }

// WithExtender returns a runner that consults e (the gather_extend hook)
// before compiling; nil runs the gather as stored.
func (gs *Gathers) WithExtender(e core.GatherExtender) *Gathers {
	c := *gs
	c.ext = e
	return &c
}

// RunGather runs g in stage with the default runner; see Gathers.RunGather.
func (s *Store) RunGather(ctx context.Context, g *core.Gather, stage core.ID, args core.GatherArgs) (*core.GatherResult, error) {
	return s.Gathers().RunGather(ctx, g, stage, args)
}

// FindGather loads a gather document. Errors: ENotFound.
func (s *Store) FindGather(ctx context.Context, name string) (*core.Gather, error) {
	d, err := s.Config().FindConfig(ctx, "gather", name)
	if err != nil {
		if core.ErrorCode(err) == core.ENotFound {
			return nil, core.Errorf(core.ENotFound, "gather %q not found", name)
		}
		return nil, err
	}
	return core.GatherFromConfig(d)
}

// gatherLiveKeys is liveItemKeys with the further columns gathers filter
// and sort on; live needs no overlay, so it reads the projection alone.
const gatherLiveKeys = `(SELECT i.id, NULL::uuid AS rev, i.type, i.status, i.author_id, i.language, i.sticky, i.created_at, $1::uuid AS gst,
	i.title, i.changed_at, i.promote, i.fields FROM item i)`

// gatherStageKeys is stageItemKeys with the same further columns: from the
// projection for live rows, from the revision for the stage's overrides.
const gatherStageKeys = `(SELECT k.id, k.rev, k.type, k.status, k.author_id, k.language, k.sticky, k.created_at, k.gst,
	CASE WHEN k.rev IS NULL THEN kl.title ELSE kr.title END AS title,
	CASE WHEN k.rev IS NULL THEN kl.changed_at ELSE kr.changed_at END AS changed_at,
	CASE WHEN k.rev IS NULL THEN kl.promote ELSE kr.promote END AS promote,
	CASE WHEN k.rev IS NULL THEN kl.fields ELSE kr.fields END AS fields
	FROM ` + stageItemKeys + ` k
	LEFT JOIN item kl ON k.rev IS NULL AND kl.id = k.id
	LEFT JOIN LATERAL (SELECT d.title, COALESCE(d.promote, false) AS promote, COALESCE(d.fields, '{}') AS fields, r.created_at AS changed_at
		FROM revision r CROSS JOIN LATERAL jsonb_to_record(r.doc) AS d(title text, promote boolean, fields jsonb)
		WHERE r.id = k.rev OFFSET 0) kr ON true)`

// gatherAccessArgs is how many parameters itemFilterSQL takes ($1..$10).
const gatherAccessArgs = 10

// RunGather runs g in stage (NilID: live) as the user in ctx and returns
// one page. Filters, sorts and counts run on key columns in one read-only
// transaction bounded by Timeout; only the page's rows are read whole.
//
// Errors: EInvalid with field paths for a bad page ("page"), an unknown or
// ill-typed exposed value ("exposed.NAME"), a missing or ill-typed path
// argument ("args[N]"), or a gather that does not fit today's item types
// ("filters[N].field"); ENotFound/EForbidden for a stage the user may not
// view; EUnavailable when the query runs longer than Timeout. A page beyond
// the end is an empty page with the right total, not an error.
func (gs *Gathers) RunGather(ctx context.Context, g *core.Gather, stage core.ID, args core.GatherArgs) (*core.GatherResult, error) {
	res, _, err := gs.run(ctx, g, stage, args, nil)
	return res, err
}

// RunGatherAll runs g as RunGather does and returns every item it
// matches, in its order, in one query: page N of RunGather is the slice
// [(N-1)*PerPage, N*PerPage) of it (the order always ends with the id, so
// the pages are the same). For a static export, which renders every page
// of a listing. Its statements may take ten times Timeout (they read
// every page at once). Errors: as RunGather's.
func (gs *Gathers) RunGatherAll(ctx context.Context, g *core.Gather, stage core.ID, args core.GatherArgs) ([]*core.Item, error) {
	all := *gs
	all.all = true
	all.Timeout = 10 * gs.timeout()
	args.Page = 1
	res, _, err := all.run(ctx, g, stage, args, nil)
	if err != nil {
		return nil, err
	}
	return res.Items, nil
}

// run is RunGather; with each, it also calls each(tx, page rows' search
// query) inside the transaction (search snippets).
func (gs *Gathers) run(ctx context.Context, g *core.Gather, stage core.ID, args core.GatherArgs,
	each func(ctx context.Context, tx pgx.Tx, items []*core.Item, tsq string) error) (*core.GatherResult, string, error) {
	if g == nil {
		return nil, "", core.Errorf(core.ENotFound, "gather not found")
	}
	if stage == core.NilID {
		stage = core.LiveStageID
	}
	if args.Page == 0 {
		args.Page = 1
	}
	if args.Page < 1 || args.Page > core.GatherMaxPage {
		return nil, "", core.InvalidFields("invalid page", []core.FieldError{{Path: "page", Message: fmt.Sprintf("must be between 1 and %d", core.GatherMaxPage)}})
	}
	if args.Offset < 0 || args.Limit < 0 {
		return nil, "", core.InvalidFields("invalid offset or limit", []core.FieldError{{Path: "limit", Message: "offset and limit must not be negative"}})
	}
	if args.Display != "" && g.Display(args.Display) == nil {
		return nil, "", core.InvalidFields("unknown display", []core.FieldError{{Path: "display", Message: fmt.Sprintf("gather %s has no display %q", g.Name, args.Display)}})
	}
	var bad []core.FieldError
	for name := range args.Exposed {
		if exposedFilter(g, name) == nil {
			bad = append(bad, core.FieldError{Path: "exposed." + name, Message: fmt.Sprintf("gather %s has no exposed filter %q", g.Name, name)})
		}
	}
	if len(bad) > 0 {
		sort.Slice(bad, func(i, j int) bool { return bad[i].Path < bad[j].Path })
		return nil, "", core.InvalidFields("unknown exposed filter", bad)
	}
	if gs.ext != nil {
		ext, err := gs.extend(ctx, g, args)
		if err != nil {
			return nil, "", err
		}
		g = ext
	}
	if _, err := gs.s.stageFor(ctx, gs.s.pool, stage, core.OpView); err != nil {
		return nil, "", err
	}
	acc, err := gs.s.listAccess(ctx)
	if err != nil {
		return nil, "", err
	}
	types, err := gs.s.allItemTypes(ctx)
	if err != nil {
		return nil, "", err
	}
	perPage := g.PerPage(args.Display)
	offset, limit := (args.Page-1)*perPage, perPage
	if args.Limit > 0 {
		offset, limit = args.Offset, args.Limit
		if g.Pager.Style == "none" {
			limit = min(limit, perPage-offset)
		}
	}
	if limit <= 0 || g.Pager.Style == "none" && args.Limit == 0 && args.Page > 1 {
		offset = -1 // beyond the first page of a pager of style none
	}
	if gs.all {
		offset, limit = 0, -1 // every row (RunGatherAll)
	}
	res := &core.GatherResult{Items: []*core.Item{}, Page: args.Page, PerPage: perPage}
	if args.Limit > 0 {
		res.Page, res.PerPage = args.Offset/args.Limit+1, args.Limit
	}
	var tsq string
	err = gs.s.readTx(ctx, gs.timeout(), func(tx pgx.Tx) error {
		c := newGatherCompiler(ctx, tx, g, stage, types, args, gs.s.now())
		c.access(acc, core.UserFromContext(ctx).ID)
		if err := c.compile(); err != nil {
			return err
		}
		tsq = c.tsq
		if c.none {
			return nil // a filter that can match nothing (no such term, no search words)
		}
		if offset >= 0 {
			items, total, err := c.page(ctx, tx, limit, offset, !args.NoTotal)
			if err != nil {
				return err
			}
			res.Items, res.Total = items, total
		}
		if len(res.Items) == 0 && offset != 0 && !args.NoTotal {
			// Beyond the end: the page query saw no row to count.
			if res.Total, err = c.count(ctx, tx); err != nil {
				return err
			}
		}
		if each != nil && len(res.Items) > 0 {
			return each(ctx, tx, res.Items, tsq)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	res.Pages = max(1, (res.Total+res.PerPage-1)/res.PerPage)
	if g.Pager.Style == "none" || args.NoTotal {
		res.Pages = 1
	}
	return res, tsq, nil
}

func (gs *Gathers) timeout() time.Duration {
	if gs.Timeout <= 0 {
		return DefaultQueryTimeout
	}
	return gs.Timeout
}

// extend merges the gather_extend hook's filters and sorts into a copy of
// g and checks the result like a stored gather.
func (gs *Gathers) extend(ctx context.Context, g *core.Gather, args core.GatherArgs) (*core.Gather, error) {
	c := *g
	c.Filters = slices.Clone(g.Filters)
	c.Sorts = slices.Clone(g.Sorts)
	fs, ss, err := gs.ext.ExtendGather(ctx, &c, args)
	if err != nil {
		return nil, fmt.Errorf("gather_extend %s: %w", g.Name, err)
	}
	if len(fs) == 0 && len(ss) == 0 {
		return g, nil
	}
	c.Filters = append(c.Filters, fs...)
	c.Sorts = append(c.Sorts, ss...)
	if len(c.Filters) > 64 || len(c.Sorts) > 16 {
		return nil, core.Errorf(core.EInvalid, "gather_extend %s: too many filters or sorts", g.Name)
	}
	if errs := c.Check(); len(errs) > 0 {
		return nil, core.InvalidFields(fmt.Sprintf("gather_extend made gather %s invalid", g.Name), errs)
	}
	return &c, nil
}

func exposedFilter(g *core.Gather, name string) *core.GatherFilter {
	for i := range g.Filters {
		if e := g.Filters[i].Exposed; e != nil && e.Name == name {
			return &g.Filters[i]
		}
	}
	return nil
}

// allItemTypes loads every item type.
func (s *Store) allItemTypes(ctx context.Context) (map[string]*core.ItemType, error) {
	docs, err := s.Config().FindConfigs(ctx, "item_type")
	if err != nil {
		return nil, err
	}
	out := make(map[string]*core.ItemType, len(docs))
	for _, d := range docs {
		t, err := core.ParseItemType(d.Body)
		if err != nil {
			return nil, fmt.Errorf("item type %q: %w", d.Name, err)
		}
		t.Version = d.Version
		out[d.Name] = t
	}
	return out, nil
}

// readTx runs fn in a read-only repeatable-read transaction whose
// statements are bounded by timeout.
func (s *Store) readTx(ctx context.Context, timeout time.Duration, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return TranslateError(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT set_config('statement_timeout', $1, true)`, strconv.FormatInt(max(1, timeout.Milliseconds()), 10)); err != nil {
		return TranslateError(err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	return TranslateError(tx.Commit(ctx))
}

// timedOut reports a statement cancelled by statement_timeout.
func timedOut(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "57014"
}

// gatherCompiler turns a gather into SQL text made of constant fragments
// and a parameter list.
type gatherCompiler struct {
	ctx   context.Context
	q     querier
	g     *core.Gather
	stage core.ID
	types map[string]*core.ItemType
	args  core.GatherArgs
	now   time.Time
	me    core.ID

	params []any
	src    string   // the key source
	search bool     // the listed items' keys carry their search vector (sdoc)
	conds  []string // AND-ed
	orders []gatherOrder
	rels   map[string]core.GatherRelationship
	tsq    string // the search filter's tsquery, for rank
	tsqArg string
	none   bool // some filter can match nothing
	// filterParams is how many parameters the WHERE clause uses.
	filterParams int
	bad          []core.FieldError
}

type gatherOrder struct{ expr, dir string }

func newGatherCompiler(ctx context.Context, q querier, g *core.Gather, stage core.ID, types map[string]*core.ItemType, args core.GatherArgs, now time.Time) *gatherCompiler {
	c := &gatherCompiler{ctx: ctx, q: q, g: g, stage: stage, types: types, args: args, now: now.UTC(), rels: map[string]core.GatherRelationship{}}
	c.src = gatherLiveKeys
	if stage != core.LiveStageID {
		c.src = gatherStageKeys
	}
	for _, r := range g.Relationships {
		c.rels[r.Name] = r
	}
	return c
}

func (c *gatherCompiler) access(acc *listAccess, me core.ID) {
	c.me = me
	c.params = []any{c.stage, "", "", (*core.ID)(nil), "", acc.all, acc.grants, acc.unpublishedTypes, me, acc.ownTypes}
}

// arg adds a parameter and returns its placeholder.
func (c *gatherCompiler) arg(v any) string {
	c.params = append(c.params, v)
	return "$" + strconv.Itoa(len(c.params))
}

func (c *gatherCompiler) problem(path, format string, a ...any) {
	c.bad = append(c.bad, core.FieldError{Path: path, Message: fmt.Sprintf(format, a...)})
}

// baseTypes are the gather's types, or every type.
func (c *gatherCompiler) baseTypes() []string {
	if len(c.g.Types) > 0 {
		return c.g.Types
	}
	out := make([]string, 0, len(c.types))
	for n := range c.types {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (c *gatherCompiler) compile() error {
	for i, t := range c.g.Types {
		if c.types[t] == nil {
			c.problem(fmt.Sprintf("types[%d]", i), "item type %q does not exist", t)
		}
	}
	if len(c.g.Types) > 0 {
		c.conds = append(c.conds, "k.type = ANY("+c.arg(c.g.Types)+"::text[])")
	}
	for i, f := range c.g.Filters {
		c.filter(fmt.Sprintf("filters[%d]", i), f)
	}
	// Sorts add parameters only the page query uses: the count takes the
	// filters' parameters alone.
	c.filterParams = len(c.params)
	for i, s := range c.g.Sorts {
		c.sortKey(fmt.Sprintf("sorts[%d]", i), s)
	}
	if len(c.g.Sorts) == 0 {
		c.orders = append(c.orders, gatherOrder{"k.sticky", "DESC"}, gatherOrder{"k.created_at", "DESC"})
	}
	if len(c.bad) > 0 {
		return core.InvalidFields(fmt.Sprintf("gather %s cannot run", c.g.Name), c.bad)
	}
	return nil
}

// fieldInfo is what a filter or sort refers to in some item types.
type fieldInfo struct {
	prop       string // an item property, or ""
	name       string // a field name
	ftype      string // the field type (or the property's value type)
	multi      bool
	types      []string // the types that have the field
	vocabulary string
	targets    []string // item_ref: target types; nil means any
}

// resolve finds field in the context types.
func (c *gatherCompiler) resolve(path, field string, ctxTypes []string) (*fieldInfo, bool) {
	if vt, ok := core.GatherProperties[field]; ok {
		return &fieldInfo{prop: field, ftype: vt}, true
	}
	fi := &fieldInfo{name: field}
	anyTarget := false
	for _, tn := range ctxTypes {
		t := c.types[tn]
		if t == nil {
			continue
		}
		for _, fd := range t.Fields {
			if fd.Name != field {
				continue
			}
			if fi.ftype != "" && fi.ftype != fd.Type {
				c.problem(path, "field %s is %s in %s but %s in %s; list base types that agree", field, fi.ftype, fi.types[0], fd.Type, tn)
				return nil, false
			}
			fi.ftype = fd.Type
			fi.multi = fi.multi || fd.Cardinality != 1
			fi.types = append(fi.types, tn)
			if fd.Vocabulary != "" {
				fi.vocabulary = fd.Vocabulary
			}
			if len(fd.TargetTypes) == 0 {
				anyTarget = true
			}
			fi.targets = append(fi.targets, fd.TargetTypes...)
		}
	}
	if fi.ftype == "" {
		c.problem(path, "no field %q in item types %s", field, strings.Join(ctxTypes, ", "))
		return nil, false
	}
	if anyTarget {
		fi.targets = nil
	}
	return fi, true
}

// relChain returns the relationships from the listed item to rel, first
// step first.
func (c *gatherCompiler) relChain(rel string) []core.GatherRelationship {
	var chain []core.GatherRelationship
	for rel != "" && len(chain) <= core.GatherMaxDepth {
		r := c.rels[rel]
		chain = append([]core.GatherRelationship{r}, chain...)
		rel = r.From
	}
	return chain
}

// relStep is one compiled relationship step: the types reached.
type relStep struct {
	rel     core.GatherRelationship
	field   *fieldInfo
	targets []string
}

func (c *gatherCompiler) relSteps(path, rel string) ([]relStep, []string, bool) {
	ctxTypes := c.baseTypes()
	var steps []relStep
	for _, r := range c.relChain(rel) {
		fi, ok := c.resolve(path, r.Field, ctxTypes)
		if !ok {
			return nil, nil, false
		}
		if fi.ftype != core.FieldItemRef {
			c.problem(path, "relationship %s: field %s is %s, not item_ref", r.Name, r.Field, fi.ftype)
			return nil, nil, false
		}
		targets := fi.targets
		if targets == nil {
			targets = c.allTypeNames()
		}
		steps = append(steps, relStep{rel: r, field: fi, targets: targets})
		ctxTypes = targets
	}
	return steps, ctxTypes, true
}

func (c *gatherCompiler) allTypeNames() []string {
	out := make([]string, 0, len(c.types))
	for n := range c.types {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// refIDs is the SQL list of the ids an item_ref field of alias a holds.
func (c *gatherCompiler) refIDs(a string, field string) string {
	v := a + ".fields -> " + c.arg(field) + "::text"
	return `(SELECT (e ->> 'id')::uuid FROM jsonb_array_elements(CASE jsonb_typeof(` + v + `) WHEN 'array' THEN ` + v + ` ELSE jsonb_build_array(` + v + `) END) e WHERE e ? 'id')`
}

// viaRelationships wraps cond (built for the last related alias) in the
// relationship steps from k.
func (c *gatherCompiler) viaRelationships(steps []relStep, cond func(a string) string) string {
	var build func(i int, from string) string
	build = func(i int, from string) string {
		if i == len(steps) {
			return cond(from)
		}
		a := "r" + strconv.Itoa(i+1)
		ids := c.refIDs(from, steps[i].rel.Field)
		return `EXISTS (SELECT 1 FROM ` + c.src + ` ` + a + ` WHERE ` + a + `.id IN ` + ids + ` AND ` + relAccess(a) + ` AND ` + build(i+1, a) + `)`
	}
	return build(0, "k")
}

// relAccess is the access half of itemFilterSQL for a related item alias
// a (one of the constants r1, r2): a filter or sort never reads an item
// the user may not list.
func relAccess(a string) string {
	return `($6 OR ` + a + `.type = ANY($8) OR (` + a + `.author_id = $9 AND ` + a + `.type = ANY($10))
		OR EXISTS (SELECT 1 FROM item_grant g WHERE g.item_id = ` + a + `.id AND g.stage_id = ` + a + `.gst AND g.grant_view AND g.realm || ':' || g.gid = ANY($7)))`
}

// gatherValue is one filter value, raw.
type gatherValue struct {
	s    string
	path string
}

// values returns the filter's values after exposed input and tokens, or
// ok=false when the filter is left out (a blank exposed input and no
// default).
func (c *gatherCompiler) values(path string, f core.GatherFilter) ([]gatherValue, bool) {
	if f.Exposed != nil {
		if in, ok := c.args.Exposed[f.Exposed.Name]; ok && strings.TrimSpace(in) != "" {
			p := "exposed." + f.Exposed.Name
			if f.Op == core.OpIn || f.Op == core.OpNotIn {
				var out []gatherValue
				for _, part := range strings.Split(in, ",") {
					if part = strings.TrimSpace(part); part != "" {
						out = append(out, gatherValue{part, p})
					}
				}
				return out, len(out) > 0
			}
			return []gatherValue{{strings.TrimSpace(in), p}}, true
		}
	}
	if len(f.Value) == 0 {
		return nil, f.Op == core.OpEmpty || f.Op == core.OpNotEmpty
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(string(f.Value)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		c.problem(path+".value", "%v", err)
		return nil, false
	}
	list, isList := v.([]any)
	if !isList {
		list = []any{v}
	}
	var out []gatherValue
	for i, e := range list {
		p := path + ".value"
		if isList {
			p = fmt.Sprintf("%s[%d]", p, i)
		}
		var s string
		switch x := e.(type) {
		case string:
			s = x
		case json.Number:
			s = x.String()
		case bool:
			s = strconv.FormatBool(x)
		default:
			c.problem(p, "must be a string, number or boolean")
			continue
		}
		if n, ok := core.GatherPathArg(s); ok {
			if n >= len(c.args.PathArgs) {
				c.problem(fmt.Sprintf("args[%d]", n), "path argument %d is missing", n)
				continue
			}
			s, p = c.args.PathArgs[n], fmt.Sprintf("args[%d]", n)
		}
		out = append(out, gatherValue{s, p})
	}
	return out, len(out) == len(list)
}

var (
	gatherIntRE = regexp.MustCompile(`^[+-]?[0-9]{1,19}$`)
	gatherDecRE = regexp.MustCompile(`^[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})$`)
)

// convert parses one value for a value type and returns the parameter and
// its SQL type.
func (c *gatherCompiler) convert(vtype string, v gatherValue) (any, string, bool) {
	s := v.s
	fail := func(format string, a ...any) (any, string, bool) {
		c.problem(v.path, format, a...)
		return nil, "", false
	}
	if len(s) > core.SearchMaxQuery {
		return fail("must be at most %d bytes", core.SearchMaxQuery)
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return fail("must be UTF-8 text without NUL characters")
	}
	switch vtype {
	case core.FieldText, core.FieldLongText, core.FieldEmail, core.FieldLink:
		return s, "text", true
	case core.FieldInteger:
		if !gatherIntRE.MatchString(s) {
			return fail("must be a whole number, not %q", s)
		}
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return fail("must be a 64-bit whole number")
		}
		return s, "numeric", true
	case core.FieldDecimal:
		if !gatherDecRE.MatchString(s) {
			return fail("must be a decimal number, not %q", s)
		}
		if _, ok := new(big.Rat).SetString(s); !ok {
			return fail("must be a decimal number, not %q", s)
		}
		return s, "numeric", true
	case core.FieldBoolean:
		switch strings.ToLower(s) {
		case "true", "1", "yes", "on":
			return true, "boolean", true
		case "false", "0", "no", "off":
			return false, "boolean", true
		}
		return fail("must be true or false, not %q", s)
	case core.FieldDate:
		if t, ok := core.GatherNow(s, c.now); ok {
			return t.Format(time.DateOnly), "date", true
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return fail("must be a date (YYYY-MM-DD) or now, now-30d, not %q", s)
		}
		return s, "date", true
	case core.FieldDateTime:
		if t, ok := core.GatherNow(s, c.now); ok {
			return t, "timestamptz", true
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, "timestamptz", true
		}
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			return t, "timestamptz", true
		}
		return fail("must be a date-time (RFC 3339), a date, or now, now-30d, not %q", s)
	case core.FieldItemRef, core.FieldTermRef, core.FieldFile, core.FieldImage:
		id, err := core.ParseID(s)
		if err != nil {
			return fail("must be an id (UUID), not %q", s)
		}
		return id.String(), "text", true
	case "uuid":
		if s == "{current_user}" {
			return c.me, "uuid", true
		}
		id, err := core.ParseID(s)
		if err != nil {
			return fail("must be an id (UUID), not %q", s)
		}
		return id, "uuid", true
	case "status":
		if s != core.StatusPublished && s != core.StatusUnpublished {
			return fail("must be %s or %s", core.StatusPublished, core.StatusUnpublished)
		}
		return s, "text", true
	case "language":
		if !validLanguage(s) {
			return fail("must be a language code such as en or pt-br, or und")
		}
		return s, "text", true
	case "type":
		if !core.ValidMachineName(s) {
			return fail("must be an item type name")
		}
		return s, "text", true
	}
	return fail("cannot compare %s values", vtype)
}

// propColumn is the column of an item property on alias a.
func propColumn(a, prop string) string {
	switch prop {
	case "author":
		return a + ".author_id"
	case "created":
		return a + ".created_at"
	case "changed":
		return a + ".changed_at"
	}
	return a + "." + prop // id type title status promote sticky language: constant names
}

// elemValue is the SQL value of a field element e (jsonb) of a type.
func elemValue(ftype, e string) (string, bool) {
	switch ftype {
	case core.FieldText, core.FieldLongText, core.FieldEmail:
		return "(" + e + " #>> '{}')", true
	case core.FieldInteger, core.FieldDecimal:
		return "(" + e + " #>> '{}')::numeric", true
	case core.FieldBoolean:
		return "(" + e + " #>> '{}')::boolean", true
	case core.FieldDate:
		return "(" + e + " #>> '{}')::date", true
	case core.FieldDateTime:
		return "(" + e + " #>> '{}')::timestamptz", true
	case core.FieldLink:
		return "(" + e + " ->> 'url')", true
	case core.FieldItemRef, core.FieldTermRef, core.FieldFile, core.FieldImage:
		return "(" + e + " ->> 'id')", true
	}
	return "", false
}

// opsFor lists the operators a field type supports.
func opsFor(ftype string) []string {
	base := []string{core.OpEq, core.OpNe, core.OpIn, core.OpNotIn, core.OpEmpty, core.OpNotEmpty}
	switch ftype {
	case core.FieldText, core.FieldLongText, core.FieldEmail, core.FieldLink:
		return append(base, core.OpLt, core.OpLe, core.OpGt, core.OpGe, core.OpContains)
	case core.FieldInteger, core.FieldDecimal, core.FieldDate, core.FieldDateTime:
		return append(base, core.OpLt, core.OpLe, core.OpGt, core.OpGe)
	case core.FieldBoolean:
		return []string{core.OpEq, core.OpNe, core.OpEmpty, core.OpNotEmpty}
	case core.FieldTermRef:
		return append(base, core.OpCategory)
	}
	return base
}

var compareOps = map[string]string{core.OpEq: "=", core.OpLt: "<", core.OpLe: "<=", core.OpGt: ">", core.OpGe: ">="}

// predicate compares col with the values for op (eq, lt..ge, contains,
// in); negated ops (ne, not_in) are built on eq and in by the caller.
func (c *gatherCompiler) predicate(op, col string, params []any, sqlType string) string {
	switch op {
	case core.OpContains:
		return "strpos(lower(" + col + "), lower(" + c.arg(params[0]) + "::text)) > 0"
	case core.OpIn:
		return col + " = ANY(" + c.arg(params) + "::" + sqlType + "[])"
	}
	return col + " " + compareOps[op] + " " + c.arg(params[0]) + "::" + sqlType
}

// positive maps a negated operator to the one it negates.
func positive(op string) (string, bool) {
	switch op {
	case core.OpNe:
		return core.OpEq, true
	case core.OpNotIn:
		return core.OpIn, true
	}
	return op, false
}

func (c *gatherCompiler) filter(path string, f core.GatherFilter) {
	vals, ok := c.values(path, f)
	if !ok {
		return
	}
	if f.Op == core.OpSearch {
		c.searchFilter(vals)
		return
	}
	steps, ctxTypes, ok := c.relSteps(path+".relationship", f.Relationship)
	if !ok {
		return
	}
	fi, ok := c.resolve(path+".field", f.Field, ctxTypes)
	if !ok {
		return
	}
	if fi.prop == "" && !slices.Contains(opsFor(fi.ftype), f.Op) {
		c.problem(path+".op", "a %s field does not support %s (use one of: %s)", fi.ftype, f.Op, strings.Join(opsFor(fi.ftype), ", "))
		return
	}
	vtype := fi.ftype
	var params []any
	var sqlType string
	for _, v := range vals {
		p, t, ok := c.convert(vtype, v)
		if !ok {
			continue
		}
		params, sqlType = append(params, p), t
	}
	if len(params) != len(vals) {
		return
	}
	if f.Op == core.OpCategory {
		ids, err := c.descendants(params, f.Descendants == nil || *f.Descendants)
		if err != nil {
			c.problem(path, "%v", err)
			return
		}
		if len(ids) == 0 {
			c.none = true
		}
		params, f.Op = []any{}, core.OpIn
		for _, id := range ids {
			params = append(params, id)
		}
		sqlType = "text"
		if len(params) == 0 {
			params = append(params, "")
		}
	}
	c.conds = append(c.conds, c.viaRelationships(steps, func(a string) string {
		return c.fieldCond(a, fi, f.Op, params, sqlType)
	}))
}

// fieldCond is the condition of one filter on alias a.
func (c *gatherCompiler) fieldCond(a string, fi *fieldInfo, op string, params []any, sqlType string) string {
	pos, negated := positive(op)
	if fi.prop != "" {
		cond := c.predicate(pos, propColumn(a, fi.prop), params, sqlType)
		if negated {
			return "NOT (" + cond + ")"
		}
		return cond
	}
	v := a + ".fields -> " + c.arg(fi.name) + "::text"
	var cond string
	switch op {
	case core.OpEmpty:
		cond = "(" + v + ") IS NULL"
	case core.OpNotEmpty:
		cond = "(" + v + ") IS NOT NULL"
	default:
		if fi.multi {
			val, _ := elemValue(fi.ftype, "e")
			cond = "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof(" + v + ") WHEN 'array' THEN " + v +
				" ELSE jsonb_build_array(" + v + ") END) e WHERE " + c.predicate(pos, val, params, sqlType) + ")"
		} else {
			val, _ := elemValue(fi.ftype, v)
			cond = "COALESCE(" + c.predicate(pos, val, params, sqlType) + ", false)"
		}
		if negated {
			cond = "NOT " + cond
		}
	}
	// Guard the casts: only rows of the types that define the field.
	otherwise := "false"
	if negated || op == core.OpEmpty {
		otherwise = "true"
	}
	guarded := "(CASE WHEN " + a + ".type = ANY(" + c.arg(fi.types) + "::text[]) THEN " + cond + " ELSE " + otherwise + " END)"
	if hint := c.refContainment(a, fi, op, params); hint != "" {
		return "(" + hint + " AND " + guarded + ")"
	}
	return guarded
}

// refContainment is, for a reference field's = and in (a category page:
// the items tagged with a term or its descendants), a condition every
// matching row meets that the index on fields (jsonb_path_ops, migration
// 0016) can answer: the field holds {"id": ID}, or a list with one, for
// one of the ids. Without it the filter reads every item's fields (100 ms
// at 10,000 articles); with it, only the matching rows. "" when it does
// not apply.
func (c *gatherCompiler) refContainment(a string, fi *fieldInfo, op string, params []any) string {
	switch fi.ftype {
	case core.FieldItemRef, core.FieldTermRef, core.FieldFile, core.FieldImage:
	default:
		return ""
	}
	if fi.prop != "" || (op != core.OpEq && op != core.OpIn) || len(params) == 0 || len(params) > 64 {
		return ""
	}
	var or []string
	for _, p := range params {
		id, ok := p.(string)
		if !ok || id == "" {
			return ""
		}
		ref := map[string]string{"id": id}
		for _, shape := range []any{[]any{ref}, ref} {
			doc, err := json.Marshal(map[string]any{fi.name: shape})
			if err != nil {
				return ""
			}
			or = append(or, a+".fields @> "+c.arg(string(doc))+"::jsonb")
		}
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// descendants returns the term ids (text) of terms and, when deep, all
// their descendants, as the stage shows them.
func (c *gatherCompiler) descendants(terms []any, deep bool) ([]string, error) {
	ids := make([]string, 0, len(terms))
	for _, t := range terms {
		ids = append(ids, t.(string))
	}
	var sql string
	switch {
	case !deep && c.stage == core.LiveStageID:
		sql = `SELECT COALESCE(array_agg(t.id::text), '{}') FROM term t WHERE $1::uuid IS NOT NULL AND t.id::text = ANY($2)`
	case !deep:
		sql = `SELECT COALESCE(array_agg(t.id::text), '{}') FROM ` + stageTerms + ` t WHERE t.id::text = ANY($2)`
	case c.stage == core.LiveStageID:
		sql = `WITH RECURSIVE sub AS (
			SELECT t.id FROM term t WHERE $1::uuid IS NOT NULL AND t.id::text = ANY($2)
			UNION SELECT t.id FROM term t JOIN sub ON sub.id = ANY(t.parents))
			SELECT COALESCE(array_agg(id::text), '{}') FROM sub`
	default:
		sql = `WITH RECURSIVE terms AS MATERIALIZED (
			SELECT t.id, ARRAY(SELECT jsonb_array_elements_text(COALESCE(t.doc -> 'parents', '[]')))::uuid[] AS parents FROM ` + stageTerms + ` t),
			sub AS (SELECT t.id FROM terms t WHERE t.id::text = ANY($2)
				UNION SELECT t.id FROM terms t JOIN sub ON sub.id = ANY(t.parents))
			SELECT COALESCE(array_agg(id::text), '{}') FROM sub`
	}
	var out []string
	if err := c.q.QueryRow(c.ctx, sql, c.stage, ids).Scan(&out); err != nil {
		return nil, fmt.Errorf("category terms: %w", TranslateError(err))
	}
	return out, nil
}

// keys is the key source of the listed items: with a search filter, each
// row also carries its search vector, sdoc: stored for indexed live rows
// (joined, so the GIN index finds the matches), computed on the fly for
// live rows still queued in search_pending and for a stage's overrides.
func (c *gatherCompiler) keys() string {
	switch {
	case !c.search:
		return c.src
	case c.stage == core.LiveStageID:
		return `(SELECT k.*, s.doc AS sdoc FROM ` + c.src + ` k JOIN item_search s ON s.item_id = k.id
			WHERE NOT EXISTS (SELECT 1 FROM search_pending p WHERE p.item_id = k.id)
		UNION ALL
		SELECT k.*, trovato_search_vector(k.type, k.language, k.title, k.fields) AS sdoc FROM ` + c.src + ` k
			JOIN search_pending p ON p.item_id = k.id)`
	}
	return `(SELECT k.*, CASE WHEN k.rev IS NULL AND p.item_id IS NULL THEN s.doc ELSE trovato_search_vector(k.type, k.language, k.title, k.fields) END AS sdoc
		FROM ` + c.src + ` k LEFT JOIN item_search s ON k.rev IS NULL AND s.item_id = k.id
		LEFT JOIN search_pending p ON k.rev IS NULL AND p.item_id = k.id)`
}

// searchConfigs are the text search configurations of trovato_regconfig.
var searchConfigs = []string{"pg_catalog.simple", "pg_catalog.english", "pg_catalog.german", "pg_catalog.french",
	"pg_catalog.spanish", "pg_catalog.portuguese", "pg_catalog.italian", "pg_catalog.dutch"}

func (c *gatherCompiler) searchFilter(vals []gatherValue) {
	if len(vals) != 1 {
		c.problem("filters", "search takes one text")
		return
	}
	v := vals[0]
	if len(v.s) > core.SearchMaxQuery {
		c.problem(v.path, "must be at most %d bytes", core.SearchMaxQuery)
		return
	}
	if !utf8.ValidString(v.s) || strings.ContainsRune(v.s, 0) {
		c.problem(v.path, "must be UTF-8 text without NUL characters")
		return
	}
	// The query in each language's stemming, without duplicates (most
	// words stem alike in several), OR-ed: an item matches in its own.
	var parts []string
	if err := c.q.QueryRow(c.ctx, `SELECT COALESCE(array_agg(DISTINCT q::text) FILTER (WHERE numnode(q) > 0), '{}')
		FROM unnest($2::regconfig[]) cfg, websearch_to_tsquery(cfg, $1) q`, v.s, searchConfigs).Scan(&parts); err != nil {
		c.problem(v.path, "cannot be searched: %v", core.ErrorMessage(TranslateError(err)))
		return
	}
	if len(parts) == 0 {
		c.none = true // no words (only stop words or punctuation)
		return
	}
	tsq := "(" + strings.Join(parts, ") | (") + ")"
	if c.search {
		c.problem(v.path, "one search filter per gather")
		return
	}
	c.search = true
	c.tsq = tsq
	c.tsqArg = c.arg(tsq) + "::tsquery"
	c.conds = append(c.conds, `k.sdoc @@ `+c.tsqArg)
}

func (c *gatherCompiler) sortKey(path string, s core.GatherSort) {
	dir := "ASC"
	if s.Direction == "desc" || (s.Field == "rank" && s.Direction == "") {
		dir = "DESC"
	}
	if s.Field == "rank" {
		if c.tsqArg == "" {
			return // no search words: every row ranks the same
		}
		c.orders = append(c.orders, gatherOrder{"ts_rank(k.sdoc, " + c.tsqArg + ")", dir})
		return
	}
	steps, ctxTypes, ok := c.relSteps(path+".relationship", s.Relationship)
	if !ok {
		return
	}
	fi, ok := c.resolve(path+".field", s.Field, ctxTypes)
	if !ok {
		return
	}
	var expr func(a string) string
	switch {
	case fi.prop != "":
		expr = func(a string) string { return propColumn(a, fi.prop) }
	case fi.multi:
		c.problem(path+".field", "cannot sort by %s: it holds several values", s.Field)
		return
	default:
		if _, ok := elemValue(fi.ftype, "x"); !ok {
			c.problem(path+".field", "cannot sort by a %s field", fi.ftype)
			return
		}
		expr = func(a string) string {
			v := a + ".fields -> " + c.arg(fi.name) + "::text"
			val, _ := elemValue(fi.ftype, v)
			return "(CASE WHEN " + a + ".type = ANY(" + c.arg(fi.types) + "::text[]) THEN " + val + " END)"
		}
	}
	// Through relationships: the value of the first referenced item.
	var build func(i int, from string) string
	build = func(i int, from string) string {
		if i == len(steps) {
			return expr(from)
		}
		a := "r" + strconv.Itoa(i+1)
		return `(SELECT ` + build(i+1, a) + ` FROM ` + c.src + ` ` + a + ` WHERE ` + a + `.id = (SELECT x.id FROM ` +
			c.refIDs(from, steps[i].rel.Field) + ` x(id) LIMIT 1) AND ` + relAccess(a) + `)`
	}
	c.orders = append(c.orders, gatherOrder{build(0, "k"), dir})
}

// where is the WHERE clause: list access, then the filters.
func (c *gatherCompiler) where() string {
	w := itemFilterSQL
	for _, cond := range c.conds {
		w += "\n\tAND " + cond
	}
	return w
}

func (c *gatherCompiler) orderBy(prefix string, named bool) string {
	var parts []string
	for i, o := range c.orders {
		e := o.expr
		if named {
			e = prefix + "s" + strconv.Itoa(i)
		}
		parts = append(parts, e+" "+o.dir+" NULLS LAST")
	}
	return strings.Join(append(parts, prefix+"id DESC"), ", ")
}

// page reads one page and (withTotal) the total: filtering, sorting and
// counting run on the keys in one scan; only the page's rows are read
// whole. A limit below 0 reads every row. Without the total (0) the scan
// stops at the page's end, through an index of the sort where there is
// one (GatherArgs.NoTotal).
func (c *gatherCompiler) page(ctx context.Context, tx pgx.Tx, limit, offset int, withTotal bool) ([]*core.Item, int, error) {
	total := "count(*) OVER () AS total"
	if !withTotal {
		total = "0::bigint AS total"
	}
	sel := []string{"k.id", "k.rev", total}
	for i, o := range c.orders {
		sel = append(sel, o.expr+" AS s"+strconv.Itoa(i))
	}
	var lim any = limit
	if limit < 0 {
		lim = nil // LIMIT NULL: every row
	}
	params := append(slices.Clone(c.params), lim, offset)
	n := len(params)
	var live, staged nullItem
	sql := `WITH page AS (
		SELECT ` + strings.Join(sel, ", ") + ` FROM ` + c.keys() + ` k
		WHERE ` + c.where() + `
		ORDER BY ` + c.orderBy("", true) + ` LIMIT $` + strconv.Itoa(n-1) + ` OFFSET $` + strconv.Itoa(n) + `)
	SELECT p.total, ` + live.columns("i") + `, ` + staged.columns("x") + `
	FROM page p LEFT JOIN item i ON p.rev IS NULL AND i.id = p.id
	LEFT JOIN LATERAL (SELECT ` + revItemColumns + ` FROM revision r ` + revItemDoc + ` WHERE r.id = p.rev) x ON true
	ORDER BY ` + c.orderBy("p.", true)
	rows, err := tx.Query(ctx, sql, params...)
	if err != nil {
		return nil, 0, gatherErr(err)
	}
	defer rows.Close()
	out := []*core.Item{}
	matches := 0
	for rows.Next() {
		live, staged = nullItem{}, nullItem{}
		if err := rows.Scan(append([]any{&matches}, append(live.dest(), staged.dest()...)...)...); err != nil {
			return nil, 0, fmt.Errorf("run gather: %w", err)
		}
		switch {
		case staged.valid():
			out = append(out, staged.item())
		case live.valid():
			out = append(out, live.item())
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, gatherErr(err)
	}
	return out, matches, nil
}

func (c *gatherCompiler) count(ctx context.Context, tx pgx.Tx) (int, error) {
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+c.keys()+` k WHERE `+c.where(), c.params[:c.filterParams]...).Scan(&n); err != nil {
		return 0, gatherErr(err)
	}
	return n, nil
}

func gatherErr(err error) error {
	if timedOut(err) {
		return core.Errorf(core.EUnavailable, "the listing took longer than allowed; try again or narrow it")
	}
	return fmt.Errorf("run gather: %w", TranslateError(err))
}

// CheckGather checks g against today's item types without running it:
// every type exists, every field is found with an operator its type
// supports, literal values parse, sorts and relationships resolve. Values
// bound at run time (path arguments, exposed input) are not checked.
// Errors: EInvalid with field paths.
func (gs *Gathers) CheckGather(ctx context.Context, g *core.Gather) error {
	if errs := g.Check(); len(errs) > 0 {
		return core.InvalidFields(fmt.Sprintf("gather %s is not valid", g.Name), errs)
	}
	types, err := gs.s.allItemTypes(ctx)
	if err != nil {
		return err
	}
	c := newGatherCompiler(ctx, nil, g, core.LiveStageID, types, core.GatherArgs{}, gs.s.now())
	for i, t := range g.Types {
		if types[t] == nil {
			c.problem(fmt.Sprintf("types[%d]", i), "item type %q does not exist", t)
		}
	}
	for i, f := range g.Filters {
		path := fmt.Sprintf("filters[%d]", i)
		if f.Op == core.OpSearch {
			continue
		}
		_, ctxTypes, ok := c.relSteps(path+".relationship", f.Relationship)
		if !ok {
			continue
		}
		fi, ok := c.resolve(path+".field", f.Field, ctxTypes)
		if !ok {
			continue
		}
		if fi.prop == "" && !slices.Contains(opsFor(fi.ftype), f.Op) {
			c.problem(path+".op", "a %s field does not support %s (use one of: %s)", fi.ftype, f.Op, strings.Join(opsFor(fi.ftype), ", "))
			continue
		}
		if len(f.Value) == 0 {
			continue
		}
		var v any
		dec := json.NewDecoder(strings.NewReader(string(f.Value)))
		dec.UseNumber()
		_ = dec.Decode(&v)
		list, isList := v.([]any)
		if !isList {
			list = []any{v}
		}
		for j, e := range list {
			var str string
			switch x := e.(type) {
			case string:
				str = x
			case json.Number:
				str = x.String()
			case bool:
				str = strconv.FormatBool(x)
			}
			if _, isArg := core.GatherPathArg(str); isArg || str == "{current_user}" {
				continue
			}
			p := path + ".value"
			if isList {
				p = fmt.Sprintf("%s[%d]", p, j)
			}
			c.convert(fi.ftype, gatherValue{str, p})
		}
	}
	for i, srt := range g.Sorts {
		if srt.Field != "rank" {
			c.sortKey(fmt.Sprintf("sorts[%d]", i), srt)
		}
	}
	if len(c.bad) > 0 {
		return core.InvalidFields(fmt.Sprintf("gather %s does not fit the item types", g.Name), c.bad)
	}
	return nil
}

// ExposedFilters describes g's exposed filters for a form, with value
// types from today's item types. Errors: EInvalid when g does not fit
// them.
func (gs *Gathers) ExposedFilters(ctx context.Context, g *core.Gather) ([]core.ExposedFilter, error) {
	types, err := gs.s.allItemTypes(ctx)
	if err != nil {
		return nil, err
	}
	c := newGatherCompiler(ctx, nil, g, core.LiveStageID, types, core.GatherArgs{}, gs.s.now())
	out := []core.ExposedFilter{}
	for i, f := range g.Filters {
		if f.Exposed == nil {
			continue
		}
		ef := core.ExposedFilter{Name: f.Exposed.Name, Label: f.Exposed.Label, Description: f.Exposed.Description, Field: f.Field, Op: f.Op,
			Multiple: f.Op == core.OpIn || f.Op == core.OpNotIn}
		if f.Op == core.OpSearch {
			ef.ValueType = "search"
		} else {
			path := fmt.Sprintf("filters[%d]", i)
			_, ctxTypes, ok := c.relSteps(path+".relationship", f.Relationship)
			if !ok {
				continue
			}
			fi, ok := c.resolve(path+".field", f.Field, ctxTypes)
			if !ok {
				continue
			}
			ef.ValueType, ef.Vocabulary = fi.ftype, fi.vocabulary
			switch {
			case fi.prop == "status":
				ef.Options = []string{core.StatusPublished, core.StatusUnpublished}
			case fi.ftype == core.FieldBoolean:
				ef.Options = []string{"true", "false"}
			case fi.prop == "type":
				ef.Options = c.baseTypes()
			case fi.prop == "" && fi.ftype == core.FieldText:
				for _, tn := range fi.types {
					for _, fd := range types[tn].Fields {
						if fd.Name == fi.name && len(fd.AllowedValues) > 0 {
							ef.Options = fd.AllowedValues
						}
					}
				}
			}
		}
		out = append(out, ef)
	}
	if len(c.bad) > 0 {
		return nil, core.InvalidFields(fmt.Sprintf("gather %s does not fit the item types", g.Name), c.bad)
	}
	return out, nil
}
