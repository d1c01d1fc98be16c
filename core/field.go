package core

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Field types. docs/config-formats.md gives each one's JSON value shape.
const (
	FieldText     = "text"      // one line of plain text: "..."
	FieldLongText = "long_text" // text with a format: "..."
	FieldInteger  = "integer"   // 64-bit integer: 42
	FieldDecimal  = "decimal"   // exact decimal as a string: "12.50"
	FieldBoolean  = "boolean"   // true | false
	FieldDate     = "date"      // "2006-01-02"
	FieldDateTime = "datetime"  // RFC 3339: "2006-01-02T15:04:05Z"
	FieldEmail    = "email"     // "someone@example.org"
	FieldLink     = "link"      // {"url": "...", "title": "..."}
	FieldItemRef  = "item_ref"  // {"id": "<item id>"}
	FieldTermRef  = "term_ref"  // {"id": "<term id>"}
	FieldFile     = "file"      // {"id": "<file id>"}
	FieldImage    = "image"     // {"id": "<file id>", "alt": "...", "title": "...", "decorative": false}
)

// FieldTypes lists every field type.
var FieldTypes = []string{
	FieldText, FieldLongText, FieldInteger, FieldDecimal, FieldBoolean, FieldDate,
	FieldDateTime, FieldEmail, FieldLink, FieldItemRef, FieldTermRef, FieldFile, FieldImage,
}

// Text formats of long_text fields.
const (
	FormatPlain        = "plain"
	FormatMarkdown     = "markdown"
	FormatFilteredHTML = "filtered_html"
)

// Limits applied when a field does not set its own.
const (
	DefaultTextMaxLength     = 255
	MaxTextMaxLength         = 4096
	DefaultLongTextMaxLength = 1_000_000
	MaxLongTextMaxLength     = 10_000_000
	MaxTitleLength           = 255
	maxURLLength             = 2048
	maxLinkTitleLength       = 255
	maxAltLength             = 512
	maxDecimalDigits         = 40
)

// FileInfo is what a RefChecker knows about a stored file.
type FileInfo struct {
	MIME string // sniffed from the content
	Size int64
}

// RefChecker resolves the references of one item's fields in one batch per
// kind. Each method returns an entry for every id that exists (in the stage
// the caller validates for) and none for missing ones; an error means the
// lookup itself failed.
type RefChecker interface {
	// ItemTypesOf returns the item type name of each existing item.
	ItemTypesOf(ctx context.Context, ids []ID) (map[ID]string, error)
	// TermVocabularies returns the vocabulary name of each existing term.
	TermVocabularies(ctx context.Context, ids []ID) (map[ID]string, error)
	// FilesExist returns the MIME type and size of each existing file.
	FilesExist(ctx context.Context, ids []ID) (map[ID]FileInfo, error)
}

// ValidateTitle checks an item title: 1 to 255 characters of valid UTF-8,
// not blank, no control characters. It returns an EInvalid *Error naming
// the path "title".
func ValidateTitle(title string) error {
	msg := ""
	switch n := utf8.RuneCountInString(title); {
	case !utf8.ValidString(title):
		msg = "is not valid UTF-8"
	case strings.TrimSpace(title) == "":
		msg = "is required"
	case n > MaxTitleLength:
		msg = fmt.Sprintf("must be at most %d characters (got %d)", MaxTitleLength, n)
	case hasControl(title, false):
		msg = "must not contain control characters or line breaks"
	}
	if msg == "" {
		return nil
	}
	return InvalidFields("invalid title", []FieldError{{Path: "title", Message: msg}})
}

// hasControl reports control characters; allowLines permits \n and \t.
func hasControl(s string, allowLines bool) bool {
	for _, r := range s {
		if allowLines && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	return false
}

// refKind tells which RefChecker lookup resolves a reference.
type refKind int

const (
	refItem refKind = iota
	refTerm
	refFile
)

type refUse struct {
	kind  refKind
	id    ID
	path  string
	field *FieldDef
}

// valCtx collects the problems and references found while validating.
type valCtx struct {
	errs []FieldError
	refs []refUse
}

func (c *valCtx) fail(p, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Path: p, Message: fmt.Sprintf(format, args...)})
}

