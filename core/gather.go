package core

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Gather is a stored listing of items (Drupal's View): a config document of
// kind gather. The storage layer compiles it to parameterised SQL over the
// items a stage shows, with list access through the grants join.
type Gather struct {
	Name          string               `json:"name"`
	Label         string               `json:"label"`
	Description   string               `json:"description,omitempty"`
	Types         []string             `json:"types,omitempty"` // none: every type
	Relationships []GatherRelationship `json:"relationships,omitempty"`
	Filters       []GatherFilter       `json:"filters,omitempty"`
	Sorts         []GatherSort         `json:"sorts,omitempty"`
	Pager         GatherPager          `json:"pager"`
	Displays      []GatherDisplay      `json:"displays,omitempty"`
	// Version is the config document's version; not part of the document.
	Version int `json:"-"`
}

// GatherFilter is one condition of a gather. Field is an item property
// (GatherProperties), a field name of the base types, or "search" (with op
// search). Value is a JSON scalar, or a list for in and not_in; strings may
// be tokens: {arg0}..{arg9} (path arguments), {current_user}, now, now-30d,
// now+2h (units m h d w).
type GatherFilter struct {
	Field        string          `json:"field"`
	Op           string          `json:"op"`
	Value        json.RawMessage `json:"value,omitempty"`
	Relationship string          `json:"relationship,omitempty"`
	Descendants  *bool           `json:"descendants,omitempty"` // category: default true
	Exposed      *GatherExposed  `json:"exposed,omitempty"`
}

// GatherExposed makes a filter's value come from a form input of that
// name. A blank or missing input leaves the filter out (or uses its value,
// when the filter has one).
type GatherExposed struct {
	Name        string `json:"name"`
	Label       string `json:"label"`
	Description string `json:"description,omitempty"`
}

// GatherSort is one sort key. Field is title, created, changed, sticky,
// promote, type, language, status, author, id, a single-valued field, or
// rank (the full-text rank; needs a search filter).
type GatherSort struct {
	Field        string `json:"field"`
	Direction    string `json:"direction,omitempty"` // asc (default; desc for rank) | desc
	Relationship string `json:"relationship,omitempty"`
}

// GatherRelationship reaches the items an item_ref field points to, from
// the listed items or (From) from another relationship's items. At most
// two steps deep.
type GatherRelationship struct {
	Name  string `json:"name"`
	Field string `json:"field"`
	From  string `json:"from,omitempty"`
}

// GatherPager pages a gather.
type GatherPager struct {
	PerPage int    `json:"per_page,omitempty"` // 1..100, default 10
	Style   string `json:"style,omitempty"`    // path (default): /x/page/N; none: first page only
}

// GatherDisplay is where a gather is shown.
type GatherDisplay struct {
	Name   string `json:"name"`
	Type   string `json:"type"` // page | tile | feed
	Title  string `json:"title,omitempty"`
	Path   string `json:"path,omitempty"`   // page, feed
	Format string `json:"format,omitempty"` // feed: rss | atom
	Items  int    `json:"items,omitempty"`  // tile, feed: default the pager's per_page
}

// GatherArgs are a gather's run-time inputs.
type GatherArgs struct {
	PathArgs []string          // {arg0}.. in filter values
	Exposed  map[string]string // exposed filter name -> form value
	Page     int               // 1-based; 0 means 1
	Display  string            // optional: a display whose items bound the page size
	// Limit, above 0, reads Limit items from Offset instead of page Page
	// (the API's cursor paging); a pager of style none still lists only
	// the first page's items.
	Offset, Limit int
	// NoTotal is for a caller that shows no count and no pager (a tile):
	// the page is read without counting every match, which lets the
	// database stop at the page's end; Total is then 0 and Pages 1.
	NoTotal bool
}

// GatherResult is one page of a gather.
type GatherResult struct {
	Items   []*Item `json:"items"`
	Total   int     `json:"total"`
	Page    int     `json:"page"`
	Pages   int     `json:"pages"`
	PerPage int     `json:"per_page"`
}

// ExposedFilter describes an exposed filter so a form can render it.
type ExposedFilter struct {
	Name        string `json:"name"`
	Label       string `json:"label"`
	Description string `json:"description,omitempty"`
	Field       string `json:"field"`
	Op          string `json:"op"`
	// ValueType is the value's type: a field type (text, integer, decimal,
	// boolean, date, datetime, email, link, item_ref, term_ref, …), or
	// status, uuid, language, search.
	ValueType  string   `json:"value_type"`
	Vocabulary string   `json:"vocabulary,omitempty"` // term_ref: the vocabulary to choose from
	Options    []string `json:"options,omitempty"`    // allowed values, when there is a fixed set
	Multiple   bool     `json:"multiple,omitempty"`   // in, not_in: several values, comma-separated
}

// GatherExtender is the gather_extend hook: plugins add filters and sorts
// to a gather before it runs, seeing the run's arguments. They are
// validated like the gather's own and compile to the same SQL vocabulary;
// a plugin never sends SQL.
type GatherExtender interface {
	ExtendGather(ctx context.Context, g *Gather, args GatherArgs) ([]GatherFilter, []GatherSort, error)
}

// SearchHit is one full-text search result.
type SearchHit struct {
	Item *Item   `json:"item"`
	Rank float64 `json:"rank"`
	// Snippet is HTML: the matching text escaped, with the matched words in
	// <mark> elements.
	Snippet string `json:"snippet"`
}

// SearchResult is one page of full-text search results.
type SearchResult struct {
	Hits    []SearchHit `json:"hits"`
	Total   int         `json:"total"`
	Page    int         `json:"page"`
	Pages   int         `json:"pages"`
	PerPage int         `json:"per_page"`
}

// Gather limits.
const (
	GatherDefaultPerPage = 10
	GatherMaxPerPage     = 100
	GatherMaxPage        = 10000
	GatherMaxDepth       = 2    // relationship steps
	SearchMaxQuery       = 1024 // bytes of a search query
	SearchPerPage        = 10
)

// Gather filter operators.
const (
	OpEq       = "eq"
	OpNe       = "ne"
	OpLt       = "lt"
	OpLe       = "le"
	OpGt       = "gt"
	OpGe       = "ge"
	OpContains = "contains"
	OpIn       = "in"
	OpNotIn    = "not_in"
	OpEmpty    = "empty"
	OpNotEmpty = "not_empty"
	OpCategory = "category"
	OpSearch   = "search"
)

// GatherProperties are the item properties a gather filters and sorts on,
// with their value types.
var GatherProperties = map[string]string{
	"id": "uuid", "type": "type", "title": "text", "status": "status", "author": "uuid", "created": "datetime",
	"changed": "datetime", "promote": "boolean", "sticky": "boolean", "language": "language",
}

// gatherPropertyOps lists the operators each property accepts.
var gatherPropertyOps = map[string][]string{
	"id":       {OpEq, OpNe, OpIn, OpNotIn},
	"type":     {OpEq, OpNe, OpIn, OpNotIn},
	"title":    {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpContains, OpIn, OpNotIn},
	"status":   {OpEq, OpNe, OpIn, OpNotIn},
	"author":   {OpEq, OpNe, OpIn, OpNotIn},
	"created":  {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe},
	"changed":  {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe},
	"promote":  {OpEq, OpNe},
	"sticky":   {OpEq, OpNe},
	"language": {OpEq, OpNe, OpIn, OpNotIn},
}

// GatherSortProperties are the properties a gather sorts on.
var GatherSortProperties = []string{"id", "type", "title", "status", "author", "created", "changed", "promote", "sticky", "language"}

// ParseGather decodes and validates a gather document. Errors: EInvalid
// with every problem.
func ParseGather(body json.RawMessage) (*Gather, error) {
	doc, err := ParseConfigDoc("gather", body)
	if err != nil {
		return nil, err
	}
	return decodeGather(doc.Body)
}

// GatherFromConfig decodes a stored gather document.
func GatherFromConfig(d *ConfigDocument) (*Gather, error) {
	g, err := ParseGather(d.Body)
	if err != nil {
		return nil, fmt.Errorf("gather %q: %w", d.Name, err)
	}
	g.Version = d.Version
	return g, nil
}

func decodeGather(body []byte) (*Gather, error) {
	var doc struct {
		Kind string `json:"kind"`
		Gather
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, InvalidFields("invalid gather document", []FieldError{{Path: "(document)", Message: err.Error()}})
	}
	g := doc.Gather
	return &g, nil
}

func checkGatherDoc(obj map[string]any) []FieldError {
	g, err := decodeGather(canonicalJSON(obj))
	if err != nil {
		return ErrorFields(err)
	}
	return g.Check()
}

// PerPage is the page size of the gather, or of display when it bounds it.
func (g *Gather) PerPage(display string) int {
	if d := g.Display(display); d != nil && d.Items > 0 {
		return d.Items
	}
	if g.Pager.PerPage > 0 {
		return g.Pager.PerPage
	}
	return GatherDefaultPerPage
}

// Display returns the display of that name, or nil.
func (g *Gather) Display(name string) *GatherDisplay {
	for i := range g.Displays {
		if g.Displays[i].Name == name {
			return &g.Displays[i]
		}
	}
	return nil
}

var (
	gatherArgRE   = regexp.MustCompile(`^\{arg([0-9])\}$`)
	gatherNowRE   = regexp.MustCompile(`^now(?:([+-])([0-9]{1,5})([mhdw]))?$`)
	gatherPathSeg = regexp.MustCompile(`^(?:[A-Za-z0-9._~-]+|\{arg[0-9]\})$`)
)

// GatherPathArg returns N for the token {argN}.
func GatherPathArg(s string) (int, bool) {
	m := gatherArgRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[1])
	return n, true
}

