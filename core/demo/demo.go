// Package demo holds Trovato's demo site as documents — config documents
// and content in the formats users write (README.md) — and loads them into
// a store with fixed ids, so that pages and golden files are stable and a
// second load changes nothing.
package demo

//go:generate go run ./internal/genimages -out files

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/google/uuid"

	"github.com/trovato/trovato/core"
)

//go:embed demo.yaml config/*.yaml content/*.yaml content/articles/*.yaml files/*
var embedded embed.FS

// FS returns the embedded demo documents.
func FS() fs.FS { return embedded }

// Demo is a parsed and checked set of demo documents.
type Demo struct {
	// Version numbers the demo; revisions the loader writes carry the log
	// "demo <Version>".
	Version int
	// Config holds the config documents in load order: site, vocabularies,
	// menus and alias patterns first, item types last (they may refer to
	// vocabularies).
	Config    []core.ConfigDoc
	Files     []File
	Terms     []Term // parents before children
	Items     []Item
	Aliases   []Alias
	MenuLinks []MenuLink // parents before children

	types map[string]*core.ItemType
	// history maps "kind/name" to the hashes of config bodies that earlier
	// demo versions wrote (demo.yaml's config_history).
	history map[string]map[string]bool
}

// File is one demo file (files/NAME).
type File struct {
	Name string
	Data []byte
	Hash string // hex SHA-256, as the file store computes it
	MIME string
}

// Term is a category term document.
type Term struct {
	ID          core.ID
	Vocabulary  string
	Name        string
	Description string
	Parents     []core.ID
	Weight      int
	Source      string // file:line
}

// Item is an item document. Fields hold the values in the API's shapes,
// except that image and file values name a demo file with "file" instead
// of giving an "id".
type Item struct {
	ID        core.ID
	Type      string
	Title     string
	Status    string
	CreatedAt time.Time
	Promote   bool
	Sticky    bool
	Language  string
	Fields    map[string]any
	Source    string
}

// Alias is a path alias document.
type Alias struct {
	ID       core.ID
	Alias    string
	Path     string
	Language string
	Source   string
}

// MenuLink is a menu link document.
type MenuLink struct {
	ID       core.ID
	Menu     string
	Title    string
	Path     string
	ParentID *core.ID
	Weight   int
	Source   string
}

// Log is the revision log the loader writes for a demo version.
func Log(version int) string { return fmt.Sprintf("demo %d", version) }

// demoVersionOf returns the demo version a revision log names, or 0 when
// the revision was not written by the demo loader.
func demoVersionOf(log string) int {
	rest, ok := strings.CutPrefix(log, "demo ")
	if !ok {
		return 0
	}
	v, err := strconv.Atoi(rest)
	if err != nil || strconv.Itoa(v) != rest || v <= 0 {
		return 0
	}
	return v
}

// ConfigHashes returns the hash of each config document's canonical body,
// keyed "kind/name": what demo.yaml's config_history lists for bodies an
// earlier demo wrote.
func (d *Demo) ConfigHashes() map[string]string {
	out := make(map[string]string, len(d.Config))
	for _, c := range d.Config {
		out[c.Kind+"/"+c.Name] = hash(c.Body)
	}
	return out
}

// Default parses the embedded demo.
func Default() (*Demo, error) { return Parse(embedded) }

// hash returns the hex SHA-256 of b.
func hash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// problems collects every problem of every document, each with its place.
type problems []core.FieldError

func (p *problems) add(where, path, format string, args ...any) {
	loc := where
	if path != "" {
		loc += ": " + path
	}
	*p = append(*p, core.FieldError{Path: loc, Message: fmt.Sprintf(format, args...)})
}