// ValidateFields validates one item's fields (a JSON object keyed by field
// name) against the type: strict decoding (unknown fields, wrong JSON types,
// invalid UTF-8, duplicate keys), per-type checks, cardinality, required
// fields, and references through refs in one batch per kind. Missing fields
// that have a default get it; a field sent as null (or "" for text-like
// types, or []) is empty and gets no default. It returns the normalized
// fields as canonical JSON (sorted keys, empty fields left out), or one
// EInvalid *Error listing every bad path ("fields.related[1].id"). A nil
// refs skips the reference lookups (for checks without a store); an error
// from refs is returned wrapped, not as EInvalid.
func (t *ItemType) ValidateFields(ctx context.Context, fields json.RawMessage, refs RefChecker) (json.RawMessage, error) {
	obj, errs := decodeFieldsObject(fields)
	if obj == nil {
		return nil, InvalidFields("invalid fields", errs)
	}
	bad := map[string]bool{}
	for _, e := range errs {
		bad[e.Path] = true
	}
	out, c := t.validateObject(obj, bad, func(fd *FieldDef) bool { return len(fd.Default) > 0 })
	errs = append(errs, c.errs...)
	if refs != nil && len(c.refs) > 0 {
		refErrs, err := checkRefs(ctx, refs, c.refs)
		if err != nil {
			return nil, fmt.Errorf("validate references of %s fields: %w", t.Name, err)
		}
		errs = append(errs, refErrs...)
	}
	if len(errs) > 0 {
		return nil, InvalidFields(fmt.Sprintf("invalid fields for item type %s", t.Name), errs)
	}
	return canonicalJSONSize(out, len(fields)), nil
}

// decodeFieldsObject decodes an item's fields strictly. Empty input and null
// mean no fields. A nil map means the input is unusable; errs says why.
func decodeFieldsObject(fields json.RawMessage) (map[string]any, []FieldError) {
	if len(strings.TrimSpace(string(fields))) == 0 {
		return map[string]any{}, nil
	}
	v, errs, err := decodeJSONTree(fields, "fields", nil)
	if err != nil {
		return nil, []FieldError{{Path: "fields", Message: "invalid JSON: " + err.Error()}}
	}
	switch v := v.(type) {
	case nil:
		return map[string]any{}, errs
	case map[string]any:
		return v, errs
	}
	return nil, []FieldError{{Path: "fields", Message: "must be an object, not " + jsonTypeName(v)}}
}

// validateObject validates obj against t. bad holds paths already reported
// (invalid UTF-8, duplicate keys) that are not checked again. useDefault
// says whether a missing field gets its default.
func (t *ItemType) validateObject(obj map[string]any, bad map[string]bool, useDefault func(*FieldDef) bool) (map[string]any, *valCtx) {
	c := &valCtx{}
	unknown := make([]string, 0)
	for k := range obj {
		if t.Field(k) == nil {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		c.fail(joinPath("fields", k), "unknown field (item type %s has no field %q)", t.Name, k)
	}
	out := map[string]any{}
	for i := range t.Fields {
		fd := &t.Fields[i]
		p := joinPath("fields", fd.Name)
		if bad[p] {
			continue
		}
		v, present := obj[fd.Name]
		if !present && useDefault(fd) {
			dv, err := decodeJSONValue(fd.Default)
			if err == nil {
				v, present = dv, true
			}
		}
		if !present || isEmptyValue(fd, v) {
			if fd.Required {
				c.fail(p, "is required")
			}
			continue
		}
		if nv, ok := fd.validate(v, p, c, bad); ok {
			out[fd.Name] = nv
		}
	}
	return out, c
}

func isEmptyValue(fd *FieldDef, v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == "" && fd.stringValued()
	case []any:
		return len(v) == 0 && fd.Multiple()
	}
	return false
}

// stringValued reports whether a value of the field's type is a JSON string
// for which "" means empty.
func (fd *FieldDef) stringValued() bool {
	switch fd.Type {
	case FieldText, FieldLongText, FieldEmail, FieldDate, FieldDateTime, FieldDecimal:
		return true
	}
	return false
}