// GatherNow resolves now, now-30d, now+2h (units m h d w) against now; ok
// is false for anything else.
func GatherNow(s string, now time.Time) (time.Time, bool) {
	m := gatherNowRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	if m[1] == "" {
		return now, true
	}
	n, _ := strconv.Atoi(m[2])
	unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[3]]
	d := time.Duration(n) * unit
	if m[1] == "-" {
		d = -d
	}
	return now.Add(d), true
}

// Check runs the checks a gather's schema cannot express; the ones that
// need item types are made when it runs.
func (g *Gather) Check() []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	rels := map[string]int{} // name -> depth
	for i, r := range g.Relationships {
		p := fmt.Sprintf("relationships[%d]", i)
		if _, dup := rels[r.Name]; dup {
			add(p+".name", "duplicate relationship %q", r.Name)
			continue
		}
		depth := 1
		if r.From != "" {
			d, ok := rels[r.From]
			switch {
			case !ok:
				add(p+".from", "unknown relationship %q (declare it before this one)", r.From)
			case d >= GatherMaxDepth:
				add(p+".from", "relationships go at most %d steps deep", GatherMaxDepth)
			default:
				depth = d + 1
			}
		}
		rels[r.Name] = depth
	}
	search := false
	exposed := map[string]bool{}
	for i, f := range g.Filters {
		p := fmt.Sprintf("filters[%d]", i)
		errs = append(errs, checkGatherFilter(p, f, rels)...)
		if f.Op == OpSearch {
			search = true
		}
		if f.Exposed != nil {
			if exposed[f.Exposed.Name] {
				add(p+".exposed.name", "duplicate exposed filter %q", f.Exposed.Name)
			}
			if f.Exposed.Name == "page" {
				add(p+".exposed.name", "page is reserved for the pager")
			}
			exposed[f.Exposed.Name] = true
		}
	}
	for i, s := range g.Sorts {
		p := fmt.Sprintf("sorts[%d]", i)
		if s.Relationship != "" {
			if _, ok := rels[s.Relationship]; !ok {
				add(p+".relationship", "unknown relationship %q", s.Relationship)
			}
		}
		switch {
		case s.Field == "rank":
			if !search {
				add(p+".field", "rank needs a search filter")
			}
			if s.Relationship != "" {
				add(p+".relationship", "rank is the listed item's")
			}
		case s.Field == "search":
			add(p+".field", "sort by rank to order by relevance")
		}
	}
	names := map[string]bool{}
	paths := map[string]bool{}
	for i, d := range g.Displays {
		p := fmt.Sprintf("displays[%d]", i)
		if names[d.Name] {
			add(p+".name", "duplicate display %q", d.Name)
		}
		names[d.Name] = true
		switch d.Type {
		case "page", "feed":
			if d.Path == "" {
				add(p+".path", "a %s display needs a path", d.Type)
			} else if msg := checkGatherPath(d.Path); msg != "" {
				add(p+".path", "%s", msg)
			} else if paths[d.Path] {
				add(p+".path", "duplicate path %s", d.Path)
			}
			paths[d.Path] = true
		case "tile":
			if d.Path != "" {
				add(p+".path", "a tile has no path")
			}
		}
		if d.Type == "feed" && d.Format == "" {
			add(p+".format", "a feed needs a format: rss or atom")
		}
		if d.Type != "feed" && d.Format != "" {
			add(p+".format", "only feeds have a format")
		}
		if d.Type == "page" && d.Items != 0 {
			add(p+".items", "a page uses the pager's per_page")
		}
	}
	return errs
}