// Parse reads and checks a demo tree: demo.yaml, config/*.yaml,
// content/**/*.yaml and files/*. Every problem in every document is
// reported at once, each with its file and line (EINVALID).
func Parse(fsys fs.FS) (*Demo, error) {
	d := &Demo{types: map[string]*core.ItemType{}, history: map[string]map[string]bool{}}
	var probs problems
	if err := d.parseManifest(fsys, &probs); err != nil {
		return nil, err
	}
	if err := d.parseConfig(fsys, &probs); err != nil {
		return nil, err
	}
	if err := d.readFiles(fsys, &probs); err != nil {
		return nil, err
	}
	if err := d.parseContent(fsys, &probs); err != nil {
		return nil, err
	}
	if len(probs) == 0 {
		d.check(&probs)
	}
	if len(probs) > 0 {
		return nil, core.InvalidFields("invalid demo documents", probs)
	}
	return d, nil
}

type manifest struct {
	Version       int                 `yaml:"version"`
	ConfigHistory map[string][]string `yaml:"config_history"`
}

func (d *Demo) parseManifest(fsys fs.FS, probs *problems) error {
	data, err := fs.ReadFile(fsys, "demo.yaml")
	if err != nil {
		return fmt.Errorf("read demo.yaml: %w", err)
	}
	var m manifest
	if err := yaml.UnmarshalWithOptions(data, &m, yaml.Strict()); err != nil {
		yamlProblem(probs, "demo.yaml", chunk{base: 1, line: 1}, err)
		return nil
	}
	if m.Version <= 0 {
		probs.add("demo.yaml", "version", "must be a positive integer")
	}
	d.Version = m.Version
	for key, hashes := range m.ConfigHistory {
		set := map[string]bool{}
		for _, h := range hashes {
			if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
				probs.add("demo.yaml", "config_history."+key, "%q is not a hex SHA-256", h)
			}
			set[h] = true
		}
		d.history[key] = set
	}
	return nil
}

func (d *Demo) parseConfig(fsys fs.FS, probs *problems) error {
	names, err := fs.Glob(fsys, "config/*.yaml")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var types []core.ConfigDoc
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		docs, err := core.ParseConfigFile(name, data)
		if err != nil {
			if core.ErrorCode(err) != core.EInvalid {
				return err
			}
			*probs = append(*probs, core.ErrorFields(err)...)
			continue
		}
		for _, doc := range docs {
			if doc.Kind == "item_type" {
				t, err := core.ParseItemType(doc.Body)
				if err != nil {
					probs.add(name, "item_type "+doc.Name, "%v", err)
					continue
				}
				d.types[t.Name] = t
				types = append(types, doc)
				continue
			}
			d.Config = append(d.Config, doc)
		}
	}
	seen := map[string]bool{}
	for _, doc := range append(slices.Clone(d.Config), types...) {
		key := doc.Kind + "/" + doc.Name
		if seen[key] {
			probs.add("config", key, "is defined twice")
		}
		seen[key] = true
	}
	// Vocabularies before menus and everything else, so that any later
	// document may refer to them; item types last.
	sort.SliceStable(d.Config, func(i, j int) bool { return configRank(d.Config[i].Kind) < configRank(d.Config[j].Kind) })
	d.Config = append(d.Config, types...)
	return nil
}

func configRank(kind string) int {
	switch kind {
	case "site":
		return 0
	case "vocabulary":
		return 1
	case "menu":
		return 2
	}
	return 3
}

func (d *Demo) readFiles(fsys fs.FS, probs *problems) error {
	names, err := fs.Glob(fsys, "files/*")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		f := File{Name: path.Base(name), Data: data, Hash: hash(data), MIME: sniff(data)}
		if !strings.HasPrefix(f.MIME, "image/") {
			probs.add(name, "", "is %s; the demo's files are images", f.MIME)
		}
		d.Files = append(d.Files, f)
	}
	return nil
}

// sniff returns the MIME type the file store would record.
func sniff(data []byte) string {
	t := http.DetectContentType(data)
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	return t
}

