package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// ItemType is a content type: a config document of kind item_type
// (docs/config-formats.md). Types are data; nothing about a type lives in Go
// code.
type ItemType struct {
	Name        string     `json:"name"`
	Label       string     `json:"label"`
	Description string     `json:"description,omitempty"`
	TitleLabel  string     `json:"title_label,omitempty"` // label of the title input; "Title" when empty
	Fields      []FieldDef `json:"fields,omitempty"`
	// Comments are the type's comment settings; nil: the defaults.
	Comments *CommentSettings `json:"comments,omitempty"`
	// Version is set by the config store: it increases with every change of
	// the document. Revisions record the version they were validated
	// against. It is not part of the document.
	Version int `json:"-"`
}

// FieldDef defines one field of an item type. Options apply to some types
// only (ParseItemType refuses the others):
//
//	max_length      text, long_text, email, link (characters; of the URL for link)
//	format          long_text
//	min, max        integer, decimal
//	scale           decimal (digits after the point)
//	allowed_values  text, integer, decimal
//	target_types    item_ref
//	vocabulary      term_ref (required)
//	allowed_mime    file, image
//	max_size        file, image (bytes)
type FieldDef struct {
	Name        string
	Label       string
	Description string
	Type        string
	Required    bool
	// Cardinality is 1 (a single value, the default), N > 1 (a list of at
	// most N values) or CardinalityUnlimited. Documents write an integer or
	// "unlimited".
	Cardinality int
	// Default is the value a missing field gets when an item is saved,
	// normalized (canonical JSON), in the field's value shape (a list for
	// multi-valued fields).
	Default       json.RawMessage
	Format        string
	MaxLength     int
	Min, Max      json.Number // "" when unset; exact decimal literals
	Scale         *int
	AllowedValues []string // for integer and decimal fields, the canonical literals
	TargetTypes   []string
	Vocabulary    string
	AllowedMIME   []string
	MaxSize       int64
}

// Comment modes of an item type (CommentSettings.Mode), as Drupal's per
// content type comment setting.
const (
	CommentsOpen   = "open"   // comments shown, and the form to post one (the default)
	CommentsClosed = "closed" // existing comments shown and counted; no form, posts refused
	CommentsHidden = "hidden" // comments neither shown nor counted; posts refused
)

// CommentModes are the values of CommentSettings.Mode.
var CommentModes = []string{CommentsOpen, CommentsClosed, CommentsHidden}

// CommentSettings are an item type's comment settings. The zero value is
// the default: open, and anonymous visitors as the site allows.
type CommentSettings struct {
	// Mode is CommentsOpen, CommentsClosed or CommentsHidden; "" is open.
	Mode string `json:"mode,omitempty"`
	// Anonymous false keeps visitors without an account from commenting
	// on items of the type. True or nil leaves it to the site-wide
	// setting: the anonymous role must hold comments.anonymous either way.
	Anonymous *bool `json:"anonymous,omitempty"`
}

// CommentMode is the type's comment mode (CommentsOpen when unset). A nil
// type (deleted) has the defaults.
func (t *ItemType) CommentMode() string {
	if t == nil || t.Comments == nil || t.Comments.Mode == "" {
		return CommentsOpen
	}
	return t.Comments.Mode
}

// AnonymousComments reports whether anonymous visitors may comment on
// items of the type, given whether the anonymous role holds
// comments.anonymous (siteAllows): only when comments are open, the role
// holds it and the type does not say anonymous: false.
func (t *ItemType) AnonymousComments(siteAllows bool) bool {
	if !siteAllows || t.CommentMode() != CommentsOpen {
		return false
	}
	return t == nil || t.Comments == nil || t.Comments.Anonymous == nil || *t.Comments.Anonymous
}

// CardinalityUnlimited marks a field that takes any number of values.
const CardinalityUnlimited = -1

// reservedFieldNames are item properties that fields may not shadow.
var reservedFieldNames = []string{
	"id", "type", "title", "status", "author", "created", "changed", "promote", "sticky",
	"language", "translation_group", "revision", "revision_id", "stage", "path", "url", "fields",
	"version", "log",
}

// Field returns the field called name, or nil.
func (t *ItemType) Field(name string) *FieldDef {
	for i := range t.Fields {
		if t.Fields[i].Name == name {
			return &t.Fields[i]
		}
	}
	return nil
}

// Multiple reports whether the field's value is a list.
func (fd *FieldDef) Multiple() bool {
	return fd.Cardinality > 1 || fd.Cardinality == CardinalityUnlimited
}

func (fd *FieldDef) cardinalityString() string {
	if fd.Cardinality == CardinalityUnlimited {
		return "unlimited"
	}
	return strconv.Itoa(fd.cardinality())
}

func (fd *FieldDef) cardinality() int {
	if fd.Cardinality == 0 {
		return 1
	}
	return fd.Cardinality
}

