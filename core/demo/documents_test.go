package demo_test

import (
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/demo"
)

// The demo is what a new user sees first: it must be valid, complete and
// realistic.
func TestDemoDocuments(t *testing.T) {
	t.Parallel()
	d := mustDemo(t)
	for _, c := range d.Config {
		if _, err := core.CheckConfigDocument(c.Kind, c.Name, c.Body); err != nil {
			t.Errorf("%s/%s: %v", c.Kind, c.Name, err)
		}
	}
	count := map[string]int{}
	for _, it := range d.Items {
		count[it.Type]++
	}
	if count["article"] < 12 || count["page"] < 4 {
		t.Errorf("items per type: %v, want at least 12 articles and 4 pages", count)
	}
	vocab := map[string]int{}
	twoParents := false
	for _, term := range d.Terms {
		vocab[term.Vocabulary]++
		twoParents = twoParents || len(term.Parents) > 1
	}
	if vocab["tags"] < 8 || vocab["categories"] < 6 || !twoParents {
		t.Errorf("terms per vocabulary: %v (a term with two parents: %v)", vocab, twoParents)
	}
	words := regexp.MustCompile(`[\p{L}\p{N}][\p{L}\p{N}'’-]*`)
	withImage := 0
	for _, it := range d.Items {
		body, _ := it.Fields["body"].(string)
		if it.Type != "article" {
			continue
		}
		if n := len(words.FindAllString(body, -1)); n < 150 || n > 600 {
			t.Errorf("%s (%s): %d words, want 150 to 600", it.Title, it.Source, n)
		}
		if !strings.Contains(body, "\n## ") {
			t.Errorf("%s (%s): no section headings", it.Title, it.Source)
		}
		if it.Fields["image"] != nil {
			withImage++
		}
		if it.Fields["category"] == nil || it.Fields["tags"] == nil {
			t.Errorf("%s (%s): no category or tags", it.Title, it.Source)
		}
	}
	if withImage < 8 {
		t.Errorf("%d articles have an image, want at least 8", withImage)
	}
	for _, f := range d.Files {
		if len(f.Data) > 30<<10 || !strings.HasPrefix(f.MIME, "image/") {
			t.Errorf("files/%s: %d bytes of %s, want an image under 30 KB", f.Name, len(f.Data), f.MIME)
		}
	}
	menus := map[string]int{}
	nested := false
	for _, m := range d.MenuLinks {
		menus[m.Menu]++
		nested = nested || m.ParentID != nil
	}
	if menus["main"] == 0 || menus["footer"] == 0 || !nested {
		t.Errorf("menu links per menu: %v (nested: %v)", menus, nested)
	}
}

// Links inside the demo's texts lead to demo pages: a visitor of the demo
// never meets a 404.
func TestDemoLinksResolve(t *testing.T) {
	t.Parallel()
	d := mustDemo(t)
	paths := map[string]bool{"/": true}
	for _, a := range d.Aliases {
		paths[a.Alias] = true
		paths[a.Path] = true
	}
	link := regexp.MustCompile(`\]\((/[^)\s#]*)`)
	links := 0
	for _, it := range d.Items {
		body, _ := it.Fields["body"].(string)
		for _, m := range link.FindAllStringSubmatch(body, -1) {
			links++
			if !paths[m[1]] {
				t.Errorf("%s (%s) links to %s, which is not a demo page", it.Title, it.Source, m[1])
			}
		}
		// The title is the page's only first-level heading.
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "# ") {
				t.Errorf("%s (%s): first-level heading %q; start sections at ##", it.Title, it.Source, line)
			}
		}
	}
	if links < 10 {
		t.Errorf("%d internal links in the demo's texts; the pages should link to each other", links)
	}
}