// Content documents as written in content/*.yaml. The keys are those of
// the API's JSON; ids are strings until checked.
type (
	contentKind struct {
		Kind string `yaml:"kind"`
	}
	termDoc struct {
		Kind        string   `yaml:"kind"`
		ID          string   `yaml:"id"`
		Vocabulary  string   `yaml:"vocabulary"`
		Name        string   `yaml:"name"`
		Description string   `yaml:"description"`
		Parents     []string `yaml:"parents"`
		Weight      int      `yaml:"weight"`
	}
	itemDoc struct {
		Kind      string         `yaml:"kind"`
		ID        string         `yaml:"id"`
		Type      string         `yaml:"type"`
		Title     string         `yaml:"title"`
		Status    string         `yaml:"status"`
		CreatedAt string         `yaml:"created_at"`
		Promote   bool           `yaml:"promote"`
		Sticky    bool           `yaml:"sticky"`
		Language  string         `yaml:"language"`
		Fields    map[string]any `yaml:"fields"`
	}
	aliasDoc struct {
		Kind     string `yaml:"kind"`
		ID       string `yaml:"id"`
		Alias    string `yaml:"alias"`
		Path     string `yaml:"path"`
		Language string `yaml:"language"`
	}
	menuLinkDoc struct {
		Kind     string `yaml:"kind"`
		ID       string `yaml:"id"`
		Menu     string `yaml:"menu"`
		Title    string `yaml:"title"`
		Path     string `yaml:"path"`
		ParentID string `yaml:"parent_id"`
		Weight   int    `yaml:"weight"`
	}
)

func (d *Demo) parseContent(fsys fs.FS, probs *problems) error {
	var names []string
	err := fs.WalkDir(fsys, "content", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.HasSuffix(p, ".yaml") {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read content: %w", err)
	}
	sort.Strings(names)
	ids := map[core.ID]string{}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		for _, chunk := range splitDocuments(data) {
			d.parseDocument(name, chunk, ids, probs)
		}
	}
	return nil
}

// chunk is one YAML document of a file and the line it starts on.
type chunk struct {
	data []byte
	base int // the file line of data's first line
	line int // the file line where the document's content starts
}

// splitDocuments splits a YAML stream at "---" lines; blank documents are
// skipped.
func splitDocuments(data []byte) []chunk {
	var out []chunk
	lines := bytes.SplitAfter(data, []byte("\n"))
	start, cur := 1, []byte(nil)
	flush := func() {
		// A document's place is its first line that is not blank or a
		// comment.
		for i, l := range bytes.SplitAfter(cur, []byte("\n")) {
			if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
				out = append(out, chunk{data: cur, base: start, line: start + i})
				return
			}
		}
	}
	for i, l := range lines {
		if t := bytes.TrimRight(l, " \t\r\n"); string(t) == "---" {
			flush()
			start, cur = i+2, nil
			continue
		}
		cur = append(cur, l...)
	}
	flush()
	return out
}

// yamlMessage is a YAML error on one line.
func yamlMessage(err error) string {
	return strings.Join(strings.Fields(yaml.FormatError(err, false, false)), " ")
}

var reYAMLPos = regexp.MustCompile(`^\[(\d+):(\d+)\]\s*`)

// yamlProblem reports a YAML error of a document at its place in the file.
func yamlProblem(probs *problems, file string, c chunk, err error) {
	msg := yamlMessage(err)
	where := fmt.Sprintf("%s:%d", file, c.line)
	if m := reYAMLPos.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		where = fmt.Sprintf("%s:%d:%s", file, c.base+line-1, m[2])
		msg = msg[len(m[0]):]
	}
	probs.add(where, "", "%s", msg)
}

