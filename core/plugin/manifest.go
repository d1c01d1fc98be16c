package plugin

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/trovato/trovato/core"
)

// ManifestFile is the name of a plugin's manifest beside <name>.wasm.
const ManifestFile = "plugin.toml"

// Manifest is a parsed and validated plugin.toml.
type Manifest struct {
	Name         string       `toml:"name"`
	Version      string       `toml:"version"`
	APIVersion   int          `toml:"api_version"`
	Description  string       `toml:"description"`
	Dependencies []string     `toml:"dependencies"`
	Capabilities []Capability `toml:"capabilities"`
	Stageable    []string     `toml:"stageable"`
	// StageablePermissions names, per stageable kind, the plugin's own
	// permission that guards writes to it (default: administer content).
	StageablePermissions map[string]string `toml:"stageable_permissions"`
	Taps                 []TapDecl         `toml:"taps"`
	Permissions          []Permission      `toml:"permissions"`
	Tables               []Table           `toml:"tables"`
}

// TapDecl declares that a plugin implements a tap. Lower weights run first.
type TapDecl struct {
	Name   string `toml:"name"`
	Weight int    `toml:"weight"`
}

// Permission is a permission a plugin defines for roles to be granted.
type Permission struct {
	Name  string `toml:"name"`
	Title string `toml:"title"`
}

// Table is a table a plugin owns. The kernel creates it in the plugin's own
// schema and migrates it when SchemaVersion changes.
type Table struct {
	Name          string   `toml:"name"`
	SchemaVersion int      `toml:"schema_version"`
	Columns       []Column `toml:"columns"`
	PrimaryKey    []string `toml:"primary_key"`
	Indexes       []Index  `toml:"indexes"`
}

// Column is one column of a plugin table.
type Column struct {
	Name    string `toml:"name"`
	Type    string `toml:"type"`
	NotNull bool   `toml:"not_null"`
}

// Index is a secondary index of a plugin table.
type Index struct {
	Name    string   `toml:"name"`
	Columns []string `toml:"columns"`
	Unique  bool     `toml:"unique"`
}

// ColumnTypes are the column types a plugin table may use.
var ColumnTypes = []string{"text", "int", "bigint", "bool", "float", "timestamptz", "jsonb", "uuid"}

