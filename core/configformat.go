package core

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// ConfigDoc is one config document: site settings, an item type, a
// vocabulary, a menu, an alias pattern, and the kinds later issues add. The
// same document travels through files, the CLI's apply commands, config
// export/import and API bodies (docs/config-formats.md).
type ConfigDoc struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Body is the whole document (kind and name included) as canonical
	// JSON: object keys sorted, no insignificant whitespace, numbers as
	// written.
	Body json.RawMessage `json:"body"`
}

// MaxConfigFileSize bounds what ParseConfigFile accepts.
const MaxConfigFileSize = 8 << 20

//go:embed schemas/*.schema.json
var schemaFS embed.FS

// configKind is one entry of the registry of document kinds: its compiled
// JSON Schema and the semantic checks the schema cannot express.
type configKind struct {
	schema *jsonschema.Schema
	// order lists the top-level keys in the order the schema declares them;
	// MarshalConfigYAML writes them in this order.
	order []string
	// nested lists the keys of nested objects (from the schema's $defs) in
	// declaration order.
	nested []string
	check  func(v map[string]any) []FieldError
}

// semanticChecks holds the checks that go beyond a kind's JSON Schema. A
// kind without an entry is checked by its schema alone.
var semanticChecks = map[string]func(map[string]any) []FieldError{
	"item_type":     checkItemTypeDoc,
	"site":          checkSiteDoc,
	"alias_pattern": checkAliasPatternDoc,
	"gather":        checkGatherDoc,
	"tile":          checkTileDoc,
}

// configKinds is the registry: one kind per core/schemas/<kind>.schema.json.
// Adding a kind (gather, tile, theme_settings) is adding its schema file and,
// if needed, an entry in semanticChecks.
var configKinds = mustLoadConfigKinds()

func mustLoadConfigKinds() map[string]*configKind {
	kinds, err := loadConfigKinds()
	if err != nil {
		panic(err) // the schemas are embedded: a broken one is a build defect
	}
	return kinds
}

func loadConfigKinds() (map[string]*configKind, error) {
	entries, err := schemaFS.ReadDir("schemas")
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	kinds := map[string]*configKind{}
	urls := map[string]string{}
	for _, e := range entries {
		data, err := schemaFS.ReadFile("schemas/" + e.Name())
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", e.Name(), err)
		}
		k := strings.TrimSuffix(e.Name(), ".schema.json")
		url := "https://trovato.dev/schemas/" + e.Name()
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", e.Name(), err)
		}
		order, nested, err := schemaOrders(data)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", e.Name(), err)
		}
		urls[k] = url
		kinds[k] = &configKind{order: order, nested: nested, check: semanticChecks[k]}
	}
	for k, url := range urls {
		s, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", k, err)
		}
		kinds[k].schema = s
	}
	return kinds, nil
}

// schemaOrders returns the keys of the schema's top-level "properties" in
// declaration order, and those of the "properties" of its $defs (the nested
// objects), concatenated without duplicates.
func schemaOrders(schema []byte) (top, nested []string, err error) {
	var s struct {
		Properties json.RawMessage `json:"properties"`
		Defs       map[string]struct {
			Properties json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(schema, &s); err != nil {
		return nil, nil, err
	}
	if top, err = propertyOrder(s.Properties); err != nil {
		return nil, nil, err
	}
	defs := make([]string, 0, len(s.Defs))
	for name := range s.Defs {
		defs = append(defs, name)
	}
	sort.Strings(defs)
	for _, name := range defs {
		if len(s.Defs[name].Properties) == 0 {
			continue
		}
		keys, err := propertyOrder(s.Defs[name].Properties)
		if err != nil {
			return nil, nil, err
		}
		for _, k := range keys {
			if !slices.Contains(nested, k) {
				nested = append(nested, k)
			}
		}
	}
	return top, nested, nil
}

// propertyOrder returns the keys of a JSON object in document order.
func propertyOrder(props json.RawMessage) ([]string, error) {
	if len(props) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(props))
	var order []string
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return order, nil
		} else if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				depth++
			} else {
				depth--
			}
		case string:
			if depth == 1 {
				order = append(order, t)
				// Skip the property's schema.
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return nil, err
				}
			}
		}
	}
}