// EffectiveMaxLength is the length limit in characters that applies to the
// field's values: its max_length, else the type's default (0: none).
func (fd *FieldDef) EffectiveMaxLength() int {
	if fd.MaxLength > 0 {
		return fd.MaxLength
	}
	switch fd.Type {
	case FieldText:
		return DefaultTextMaxLength
	case FieldLongText:
		return DefaultLongTextMaxLength
	case FieldEmail:
		return 254
	case FieldLink:
		return maxURLLength
	}
	return 0
}

// EffectiveFormat is the text format of a long_text field ("plain" unless
// set).
func (fd *FieldDef) EffectiveFormat() string {
	if fd.Format == "" && fd.Type == FieldLongText {
		return FormatPlain
	}
	return fd.Format
}

type fieldDefJSON struct {
	Name          string          `json:"name"`
	Label         string          `json:"label,omitempty"`
	Description   string          `json:"description,omitempty"`
	Type          string          `json:"type"`
	Required      bool            `json:"required,omitempty"`
	Cardinality   any             `json:"cardinality,omitempty"`
	Default       json.RawMessage `json:"default,omitempty"`
	Format        string          `json:"format,omitempty"`
	MaxLength     int             `json:"max_length,omitempty"`
	Min           json.Number     `json:"min,omitempty"`
	Max           json.Number     `json:"max,omitempty"`
	Scale         *int            `json:"scale,omitempty"`
	AllowedValues []any           `json:"allowed_values,omitempty"`
	TargetTypes   []string        `json:"target_types,omitempty"`
	Vocabulary    string          `json:"vocabulary,omitempty"`
	AllowedMIME   []string        `json:"allowed_mime,omitempty"`
	MaxSize       int64           `json:"max_size,omitempty"`
}