func (d *Demo) parseDocument(file string, c chunk, ids map[core.ID]string, probs *problems) {
	where := fmt.Sprintf("%s:%d", file, c.line)
	var k contentKind
	if err := yaml.Unmarshal(c.data, &k); err != nil {
		yamlProblem(probs, file, c, err)
		return
	}
	decode := func(v any) bool {
		if err := yaml.UnmarshalWithOptions(c.data, v, yaml.Strict()); err != nil {
			yamlProblem(probs, file, c, err)
			return false
		}
		return true
	}
	id := func(s, field string) core.ID {
		if s == "" {
			probs.add(where, field, "is required")
			return core.NilID
		}
		u, err := uuid.Parse(s)
		if err != nil || u.Version() != 7 || strings.ToLower(s) != s {
			probs.add(where, field, "%q is not a lowercase UUIDv7", s)
			return core.NilID
		}
		return u
	}
	own := func(s string) core.ID {
		u := id(s, "id")
		if u == core.NilID {
			return u
		}
		if prev, ok := ids[u]; ok {
			probs.add(where, "id", "%s is already used at %s", u, prev)
		}
		ids[u] = where
		return u
	}
	switch k.Kind {
	case core.KindTerm:
		var t termDoc
		if !decode(&t) {
			return
		}
		term := Term{ID: own(t.ID), Vocabulary: t.Vocabulary, Name: t.Name, Description: t.Description, Weight: t.Weight, Source: where, Parents: []core.ID{}}
		for i, p := range t.Parents {
			term.Parents = append(term.Parents, id(p, fmt.Sprintf("parents[%d]", i)))
		}
		d.Terms = append(d.Terms, term)
	case core.KindItem:
		var it itemDoc
		if !decode(&it) {
			return
		}
		item := Item{ID: own(it.ID), Type: it.Type, Title: it.Title, Status: it.Status, Promote: it.Promote, Sticky: it.Sticky,
			Language: it.Language, Fields: it.Fields, Source: where}
		if item.Status == "" {
			item.Status = core.StatusPublished
		}
		if item.Language == "" {
			item.Language = "en"
		}
		if item.Fields == nil {
			item.Fields = map[string]any{}
		}
		if it.CreatedAt == "" {
			probs.add(where, "created_at", "is required (a fixed time keeps pages stable)")
		} else if t, err := time.Parse(time.RFC3339, it.CreatedAt); err != nil {
			probs.add(where, "created_at", "%q is not an RFC 3339 time", it.CreatedAt)
		} else {
			item.CreatedAt = t.UTC()
		}
		d.Items = append(d.Items, item)
	case core.KindAlias:
		var a aliasDoc
		if !decode(&a) {
			return
		}
		al := Alias{ID: own(a.ID), Alias: a.Alias, Path: a.Path, Language: a.Language, Source: where}
		if al.Language == "" {
			al.Language = "und"
		}
		d.Aliases = append(d.Aliases, al)
	case core.KindMenuLink:
		var m menuLinkDoc
		if !decode(&m) {
			return
		}
		ml := MenuLink{ID: own(m.ID), Menu: m.Menu, Title: m.Title, Path: m.Path, Weight: m.Weight, Source: where}
		if m.ParentID != "" {
			p := id(m.ParentID, "parent_id")
			ml.ParentID = &p
		}
		d.MenuLinks = append(d.MenuLinks, ml)
	case "":
		probs.add(where, "kind", "is required (term, item, alias or menu_link)")
	default:
		probs.add(where, "kind", "%q is not a content kind (term, item, alias or menu_link)", k.Kind)
	}
}

// configNamed reports whether the demo defines a config document.
func (d *Demo) configNamed(kind, name string) bool {
	for _, c := range d.Config {
		if c.Kind == kind && c.Name == name {
			return true
		}
	}
	return false
}