func checkGatherPath(path string) string {
	if !strings.HasPrefix(path, "/") || path == "/" {
		return "must be a root-relative path such as /news"
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, s := range segs {
		if !gatherPathSeg.MatchString(s) {
			return fmt.Sprintf("segment %q: use letters, digits, . _ ~ - or {arg0}..{arg9}", s)
		}
		if s == "page" && i > 0 {
			return "page is reserved for the pager (/x/page/N)"
		}
	}
	return ""
}

// checkGatherFilter checks one filter without item types.
func checkGatherFilter(p string, f GatherFilter, rels map[string]int) []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if f.Relationship != "" {
		if _, ok := rels[f.Relationship]; !ok {
			add(p+".relationship", "unknown relationship %q", f.Relationship)
		}
	}
	if (f.Field == "search") != (f.Op == OpSearch) {
		add(p+".op", "full-text search is field search with op search")
		return errs
	}
	if f.Op == OpSearch && f.Relationship != "" {
		add(p+".relationship", "search applies to the listed items")
	}
	if ops, ok := gatherPropertyOps[f.Field]; ok && !slices.Contains(ops, f.Op) {
		add(p+".op", "%s does not support %s (use one of: %s)", f.Field, f.Op, strings.Join(ops, ", "))
	}
	if f.Descendants != nil && f.Op != OpCategory {
		add(p+".descendants", "only category filters have descendants")
	}
	var vals []any
	hasValue := len(f.Value) > 0
	if hasValue {
		var v any
		if err := json.Unmarshal(f.Value, &v); err != nil {
			add(p+".value", "%v", err)
			return errs
		}
		if list, ok := v.([]any); ok {
			if f.Op != OpIn && f.Op != OpNotIn {
				add(p+".value", "a list is only for in and not_in")
			}
			vals = list
		} else {
			vals = []any{v}
		}
	}
	switch f.Op {
	case OpEmpty, OpNotEmpty:
		if hasValue {
			add(p+".value", "%s takes no value", f.Op)
		}
		if f.Exposed != nil {
			add(p+".exposed", "%s takes no value to expose", f.Op)
		}
	default:
		if !hasValue && f.Exposed == nil {
			add(p+".value", "is required for %s (or expose the filter)", f.Op)
		}
	}
	for i, v := range vals {
		vp := p + ".value"
		if len(vals) > 1 || (hasValue && f.Value[0] == '[') {
			vp = fmt.Sprintf("%s[%d]", vp, i)
		}
		s, ok := v.(string)
		if !ok {
			continue
		}
		if strings.HasPrefix(s, "{") {
			if _, ok := GatherPathArg(s); !ok && s != "{current_user}" {
				add(vp, "unknown token %s (known: {arg0}..{arg9}, {current_user})", s)
			}
			if s == "{current_user}" && f.Field != "author" {
				add(vp, "{current_user} compares with author")
			}
		}
	}
	return errs
}