// MarshalJSON writes the document form of the field: cardinality as an
// integer or "unlimited", left out when 1.
func (fd FieldDef) MarshalJSON() ([]byte, error) {
	j := fieldDefJSON{
		Name: fd.Name, Label: fd.Label, Description: fd.Description, Type: fd.Type,
		Required: fd.Required, Default: fd.Default, Format: fd.Format, MaxLength: fd.MaxLength,
		Min: fd.Min, Max: fd.Max, Scale: fd.Scale, TargetTypes: fd.TargetTypes,
		Vocabulary: fd.Vocabulary, AllowedMIME: fd.AllowedMIME, MaxSize: fd.MaxSize,
	}
	switch c := fd.Cardinality; {
	case c == CardinalityUnlimited:
		j.Cardinality = "unlimited"
	case c > 1:
		j.Cardinality = c
	}
	for _, v := range fd.AllowedValues {
		if fd.Type == FieldInteger || fd.Type == FieldDecimal {
			j.AllowedValues = append(j.AllowedValues, json.Number(v))
		} else {
			j.AllowedValues = append(j.AllowedValues, v)
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the document form of the field. It checks shapes
// only; ParseItemType does the semantic checks.
func (fd *FieldDef) UnmarshalJSON(data []byte) error {
	var j fieldDefJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	*fd = FieldDef{
		Name: j.Name, Label: j.Label, Description: j.Description, Type: j.Type,
		Required: j.Required, Format: j.Format, MaxLength: j.MaxLength, Min: j.Min, Max: j.Max,
		Scale: j.Scale, TargetTypes: j.TargetTypes, Vocabulary: j.Vocabulary,
		AllowedMIME: j.AllowedMIME, MaxSize: j.MaxSize, Cardinality: 1,
	}
	if len(j.Default) > 0 && string(j.Default) != "null" {
		fd.Default = canonicalJSON(j.Default)
	}
	switch c := j.Cardinality.(type) {
	case nil:
	case string:
		if c != "unlimited" {
			return fmt.Errorf("cardinality must be a positive integer or \"unlimited\", not %q", c)
		}
		fd.Cardinality = CardinalityUnlimited
	case json.Number:
		n, err := strconv.Atoi(string(c))
		if err != nil || n < 1 {
			return fmt.Errorf("cardinality must be a positive integer or \"unlimited\", not %s", c)
		}
		fd.Cardinality = n
	default:
		return fmt.Errorf("cardinality must be a positive integer or \"unlimited\"")
	}
	for _, v := range j.AllowedValues {
		switch v := v.(type) {
		case string:
			fd.AllowedValues = append(fd.AllowedValues, v)
		case json.Number:
			fd.AllowedValues = append(fd.AllowedValues, string(v))
		default:
			return fmt.Errorf("allowed_values must hold strings or numbers")
		}
	}
	return nil
}

// ParseItemType parses and validates an item type document (kind item_type;
// a body without kind is taken as one): the JSON Schema, then checks the
// schema cannot express — duplicate or reserved field names, options that
// do not apply to a field's type, min > max, allowed values and defaults
// that the field itself would refuse. It returns an EInvalid *Error naming
// every bad path (fields[2].max). Whether target types and vocabularies
// exist is the config store's check.
func ParseItemType(body json.RawMessage) (*ItemType, error) {
	v, ferrs, err := decodeJSONTree(body, "", nil)
	if err != nil {
		return nil, InvalidFields("invalid item type", []FieldError{{Path: "(document)", Message: "invalid JSON: " + err.Error()}})
	}
	if len(ferrs) > 0 {
		return nil, InvalidFields("invalid item type", ferrs)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, InvalidFields("invalid item type", []FieldError{{Path: "(document)", Message: "must be an object"}})
	}
	if _, has := obj["kind"]; !has {
		obj["kind"] = "item_type"
	}
	if ferrs := configKinds["item_type"].schemaErrors(obj); len(ferrs) > 0 {
		return nil, InvalidFields("invalid item type", ferrs)
	}
	t, ferrs := itemTypeFromDoc(obj)
	if len(ferrs) > 0 {
		return nil, InvalidFields("invalid item type", ferrs)
	}
	return t, nil
}

// ItemTypeFromConfig parses an item type from its stored config document.
func ItemTypeFromConfig(doc ConfigDoc, version int) (*ItemType, error) {
	if doc.Kind != "item_type" {
		return nil, Errorf(EInvalid, "config %s/%s is not an item type", doc.Kind, doc.Name)
	}
	t, err := ParseItemType(doc.Body)
	if err != nil {
		return nil, err
	}
	t.Version = version
	return t, nil
}

// ConfigDoc returns the type as a config document with a canonical body.
func (t *ItemType) ConfigDoc() (ConfigDoc, error) {
	raw, err := json.Marshal(t)
	if err != nil {
		return ConfigDoc{}, fmt.Errorf("marshal item type %s: %w", t.Name, err)
	}
	v, err := decodeJSONValue(raw)
	if err != nil {
		return ConfigDoc{}, fmt.Errorf("marshal item type %s: %w", t.Name, err)
	}
	obj := v.(map[string]any)
	obj["kind"] = "item_type"
	return ConfigDoc{Kind: "item_type", Name: t.Name, Body: canonicalJSON(obj)}, nil
}

// checkItemTypeDoc is the semantic check of the item_type kind.
func checkItemTypeDoc(obj map[string]any) []FieldError {
	_, errs := itemTypeFromDoc(obj)
	return errs
}

// itemTypeFromDoc decodes a schema-valid item type document and runs the
// semantic checks.
func itemTypeFromDoc(obj map[string]any) (*ItemType, []FieldError) {
	var doc struct {
		Kind string `json:"kind"`
		ItemType
	}
	raw := canonicalJSON(obj)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, []FieldError{{Path: "(document)", Message: err.Error()}}
	}
	t := doc.ItemType
	return &t, append(checkAllowedValueKinds(obj), t.check()...)
}

// checkAllowedValueKinds requires allowed_values to be JSON strings for text
// fields and JSON numbers for integer and decimal fields, so a document and
// its decoded type agree.
func checkAllowedValueKinds(obj map[string]any) []FieldError {
	var errs []FieldError
	fields, _ := obj["fields"].([]any)
	for i, f := range fields {
		fm, _ := f.(map[string]any)
		typ, _ := fm["type"].(string)
		vals, _ := fm["allowed_values"].([]any)
		for j, v := range vals {
			_, isNum := v.(json.Number)
			p := indexPath(indexPath("fields", i)+".allowed_values", j)
			switch {
			case typ == FieldText && isNum:
				errs = append(errs, FieldError{Path: p, Message: "must be a string for text fields"})
			case (typ == FieldInteger || typ == FieldDecimal) && !isNum:
				errs = append(errs, FieldError{Path: p, Message: "must be a number for " + typ + " fields"})
			}
		}
	}
	return errs
}

// check runs the semantic checks on a decoded type.
func (t *ItemType) check() []FieldError {
	c := &valCtx{}
	first := map[string]int{}
	for i := range t.Fields {
		fd := &t.Fields[i]
		p := indexPath("fields", i)
		if j, dup := first[fd.Name]; dup {
			c.fail(p+".name", "duplicate field name %q (also fields[%d])", fd.Name, j)
		} else {
			first[fd.Name] = i
		}
		if slices.Contains(reservedFieldNames, fd.Name) {
			c.fail(p+".name", "%q is reserved for an item property (reserved: %s)", fd.Name, strings.Join(reservedFieldNames, ", "))
		}
		fd.check(p, c)
	}
	return c.errs
}

func (fd *FieldDef) check(p string, c *valCtx) {
	if !slices.Contains(FieldTypes, fd.Type) {
		c.fail(p+".type", "unknown field type %q (known: %s)", fd.Type, strings.Join(FieldTypes, ", "))
		return
	}
	only := func(opt string, set bool, types ...string) {
		if set && !slices.Contains(types, fd.Type) {
			c.fail(p+"."+opt, "does not apply to %s fields (only %s)", fd.Type, strings.Join(types, ", "))
		}
	}
	only("max_length", fd.MaxLength != 0, FieldText, FieldLongText, FieldEmail, FieldLink)
	only("format", fd.Format != "", FieldLongText)
	only("min", fd.Min != "", FieldInteger, FieldDecimal)
	only("max", fd.Max != "", FieldInteger, FieldDecimal)
	only("scale", fd.Scale != nil, FieldDecimal)
	only("allowed_values", len(fd.AllowedValues) > 0, FieldText, FieldInteger, FieldDecimal)
	only("target_types", len(fd.TargetTypes) > 0, FieldItemRef)
	only("vocabulary", fd.Vocabulary != "", FieldTermRef)
	only("allowed_mime", len(fd.AllowedMIME) > 0, FieldFile, FieldImage)
	only("max_size", fd.MaxSize != 0, FieldFile, FieldImage)
	n := len(c.errs)

	switch fd.Type {
	case FieldText:
		if fd.MaxLength > MaxTextMaxLength {
			c.fail(p+".max_length", "must be at most %d for text (use long_text for longer text)", MaxTextMaxLength)
		}
	case FieldLongText:
		if fd.MaxLength > MaxLongTextMaxLength {
			c.fail(p+".max_length", "must be at most %d", MaxLongTextMaxLength)
		}
	case FieldEmail:
		if fd.MaxLength > 254 {
			c.fail(p+".max_length", "must be at most 254 for email")
		}
	case FieldLink:
		if fd.MaxLength > maxURLLength {
			c.fail(p+".max_length", "must be at most %d for link", maxURLLength)
		}
	case FieldTermRef:
		if fd.Vocabulary == "" {
			c.fail(p+".vocabulary", "is required for term_ref fields")
		}
	case FieldImage:
		for i, m := range fd.AllowedMIME {
			if !strings.HasPrefix(m, "image/") {
				c.fail(indexPath(p+".allowed_mime", i), "%q is not an image type", m)
			}
		}
	}
	var min, max *big.Rat
	for _, b := range []struct {
		opt string
		v   json.Number
		r   **big.Rat
	}{{"min", fd.Min, &min}, {"max", fd.Max, &max}} {
		if b.v == "" {
			continue
		}
		canon, r, ok := parseDecimal(string(b.v))
		switch {
		case !ok:
			c.fail(p+"."+b.opt, "must be a number, not %q", b.v)
		case fd.Type == FieldInteger && !integerRE.MatchString(canon):
			c.fail(p+"."+b.opt, "must be a whole number for integer fields")
		default:
			*b.r = r
		}
	}
	if min != nil && max != nil && min.Cmp(max) > 0 {
		c.fail(p+".min", "must not be greater than max (%s > %s)", fd.Min, fd.Max)
	}
	dupTargets := map[string]bool{}
	for i, tt := range fd.TargetTypes {
		if dupTargets[tt] {
			c.fail(indexPath(p+".target_types", i), "duplicate target type %q", tt)
		}
		dupTargets[tt] = true
	}
	if len(c.errs) > n {
		return // allowed values and defaults are checked against valid options only
	}
	seen := map[string]bool{}
	for i, a := range fd.AllowedValues {
		ap := indexPath(p+".allowed_values", i)
		probe := *fd
		probe.AllowedValues = nil
		var v any = a
		if fd.Type == FieldInteger {
			v = json.Number(a)
		}
		nv, ok := probe.validateOne(v, ap, c)
		if !ok {
			continue
		}
		key := fmt.Sprint(nv)
		if fd.Type == FieldDecimal {
			_, r, _ := parseDecimal(key)
			key = r.RatString()
		}
		if seen[key] {
			c.fail(ap, "duplicate allowed value %q", a)
		}
		seen[key] = true
	}
	if len(fd.Default) > 0 {
		dv, err := decodeJSONValue(fd.Default)
		if err != nil {
			c.fail(p+".default", "invalid JSON: %v", err)
			return
		}
		refs := len(c.refs)
		if nv, ok := fd.validate(dv, p+".default", c, nil); ok {
			fd.Default = canonicalJSON(nv)
		}
		c.refs = c.refs[:refs]
	}
}

// ---- type changes ----

// FieldChangeKind classifies how a field changed between two versions of a
// type.
type FieldChangeKind string

const (
	// FieldAdded: a new field. Instant unless it is required (existing items
	// lack it: filled from the default, or reported when there is none).
	FieldAdded FieldChangeKind = "added"
	// FieldRemoved: existing values are dropped by rewriting the items.
	FieldRemoved FieldChangeKind = "removed"
	// FieldRetyped: the value type or shape (single value <-> list)
	// changed; every item with a value is converted.
	FieldRetyped FieldChangeKind = "retyped"
	// FieldTightened: some existing values may now be invalid.
	FieldTightened FieldChangeKind = "tightened"
	// FieldLoosened: every existing value stays valid.
	FieldLoosened FieldChangeKind = "loosened"
	// FieldRelabeled: only label, description, default or format changed;
	// stored values are unaffected.
	FieldRelabeled FieldChangeKind = "relabeled"
)

// FieldPlan is the plan for one field.
type FieldPlan struct {
	Field   string          `json:"field"`
	Change  FieldChangeKind `json:"change"`
	Reasons []string        `json:"reasons,omitempty"`
	Old     *FieldDef       `json:"-"`
	New     *FieldDef       `json:"-"`
}

// affects reports whether existing items may need a rewrite or may fail.
func (fp FieldPlan) affects() bool {
	switch fp.Change {
	case FieldLoosened, FieldRelabeled:
		return false
	case FieldAdded:
		return fp.New.Required
	}
	return true
}

// TypeChangePlan says what a change from one version of an item type to the
// next does to existing items. The storage layer runs Convert on every item
// of the type unless Instant, reports the items with problems, and writes
// new revisions for the others.
type TypeChangePlan struct {
	Type   string      `json:"type"`
	Fields []FieldPlan `json:"fields"`
	Old    *ItemType   `json:"-"`
	New    *ItemType   `json:"-"`
}

// Instant reports whether no existing item can be affected: only optional
// fields added, and fields loosened or relabeled.
func (p TypeChangePlan) Instant() bool {
	for _, f := range p.Fields {
		if f.affects() {
			return false
		}
	}
	return true
}

// Changed reports whether the plan has any field change at all.
func (p TypeChangePlan) Changed() bool { return len(p.Fields) > 0 }

// String is a readable summary, one line per changed field.
func (p TypeChangePlan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "item type %s:", p.Type)
	if len(p.Fields) == 0 {
		b.WriteString(" no field changes")
	}
	for _, f := range p.Fields {
		fmt.Fprintf(&b, "\n  %-10s %s", f.Change, f.Field)
		if len(f.Reasons) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(f.Reasons, "; "))
		}
	}
	return b.String()
}