// check makes the checks that span documents: references resolve, trees
// are acyclic, items are valid for their types, aliases are unique.
func (d *Demo) check(probs *problems) {
	terms := map[core.ID]*Term{}
	for i := range d.Terms {
		terms[d.Terms[i].ID] = &d.Terms[i]
	}
	for _, t := range d.Terms {
		if !d.configNamed("vocabulary", t.Vocabulary) {
			probs.add(t.Source, "vocabulary", "vocabulary %q is not in config/", t.Vocabulary)
		}
		if strings.TrimSpace(t.Name) == "" {
			probs.add(t.Source, "name", "is required")
		}
		for i, p := range t.Parents {
			if pt, ok := terms[p]; !ok {
				probs.add(t.Source, fmt.Sprintf("parents[%d]", i), "term %s is not a demo term", p)
			} else if pt.Vocabulary != t.Vocabulary {
				probs.add(t.Source, fmt.Sprintf("parents[%d]", i), "term %s is in vocabulary %q", p, pt.Vocabulary)
			}
		}
	}
	if sorted, cyc := topoSort(d.Terms, func(t Term) core.ID { return t.ID }, func(t Term) []core.ID { return t.Parents }); cyc != "" {
		probs.add(cyc, "parents", "the term's parents form a cycle")
	} else {
		d.Terms = sorted
	}

	files := map[string]bool{}
	for _, f := range d.Files {
		files[f.Name] = true
	}
	items := map[core.ID]*Item{}
	for i := range d.Items {
		items[d.Items[i].ID] = &d.Items[i]
	}
	refs := d.refChecker(d.placeholderFileIDs())
	for _, it := range d.Items {
		t, ok := d.types[it.Type]
		if !ok {
			probs.add(it.Source, "type", "item type %q is not in config/", it.Type)
			continue
		}
		if err := core.ValidateTitle(it.Title); err != nil {
			probs.add(it.Source, "title", "%s", core.ErrorMessage(err))
		}
		if it.Status != core.StatusPublished && it.Status != core.StatusUnpublished {
			probs.add(it.Source, "status", "must be %q or %q", core.StatusPublished, core.StatusUnpublished)
		}
		fields, err := it.resolveFields(t, d.placeholderFileIDs())
		if err != nil {
			*probs = append(*probs, prefixed(it.Source, err)...)
			continue
		}
		if _, err := t.ValidateFields(context.Background(), fields, refs); err != nil {
			*probs = append(*probs, prefixed(it.Source, err)...)
		}
	}

	used := map[string]bool{}
	for _, it := range d.Items {
		if t, ok := d.types[it.Type]; ok {
			for _, name := range it.fileNames(t) {
				used[name] = true
			}
		}
	}
	for _, f := range d.Files {
		if !used[f.Name] {
			// Files are found again through the items that use them.
			probs.add("files/"+f.Name, "", "no item uses this file")
		}
	}

	aliases := map[string]string{}
	aliased := map[string]bool{}
	for _, a := range d.Aliases {
		if !strings.HasPrefix(a.Alias, "/") || a.Alias == "/" || strings.HasSuffix(a.Alias, "/") {
			probs.add(a.Source, "alias", "%q must be a root-relative path such as /about", a.Alias)
		}
		key := a.Language + " " + a.Alias
		if prev, ok := aliases[key]; ok {
			probs.add(a.Source, "alias", "%s is already used at %s", a.Alias, prev)
		}
		aliases[key] = a.Source
		if id, ok := strings.CutPrefix(a.Path, "/item/"); ok {
			u, err := uuid.Parse(id)
			if err != nil || items[u] == nil {
				probs.add(a.Source, "path", "%s is not a demo item", a.Path)
			}
		}
		aliased[a.Path] = true
		aliased[a.Alias] = true
	}
	for _, it := range d.Items {
		if !aliased["/item/"+it.ID.String()] {
			probs.add(it.Source, "", "item %q has no alias", it.Title)
		}
	}

	links := map[core.ID]*MenuLink{}
	for i := range d.MenuLinks {
		links[d.MenuLinks[i].ID] = &d.MenuLinks[i]
	}
	for _, m := range d.MenuLinks {
		if !d.configNamed("menu", m.Menu) {
			probs.add(m.Source, "menu", "menu %q is not in config/", m.Menu)
		}
		if strings.TrimSpace(m.Title) == "" {
			probs.add(m.Source, "title", "is required")
		}
		external := strings.HasPrefix(m.Path, "https://") || strings.HasPrefix(m.Path, "http://")
		if !external && m.Path != "/" && !aliased[m.Path] {
			probs.add(m.Source, "path", "%q is neither / nor a demo alias or item path", m.Path)
		}
		if m.ParentID != nil {
			if p, ok := links[*m.ParentID]; !ok {
				probs.add(m.Source, "parent_id", "menu link %s is not a demo link", *m.ParentID)
			} else if p.Menu != m.Menu {
				probs.add(m.Source, "parent_id", "menu link %s is in menu %q", *m.ParentID, p.Menu)
			}
		}
	}
	parentOf := func(m MenuLink) []core.ID {
		if m.ParentID == nil {
			return nil
		}
		return []core.ID{*m.ParentID}
	}
	if sorted, cyc := topoSort(d.MenuLinks, func(m MenuLink) core.ID { return m.ID }, parentOf); cyc != "" {
		probs.add(cyc, "parent_id", "the links' parents form a cycle")
	} else {
		d.MenuLinks = sorted
	}
}