// ConfigKinds returns the names of the known document kinds, sorted.
func ConfigKinds() []string {
	names := make([]string, 0, len(configKinds))
	for k := range configKinds {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// ConfigSchema returns the JSON Schema of a document kind as embedded from
// core/schemas/<kind>.schema.json. It returns ENotFound for an unknown kind.
func ConfigSchema(kind string) ([]byte, error) {
	if _, ok := configKinds[kind]; !ok {
		return nil, unknownKindError(kind)
	}
	return schemaFS.ReadFile("schemas/" + kind + ".schema.json")
}

func unknownKindError(kind string) *Error {
	return Errorf(ENotFound, "unknown config kind %q (known: %s)", kind, strings.Join(ConfigKinds(), ", "))
}

var configNameRE = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// ValidConfigName reports whether name is a valid document name: 1 to 64
// characters of a-z, 0-9, _ and -.
func ValidConfigName(name string) bool { return configNameRE.MatchString(name) }

// ValidateConfigDoc validates one document body (an API request body, say)
// against the schema and semantic checks of kind. body must hold the whole
// document, kind and name included; its kind must equal kind. It returns an
// EInvalid *Error listing every bad path, or ENotFound for an unknown kind.
func ValidateConfigDoc(kind string, body json.RawMessage) error {
	_, err := ParseConfigDoc(kind, body)
	return err
}

// ParseConfigDoc is ValidateConfigDoc that also returns the document with
// its canonical body. An empty kind takes the kind from the body.
func ParseConfigDoc(kind string, body json.RawMessage) (ConfigDoc, error) {
	v, ferrs, err := decodeJSONTree(body, "", nil)
	if err != nil {
		return ConfigDoc{}, InvalidFields("invalid config document", []FieldError{{Path: "(document)", Message: err.Error()}})
	}
	if len(ferrs) > 0 {
		return ConfigDoc{}, InvalidFields("invalid config document", ferrs)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return ConfigDoc{}, InvalidFields("invalid config document", []FieldError{{Path: "(document)", Message: "must be an object with kind and name"}})
	}
	if kind == "" {
		kind, _ = obj["kind"].(string)
	}
	ck, ok := configKinds[kind]
	if !ok {
		return ConfigDoc{}, unknownKindError(kind)
	}
	if got, ok := obj["kind"].(string); ok && got != kind {
		return ConfigDoc{}, InvalidFields("invalid config document", []FieldError{{Path: "kind", Message: fmt.Sprintf("is %q, expected %q", got, kind)}})
	}
	if ferrs := ck.validate(obj); len(ferrs) > 0 {
		return ConfigDoc{}, InvalidFields("invalid "+kind+" document", ferrs)
	}
	name, _ := obj["name"].(string)
	return ConfigDoc{Kind: kind, Name: name, Body: canonicalJSON(obj)}, nil
}

// validate runs the schema and, when the schema passes, the semantic checks.
func (ck *configKind) validate(obj map[string]any) []FieldError {
	if errs := ck.schemaErrors(obj); len(errs) > 0 {
		return errs
	}
	if ck.check != nil {
		return ck.check(obj)
	}
	return nil
}

func (ck *configKind) schemaErrors(obj map[string]any) []FieldError {
	if err := ck.schema.Validate(obj); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return schemaFieldErrors(ve, obj)
		}
		return []FieldError{{Path: "(document)", Message: err.Error()}}
	}
	return nil
}

var schemaPrinter = message.NewPrinter(language.English)

// schemaFieldErrors flattens a validation error tree into one FieldError per
// failing leaf, with paths like fields[1].max_length.
func schemaFieldErrors(ve *jsonschema.ValidationError, doc any) []FieldError {
	var out []FieldError
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		p := pathFromPointer(doc, e.InstanceLocation)
		switch k := e.ErrorKind.(type) {
		case *kind.AnyOf, *kind.OneOf:
			// Alternatives at one location read best as one message.
			var msgs []string
			same := true
			for _, c := range e.Causes {
				if len(c.Causes) > 0 || !slices.Equal(c.InstanceLocation, e.InstanceLocation) {
					same = false
					break
				}
				msgs = append(msgs, schemaMessage(c.ErrorKind))
			}
			if same && len(msgs) > 0 {
				out = append(out, FieldError{Path: p, Message: strings.Join(msgs, ", or ")})
				return
			}
		case *kind.Required:
			for _, m := range k.Missing {
				out = append(out, FieldError{Path: joinPath(p, m), Message: "is required"})
			}
			return
		case *kind.AdditionalProperties:
			for _, m := range k.Properties {
				out = append(out, FieldError{Path: joinPath(p, m), Message: "unknown key"})
			}
			return
		}
		if len(e.Causes) == 0 {
			out = append(out, FieldError{Path: p, Message: schemaMessage(e.ErrorKind)})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	if len(out) == 0 {
		out = append(out, FieldError{Path: "(document)", Message: ve.Error()})
	}
	return out
}

func schemaMessage(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = schemaTypeName(w)
		}
		return fmt.Sprintf("must be %s, not %s", strings.Join(want, " or "), schemaTypeName(k.Got))
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = string(canonicalJSON(w))
		}
		return "must be one of " + strings.Join(want, ", ")
	case *kind.Const:
		return "must be " + string(canonicalJSON(k.Want))
	case *kind.Pattern:
		return fmt.Sprintf("%q does not match %s", k.Got, k.Want)
	case *kind.MinLength:
		return fmt.Sprintf("must be at least %d characters", k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d characters", k.Want)
	case *kind.Minimum:
		return "must be at least " + k.Want.RatString()
	case *kind.Maximum:
		return "must be at most " + k.Want.RatString()
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %d items", k.Want)
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d items", k.Want)
	}
	return k.LocalizedString(schemaPrinter)
}

func schemaTypeName(t string) string {
	switch t {
	case "integer", "object", "array":
		return map[string]string{"integer": "an integer", "object": "an object", "array": "a list"}[t]
	case "null":
		return "null"
	}
	return "a " + t
}

// pathFromPointer turns JSON pointer tokens into a path like a.b[2].c,
// looking at doc to tell array indexes from object keys.
func pathFromPointer(doc any, tokens []string) string {
	p := ""
	cur := doc
	for _, t := range tokens {
		switch c := cur.(type) {
		case []any:
			i, _ := strconv.Atoi(t)
			p = indexPath(p, i)
			if i >= 0 && i < len(c) {
				cur = c[i]
			} else {
				cur = nil
			}
		case map[string]any:
			p = joinPath(p, t)
			cur = c[t]
		default:
			p = joinPath(p, t)
			cur = nil
		}
	}
	return p
}

var plainKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// joinPath appends an object key to a path: a.b, or a["odd key"].
func joinPath(p, key string) string {
	if !plainKeyRE.MatchString(key) {
		return p + "[" + strconv.Quote(key) + "]"
	}
	if p == "" {
		return key
	}
	return p + "." + key
}

func indexPath(p string, i int) string { return p + "[" + strconv.Itoa(i) + "]" }

// ---- files ----

// srcPos is a 1-based line and column in a source file.
type srcPos struct{ line, col int }

// positions records where each path's value (and, for object members, its
// key) starts in the source.
type positions struct {
	val, key map[string]srcPos
}

func newPositions() *positions {
	return &positions{val: map[string]srcPos{}, key: map[string]srcPos{}}
}