// MatchPath matches a request path against g's page and feed displays. It
// returns the display, the path arguments ({arg0}.. in order) and the page
// (a page display's path followed by /page/N; 1 without it). Page numbers
// are not range-checked here: RunGather refuses bad ones.
func (g *Gather) MatchPath(path string) (d *GatherDisplay, args []string, page int, ok bool) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i := range g.Displays {
		disp := &g.Displays[i]
		if disp.Type != "page" && disp.Type != "feed" || disp.Path == "" {
			continue
		}
		pat := strings.Split(strings.TrimPrefix(disp.Path, "/"), "/")
		page = 1
		rest := segs
		if disp.Type == "page" && len(segs) == len(pat)+2 && segs[len(pat)] == "page" {
			n, err := strconv.Atoi(segs[len(pat)+1])
			if err != nil || n < 1 || strconv.Itoa(n) != segs[len(pat)+1] {
				continue
			}
			page, rest = n, segs[:len(pat)]
		}
		if len(rest) != len(pat) {
			continue
		}
		var bound [10]string
		maxArg := -1
		match := true
		for j, p := range pat {
			if n, isArg := GatherPathArg(p); isArg {
				if rest[j] == "" {
					match = false
					break
				}
				bound[n] = rest[j]
				maxArg = max(maxArg, n)
			} else if p != rest[j] {
				match = false
				break
			}
		}
		if match {
			return disp, slices.Clone(bound[:maxArg+1]), page, true
		}
	}
	return nil, nil, 0, false
}

// PagePath is the path of page n of a page display with args bound: the
// display's path for page 1, path/page/N after it.
func (d *GatherDisplay) PagePath(args []string, n int) string {
	segs := strings.Split(d.Path, "/")
	for i, s := range segs {
		if k, ok := GatherPathArg(s); ok && k < len(args) {
			segs[i] = args[k]
		}
	}
	p := strings.Join(segs, "/")
	if n > 1 {
		p += "/page/" + strconv.Itoa(n)
	}
	return p
}