// prefixed turns an error's field problems into problems at where.
func prefixed(where string, err error) []core.FieldError {
	fes := core.ErrorFields(err)
	if len(fes) == 0 {
		return []core.FieldError{{Path: where, Message: core.ErrorMessage(err)}}
	}
	out := make([]core.FieldError, len(fes))
	for i, fe := range fes {
		out[i] = core.FieldError{Path: where + ": " + fe.Path, Message: fe.Message}
	}
	return out
}

// topoSort orders xs so that parents come before children, keeping the
// document order otherwise. Parents outside xs are ignored. It returns the
// source of an element on a cycle instead when there is one.
func topoSort[T any](xs []T, idOf func(T) core.ID, parents func(T) []core.ID) ([]T, string) {
	index := map[core.ID]int{}
	for i, x := range xs {
		index[idOf(x)] = i
	}
	const (
		unseen = iota
		active
		done
	)
	state := make([]int, len(xs))
	out := make([]T, 0, len(xs))
	var visit func(i int) bool
	visit = func(i int) bool {
		switch state[i] {
		case active:
			return false
		case done:
			return true
		}
		state[i] = active
		for _, p := range parents(xs[i]) {
			if j, ok := index[p]; ok && !visit(j) {
				return false
			}
		}
		state[i] = done
		out = append(out, xs[i])
		return true
	}
	for i := range xs {
		if !visit(i) {
			return nil, sourceOf(xs[i])
		}
	}
	return out, ""
}

func sourceOf(x any) string {
	switch v := x.(type) {
	case Term:
		return v.Source
	case MenuLink:
		return v.Source
	}
	return "content"
}

// placeholderFileIDs gives each demo file a stable stand-in id for checks
// made before the files are stored.
func (d *Demo) placeholderFileIDs() map[string]core.ID {
	out := map[string]core.ID{}
	for _, f := range d.Files {
		out[f.Name] = uuid.NewSHA1(uuid.NameSpaceURL, []byte("trovato-demo:"+f.Hash))
	}
	return out
}