// PlanTypeChange classifies every field change between old and new (nil for
// a type that does not exist yet), in the order of new's fields followed by
// removed fields. Renaming a field is a
// removal plus an addition.
func PlanTypeChange(old, new *ItemType) TypeChangePlan {
	if old == nil {
		old = &ItemType{Name: new.Name} // a new type: every field is added
	}
	plan := TypeChangePlan{Type: new.Name, Old: old, New: new}
	for i := range new.Fields {
		nf := &new.Fields[i]
		of := old.Field(nf.Name)
		if of == nil {
			fp := FieldPlan{Field: nf.Name, Change: FieldAdded, New: nf}
			if nf.Required && len(nf.Default) > 0 {
				fp.Reasons = append(fp.Reasons, "required: existing items get the default "+string(nf.Default))
			} else if nf.Required {
				fp.Reasons = append(fp.Reasons, "required without a default: existing items cannot be converted")
			}
			plan.Fields = append(plan.Fields, fp)
			continue
		}
		if fp, changed := planField(of, nf); changed {
			plan.Fields = append(plan.Fields, fp)
		}
	}
	for i := range old.Fields {
		of := &old.Fields[i]
		if new.Field(of.Name) == nil {
			plan.Fields = append(plan.Fields, FieldPlan{Field: of.Name, Change: FieldRemoved, Old: of, Reasons: []string{"values are dropped"}})
		}
	}
	return plan
}