// Column returns the named column of t.
func (t *Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Table returns the named table of m.
func (m *Manifest) Table(name string) (*Table, bool) {
	for i := range m.Tables {
		if m.Tables[i].Name == name {
			return &m.Tables[i], true
		}
	}
	return nil, false
}

// HasCapability reports whether the manifest requests c.
func (m *Manifest) HasCapability(c Capability) bool {
	for _, k := range m.Capabilities {
		if k == c {
			return true
		}
	}
	return false
}

var (
	reName    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	reVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(?:[-+][0-9A-Za-z.-]+)?$`)
	rePerm    = regexp.MustCompile(`^[a-z0-9][a-z0-9 _-]{0,127}$`)
	reIndex   = regexp.MustCompile(`\[[0-9]+\]`)
)

// LoadManifest reads and validates dir/plugin.toml.
func LoadManifest(dir string) (Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return Manifest{}, fmt.Errorf("read plugin manifest: %w", err)
	}
	return ParseManifest(path, b)
}

// ParseManifest decodes and validates a plugin.toml; file names the source
// in error messages. Errors are EInvalid and carry file:line where the
// offending key is known.
func ParseManifest(file string, src []byte) (Manifest, error) {
	var m Manifest
	md, err := toml.NewDecoder(bytes.NewReader(src)).Decode(&m)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return Manifest{}, core.Errorf(core.EInvalid, "%s:%d: %s", file, pe.Position.Line, pe.Message)
		}
		return Manifest{}, core.Errorf(core.EInvalid, "%s: %v", file, err)
	}
	lines := tomlKeyLines(src)
	if und := md.Undecoded(); len(und) > 0 {
		var fields []core.FieldError
		for _, k := range und {
			fields = append(fields, core.FieldError{
				Path:    locate(file, lines, k.String()),
				Message: fmt.Sprintf("unknown key %q", k.String()),
			})
		}
		return Manifest{}, core.InvalidFields(file+": invalid plugin manifest", fields)
	}
	if fields := m.validate(); len(fields) > 0 {
		for i := range fields {
			fields[i].Path = locate(file, lines, fields[i].Path)
		}
		return Manifest{}, core.InvalidFields(file+": invalid plugin manifest", fields)
	}
	return m, nil
}

// Validate checks a manifest built in code (ParseManifest validates too).
func (m *Manifest) Validate() error {
	if fields := m.validate(); len(fields) > 0 {
		return core.InvalidFields("invalid plugin manifest", fields)
	}
	return nil
}

func (m *Manifest) validate() []core.FieldError {
	var fe []core.FieldError
	bad := func(path, format string, args ...any) {
		fe = append(fe, core.FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if !reName.MatchString(m.Name) {
		bad("name", "must match %s", reName)
	}
	if !reVersion.MatchString(m.Version) {
		bad("version", "must be a semantic version like 1.0.0")
	}
	if m.APIVersion != APIVersion {
		bad("api_version", "this host implements plugin API version %d, not %d", APIVersion, m.APIVersion)
	}
	seen := map[string]bool{}
	for i, d := range m.Dependencies {
		p := fmt.Sprintf("dependencies[%d]", i)
		switch {
		case !reName.MatchString(d):
			bad(p, "%q is not a plugin name", d)
		case d == m.Name:
			bad(p, "a plugin cannot depend on itself")
		case seen[d]:
			bad(p, "duplicate dependency %q", d)
		}
		seen[d] = true
	}
	seenCap := map[Capability]bool{}
	for i, c := range m.Capabilities {
		p := fmt.Sprintf("capabilities[%d]", i)
		if !validCapability(c) {
			bad(p, "unknown capability %q (known: %s)", c, joinCaps(Capabilities))
		} else if seenCap[c] {
			bad(p, "duplicate capability %q", c)
		}
		seenCap[c] = true
	}
	seen = map[string]bool{}
	for i, s := range m.Stageable {
		p := fmt.Sprintf("stageable[%d]", i)
		if !reName.MatchString(s) {
			bad(p, "%q is not a valid kind name", s)
		} else if seen[s] {
			bad(p, "duplicate kind %q", s)
		}
		seen[s] = true
	}
	for _, kind := range slices.Sorted(maps.Keys(m.StageablePermissions)) {
		p := "stageable_permissions." + kind
		perm := m.StageablePermissions[kind]
		if !seen[kind] {
			bad(p, "%q is not one of the plugin's stageable kinds", kind)
		}
		if !slices.ContainsFunc(m.Permissions, func(d Permission) bool { return d.Name == perm }) {
			bad(p, "%q is not a permission the plugin defines under [[permissions]]", perm)
		}
	}
	seen = map[string]bool{}
	for i, t := range m.Taps {
		p := fmt.Sprintf("taps[%d]", i)
		if !knownTap(t.Name) {
			bad(p+".name", "unknown tap %q", t.Name)
		} else if seen[t.Name] {
			bad(p+".name", "tap %q declared twice", t.Name)
		}
		seen[t.Name] = true
	}
	seen = map[string]bool{}
	for i, pm := range m.Permissions {
		p := fmt.Sprintf("permissions[%d]", i)
		if !rePerm.MatchString(pm.Name) {
			bad(p+".name", "%q is not a valid permission name", pm.Name)
		} else if seen[pm.Name] {
			bad(p+".name", "permission %q defined twice", pm.Name)
		}
		seen[pm.Name] = true
		if strings.TrimSpace(pm.Title) == "" {
			bad(p+".title", "a permission needs a title")
		}
	}
	seen = map[string]bool{}
	for i, t := range m.Tables {
		p := fmt.Sprintf("tables[%d]", i)
		if !reName.MatchString(t.Name) {
			bad(p+".name", "%q is not a valid table name", t.Name)
		} else if seen[t.Name] {
			bad(p+".name", "table %q declared twice", t.Name)
		}
		seen[t.Name] = true
		if t.SchemaVersion < 1 {
			bad(p+".schema_version", "must be 1 or more")
		}
		if len(t.Columns) == 0 {
			bad(p+".columns", "a table needs at least one column")
		}
		cols := map[string]bool{}
		for j, c := range t.Columns {
			cp := fmt.Sprintf("%s.columns[%d]", p, j)
			if !reName.MatchString(c.Name) {
				bad(cp+".name", "%q is not a valid column name", c.Name)
			} else if cols[c.Name] {
				bad(cp+".name", "column %q declared twice", c.Name)
			}
			cols[c.Name] = true
			if !validColumnType(c.Type) {
				bad(cp+".type", "unknown column type %q (allowed: %s)", c.Type, strings.Join(ColumnTypes, ", "))
			}
		}
		if len(t.PrimaryKey) == 0 {
			bad(p+".primary_key", "a table needs a primary key")
		}
		for j, k := range t.PrimaryKey {
			if !cols[k] {
				bad(fmt.Sprintf("%s.primary_key[%d]", p, j), "unknown column %q", k)
			}
		}
		idx := map[string]bool{}
		for j, ix := range t.Indexes {
			ip := fmt.Sprintf("%s.indexes[%d]", p, j)
			if !reName.MatchString(ix.Name) {
				bad(ip+".name", "%q is not a valid index name", ix.Name)
			} else if idx[ix.Name] {
				bad(ip+".name", "index %q declared twice", ix.Name)
			}
			idx[ix.Name] = true
			if len(ix.Columns) == 0 {
				bad(ip+".columns", "an index needs at least one column")
			}
			for k, c := range ix.Columns {
				if !cols[c] {
					bad(fmt.Sprintf("%s.columns[%d]", ip, k), "unknown column %q", c)
				}
			}
		}
	}
	return fe
}

func validColumnType(t string) bool {
	for _, k := range ColumnTypes {
		if k == t {
			return true
		}
	}
	return false
}

func joinCaps(cs []Capability) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// tomlKeyLines maps key paths ("name", "taps[1].weight",
// "tables[0].columns[2].type") to the line they are written on. It
// understands tables, arrays of tables, dotted keys and multi-line strings,
// which covers what plugin.toml uses; keys it cannot place are reported
// without a line.
func tomlKeyLines(src []byte) map[string]int {
	lines := map[string]int{}
	counts := map[string]int{} // array-of-tables path -> elements seen
	prefix := ""
	inMulti := ""
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if inMulti != "" {
			if strings.Count(line, inMulti)%2 == 1 {
				inMulti = ""
			}
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if strings.HasPrefix(line, "[[") {
			end := strings.Index(line, "]]")
			if end < 0 {
				continue
			}
			raw := tomlPath(line[2:end])
			// Nested arrays of tables hang off the current element of
			// their parent array.
			path := arrayParent(raw, counts)
			i := counts[path]
			counts[path] = i + 1
			prefix = path + "[" + strconv.Itoa(i) + "]"
			lines[prefix] = n
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				continue
			}
			prefix = arrayParent(tomlPath(line[1:end]), counts)
			lines[prefix] = n
			continue
		}
		eq := strings.IndexByte(line, '=')
		if eq < 0 {
			continue
		}
		key := tomlPath(line[:eq])
		if prefix != "" {
			key = prefix + "." + key
		}
		if _, ok := lines[key]; !ok {
			lines[key] = n
		}
		// Undecoded keys are reported without array indexes.
		if plain := reIndex.ReplaceAllString(key, ""); plain != key {
			if _, ok := lines[plain]; !ok {
				lines[plain] = n
			}
		}
		val := strings.TrimSpace(line[eq+1:])
		for _, q := range []string{`"""`, `'''`} {
			if strings.HasPrefix(val, q) && strings.Count(val, q)%2 == 1 {
				inMulti = q
			}
		}
	}
	return lines
}

func tomlPath(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

// arrayParent rewrites "tables.columns" to "tables[1].columns" when tables
// is an array of tables whose current element is 1.
func arrayParent(path string, counts map[string]int) string {
	parts := strings.Split(path, ".")
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += "."
		}
		out += p
		if i < len(parts)-1 {
			if c, ok := counts[out]; ok && c > 0 {
				out += "[" + strconv.Itoa(c-1) + "]"
			}
		}
	}
	return out
}

// locate turns a key path into "file:line: path", falling back to the
// nearest enclosing key that has a line.
func locate(file string, lines map[string]int, path string) string {
	p := path
	for p != "" {
		if n, ok := lines[p]; ok {
			return fmt.Sprintf("%s:%d: %s", file, n, path)
		}
		// Strip the last segment: ".x" or "[n]".
		if i := strings.LastIndexAny(p, ".["); i > 0 {
			p = p[:i]
		} else {
			break
		}
	}
	return fmt.Sprintf("%s: %s", file, path)
}

// ResolveOrder returns the manifests in dependency order: every plugin
// after the plugins it depends on, ties broken by name. A missing
// dependency or a cycle is an EInvalid error naming the chain.
func ResolveOrder(manifests []Manifest) ([]Manifest, error) {
	byName := make(map[string]int, len(manifests))
	for i, m := range manifests {
		if _, dup := byName[m.Name]; dup {
			return nil, core.Errorf(core.EInvalid, "plugin %q is listed twice", m.Name)
		}
		byName[m.Name] = i
	}
	names := make([]string, 0, len(manifests))
	for _, m := range manifests {
		names = append(names, m.Name)
	}
	sort.Strings(names)

	const (
		unvisited = iota
		visiting
		done
	)
	state := make(map[string]int, len(manifests))
	out := make([]Manifest, 0, len(manifests))
	var stack []string
	var visit func(name string) error
	visit = func(name string) error {
		i, ok := byName[name]
		if !ok {
			return core.Errorf(core.EInvalid, "missing dependency: %s (not installed)", strings.Join(append(stack, name), " -> "))
		}
		switch state[name] {
		case done:
			return nil
		case visiting:
			start := 0
			for j, s := range stack {
				if s == name {
					start = j
				}
			}
			return core.Errorf(core.EInvalid, "dependency cycle: %s", strings.Join(append(stack[start:], name), " -> "))
		}
		state[name] = visiting
		stack = append(stack, name)
		deps := append([]string(nil), manifests[i].Dependencies...)
		sort.Strings(deps)
		for _, d := range deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
		out = append(out, manifests[i])
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}