// resolveFields returns the item's fields as the API's JSON, with every
// {"file": NAME} of an image or file field replaced by {"id": ID}.
func (it *Item) resolveFields(t *core.ItemType, fileIDs map[string]core.ID) (json.RawMessage, error) {
	var probs problems
	out := make(map[string]any, len(it.Fields))
	for name, v := range it.Fields {
		var fd *core.FieldDef
		for i := range t.Fields {
			if t.Fields[i].Name == name {
				fd = &t.Fields[i]
			}
		}
		if fd == nil || (fd.Type != core.FieldImage && fd.Type != core.FieldFile) {
			out[name] = v
			continue
		}
		resolve := func(p string, v any) any {
			m, ok := v.(map[string]any)
			if !ok {
				return v
			}
			fname, ok := m["file"].(string)
			if !ok {
				return v
			}
			id, ok := fileIDs[fname]
			if !ok {
				probs.add("fields."+p, "file", "%q is not in files/", fname)
				return v
			}
			r := make(map[string]any, len(m))
			for k, x := range m {
				if k != "file" {
					r[k] = x
				}
			}
			r["id"] = id.String()
			return r
		}
		if list, ok := v.([]any); ok {
			rl := make([]any, len(list))
			for i, x := range list {
				rl[i] = resolve(fmt.Sprintf("%s[%d]", name, i), x)
			}
			out[name] = rl
		} else {
			out[name] = resolve(name, v)
		}
	}
	if len(probs) > 0 {
		return nil, core.InvalidFields("unknown demo files", probs)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "fields cannot be written as JSON: %v", err)
	}
	return b, nil
}

// fileNames returns the demo files an item's image and file fields name.
func (it *Item) fileNames(t *core.ItemType) []string {
	var out []string
	for _, fd := range t.Fields {
		if fd.Type != core.FieldImage && fd.Type != core.FieldFile {
			continue
		}
		v := it.Fields[fd.Name]
		vals := []any{v}
		if list, ok := v.([]any); ok {
			vals = list
		}
		for _, x := range vals {
			if m, ok := x.(map[string]any); ok {
				if name, ok := m["file"].(string); ok {
					out = append(out, name)
				}
			}
		}
	}
	return out
}

// fileRefs returns the file ids an item's fields refer to.
func fileRefs(t *core.ItemType, fields json.RawMessage) []core.ID {
	var m map[string]json.RawMessage
	if json.Unmarshal(fields, &m) != nil {
		return nil
	}
	var out []core.ID
	for _, fd := range t.Fields {
		if fd.Type != core.FieldImage && fd.Type != core.FieldFile {
			continue
		}
		raw, ok := m[fd.Name]
		if !ok {
			continue
		}
		var one struct {
			ID core.ID `json:"id"`
		}
		var list []struct {
			ID core.ID `json:"id"`
		}
		if json.Unmarshal(raw, &one) == nil && one.ID != core.NilID {
			out = append(out, one.ID)
		} else if json.Unmarshal(raw, &list) == nil {
			for _, x := range list {
				out = append(out, x.ID)
			}
		}
	}
	return out
}

// demoRefs answers reference checks from the demo's own documents.
type demoRefs struct {
	items map[core.ID]string
	terms map[core.ID]string
	files map[core.ID]core.FileInfo
}

func (d *Demo) refChecker(fileIDs map[string]core.ID) *demoRefs {
	r := &demoRefs{items: map[core.ID]string{}, terms: map[core.ID]string{}, files: map[core.ID]core.FileInfo{}}
	for _, it := range d.Items {
		r.items[it.ID] = it.Type
	}
	for _, t := range d.Terms {
		r.terms[t.ID] = t.Vocabulary
	}
	for _, f := range d.Files {
		if id, ok := fileIDs[f.Name]; ok {
			r.files[id] = core.FileInfo{MIME: f.MIME, Size: int64(len(f.Data))}
		}
	}
	return r
}

func pick[V any](m map[core.ID]V, ids []core.ID) map[core.ID]V {
	out := map[core.ID]V{}
	for _, id := range ids {
		if v, ok := m[id]; ok {
			out[id] = v
		}
	}
	return out
}

func (r *demoRefs) ItemTypesOf(_ context.Context, ids []core.ID) (map[core.ID]string, error) {
	return pick(r.items, ids), nil
}

func (r *demoRefs) TermVocabularies(_ context.Context, ids []core.ID) (map[core.ID]string, error) {
	return pick(r.terms, ids), nil
}

func (r *demoRefs) FilesExist(_ context.Context, ids []core.ID) (map[core.ID]core.FileInfo, error) {
	return pick(r.files, ids), nil
}