func planField(of, nf *FieldDef) (FieldPlan, bool) {
	fp := FieldPlan{Field: nf.Name, Old: of, New: nf}
	var tight, loose, meta []string
	if of.Type != nf.Type {
		fp.Change = FieldRetyped
		fp.Reasons = []string{fmt.Sprintf("type %s -> %s", of.Type, nf.Type)}
		return fp, true
	}
	if of.Multiple() != nf.Multiple() {
		fp.Change = FieldRetyped
		fp.Reasons = []string{fmt.Sprintf("cardinality %s -> %s changes the value between a single value and a list", of.cardinalityString(), nf.cardinalityString())}
		return fp, true
	}
	cmp := func(what string, tighter, looser bool, from, to any) {
		switch {
		case tighter:
			tight = append(tight, fmt.Sprintf("%s %v -> %v", what, from, to))
		case looser:
			loose = append(loose, fmt.Sprintf("%s %v -> %v", what, from, to))
		}
	}
	cmp("required", !of.Required && nf.Required, of.Required && !nf.Required, of.Required, nf.Required)
	oc, nc := limitOf(of.Cardinality), limitOf(nf.Cardinality)
	cmp("cardinality", nc < oc, nc > oc, of.cardinalityString(), nf.cardinalityString())
	ol, nl := limitOf(of.EffectiveMaxLength()), limitOf(nf.EffectiveMaxLength())
	cmp("max_length", nl < ol, nl > ol, of.EffectiveMaxLength(), nf.EffectiveMaxLength())
	minT, minL := boundChange(of.Min, nf.Min, 1)
	cmp("min", minT, minL, orNone(of.Min), orNone(nf.Min))
	maxT, maxL := boundChange(of.Max, nf.Max, -1)
	cmp("max", maxT, maxL, orNone(of.Max), orNone(nf.Max))
	os, ns := scaleOf(of.Scale), scaleOf(nf.Scale)
	cmp("scale", ns < os, ns > os, scaleString(of.Scale), scaleString(nf.Scale))
	at, al := setChange(of.AllowedValues, nf.AllowedValues)
	cmp("allowed_values", at, al, listOrAny(of.AllowedValues), listOrAny(nf.AllowedValues))
	tt, tl := setChange(of.TargetTypes, nf.TargetTypes)
	cmp("target_types", tt, tl, listOrAny(of.TargetTypes), listOrAny(nf.TargetTypes))
	mt, ml := setChange(of.AllowedMIME, nf.AllowedMIME)
	cmp("allowed_mime", mt, ml, listOrAny(of.AllowedMIME), listOrAny(nf.AllowedMIME))
	ms, ns2 := limitOf64(of.MaxSize), limitOf64(nf.MaxSize)
	cmp("max_size", ns2 < ms, ns2 > ms, of.MaxSize, nf.MaxSize)
	if of.Vocabulary != nf.Vocabulary {
		tight = append(tight, fmt.Sprintf("vocabulary %s -> %s", of.Vocabulary, nf.Vocabulary))
	}
	if of.Label != nf.Label {
		meta = append(meta, fmt.Sprintf("label %q -> %q", of.Label, nf.Label))
	}
	if of.Description != nf.Description {
		meta = append(meta, "description changed")
	}
	if !bytes.Equal(of.Default, nf.Default) {
		meta = append(meta, fmt.Sprintf("default %s -> %s", orNone(json.Number(of.Default)), orNone(json.Number(nf.Default))))
	}
	if of.EffectiveFormat() != nf.EffectiveFormat() {
		meta = append(meta, fmt.Sprintf("format %s -> %s (stored text unchanged, rendered differently)", of.EffectiveFormat(), nf.EffectiveFormat()))
	}
	switch {
	case len(tight) > 0:
		fp.Change = FieldTightened
	case len(loose) > 0:
		fp.Change = FieldLoosened
	case len(meta) > 0:
		fp.Change = FieldRelabeled
	default:
		return fp, false
	}
	fp.Reasons = append(append(append(fp.Reasons, tight...), loose...), meta...)
	return fp, true
}