// lookup finds the best position for an error at path: the key of an object
// member, else the value, else the nearest enclosing path.
func (ps *positions) lookup(p string) (srcPos, bool) {
	for {
		if pos, ok := ps.key[p]; ok {
			return pos, true
		}
		if pos, ok := ps.val[p]; ok {
			return pos, true
		}
		if p == "" {
			return srcPos{}, false
		}
		p = parentPath(p)
	}
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

type fileDoc struct {
	value any
	pos   *positions
	start srcPos
}

// ParseConfigFile parses a YAML or JSON file holding one or more config
// documents (YAML documents separated by ---; a JSON file holds one object
// or an array of objects; names ending in .json are JSON, anything else is
// YAML). Every document is validated against its kind's JSON Schema and
// semantic checks. All problems of all documents are reported in one
// EInvalid *Error whose field paths read "file:line:col: path"; a file
// larger than MaxConfigFileSize is ETooLarge.
func ParseConfigFile(filename string, data []byte) ([]ConfigDoc, error) {
	if len(data) > MaxConfigFileSize {
		return nil, Errorf(ETooLarge, "%s: config file larger than %d bytes", filename, MaxConfigFileSize)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	fail := func(pos srcPos, p, msg string) error {
		return InvalidFields("invalid config file "+filename, []FieldError{{Path: fileLoc(filename, pos, p), Message: msg}})
	}
	if !utf8.Valid(data) {
		off := invalidUTF8Offset(data)
		return nil, fail(offsetPos(data, off), "", "invalid UTF-8")
	}
	var docs []fileDoc
	var err error
	if strings.EqualFold(path.Ext(filename), ".json") {
		docs, err = jsonFileDocs(filename, data)
	} else {
		docs, err = yamlFileDocs(filename, data)
	}
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fail(srcPos{1, 1}, "", "no config documents in file")
	}
	var out []ConfigDoc
	var ferrs []FieldError
	seen := map[[2]string]srcPos{}
	for _, d := range docs {
		errs := func(list []FieldError) {
			type located struct {
				pos srcPos
				fe  FieldError
			}
			ls := make([]located, len(list))
			for i, fe := range list {
				pos, ok := d.pos.lookup(fe.Path)
				if !ok {
					pos = d.start
				}
				ls[i] = located{pos, fe}
			}
			sort.SliceStable(ls, func(i, j int) bool {
				a, b := ls[i].pos, ls[j].pos
				return a.line < b.line || a.line == b.line && a.col < b.col
			})
			for _, l := range ls {
				ferrs = append(ferrs, FieldError{Path: fileLoc(filename, l.pos, l.fe.Path), Message: l.fe.Message})
			}
		}
		obj, ok := d.value.(map[string]any)
		if !ok {
			errs([]FieldError{{Path: "", Message: "a document must be a mapping with kind and name"}})
			continue
		}
		k, ok := obj["kind"].(string)
		if !ok {
			errs([]FieldError{{Path: "kind", Message: "is required and must be a string"}})
			continue
		}
		ck, ok := configKinds[k]
		if !ok {
			errs([]FieldError{{Path: "kind", Message: fmt.Sprintf("unknown kind %q (known: %s)", k, strings.Join(ConfigKinds(), ", "))}})
			continue
		}
		if list := ck.validate(obj); len(list) > 0 {
			errs(list)
			continue
		}
		name := obj["name"].(string) // required by every schema
		id := [2]string{k, name}
		if first, dup := seen[id]; dup {
			errs([]FieldError{{Path: "name", Message: fmt.Sprintf("%s %q is defined twice in this file (first at line %d)", k, name, first.line)}})
			continue
		}
		seen[id] = d.start
		out = append(out, ConfigDoc{Kind: k, Name: name, Body: canonicalJSON(obj)})
	}
	if len(ferrs) > 0 {
		return nil, InvalidFields("invalid config file "+filename, ferrs)
	}
	return out, nil
}

func fileLoc(filename string, pos srcPos, p string) string {
	loc := fmt.Sprintf("%s:%d:%d", filename, pos.line, pos.col)
	if p == "" {
		return loc
	}
	return loc + ": " + p
}

func invalidUTF8Offset(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// offsetPos converts a byte offset into a 1-based line and column (in
// characters).
func offsetPos(data []byte, off int) srcPos {
	if off > len(data) {
		off = len(data)
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	lineStart := bytes.LastIndexByte(data[:off], '\n') + 1
	return srcPos{line, 1 + utf8.RuneCount(data[lineStart:off])}
}

func jsonFileDocs(filename string, data []byte) ([]fileDoc, error) {
	pos := newPositions()
	lc := &lineCounter{data: data, line: 1, col: 1}
	v, ferrs, err := decodeJSONTree(data, "", &jsonPosRecorder{pos: pos, lc: lc})
	if err != nil {
		var se *jsonSyntaxError
		at := len(data)
		if errors.As(err, &se) {
			at = se.Offset
		}
		return nil, InvalidFields("invalid config file "+filename, []FieldError{{Path: fileLoc(filename, offsetPos(data, at), ""), Message: "invalid JSON: " + err.Error()}})
	}
	if len(ferrs) > 0 {
		for i := range ferrs {
			p, _ := pos.lookup(ferrs[i].Path)
			ferrs[i].Path = fileLoc(filename, p, ferrs[i].Path)
		}
		return nil, InvalidFields("invalid config file "+filename, ferrs)
	}
	arr, ok := v.([]any)
	if !ok {
		return []fileDoc{{value: v, pos: pos, start: srcPos{1, 1}}}, nil
	}
	// An array of documents: re-root each element's positions.
	var docs []fileDoc
	for i, el := range arr {
		prefix := indexPath("", i)
		dp := newPositions()
		for p, sp := range pos.val {
			if rest, ok := strings.CutPrefix(p, prefix); ok {
				dp.val[strings.TrimPrefix(rest, ".")] = sp
			}
		}
		for p, sp := range pos.key {
			if rest, ok := strings.CutPrefix(p, prefix); ok {
				dp.key[strings.TrimPrefix(rest, ".")] = sp
			}
		}
		docs = append(docs, fileDoc{value: el, pos: dp, start: pos.val[prefix]})
	}
	return docs, nil
}

// ---- YAML ----

// splitYAMLDocuments splits a YAML stream at its document markers (--- and
// ... at the start of a line, which YAML forbids inside scalars) and returns
// each document's text with the 0-based line it starts on. goccy/go-yaml
// drops documents after an empty one, so the stream is not parsed whole.
func splitYAMLDocuments(data []byte) (chunks [][]byte, firstLines []int) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	var cur []byte
	curStart := 0
	for i, l := range lines {
		t := bytes.TrimRight(l, "\r\n")
		marker := bytes.HasPrefix(t, []byte("---")) || bytes.HasPrefix(t, []byte("..."))
		if marker && (len(t) == 3 || t[3] == ' ' || t[3] == '\t') {
			chunks = append(chunks, cur)
			firstLines = append(firstLines, curStart)
			// Content after "--- " on the same line belongs to the next document.
			cur = append([]byte(strings.Repeat(" ", 3)), l[3:]...)
			if bytes.HasPrefix(t, []byte("...")) {
				cur = nil
			}
			curStart = i
			if cur == nil {
				curStart = i + 1
			}
			continue
		}
		cur = append(cur, l...)
	}
	chunks = append(chunks, cur)
	firstLines = append(firstLines, curStart)
	return chunks, firstLines
}

// onlyDirectives reports whether a chunk holds nothing but blank lines,
// comments and directives (%YAML 1.2), which need no parsing.
func onlyDirectives(chunk []byte) bool {
	for _, l := range bytes.Split(chunk, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] != '#' && l[0] != '%' {
			return false
		}
	}
	return true
}

// parseYAML parses one YAML document. A panic inside the parser on hostile
// input becomes an error instead of taking the process down.
func parseYAML(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("YAML parser failed: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}

func yamlFileDocs(filename string, data []byte) ([]fileDoc, error) {
	var docs []fileDoc
	var ferrs []FieldError
	chunks, firstLines := splitYAMLDocuments(data)
	for i, chunk := range chunks {
		if onlyDirectives(chunk) {
			continue
		}
		f, err := parseYAML(chunk)
		if err != nil {
			var ye yaml.Error
			pos := srcPos{1, 1}
			msg := err.Error()
			if errors.As(err, &ye) {
				if tk := ye.GetToken(); tk != nil && tk.Position != nil {
					pos = srcPos{tk.Position.Line, tk.Position.Column}
				}
				msg = ye.GetMessage()
			}
			pos.line += firstLines[i]
			ferrs = append(ferrs, FieldError{Path: fileLoc(filename, pos, ""), Message: "invalid YAML: " + msg})
			continue
		}
		for _, d := range f.Docs {
			if d == nil || d.Body == nil {
				continue
			}
			if _, ok := d.Body.(*ast.CommentGroupNode); ok {
				continue
			}
			w := &yamlWalker{pos: newPositions(), anchors: map[string]ast.Node{}, lineOffset: firstLines[i]}
			v := w.value(d.Body, "", 0)
			for _, e := range w.errs {
				ferrs = append(ferrs, FieldError{Path: fileLoc(filename, e.pos, e.path), Message: e.msg})
			}
			docs = append(docs, fileDoc{value: v, pos: w.pos, start: w.nodePos(d.Body)})
		}
	}
	if len(ferrs) > 0 {
		return nil, InvalidFields("invalid config file "+filename, ferrs)
	}
	return docs, nil
}

type yamlErr struct {
	pos  srcPos
	path string
	msg  string
}

// yamlWalker converts a YAML AST into JSON values (map[string]any, []any,
// string, json.Number, bool, nil) and records each path's position.
type yamlWalker struct {
	pos        *positions
	anchors    map[string]ast.Node
	errs       []yamlErr
	lineOffset int // line of the document's text in the file, 0-based
	nodes      int // values produced, aliases expanded
}

const (
	maxYAMLDepth = 100
	maxYAMLNodes = 200_000
)

// nodePos is where a node starts in the file: for a mapping, its first key.
func (w *yamlWalker) nodePos(n ast.Node) srcPos {
	switch m := n.(type) {
	case *ast.MappingNode:
		if len(m.Values) > 0 {
			return w.nodePos(m.Values[0])
		}
	case *ast.MappingValueNode:
		return w.nodePos(m.Key)
	}
	if n == nil {
		return srcPos{1 + w.lineOffset, 1}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return srcPos{1 + w.lineOffset, 1}
	}
	return srcPos{tk.Position.Line + w.lineOffset, tk.Position.Column}
}

func (w *yamlWalker) fail(n ast.Node, p, msg string) {
	w.errs = append(w.errs, yamlErr{w.nodePos(n), p, msg})
}

func (w *yamlWalker) value(n ast.Node, p string, depth int) any {
	if depth > maxYAMLDepth {
		w.fail(n, p, "nested too deeply")
		return nil
	}
	if w.nodes++; w.nodes > maxYAMLNodes {
		if w.nodes == maxYAMLNodes+1 {
			w.fail(n, p, fmt.Sprintf("more than %d values (aliases expand too much)", maxYAMLNodes))
		}
		return nil
	}
	if _, seen := w.pos.val[p]; !seen {
		w.pos.val[p] = w.nodePos(n)
	}
	switch n := n.(type) {
	case nil:
		return nil
	case *ast.NullNode:
		return nil
	case *ast.BoolNode:
		return n.Value
	case *ast.StringNode:
		return n.Value
	case *ast.LiteralNode:
		return n.Value.Value
	case *ast.IntegerNode:
		switch iv := n.Value.(type) {
		case int64:
			return json.Number(strconv.FormatInt(iv, 10))
		case uint64:
			return json.Number(strconv.FormatUint(iv, 10))
		}
		return yamlNumber(n.Token.Value)
	case *ast.FloatNode:
		if num, ok := yamlNumber(n.Token.Value).(json.Number); ok {
			return num
		}
		return json.Number(strconv.FormatFloat(n.Value, 'g', -1, 64))
	case *ast.InfinityNode, *ast.NanNode:
		w.fail(n, p, "infinity and NaN are not allowed")
		return nil
	case *ast.AnchorNode:
		// The anchor is defined after its value: an alias inside the value
		// cannot refer to it.
		v := w.value(n.Value, p, depth+1)
		if name, ok := n.Name.(*ast.StringNode); ok {
			w.anchors[name.Value] = n.Value
		} else if n.Name != nil {
			w.anchors[n.Name.String()] = n.Value
		}
		return v
	case *ast.AliasNode:
		name := ""
		if n.Value != nil {
			name = n.Value.String()
		}
		target, ok := w.anchors[name]
		if !ok {
			w.fail(n, p, fmt.Sprintf("unknown alias *%s", name))
			return nil
		}
		return w.value(target, p, depth+1)
	case *ast.TagNode:
		tag := n.Start.Value
		switch tag {
		case "!!str":
			if s, ok := n.Value.(ast.ScalarNode); ok {
				return fmt.Sprint(s.GetValue())
			}
		case "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq":
			return w.value(n.Value, p, depth+1)
		}
		w.fail(n, p, fmt.Sprintf("YAML tag %s is not supported", tag))
		return nil
	case *ast.MappingNode:
		m := &yamlMap{m: map[string]any{}, merged: map[string]bool{}}
		for _, mv := range n.Values {
			w.member(m, mv, p, depth)
		}
		return m.m
	case *ast.MappingValueNode:
		m := &yamlMap{m: map[string]any{}, merged: map[string]bool{}}
		w.member(m, n, p, depth)
		return m.m
	case *ast.SequenceNode:
		arr := make([]any, 0, len(n.Values))
		for i, el := range n.Values {
			arr = append(arr, w.value(el, indexPath(p, i), depth+1))
		}
		return arr
	case *ast.CommentGroupNode, *ast.CommentNode:
		return nil
	}
	w.fail(n, p, fmt.Sprintf("unsupported YAML node %s", n.Type()))
	return nil
}

// yamlMap is a mapping being built; merged marks keys that came from a
// merge key (<<), which explicit keys override.
type yamlMap struct {
	m      map[string]any
	merged map[string]bool
}

func (w *yamlWalker) member(ym *yamlMap, mv *ast.MappingValueNode, p string, depth int) {
	m := ym.m
	keyNode := ast.Node(mv.Key)
	if mk, ok := keyNode.(*ast.MappingKeyNode); ok {
		keyNode = mk.Value
	}
	if _, ok := keyNode.(*ast.MergeKeyNode); ok {
		src := w.value(mv.Value, p+"<<", depth+1)
		var maps []any
		switch s := src.(type) {
		case map[string]any:
			maps = []any{s}
		case []any:
			maps = s
		}
		for _, sm := range maps {
			sub, ok := sm.(map[string]any)
			if !ok {
				w.fail(mv.Value, p, "merge key << needs a mapping or a list of mappings")
				return
			}
			for k, v := range sub {
				if _, exists := m[k]; !exists {
					m[k] = v
					ym.merged[k] = true
				}
			}
		}
		return
	}
	var key string
	switch k := keyNode.(type) {
	case *ast.StringNode:
		key = k.Value
	case ast.ScalarNode:
		key = k.GetToken().Value
	default:
		w.fail(keyNode, p, "mapping keys must be scalars")
		return
	}
	cp := joinPath(p, key)
	if _, dup := m[key]; dup && !ym.merged[key] {
		w.fail(keyNode, cp, fmt.Sprintf("duplicate key %q", key))
		return
	}
	delete(ym.merged, key)
	w.pos.key[cp] = w.nodePos(keyNode)
	m[key] = w.value(mv.Value, cp, depth+1)
}

var jsonNumberRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// yamlNumber normalises a YAML number literal (1_000, +1.5, .5, 0x1f) into
// a JSON number, keeping the digits as written where it can.
func yamlNumber(lit string) any {
	s := strings.ReplaceAll(lit, "_", "")
	s = strings.TrimPrefix(s, "+")
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	if strings.HasPrefix(body, ".") {
		body = "0" + body
	}
	if strings.HasSuffix(body, ".") {
		body += "0"
	}
	body = strings.Replace(strings.Replace(body, ".e", ".0e", 1), ".E", ".0E", 1)
	if neg {
		s = "-" + body
	} else {
		s = body
	}
	if jsonNumberRE.MatchString(s) {
		return json.Number(s)
	}
	if i, ok := new(big.Int).SetString(s, 0); ok {
		return json.Number(i.String())
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
	}
	return lit
}

// ---- JSON with positions ----

// lineCounter turns increasing byte offsets into line and column numbers
// in one pass.
type lineCounter struct {
	data      []byte
	off       int
	line, col int
}

func (lc *lineCounter) at(off int) srcPos {
	if off < lc.off {
		return offsetPos(lc.data, off)
	}
	for lc.off < off && lc.off < len(lc.data) {
		r, n := utf8.DecodeRune(lc.data[lc.off:])
		if r == '\n' {
			lc.line++
			lc.col = 1
		} else {
			lc.col++
		}
		lc.off += n
	}
	return srcPos{lc.line, lc.col}
}

type jsonPosRecorder struct {
	pos *positions
	lc  *lineCounter
}

// jsonSyntaxError is a JSON syntax error at a byte offset.
type jsonSyntaxError struct {
	msg    string
	Offset int
}

func (e *jsonSyntaxError) Error() string { return e.msg }

// jsonTree decodes JSON strictly: duplicate keys and strings that are not
// valid UTF-8 (including lone surrogate escapes) are reported per path;
// numbers stay json.Number with the digits as written.
type jsonTree struct {
	data []byte
	i    int
	rec  *jsonPosRecorder
	errs []FieldError
	buf  []byte
}

// decodeJSONTree decodes data into JSON values (map[string]any, []any,
// string, json.Number, bool, nil). A syntax error is returned as err (a
// *jsonSyntaxError with the offset); per-path problems (duplicate keys,
// invalid UTF-8) as field errors whose paths start at root. rec, when not
// nil, records positions.
func decodeJSONTree(data []byte, root string, rec *jsonPosRecorder) (any, []FieldError, error) {
	d := &jsonTree{data: data, rec: rec}
	v, err := d.value(root, 0)
	if err != nil {
		return nil, nil, err
	}
	d.skipSpace()
	if d.i < len(d.data) {
		return nil, nil, d.syntaxErr("unexpected data after the JSON value")
	}
	return v, d.errs, nil
}

func (d *jsonTree) syntaxErr(format string, args ...any) error {
	return &jsonSyntaxError{msg: fmt.Sprintf(format, args...) + fmt.Sprintf(" (at byte %d)", d.i), Offset: d.i}
}

func (d *jsonTree) unexpected(what string) error {
	if d.i >= len(d.data) {
		return d.syntaxErr("unexpected end of input, expected %s", what)
	}
	r, _ := utf8.DecodeRune(d.data[d.i:])
	return d.syntaxErr("unexpected %q, expected %s", r, what)
}

func (d *jsonTree) skipSpace() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\r', '\n':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonTree) value(p string, depth int) (any, error) {
	if depth > maxYAMLDepth {
		return nil, d.syntaxErr("nested more than %d levels deep", maxYAMLDepth)
	}
	d.skipSpace()
	if d.rec != nil {
		d.rec.pos.val[p] = d.rec.lc.at(d.i)
	}
	if d.i >= len(d.data) {
		return nil, d.unexpected("a value")
	}
	switch c := d.data[d.i]; {
	case c == '{':
		d.i++
		m := map[string]any{}
		d.skipSpace()
		if d.i < len(d.data) && d.data[d.i] == '}' {
			d.i++
			return m, nil
		}
		for {
			d.skipSpace()
			kstart := d.i
			if d.i >= len(d.data) || d.data[d.i] != '"' {
				return nil, d.unexpected("a string key")
			}
			key, bad, err := d.str()
			if err != nil {
				return nil, err
			}
			cp := joinPath(p, key)
			if bad {
				d.errs = append(d.errs, FieldError{Path: cp, Message: "key is not valid UTF-8"})
			}
			if d.rec != nil {
				d.rec.pos.key[cp] = d.rec.lc.at(kstart)
			}
			d.skipSpace()
			if d.i >= len(d.data) || d.data[d.i] != ':' {
				return nil, d.unexpected("':'")
			}
			d.i++
			v, err := d.value(cp, depth+1)
			if err != nil {
				return nil, err
			}
			if _, dup := m[key]; dup {
				d.errs = append(d.errs, FieldError{Path: cp, Message: fmt.Sprintf("duplicate key %q", key)})
			}
			m[key] = v
			d.skipSpace()
			if d.i < len(d.data) && d.data[d.i] == ',' {
				d.i++
				continue
			}
			if d.i < len(d.data) && d.data[d.i] == '}' {
				d.i++
				return m, nil
			}
			return nil, d.unexpected("',' or '}'")
		}
	case c == '[':
		d.i++
		arr := []any{}
		d.skipSpace()
		if d.i < len(d.data) && d.data[d.i] == ']' {
			d.i++
			return arr, nil
		}
		for n := 0; ; n++ {
			v, err := d.value(indexPath(p, n), depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
			d.skipSpace()
			if d.i < len(d.data) && d.data[d.i] == ',' {
				d.i++
				continue
			}
			if d.i < len(d.data) && d.data[d.i] == ']' {
				d.i++
				return arr, nil
			}
			return nil, d.unexpected("',' or ']'")
		}
	case c == '"':
		s, bad, err := d.str()
		if err != nil {
			return nil, err
		}
		if bad {
			d.errs = append(d.errs, FieldError{Path: p, Message: "is not valid UTF-8"})
		}
		return s, nil
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return nil, d.unexpected("a value")
}

func (d *jsonTree) literal(word string) error {
	if !bytes.HasPrefix(d.data[d.i:], []byte(word)) {
		return d.unexpected(word)
	}
	d.i += len(word)
	return nil
}

func (d *jsonTree) number() (any, error) {
	start := d.i
	digits := func() int {
		n := 0
		for d.i < len(d.data) && d.data[d.i] >= '0' && d.data[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.data[d.i] == '-' {
		d.i++
	}
	if d.i < len(d.data) && d.data[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return nil, d.unexpected("a digit")
	}
	if d.i < len(d.data) && d.data[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return nil, d.unexpected("a digit")
		}
	}
	if d.i < len(d.data) && (d.data[d.i] == 'e' || d.data[d.i] == 'E') {
		d.i++
		if d.i < len(d.data) && (d.data[d.i] == '+' || d.data[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return nil, d.unexpected("a digit")
		}
	}
	return json.Number(d.data[start:d.i]), nil
}

// str reads a JSON string at d.i. bad reports invalid UTF-8 or a lone
// surrogate escape (each replaced by U+FFFD in s).
func (d *jsonTree) str() (s string, bad bool, err error) {
	d.i++ // opening quote
	start := d.i
	for d.i < len(d.data) {
		c := d.data[d.i]
		if c == '"' {
			s = string(d.data[start:d.i])
			d.i++
			return s, false, nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		d.i++
	}
	b := append(d.buf[:0], d.data[start:d.i]...)
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			d.buf = b
			return string(b), bad, nil
		case c < 0x20:
			return "", false, d.syntaxErr("control character %q in string", rune(c))
		case c == '\\':
			if d.i+1 >= len(d.data) {
				d.i++
				return "", false, d.unexpected("an escape")
			}
			e := d.data[d.i+1]
			d.i += 2
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return "", false, d.syntaxErr("invalid \\u escape")
				}
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if bytes.HasPrefix(d.data[d.i:], []byte(`\u`)) {
						save := d.i
						d.i += 2
						var ok2 bool
						if r2, ok2 = d.hex4(); !ok2 {
							return "", false, d.syntaxErr("invalid \\u escape")
						}
						if dr := utf16.DecodeRune(r, r2); dr != utf8.RuneError {
							b = utf8.AppendRune(b, dr)
							continue
						}
						d.i = save
					}
					bad = true
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
			default:
				d.i--
				return "", false, d.syntaxErr("invalid escape \\%c in string", e)
			}
		case c < utf8.RuneSelf:
			j := d.i + 1
			for j < len(d.data) && d.data[j] >= 0x20 && d.data[j] < utf8.RuneSelf && d.data[j] != '"' && d.data[j] != '\\' {
				j++
			}
			b = append(b, d.data[d.i:j]...)
			d.i = j
		default:
			r, size := utf8.DecodeRune(d.data[d.i:])
			if r == utf8.RuneError && size == 1 {
				bad = true
			}
			b = utf8.AppendRune(b, r)
			d.i += size
		}
	}
	return "", false, d.unexpected("'\"' closing the string")
}

func (d *jsonTree) hex4() (rune, bool) {
	if d.i+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.i : d.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	d.i += 4
	return r, true
}

// ---- canonical JSON ----

// canonicalJSON encodes v (JSON values as decoded by decodeJSONTree, or any
// value encoding/json accepts) with sorted object keys, no insignificant
// whitespace and no HTML escaping.
func canonicalJSON(v any) json.RawMessage {
	return canonicalJSONSize(v, 64)
}

// canonicalJSONSize is canonicalJSON with a hint of the output size.
func canonicalJSONSize(v any, hint int) json.RawMessage {
	var b bytes.Buffer
	b.Grow(hint)
	writeCanonical(&b, v)
	return b.Bytes()
}

func writeCanonical(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case json.Number:
		b.WriteString(string(v))
	case string:
		writeJSONString(b, v)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			writeCanonical(b, v[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, el := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, el)
		}
		b.WriteByte(']')
	case json.RawMessage:
		var x any
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		if err := dec.Decode(&x); err != nil {
			b.WriteString("null")
			return
		}
		writeCanonical(b, x)
	default:
		// Other Go values: round-trip through encoding/json.
		raw, err := json.Marshal(v)
		if err != nil {
			b.WriteString("null")
			return
		}
		writeCanonical(b, json.RawMessage(raw))
	}
}

const jsonHexDigits = "0123456789abcdef"

// writeJSONString writes s as a JSON string: quotes, backslashes and control
// characters escaped, U+2028 and U+2029 escaped (JavaScript line
// terminators), invalid UTF-8 replaced by U+FFFD, nothing else escaped.
func writeJSONString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(jsonHexDigits[c>>4])
				b.WriteByte(jsonHexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b.WriteString(s[start:i])
			b.WriteString(`\u202`)
			b.WriteByte(jsonHexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

// decodeJSONValue decodes canonical or ordinary JSON into JSON values with
// json.Number numbers.
func decodeJSONValue(raw json.RawMessage) (any, error) {
	var x any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return x, nil
}

// ---- export ----

// MarshalConfigYAML writes one document as YAML for config export: keys in
// a stable order (kind, name, then the order the kind's schema declares its
// properties, then any others sorted; nested objects: name, label, type,
// then sorted). Parsing the output yields the same Body, and marshalling
// that again yields the same bytes.
func MarshalConfigYAML(doc ConfigDoc) ([]byte, error) {
	v, err := decodeJSONValue(doc.Body)
	if err != nil {
		return nil, Errorf(EInvalid, "config %s/%s: body is not valid JSON: %v", doc.Kind, doc.Name, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, Errorf(EInvalid, "config %s/%s: body is not an object", doc.Kind, doc.Name)
	}
	w := yamlWriter{nested: nestedKeyOrder}
	var order []string
	if ck, ok := configKinds[doc.Kind]; ok {
		order = append([]string{"kind", "name"}, ck.order...)
		w.nested = append(slices.Clone(nestedKeyOrder), ck.nested...)
	}
	w.writeMap(obj, 0, order, false)
	return w.b.Bytes(), nil
}

// ConfigExportPath is the file a document is exported to: <kind>/<name>.yaml.
func ConfigExportPath(doc ConfigDoc) string { return doc.Kind + "/" + doc.Name + ".yaml" }

var nestedKeyOrder = []string{"kind", "name", "label", "type"}

func orderedKeys(m map[string]any, order []string) []string {
	keys := make([]string, 0, len(m))
	rank := map[string]int{}
	for i, k := range order {
		rank[k] = i
	}
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, iok := rank[keys[i]]
		rj, jok := rank[keys[j]]
		switch {
		case iok && jok:
			return ri < rj
		case iok != jok:
			return iok
		}
		return keys[i] < keys[j]
	})
	return keys
}

type yamlWriter struct {
	b      bytes.Buffer
	nested []string
}

// writeMap writes a block mapping at indent. inSeq means the first key
// follows a "- " already written.
func (w *yamlWriter) writeMap(m map[string]any, indent int, order []string, inSeq bool) {
	b := &w.b
	if order == nil {
		order = w.nested
	}
	for i, k := range orderedKeys(m, order) {
		if i > 0 || !inSeq {
			b.WriteString(strings.Repeat(" ", indent))
		}
		b.WriteString(yamlScalarString(k))
		b.WriteByte(':')
		w.writeValue(m[k], indent)
	}
}

// writeValue writes the value after "key:" (or "-"), starting with a
// space or newline, and ends with a newline.
func (w *yamlWriter) writeValue(v any, indent int) {
	b := &w.b
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			b.WriteString(" {}\n")
			return
		}
		b.WriteByte('\n')
		w.writeMap(v, indent+2, nil, false)
	case []any:
		if len(v) == 0 {
			b.WriteString(" []\n")
			return
		}
		b.WriteByte('\n')
		for _, el := range v {
			b.WriteString(strings.Repeat(" ", indent))
			b.WriteString("-")
			if m, ok := el.(map[string]any); ok && len(m) > 0 {
				b.WriteByte(' ')
				w.writeMap(m, indent+2, nil, true)
				continue
			}
			w.writeValue(el, indent+2)
		}
	case string:
		if lit, ok := yamlLiteralBlock(v, indent+2); ok {
			b.WriteString(lit)
			return
		}
		b.WriteByte(' ')
		b.WriteString(yamlScalarString(v))
		b.WriteByte('\n')
	default:
		b.WriteByte(' ')
		b.Write(canonicalJSON(v))
		b.WriteByte('\n')
	}
}

// yamlPlainRE matches strings that YAML reads back unchanged as plain
// scalars in block context: printable ASCII starting with a letter, _ or /,
// no ':' or '#', no quotes or flow indicators, no trailing space.
var yamlPlainRE = regexp.MustCompile(`^[A-Za-z_/]([ !$%&()*+,./0-9;<=>?@A-Z^_a-z|~-]*[!$%&()*+,./0-9;<=>?@A-Z^_a-z|~-])?$`)

var yamlReserved = map[string]bool{
	"true": true, "false": true, "yes": true, "no": true, "on": true, "off": true,
	"null": true, "y": true, "n": true,
}

// yamlScalarString writes s plain when that is unambiguous, else as a
// double-quoted (JSON) string.
func yamlScalarString(s string) string {
	if yamlPlainRE.MatchString(s) && !yamlReserved[strings.ToLower(s)] && !strings.Contains(s, " #") && !strings.Contains(s, ": ") {
		if _, err := time.Parse("2006-01-02", s); err != nil {
			return s
		}
	}
	var b bytes.Buffer
	writeJSONString(&b, s)
	return b.String()
}

// yamlLiteralBlock renders a multi-line string as a literal block scalar
// when it survives a round trip unchanged; otherwise ok is false.
func yamlLiteralBlock(s string, indent int) (string, bool) {
	if !strings.Contains(s, "\n") || strings.TrimRight(s, "\n") == "" {
		return "", false
	}
	body := strings.TrimSuffix(s, "\n")
	chomp := "-"
	if strings.HasSuffix(s, "\n") {
		chomp = ""
		if strings.HasSuffix(body, "\n") {
			return "", false // several trailing newlines: keep it quoted
		}
	}
	lines := strings.Split(body, "\n")
	if strings.HasPrefix(lines[0], " ") || strings.HasPrefix(lines[0], "\t") {
		return "", false
	}
	for _, l := range lines {
		if strings.ContainsAny(l, "\r\t\u0085\u2028\u2029\ufeff") || strings.HasSuffix(l, " ") {
			return "", false
		}
		for _, r := range l {
			if r < 0x20 || r == 0x7f {
				return "", false
			}
		}
	}
	var b strings.Builder
	b.WriteString(" |" + chomp + "\n")
	pad := strings.Repeat(" ", indent)
	for _, l := range lines {
		if l != "" {
			b.WriteString(pad)
			b.WriteString(l)
		}
		b.WriteByte('\n')
	}
	return b.String(), true
}

// ---- semantic checks of the smaller kinds ----

func checkSiteDoc(v map[string]any) []FieldError {
	var errs []FieldError
	if tz, ok := v["timezone"].(string); ok {
		if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
			errs = append(errs, FieldError{Path: "timezone", Message: fmt.Sprintf("unknown time zone %q (use an IANA name such as Europe/Paris or UTC)", tz)})
		}
	}
	if m, ok := v["mail"].(string); ok {
		if msg := checkEmail(m); msg != "" {
			errs = append(errs, FieldError{Path: "mail", Message: msg})
		}
	}
	return errs
}