// validate checks one field's whole value (a list for multi-valued fields)
// and returns it normalized.
func (fd *FieldDef) validate(v any, p string, c *valCtx, bad map[string]bool) (any, bool) {
	if !fd.Multiple() {
		if _, isList := v.([]any); isList {
			c.fail(p, "must be a single value, not a list (cardinality 1)")
			return nil, false
		}
		return fd.validateOne(v, p, c)
	}
	list, ok := v.([]any)
	if !ok {
		c.fail(p, "must be a list (cardinality %s), not %s", fd.cardinalityString(), jsonTypeName(v))
		return nil, false
	}
	if fd.Cardinality > 0 && len(list) > fd.Cardinality {
		c.fail(p, "has %d values; at most %d allowed", len(list), fd.Cardinality)
	}
	out := make([]any, 0, len(list))
	okAll := true
	seen := map[string]int{}
	for i, el := range list {
		ep := indexPath(p, i)
		if bad[ep] || hasBadPrefix(bad, ep) {
			okAll = false
			continue
		}
		if el == nil {
			c.fail(ep, "must not be null")
			okAll = false
			continue
		}
		nv, ok := fd.validateOne(el, ep, c)
		if !ok {
			okAll = false
			continue
		}
		if fd.Type == FieldItemRef || fd.Type == FieldTermRef {
			id := nv.(map[string]any)["id"].(string)
			if first, dup := seen[id]; dup {
				c.fail(ep+".id", "duplicate reference (also at index %d)", first)
				okAll = false
				continue
			}
			seen[id] = i
		}
		out = append(out, nv)
	}
	return out, okAll
}

func hasBadPrefix(bad map[string]bool, p string) bool {
	for b := range bad {
		if strings.HasPrefix(b, p+".") || strings.HasPrefix(b, p+"[") {
			return true
		}
	}
	return false
}

func jsonTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64, int, int64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// validateOne checks a single value of the field's type.
func (fd *FieldDef) validateOne(v any, p string, c *valCtx) (any, bool) {
	n := len(c.errs)
	out := fd.checkOne(v, p, c)
	return out, len(c.errs) == n
}