func limitOf(n int) int64 {
	if n <= 0 {
		return 1 << 62 // unlimited
	}
	return int64(n)
}

func limitOf64(n int64) int64 {
	if n <= 0 {
		return 1 << 62
	}
	return n
}

func scaleOf(s *int) int {
	if s == nil {
		return 1 << 30
	}
	return *s
}

func scaleString(s *int) string {
	if s == nil {
		return "(none)"
	}
	return strconv.Itoa(*s)
}

func orNone(n json.Number) string {
	if n == "" {
		return "(none)"
	}
	return string(n)
}

func listOrAny(l []string) string {
	if len(l) == 0 {
		return "(any)"
	}
	return "[" + strings.Join(l, ", ") + "]"
}

// boundChange compares a lower (dir 1) or upper (dir -1) bound.
func boundChange(from, to json.Number, dir int) (tighter, looser bool) {
	switch {
	case from == to:
		return false, false
	case from == "":
		return true, false
	case to == "":
		return false, true
	}
	_, a, ok1 := parseDecimal(string(from))
	_, b, ok2 := parseDecimal(string(to))
	if !ok1 || !ok2 {
		return true, false
	}
	c := b.Cmp(a) * dir
	return c > 0, c < 0
}

// setChange compares allow-lists where empty means anything.
func setChange(from, to []string) (tighter, looser bool) {
	switch {
	case len(from) == 0 && len(to) == 0:
		return false, false
	case len(to) == 0:
		return false, true
	case len(from) == 0:
		return true, false
	}
	for _, v := range from {
		if !slices.Contains(to, v) {
			return true, false
		}
	}
	return false, len(to) > len(from)
}