// AliasPatternTokens are the tokens an alias pattern may use.
var AliasPatternTokens = []string{"[type]", "[title]", "[id]", "[language]", "[year]", "[month]", "[day]"}

var aliasTokenRE = regexp.MustCompile(`\[[^\]]*\]?`)

func checkAliasPatternDoc(v map[string]any) []FieldError {
	p, _ := v["pattern"].(string)
	var errs []FieldError
	for _, tok := range aliasTokenRE.FindAllString(p, -1) {
		if !slices.Contains(AliasPatternTokens, tok) {
			errs = append(errs, FieldError{Path: "pattern", Message: fmt.Sprintf("unknown token %s (known: %s)", tok, strings.Join(AliasPatternTokens, " "))})
		}
	}
	rest := aliasTokenRE.ReplaceAllString(p, "")
	switch {
	case strings.HasPrefix(p, "/"):
		errs = append(errs, FieldError{Path: "pattern", Message: "must not start with / (aliases are root-relative already)"})
	case strings.Contains(p, "//"):
		errs = append(errs, FieldError{Path: "pattern", Message: "must not contain an empty segment (//)"})
	case strings.ContainsAny(rest, " \t?#\\%"):
		errs = append(errs, FieldError{Path: "pattern", Message: "may contain only path characters and tokens (no spaces, ?, #, %, \\)"})
	}
	return errs
}