func (fd *FieldDef) checkOne(v any, p string, c *valCtx) any {
	wrongType := func(want string) any {
		c.fail(p, "must be %s, not %s", want, jsonTypeName(v))
		return nil
	}
	switch fd.Type {
	case FieldText, FieldLongText:
		s, ok := v.(string)
		if !ok {
			return wrongType("a string")
		}
		long := fd.Type == FieldLongText
		if long {
			s = strings.ReplaceAll(s, "\r\n", "\n")
		}
		if hasControl(s, long) {
			if long {
				c.fail(p, "must not contain control characters other than line breaks and tabs")
			} else {
				c.fail(p, "must be one line without control characters")
			}
			return nil
		}
		if n, max := utf8.RuneCountInString(s), fd.EffectiveMaxLength(); n > max {
			c.fail(p, "must be at most %d characters (got %d)", max, n)
			return nil
		}
		if len(fd.AllowedValues) > 0 && !slices.Contains(fd.AllowedValues, s) {
			c.fail(p, "must be one of %s", quoteList(fd.AllowedValues))
			return nil
		}
		return s
	case FieldInteger:
		num, ok := v.(json.Number)
		if !ok {
			return wrongType("an integer")
		}
		i, msg := parseInteger(string(num))
		if msg != "" {
			c.fail(p, "%s", msg)
			return nil
		}
		if !fd.checkRange(new(big.Rat).SetInt64(i), p, c) {
			return nil
		}
		s := strconv.FormatInt(i, 10)
		if len(fd.AllowedValues) > 0 && !slices.Contains(fd.AllowedValues, s) {
			c.fail(p, "must be one of %s", strings.Join(fd.AllowedValues, ", "))
			return nil
		}
		return json.Number(s)
	case FieldDecimal:
		var lit string
		switch d := v.(type) {
		case json.Number:
			lit = string(d)
		case string:
			lit = d
		default:
			return wrongType("a decimal number (a string such as \"12.50\" or a number)")
		}
		s, r, ok := parseDecimal(lit)
		if !ok {
			c.fail(p, "must be a decimal number such as 12.50, not %q", truncateRunes(lit, 40))
			return nil
		}
		if fd.Scale != nil {
			if got := decimalScale(s); got > *fd.Scale {
				c.fail(p, "must have at most %d digits after the decimal point (got %d)", *fd.Scale, got)
				return nil
			}
			s = padScale(s, *fd.Scale)
		}
		if !fd.checkRange(r, p, c) {
			return nil
		}
		if len(fd.AllowedValues) > 0 && !slices.ContainsFunc(fd.AllowedValues, func(a string) bool {
			_, ar, ok := parseDecimal(a)
			return ok && ar.Cmp(r) == 0
		}) {
			c.fail(p, "must be one of %s", strings.Join(fd.AllowedValues, ", "))
			return nil
		}
		return s
	case FieldBoolean:
		b, ok := v.(bool)
		if !ok {
			return wrongType("true or false")
		}
		return b
	case FieldDate:
		s, ok := v.(string)
		if !ok {
			return wrongType("a date string (YYYY-MM-DD)")
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil || len(s) != 10 {
			c.fail(p, "must be a date as YYYY-MM-DD, not %q", truncateRunes(s, 40))
			return nil
		}
		return s
	case FieldDateTime:
		s, ok := v.(string)
		if !ok {
			return wrongType("a date-time string (RFC 3339)")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			c.fail(p, "must be an RFC 3339 date-time such as 2024-05-01T14:30:00Z, not %q", truncateRunes(s, 60))
			return nil
		}
		return t.Format(time.RFC3339Nano)
	case FieldEmail:
		s, ok := v.(string)
		if !ok {
			return wrongType("an email address string")
		}
		if msg := checkEmail(s); msg != "" {
			c.fail(p, "%s", msg)
			return nil
		}
		if max := fd.EffectiveMaxLength(); utf8.RuneCountInString(s) > max {
			c.fail(p, "must be at most %d characters", max)
			return nil
		}
		return s
	case FieldLink:
		m, ok := v.(map[string]any)
		if !ok {
			return wrongType(`an object {"url": ..., "title": ...}`)
		}
		if !checkKeys(m, p, c, "url", "title") {
			return nil
		}
		out := map[string]any{}
		u, ok := m["url"].(string)
		switch {
		case m["url"] == nil:
			c.fail(p+".url", "is required")
		case !ok:
			c.fail(p+".url", "must be a string, not %s", jsonTypeName(m["url"]))
		default:
			if msg := checkLinkURL(u); msg != "" {
				c.fail(p+".url", "%s", msg)
			} else if max := fd.EffectiveMaxLength(); utf8.RuneCountInString(u) > max {
				c.fail(p+".url", "must be at most %d characters", max)
			}
			out["url"] = u
		}
		if t, present := m["title"]; present && t != nil {
			if s, ok := checkShortString(t, p+".title", maxLinkTitleLength, c); ok && s != "" {
				out["title"] = s
			}
		}
		return out
	case FieldItemRef, FieldTermRef, FieldFile:
		m, ok := v.(map[string]any)
		if !ok {
			return wrongType(`an object {"id": ...}`)
		}
		if !checkKeys(m, p, c, "id") {
			return nil
		}
		id, ok := fd.checkRefID(m, p, c)
		if !ok {
			return nil
		}
		return map[string]any{"id": id.String()}
	case FieldImage:
		m, ok := v.(map[string]any)
		if !ok {
			return wrongType(`an object {"id": ..., "alt": ...}`)
		}
		if !checkKeys(m, p, c, "id", "alt", "title", "decorative") {
			return nil
		}
		out := map[string]any{}
		if id, ok := fd.checkRefID(m, p, c); ok {
			out["id"] = id.String()
		}
		decorative := false
		if d, present := m["decorative"]; present && d != nil {
			b, ok := d.(bool)
			if !ok {
				c.fail(p+".decorative", "must be true or false, not %s", jsonTypeName(d))
			} else if b {
				decorative = true
				out["decorative"] = true
			}
		}
		alt := ""
		if a, present := m["alt"]; present && a != nil {
			alt, _ = checkShortString(a, p+".alt", maxAltLength, c)
		}
		if strings.TrimSpace(alt) == "" {
			if !decorative {
				c.fail(p+".alt", "is required (describe the image, or set decorative: true)")
			}
		} else {
			out["alt"] = alt
		}
		if t, present := m["title"]; present && t != nil {
			if s, ok := checkShortString(t, p+".title", maxLinkTitleLength, c); ok && s != "" {
				out["title"] = s
			}
		}
		return out
	}
	c.fail(p, "has unknown field type %q", fd.Type)
	return nil
}

func checkKeys(m map[string]any, p string, c *valCtx, allowed ...string) bool {
	ok := true
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			c.fail(joinPath(p, k), "unknown key (allowed: %s)", strings.Join(allowed, ", "))
			ok = false
		}
	}
	return ok
}