// Convert converts one item's fields (as stored under the old type) to the
// new type: removed fields are dropped, retyped values converted (integer,
// decimal and text into each other; boolean to and from integer; date and
// datetime; single value <-> list), new required fields get their default,
// and the result is validated against the new type without reference
// lookups. A value that cannot be converted, or that the new type refuses
// (a text now too long: never truncated), is a problem at its path, and
// converted is nil. Callers still run the new type's ValidateFields with a
// RefChecker on the result to check references (reduced target types,
// changed vocabulary, allowed MIME types).
func (p TypeChangePlan) Convert(fields json.RawMessage) (json.RawMessage, []FieldError) {
	obj, errs := decodeFieldsObject(fields)
	if obj == nil || len(errs) > 0 {
		return nil, errs
	}
	var problems []FieldError
	in := map[string]any{}
	for _, k := range sortedFieldKeys(obj) {
		// Fields of the old type that the new one lacks are dropped.
		if p.New.Field(k) == nil && p.Old.Field(k) == nil {
			problems = append(problems, FieldError{Path: joinPath("fields", k), Message: fmt.Sprintf("unknown field (neither version of item type %s has it)", p.New.Name)})
		}
	}
	bad := map[string]bool{}
	for i := range p.New.Fields {
		nf := &p.New.Fields[i]
		v, present := obj[nf.Name]
		if !present {
			continue
		}
		of := p.Old.Field(nf.Name)
		path := joinPath("fields", nf.Name)
		if of == nil || v == nil {
			in[nf.Name] = v
			continue
		}
		cv, probs := convertField(of, nf, v, path)
		if len(probs) > 0 {
			problems = append(problems, probs...)
			bad[path] = true
			continue
		}
		in[nf.Name] = cv
	}
	out, c := p.New.validateObject(in, bad, func(fd *FieldDef) bool { return fd.Required && len(fd.Default) > 0 })
	problems = append(problems, c.errs...)
	if len(problems) > 0 {
		return nil, problems
	}
	return canonicalJSON(out), nil
}

func sortedFieldKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// convertField converts a whole value (single or list) between field
// definitions.
func convertField(of, nf *FieldDef, v any, p string) (any, []FieldError) {
	var elems []any
	if of.Multiple() {
		list, ok := v.([]any)
		if !ok {
			return nil, []FieldError{{Path: p, Message: "stored value is not a list"}}
		}
		elems = list
	} else {
		elems = []any{v}
	}
	var probs []FieldError
	out := make([]any, 0, len(elems))
	for i, el := range elems {
		ep := p
		if nf.Multiple() {
			ep = indexPath(p, i)
		}
		cv, msg := convertValue(of.Type, nf.Type, el)
		if msg != "" {
			probs = append(probs, FieldError{Path: ep, Message: msg})
			continue
		}
		out = append(out, cv)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	if nf.Multiple() {
		return out, nil
	}
	switch len(out) {
	case 0:
		return nil, nil
	case 1:
		return out[0], nil
	}
	return nil, []FieldError{{Path: p, Message: fmt.Sprintf("has %d values; the new type allows 1", len(out))}}
}

// convertValue converts one normalized value between field types; msg says
// why it cannot be.
func convertValue(from, to string, v any) (any, string) {
	if from == to {
		return v, ""
	}
	textual := func(t string) bool {
		return t == FieldText || t == FieldLongText
	}
	str, _ := v.(string)
	cannot := fmt.Sprintf("cannot convert %s value %s to %s", from, truncateRunes(string(canonicalJSON(v)), 40), to)
	switch {
	case textual(from) && textual(to):
		return str, ""
	case from == FieldInteger && to == FieldDecimal:
		return string(v.(json.Number)), ""
	case from == FieldInteger && textual(to), from == FieldDecimal && textual(to):
		return fmt.Sprint(v), ""
	case from == FieldDecimal && to == FieldInteger:
		canon, _, ok := parseDecimal(str)
		ip, frac, _ := strings.Cut(canon, ".")
		if !ok || strings.Trim(frac, "0") != "" {
			return nil, fmt.Sprintf("%s has a fraction; an integer cannot hold it", str)
		}
		if ip == "-0" {
			ip = "0"
		}
		return json.Number(ip), ""
	case textual(from) && to == FieldInteger:
		s := strings.TrimSpace(str)
		if _, msg := parseInteger(s); msg != "" {
			return nil, cannot
		}
		return json.Number(s), ""
	case textual(from) && to == FieldDecimal:
		if _, _, ok := parseDecimal(str); !ok {
			return nil, cannot
		}
		return strings.TrimSpace(str), ""
	case from == FieldBoolean && to == FieldInteger:
		if v.(bool) {
			return json.Number("1"), ""
		}
		return json.Number("0"), ""
	case from == FieldInteger && to == FieldBoolean:
		switch v.(json.Number) {
		case "0":
			return false, ""
		case "1":
			return true, ""
		}
		return nil, cannot + " (only 0 and 1 convert)"
	case from == FieldBoolean && textual(to):
		return strconv.FormatBool(v.(bool)), ""
	case from == FieldDate && to == FieldDateTime:
		return str + "T00:00:00Z", ""
	case from == FieldDateTime && to == FieldDate:
		if len(str) >= 10 && strings.HasSuffix(str, "T00:00:00Z") {
			return str[:10], ""
		}
		return nil, fmt.Sprintf("%s has a time of day; a date cannot hold it", str)
	case (from == FieldDate || from == FieldDateTime || from == FieldEmail) && textual(to):
		return str, ""
	case textual(from) && (to == FieldDate || to == FieldDateTime || to == FieldEmail):
		return strings.TrimSpace(str), "" // validated by the new type
	case from == FieldLink && textual(to):
		return v.(map[string]any)["url"], ""
	case textual(from) && to == FieldLink:
		return map[string]any{"url": strings.TrimSpace(str)}, ""
	case from == FieldImage && to == FieldFile:
		return map[string]any{"id": v.(map[string]any)["id"]}, ""
	case from == FieldFile && to == FieldImage:
		return map[string]any{"id": v.(map[string]any)["id"]}, "" // alt is then required
	}
	return nil, cannot
}

// DisplayLabel is the field's label, or its name made readable
// ("publish_date" -> "Publish date") when it has none.
func (fd *FieldDef) DisplayLabel() string {
	if fd.Label != "" {
		return fd.Label
	}
	s := strings.ReplaceAll(fd.Name, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// DisplayTitleLabel is the label of the item's title: TitleLabel or "Title".
func (t *ItemType) DisplayTitleLabel() string {
	if t.TitleLabel != "" {
		return t.TitleLabel
	}
	return "Title"
}

// FieldsJSONSchema describes the fields object of this type's items as a
// JSON Schema (draft 2020-12), for API documentation and editor forms. It
// states shapes and limits; ValidateFields stays the authority (references,
// calendar dates, URL schemes, decimal scale and ranges are checked there).
func (t *ItemType) FieldsJSONSchema() json.RawMessage {
	props := map[string]any{}
	var required []any
	for i := range t.Fields {
		fd := &t.Fields[i]
		s := fd.valueSchema()
		if fd.Multiple() {
			arr := map[string]any{"type": "array", "items": s}
			if fd.Cardinality > 0 {
				arr["maxItems"] = json.Number(strconv.Itoa(fd.Cardinality))
			}
			if fd.Type == FieldItemRef || fd.Type == FieldTermRef {
				arr["uniqueItems"] = true
			}
			s = arr
		}
		s["title"] = fd.DisplayLabel()
		if fd.Description != "" {
			s["description"] = fd.Description
		}
		if len(fd.Default) > 0 {
			s["default"] = fd.Default
		}
		props[fd.Name] = s
		if fd.Required && len(fd.Default) == 0 {
			required = append(required, fd.Name)
		}
	}
	schema := map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"title":                t.Label + " fields",
		"type":                 "object",
		"additionalProperties": false,
		"properties":           props,
	}
	if len(required) > 0 {
		schema["required"] = required
	}
	return canonicalJSON(schema)
}

func (fd *FieldDef) valueSchema() map[string]any {
	num := func(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }
	strEnum := func(s map[string]any) map[string]any {
		if len(fd.AllowedValues) > 0 {
			vals := make([]any, len(fd.AllowedValues))
			for i, v := range fd.AllowedValues {
				vals[i] = v
			}
			s["enum"] = vals
		}
		return s
	}
	idSchema := map[string]any{"type": "string", "format": "uuid"}
	switch fd.Type {
	case FieldText, FieldLongText:
		return strEnum(map[string]any{"type": "string", "maxLength": num(int64(fd.EffectiveMaxLength()))})
	case FieldInteger, FieldDecimal:
		s := map[string]any{"type": "integer"}
		if fd.Type == FieldDecimal {
			s = map[string]any{"type": []any{"string", "number"}, "pattern": `^[+-]?[0-9]*(\.[0-9]*)?([eE][+-]?[0-9]{1,3})?$`}
		}
		if fd.Min != "" {
			s["minimum"] = fd.Min
		}
		if fd.Max != "" {
			s["maximum"] = fd.Max
		}
		if len(fd.AllowedValues) > 0 && fd.Type == FieldInteger {
			vals := make([]any, len(fd.AllowedValues))
			for i, v := range fd.AllowedValues {
				vals[i] = json.Number(v)
			}
			s["enum"] = vals
		}
		return s
	case FieldBoolean:
		return map[string]any{"type": "boolean"}
	case FieldDate:
		return map[string]any{"type": "string", "format": "date"}
	case FieldDateTime:
		return map[string]any{"type": "string", "format": "date-time"}
	case FieldEmail:
		return map[string]any{"type": "string", "format": "email", "maxLength": num(int64(fd.EffectiveMaxLength()))}
	case FieldLink:
		return map[string]any{"type": "object", "additionalProperties": false, "required": []any{"url"},
			"properties": map[string]any{
				"url":   map[string]any{"type": "string", "format": "uri-reference", "maxLength": num(int64(fd.EffectiveMaxLength()))},
				"title": map[string]any{"type": "string", "maxLength": num(maxLinkTitleLength)},
			}}
	case FieldItemRef, FieldTermRef, FieldFile:
		return map[string]any{"type": "object", "additionalProperties": false, "required": []any{"id"},
			"properties": map[string]any{"id": idSchema}}
	case FieldImage:
		return map[string]any{"type": "object", "additionalProperties": false, "required": []any{"id"},
			"properties": map[string]any{
				"id":         idSchema,
				"alt":        map[string]any{"type": "string", "maxLength": num(maxAltLength)},
				"title":      map[string]any{"type": "string", "maxLength": num(maxLinkTitleLength)},
				"decorative": map[string]any{"type": "boolean"},
			}}
	}
	return map[string]any{}
}
