package core

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// TestTreeNameChecks holds every hand-written check to the regular
// expression it replaced: the listed cases, then random strings over an
// alphabet of the characters that matter (and some that never match).
func TestTreeNameChecks(t *testing.T) {
	checks := []struct {
		name  string
		re    string
		check func(string) bool
		cases []string
	}{
		{"IDPrefix", `^[a-z][a-z0-9\-]{0,31}$`, ValidIDPrefix, []string{"a", "tile-x1", "1a", "A", "a_b", strings.Repeat("a", 32), strings.Repeat("a", 33)}},
		{"Language", `^[A-Za-z0-9][A-Za-z0-9_+#.\-]{0,31}$`, validLanguage, []string{"go", "c++", "c#", "objective-c", ".net", "", "x y"}},
		{"IslandName", `^[a-z0-9][a-z0-9_\-]{0,63}$`, validIslandName, []string{"user-menu", "_x", "9", "A"}},
		{"ControlName", `^[A-Za-z0-9_][A-Za-z0-9_.\-\[\]]{0,127}$`, validControlName, []string{"keys", "f[0].x", "[x]", "-a", "a b"}},
		{"TreeID", `^[A-Za-z][A-Za-z0-9_:.\-]{0,127}$`, validTreeID, []string{"main-content", "a:b.c", "1a", "", strings.Repeat("a", 128), strings.Repeat("a", 129)}},
		{"ClassName", `^[A-Za-z0-9_\-]{1,64}$`, ValidClassName, []string{"field--name-body", "", "a b", strings.Repeat("a", 65)}},
		{"LangTag", `^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$`, ValidLangTag, []string{"en", "pt-BR", "zh-Hant-TW", "en-", "-en", "en--x", "1en", "abcdefghi", "en-123456789"}},
		{"DataAttr", `^data-[a-z][a-z0-9\-]{0,62}$`, validDataAttr, []string{"data-x", "data-", "data-1", "data-a-b", "datax", "data-A"}},
		{"AriaAttr", `^aria-[a-z]{2,32}$`, validAriaAttr, []string{"aria-label", "aria-x", "aria-", "aria-Label"}},
		{"Role", `^[a-z\-]{1,32}( [a-z\-]{1,32}){0,3}$`, validRole, []string{"search", "a b c d", "a b c d e", "a  b", " a", "a ", ""}},
		{"Suggestion", `^[a-z0-9_]+(-[a-z0-9_]+)*(--[a-z0-9_]+(-[a-z0-9_]+)*)+$`, validSuggestion, []string{"item--article", "a-b--c-d--e", "a---b", "a----b", "--a", "a--", "item", "a--b-", "a--_"}},
		{"SimpleKey", `^[A-Za-z0-9_:\-]{1,64}$`, validSimpleKey, []string{"children", "a:b", "", "a.b"}},
		{"DataImage", `^data:image/(png|jpeg|gif|webp|avif);base64,[A-Za-z0-9+/]+={0,2}$`, validDataImage,
			[]string{"data:image/png;base64,iVBO==", "data:image/png;base64,=", "data:image/png;base64,a===", "data:image/svg;base64,aa", "data:image/png;base64,", "data:image/png;base64,a;base64,b", "Data:image/png;base64,a"}},
	}
	alphabet := []byte("abzAZ09_-:.+#[] =/;,dtimgpn\x00é")
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			re := regexp.MustCompile(c.re)
			try := func(s string) {
				if got, want := c.check(s), re.MatchString(s); got != want {
					t.Errorf("%q: %v, the expression says %v", s, got, want)
				}
			}
			for _, s := range c.cases {
				try(s)
			}
			for range 20000 {
				n := rng.IntN(12)
				var b strings.Builder
				if rng.IntN(3) == 0 && len(c.cases) > 0 {
					b.WriteString(c.cases[rng.IntN(len(c.cases))]) // mutate a known case
				}
				for range n {
					b.WriteByte(alphabet[rng.IntN(len(alphabet))])
				}
				try(b.String())
			}
		})
	}
	t.Run("Scheme", func(t *testing.T) {
		re := regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.\-]*):`)
		for _, s := range []string{"https://x", "mailto:a", "a+b.c-d:x", "1http:", ":x", "/a:b", "java script:", "", "x"} {
			got, ok := urlScheme(s)
			m := re.FindStringSubmatch(s)
			if ok != (m != nil) || (ok && got != m[1]) {
				t.Errorf("%q: %q %v, the expression says %q", s, got, ok, m)
			}
		}
	})
}

func BenchmarkCheckAttr(b *testing.B) {
	for b.Loop() {
		_ = CheckAttr(ElemLink, "class", "field field--name-body field--type-long-text")
		_ = CheckAttr(ElemLink, "data-item-id", "x")
		_ = CheckAttr(ElemLink, "id", "main-content")
		_ = CheckURL("https://example.com/a/b", false)
	}
}