func checkShortString(v any, p string, max int, c *valCtx) (string, bool) {
	s, ok := v.(string)
	switch {
	case !ok:
		c.fail(p, "must be a string, not %s", jsonTypeName(v))
	case hasControl(s, false):
		c.fail(p, "must be one line without control characters")
	case utf8.RuneCountInString(s) > max:
		c.fail(p, "must be at most %d characters (got %d)", max, utf8.RuneCountInString(s))
	default:
		return s, true
	}
	return "", false
}

func (fd *FieldDef) checkRefID(m map[string]any, p string, c *valCtx) (ID, bool) {
	raw, present := m["id"]
	s, ok := raw.(string)
	switch {
	case !present || raw == nil:
		c.fail(p+".id", "is required")
		return NilID, false
	case !ok:
		c.fail(p+".id", "must be an id string, not %s", jsonTypeName(raw))
		return NilID, false
	}
	id, err := ParseID(s)
	if err != nil || id == NilID {
		c.fail(p+".id", "%q is not a valid id", truncateRunes(s, 40))
		return NilID, false
	}
	kind := refItem
	switch fd.Type {
	case FieldTermRef:
		kind = refTerm
	case FieldFile, FieldImage:
		kind = refFile
	}
	c.refs = append(c.refs, refUse{kind: kind, id: id, path: p + ".id", field: fd})
	return id, true
}

func (fd *FieldDef) checkRange(r *big.Rat, p string, c *valCtx) bool {
	if fd.Min != "" {
		if _, min, ok := parseDecimal(string(fd.Min)); ok && r.Cmp(min) < 0 {
			c.fail(p, "must be at least %s", fd.Min)
			return false
		}
	}
	if fd.Max != "" {
		if _, max, ok := parseDecimal(string(fd.Max)); ok && r.Cmp(max) > 0 {
			c.fail(p, "must be at most %s", fd.Max)
			return false
		}
	}
	return true
}

var integerRE = regexp.MustCompile(`^-?[0-9]+$`)

// parseInteger parses a JSON integer literal into an int64; msg says why
// it is refused.
func parseInteger(s string) (int64, string) {
	if !integerRE.MatchString(s) {
		return 0, fmt.Sprintf("must be a whole number, not %s", truncateRunes(s, 40))
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, "must be between -9223372036854775808 and 9223372036854775807"
	}
	return i, ""
}

var decimalRE = regexp.MustCompile(`^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]{1,3}))?$`)