// Every kind of mistake in a document is reported with its file and line,
// all at once.
func TestDemoDocumentErrors(t *testing.T) {
	t.Parallel()
	const article = "content/articles/01-staging-a-whole-site.yaml"
	for _, tc := range []struct {
		name string
		edit map[string]func(string) string
		want []string
	}{
		{"UnknownKey", map[string]func(string) string{article: replace("promote: true", "promote: true\ncolour: red")},
			[]string{fmt.Sprintf("%s:%d:1", article, lineOf(t, article, "promote: true")+1), `unknown field "colour"`}},
		{"BadID", map[string]func(string) string{"content/terms.yaml": replace("id: 01900000-0000-7000-8000-000000000301", "id: 301")},
			[]string{fmt.Sprintf("content/terms.yaml:%d: id", lineOf(t, "content/terms.yaml", "id: 01900000-0000-7000-8000-000000000301")-1), "not a lowercase UUIDv7"}},
		{"DuplicateID", map[string]func(string) string{"content/terms.yaml": replace("id: 01900000-0000-7000-8000-000000000302", "id: 01900000-0000-7000-8000-000000000301")},
			[]string{fmt.Sprintf("is already used at content/terms.yaml:%d", lineOf(t, "content/terms.yaml", "id: 01900000-0000-7000-8000-000000000301")-1)}},
		{"NoCreated", map[string]func(string) string{article: replace("created_at: 2026-01-12T09:00:00Z\n", "")},
			[]string{article + ":1: created_at", "is required"}},
		{"UnknownFile", map[string]func(string) string{article: replace("file: layers.jpg", "file: nope.jpg")},
			[]string{article + ":1: fields.image: file", `"nope.jpg" is not in files/`}},
		{"InvalidField", map[string]func(string) string{article: replace("    alt: Four", "    title: x\n    bogus: 1\n    alt: Four")},
			[]string{article + ":1: fields.image.bogus"}},
		{"TermOfWrongVocabulary", map[string]func(string) string{article: replace("category: {id: 01900000-0000-7000-8000-000000000407}", "category: {id: 01900000-0000-7000-8000-000000000301}")},
			[]string{article + ":1: fields.category.id"}},
		{"ParentCycle", map[string]func(string) string{"content/terms.yaml": replace("name: Engineering\n", "name: Engineering\nparents: [01900000-0000-7000-8000-000000000404]\n")},
			[]string{"parents: the term's parents form a cycle"}},
		{"AliasClash", map[string]func(string) string{"content/aliases.yaml": replace("alias: /contact", "alias: /about")},
			[]string{fmt.Sprintf("content/aliases.yaml:%d: alias", lineOf(t, "content/aliases.yaml", "alias: /contact")-2),
				fmt.Sprintf("/about is already used at content/aliases.yaml:%d", lineOf(t, "content/aliases.yaml", "alias: /about")-2)}},
		{"BrokenMenuLink", map[string]func(string) string{"content/menus.yaml": replace("path: /privacy", "path: /privcy")},
			[]string{"content/menus.yaml", `"/privcy" is neither / nor a demo alias`}},
		{"UnusedFile", map[string]func(string) string{"files/extra.png": func(string) string { return "\x89PNG\r\n\x1a\n" }},
			[]string{"files/extra.png", "no item uses this file"}},
		{"BadConfig", map[string]func(string) string{"config/site.yaml": replace("items_per_page: 10", "items_per_page: 0")},
			[]string{fmt.Sprintf("config/site.yaml:%d", lineOf(t, "config/site.yaml", "items_per_page: 10"))}},
		{"UnknownContentKind", map[string]func(string) string{"content/extra.yaml": func(string) string { return "kind: widget\n" }},
			[]string{"content/extra.yaml:1: kind", `"widget" is not a content kind`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := demo.Parse(demoFS(t, tc.edit))
			if core.ErrorCode(err) != core.EInvalid {
				t.Fatalf("Parse: %v, want invalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

// lineOf returns the line of the embedded demo file p where s starts.
func lineOf(t *testing.T, p, s string) int {
	t.Helper()
	b, err := fs.ReadFile(demo.FS(), p)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), s)
	if i < 0 {
		t.Fatalf("%s does not contain %q", p, s)
	}
	return strings.Count(string(b[:i]), "\n") + 1
}

// TestConfigHashes prints the hash of every config document, for
// demo.yaml's config_history (README.md, "Changing the demo").
func TestConfigHashes(t *testing.T) {
	t.Parallel()
	d := mustDemo(t)
	hashes := d.ConfigHashes()
	if len(hashes) != len(d.Config) {
		t.Fatalf("%d hashes for %d documents", len(hashes), len(d.Config))
	}
	for _, c := range d.Config {
		t.Logf("%s/%s: %s", c.Kind, c.Name, hashes[c.Kind+"/"+c.Name])
	}
}
