package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

func TestParseManifest(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "manifests", "blog.toml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest("blog/plugin.toml", src)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "blog" || m.Version != "1.2.0" || len(m.Taps) != 2 || m.Taps[0].Weight != 10 ||
		len(m.Tables) != 1 || len(m.Tables[0].Columns) != 3 || m.Tables[0].Indexes[0].Columns[1] != "read_at" ||
		!m.HasCapability(CapAccessVote) || m.Stageable[0] != "blog_series" || m.Permissions[0].Title == "" {
		t.Fatalf("manifest = %+v", m)
	}
}

func TestParseManifestErrors(t *testing.T) {
	base := `name = "blog"
version = "1.0.0"
api_version = 1
`
	tests := []struct {
		name string
		src  string
		want []string // substrings of the error, including file:line
	}{
		{name: "Syntax", src: base + "taps = [\n", want: []string{"p.toml:4"}},
		{name: "UnknownKey", src: base + "colour = \"red\"\n", want: []string{"p.toml:4: colour", `unknown key "colour"`}},
		{name: "UnknownNestedKey", src: base + "[[taps]]\nname = \"cron\"\nwieght = 3\n", want: []string{"p.toml:6: taps.wieght"}},
		{name: "BadName", src: strings.Replace(base, `"blog"`, `"Blog!"`, 1), want: []string{"p.toml:1: name"}},
		{name: "APIVersion", src: strings.Replace(base, "api_version = 1", "api_version = 7", 1), want: []string{"p.toml:3: api_version", "not 7"}},
		{name: "UnknownTap", src: base + "[[taps]]\nname = \"cron\"\n[[taps]]\nname = \"render\"\n", want: []string{"p.toml:7: taps[1].name", `unknown tap "render"`}},
		{name: "UnknownCapability", src: base + "capabilities = [\"log\", \"sql\"]\n", want: []string{"p.toml:4: capabilities[1]", `unknown capability "sql"`}},
		{name: "ColumnType", src: base + "[[tables]]\nname = \"t\"\nschema_version = 1\nprimary_key = [\"id\"]\n[[tables.columns]]\nname = \"id\"\ntype = \"serial\"\n",
			want: []string{"p.toml:10: tables[0].columns[0].type", `unknown column type "serial"`}},
		{name: "PrimaryKeyColumn", src: base + "[[tables]]\nname = \"t\"\nschema_version = 1\nprimary_key = [\"nope\"]\n[[tables.columns]]\nname = \"id\"\ntype = \"uuid\"\n",
			want: []string{"p.toml:7: tables[0].primary_key[0]", `unknown column "nope"`}},
		{name: "PermissionTitle", src: base + "[[permissions]]\nname = \"x\"\n", want: []string{"p.toml:4: permissions[0].title"}},
		{name: "StageablePermissionKind", src: base + "stageable = [\"series\"]\n[stageable_permissions]\nnotes = \"edit\"\n[[permissions]]\nname = \"edit\"\ntitle = \"Edit\"\n",
			want: []string{"p.toml:6: stageable_permissions.notes", `"notes" is not one of the plugin's stageable kinds`}},
		{name: "StageablePermissionUndeclared", src: base + "stageable = [\"series\"]\nstageable_permissions = { series = \"edit series\" }\n",
			want: []string{"p.toml:5: stageable_permissions.series", `"edit series" is not a permission the plugin defines`}},
		{name: "SelfDependency", src: base + "dependencies = [\"blog\"]\n", want: []string{"p.toml:4: dependencies[0]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest("p.toml", []byte(tc.src))
			if core.ErrorCode(err) != core.EInvalid {
				t.Fatalf("err = %v, want EInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestResolveOrder(t *testing.T) {
	mk := func(name string, deps ...string) Manifest {
		return Manifest{Name: name, Dependencies: deps}
	}
	tests := []struct {
		name string
		in   []Manifest
		want string // order, or error substring
		err  bool
	}{
		{name: "OK", in: []Manifest{mk("site", "blog", "tags"), mk("blog", "tags"), mk("tags"), mk("alpha")}, want: "alpha,tags,blog,site"},
		{name: "Empty", in: nil, want: ""},
		{name: "Missing", in: []Manifest{mk("site", "blog"), mk("blog", "tags")}, err: true, want: "blog -> tags (not installed)"},
		{name: "Cycle", in: []Manifest{mk("a", "b"), mk("b", "c"), mk("c", "a")}, err: true, want: "dependency cycle: a -> b -> c -> a"},
		{name: "CycleBelowRoot", in: []Manifest{mk("root", "x"), mk("x", "y"), mk("y", "x")}, err: true, want: "dependency cycle: x -> y -> x"},
		{name: "Duplicate", in: []Manifest{mk("a"), mk("a")}, err: true, want: "listed twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := ResolveOrder(tc.in)
			if tc.err {
				if core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, m := range out {
				names = append(names, m.Name)
			}
			if got := strings.Join(names, ","); got != tc.want {
				t.Fatalf("order = %s, want %s", got, tc.want)
			}
		})
	}
}