// parseDecimal parses a decimal literal (sign, digits, optional fraction,
// optional exponent) without rounding. canon is the plain form without
// exponent or superfluous leading zeros; trailing fraction zeros are kept.
func parseDecimal(lit string) (canon string, r *big.Rat, ok bool) {
	m := decimalRE.FindStringSubmatch(strings.TrimSpace(lit))
	if m == nil || m[2]+m[3] == "" {
		return "", nil, false
	}
	intPart, frac := m[2], m[3]
	if m[4] != "" {
		exp, _ := strconv.Atoi(m[4])
		digits := intPart + frac
		point := len(intPart) + exp
		switch {
		case point < 0:
			digits = strings.Repeat("0", -point) + digits
			point = 0
		case point > len(digits):
			digits += strings.Repeat("0", point-len(digits))
		}
		intPart, frac = digits[:point], digits[point:]
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	if len(intPart)+len(frac) > maxDecimalDigits {
		return "", nil, false
	}
	canon = intPart
	if frac != "" {
		canon += "." + frac
	}
	if m[1] == "-" && strings.Trim(canon, "0.") != "" {
		canon = "-" + canon
	}
	r, ok = new(big.Rat).SetString(canon)
	return canon, r, ok
}

func decimalScale(canon string) int {
	if i := strings.IndexByte(canon, '.'); i >= 0 {
		return len(canon) - i - 1
	}
	return 0
}

func padScale(canon string, scale int) string {
	have := decimalScale(canon)
	if have >= scale {
		return canon
	}
	if have == 0 {
		canon += "."
	}
	return canon + strings.Repeat("0", scale-have)
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

// checkEmail returns why s is not a plain email address, or "".
func checkEmail(s string) string {
	if len(s) > 254 {
		return "must be at most 254 characters"
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return fmt.Sprintf("must be an email address such as someone@example.org, not %q", truncateRunes(s, 60))
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.HasPrefix(domain, "[") {
		return fmt.Sprintf("%q needs a domain name such as example.org", truncateRunes(s, 60))
	}
	return ""
}

// checkLinkURL returns why u is not an allowed link target, or "". Allowed:
// http and https URLs with a host, mailto: with an address, and relative
// references (/path, path, ?query, #fragment). Everything else, including
// javascript: and data: URLs and protocol-relative //host, is refused.
func checkLinkURL(u string) string {
	if u == "" {
		return "is required"
	}
	if len(u) > maxURLLength {
		return fmt.Sprintf("must be at most %d characters", maxURLLength)
	}
	for _, r := range u {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "must not contain spaces or control characters"
		}
	}
	if strings.HasPrefix(u, "//") || strings.HasPrefix(u, `\\`) || strings.HasPrefix(u, `/\`) {
		return "protocol-relative URLs are not allowed; write https://..."
	}
	pu, err := url.Parse(u)
	if err != nil {
		return fmt.Sprintf("is not a valid URL: %q", truncateRunes(u, 60))
	}
	switch strings.ToLower(pu.Scheme) {
	case "":
		first := u
		if i := strings.IndexAny(u, "/?#"); i >= 0 {
			first = u[:i]
		}
		if strings.Contains(first, ":") {
			return fmt.Sprintf("is not a valid URL: %q", truncateRunes(u, 60))
		}
		return ""
	case "http", "https":
		if pu.Host == "" || pu.Hostname() == "" {
			return "needs a host, as in https://example.org/"
		}
		if pu.User != nil {
			return "must not contain a user name or password"
		}
		return ""
	case "mailto":
		if msg := checkEmail(strings.SplitN(pu.Opaque, "?", 2)[0]); msg != "" {
			return "mailto: " + msg
		}
		return ""
	}
	return fmt.Sprintf("scheme %q is not allowed (use http, https, mailto or a relative path)", pu.Scheme)
}

// checkRefs resolves every reference with one lookup per kind and reports
// missing ones and ones the field does not allow.
func checkRefs(ctx context.Context, rc RefChecker, uses []refUse) ([]FieldError, error) {
	ids := map[refKind][]ID{}
	seen := map[refKind]map[ID]bool{}
	for _, u := range uses {
		if seen[u.kind] == nil {
			seen[u.kind] = map[ID]bool{}
		}
		if !seen[u.kind][u.id] {
			seen[u.kind][u.id] = true
			ids[u.kind] = append(ids[u.kind], u.id)
		}
	}
	var items, terms map[ID]string
	var files map[ID]FileInfo
	var err error
	if len(ids[refItem]) > 0 {
		if items, err = rc.ItemTypesOf(ctx, ids[refItem]); err != nil {
			return nil, fmt.Errorf("look up items: %w", err)
		}
	}
	if len(ids[refTerm]) > 0 {
		if terms, err = rc.TermVocabularies(ctx, ids[refTerm]); err != nil {
			return nil, fmt.Errorf("look up terms: %w", err)
		}
	}
	if len(ids[refFile]) > 0 {
		if files, err = rc.FilesExist(ctx, ids[refFile]); err != nil {
			return nil, fmt.Errorf("look up files: %w", err)
		}
	}
	var errs []FieldError
	fail := func(u refUse, format string, args ...any) {
		errs = append(errs, FieldError{Path: u.path, Message: fmt.Sprintf(format, args...)})
	}
	for _, u := range uses {
		fd := u.field
		switch u.kind {
		case refItem:
			typ, ok := items[u.id]
			if !ok {
				fail(u, "item %s does not exist", u.id)
			} else if len(fd.TargetTypes) > 0 && !slices.Contains(fd.TargetTypes, typ) {
				fail(u, "item %s is of type %s; allowed: %s", u.id, typ, strings.Join(fd.TargetTypes, ", "))
			}
		case refTerm:
			voc, ok := terms[u.id]
			if !ok {
				fail(u, "term %s does not exist", u.id)
			} else if fd.Vocabulary != "" && voc != fd.Vocabulary {
				fail(u, "term %s belongs to vocabulary %s, not %s", u.id, voc, fd.Vocabulary)
			}
		case refFile:
			fi, ok := files[u.id]
			switch {
			case !ok:
				fail(u, "file %s does not exist", u.id)
			case fd.Type == FieldImage && !strings.HasPrefix(fi.MIME, "image/"):
				fail(u, "file %s is %s, not an image", u.id, fi.MIME)
			case len(fd.AllowedMIME) > 0 && !mimeAllowed(fd.AllowedMIME, fi.MIME):
				fail(u, "file %s is %s; allowed: %s", u.id, fi.MIME, strings.Join(fd.AllowedMIME, ", "))
			case fd.MaxSize > 0 && fi.Size > fd.MaxSize:
				fail(u, "file %s is %d bytes; at most %d allowed", u.id, fi.Size, fd.MaxSize)
			}
		}
	}
	return errs, nil
}

// mimeAllowed matches a MIME type (parameters ignored) against patterns such
// as image/png or image/*.
func mimeAllowed(patterns []string, mime string) bool {
	mime = strings.ToLower(strings.TrimSpace(strings.SplitN(mime, ";", 2)[0]))
	for _, p := range patterns {
		if p == mime {
			return true
		}
		if prefix, ok := strings.CutSuffix(p, "/*"); ok && strings.HasPrefix(mime, prefix+"/") {
			return true
		}
	}
	return false
}

// ---- diff ----

// FieldChange is one difference between two JSON documents: the value at
// Path in the old document and in the new one (absent on one side when a
// key or list element was added or removed).
type FieldChange struct {
	Path string          `json:"path"`
	Old  json.RawMessage `json:"old,omitempty"`
	New  json.RawMessage `json:"new,omitempty"`
}

// DiffFields compares two items' fields field by field, recursing into
// objects and lists, with paths like fields.tags[2] and fields.image.alt.
// Changes come in a stable order (keys sorted, list elements by index).
func DiffFields(a, b json.RawMessage) []FieldChange {
	return DiffJSON("fields", a, b)
}

// DiffJSON compares two JSON documents under a root path. Input that is not
// valid JSON is compared as a whole.
func DiffJSON(root string, a, b json.RawMessage) []FieldChange {
	av, aok := decodeOrAbsent(a)
	bv, bok := decodeOrAbsent(b)
	var out []FieldChange
	diffValues(root, av, bv, aok, bok, &out)
	return out
}

// decodeOrAbsent decodes raw; empty input is absent, invalid JSON is kept as
// a raw string so it still compares.
func decodeOrAbsent(raw json.RawMessage) (any, bool) {
	if len(strings.TrimSpace(string(raw))) == 0 {
		return nil, false
	}
	v, err := decodeJSONValue(raw)
	if err != nil {
		return string(raw), true
	}
	return v, true
}

func diffValues(p string, a, b any, aok, bok bool, out *[]FieldChange) {
	change := func() {
		c := FieldChange{Path: p}
		if aok {
			c.Old = canonicalJSON(a)
		}
		if bok {
			c.New = canonicalJSON(b)
		}
		*out = append(*out, c)
	}
	if !aok || !bok {
		if aok != bok {
			change()
		}
		return
	}
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			change()
			return
		}
		keys := make([]string, 0, len(av)+len(bv))
		for k := range av {
			keys = append(keys, k)
		}
		for k := range bv {
			if _, dup := av[k]; !dup {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			x, xok := av[k]
			y, yok := bv[k]
			diffValues(joinPath(p, k), x, y, xok, yok, out)
		}
	case []any:
		bv, ok := b.([]any)
		if !ok {
			change()
			return
		}
		for i := 0; i < max(len(av), len(bv)); i++ {
			var x, y any
			if i < len(av) {
				x = av[i]
			}
			if i < len(bv) {
				y = bv[i]
			}
			diffValues(indexPath(p, i), x, y, i < len(av), i < len(bv), out)
		}
	default:
		if !jsonScalarEqual(a, b) {
			change()
		}
	}
}

func jsonScalarEqual(a, b any) bool {
	if an, ok := a.(json.Number); ok {
		bn, ok := b.(json.Number)
		if !ok {
			return false
		}
		_, ar, ok1 := parseDecimal(string(an))
		_, br, ok2 := parseDecimal(string(bn))
		if ok1 && ok2 {
			return ar.Cmp(br) == 0
		}
		return an == bn
	}
	return a == b
}

// FormatDiff renders changes as readable text: "~ path: old -> new",
// "+ path: new", "- path: old", and for multi-line text values a unified
// line diff. Marshal the changes themselves for a machine-readable form.
func FormatDiff(changes []FieldChange) string {
	var b strings.Builder
	for _, c := range changes {
		var os, ns string
		oStr := json.Unmarshal(c.Old, &os) == nil
		nStr := json.Unmarshal(c.New, &ns) == nil
		switch {
		case c.Old == nil:
			fmt.Fprintf(&b, "+ %s: %s\n", c.Path, c.New)
		case c.New == nil:
			fmt.Fprintf(&b, "- %s: %s\n", c.Path, c.Old)
		case oStr && nStr && (strings.Contains(os, "\n") || strings.Contains(ns, "\n")):
			fmt.Fprintf(&b, "~ %s:\n", c.Path)
			b.WriteString(UnifiedDiff(c.Path+" (old)", c.Path+" (new)", os, ns, 3))
		default:
			fmt.Fprintf(&b, "~ %s: %s -> %s\n", c.Path, c.Old, c.New)
		}
	}
	return b.String()
}

// maxDiffCells bounds the line-matching table of UnifiedDiff; beyond it the
// changed middle part is shown as replaced whole.
const maxDiffCells = 4_000_000

// UnifiedDiff returns a unified diff of two texts by lines, with context
// lines around each change; "" when they are equal.
func UnifiedDiff(nameA, nameB, a, b string, context int) string {
	if a == b {
		return ""
	}
	al, bl := splitLines(a), splitLines(b)
	ops := diffLines(al, bl)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	// Group operations into hunks separated by more than 2*context equal lines.
	type op struct {
		kind byte // ' ', '-', '+'
		line string
		ai   int // index in a (for ' ' and '-')
		bi   int // index in b (for ' ' and '+')
	}
	var all []op
	ai, bi := 0, 0
	for _, o := range ops {
		switch o {
		case ' ':
			all = append(all, op{' ', al[ai], ai, bi})
			ai++
			bi++
		case '-':
			all = append(all, op{'-', al[ai], ai, bi})
			ai++
		case '+':
			all = append(all, op{'+', bl[bi], ai, bi})
			bi++
		}
	}
	for i := 0; i < len(all); {
		if all[i].kind == ' ' {
			i++
			continue
		}
		start := max(i-context, 0)
		end := i
		for end < len(all) {
			if all[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(all) && all[run].kind == ' ' {
				run++
			}
			if run == len(all) || run-end > 2*context {
				end = min(end+context, len(all))
				break
			}
			end = run
		}
		h := all[start:end]
		aStart, bStart, aCount, bCount := h[0].ai, h[0].bi, 0, 0
		for _, o := range h {
			if o.kind != '+' {
				aCount++
			}
			if o.kind != '-' {
				bCount++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aCount), hunkRange(bStart, bCount))
		for _, o := range h {
			out.WriteByte(o.kind)
			out.WriteString(o.line)
			out.WriteByte('\n')
		}
		i = end
	}
	return out.String()
}

func hunkRange(start, count int) string {
	if count == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if count == 1 {
		return strconv.Itoa(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, count)
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// diffLines returns edit operations (' ' keep, '-' delete, '+' insert)
// turning a into b: common prefix and suffix, then a longest common
// subsequence of the middle when it is small enough.
func diffLines(a, b []string) []byte {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	ops := make([]byte, 0, len(a)+len(b))
	for range pre {
		ops = append(ops, ' ')
	}
	if (len(ma)+1)*(len(mb)+1) > maxDiffCells {
		for range ma {
			ops = append(ops, '-')
		}
		for range mb {
			ops = append(ops, '+')
		}
	} else {
		n, m := len(ma), len(mb)
		lcs := make([][]int32, n+1)
		for i := range lcs {
			lcs[i] = make([]int32, m+1)
		}
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && ma[i] == mb[j]:
				ops = append(ops, ' ')
				i++
				j++
			case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
				ops = append(ops, '-')
				i++
			default:
				ops = append(ops, '+')
				j++
			}
		}
	}
	for range suf {
		ops = append(ops, ' ')
	}
	return ops
}
