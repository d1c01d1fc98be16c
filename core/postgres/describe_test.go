package postgres

import (
	"reflect"
	"testing"

	"github.com/trovato/trovato/core"
)

// TestPruneEqualKeepsTheDiff checks that dropping byte-equal members
// before DiffJSON changes nothing in its answer.
func TestPruneEqualKeepsTheDiff(t *testing.T) {
	for name, tc := range map[string]struct{ a, b string }{
		"TitleOnly":     {`{"title":"A","fields":{"body":"long text","n":1}}`, `{"title":"B","fields":{"body":"long text","n":1}}`},
		"NestedField":   {`{"title":"A","fields":{"body":"x","n":1}}`, `{"title":"A","fields":{"body":"y","n":1}}`},
		"Deep":          {`{"fields":{"tags":[{"id":"1"}],"m":{"k":{"z":1}}}}`, `{"fields":{"tags":[{"id":"2"}],"m":{"k":{"z":2}}}}`},
		"AddedRemoved":  {`{"title":"A","fields":{"old":"x"}}`, `{"title":"A","fields":{"new":"y"},"promote":true}`},
		"Equal":         {`{"title":"A","fields":{"b":"x"}}`, `{"title":"A","fields":{"b":"x"}}`},
		"SameValueText": {`{"n":1.0,"s":"<a>"}`, `{"n":1,"s":"\u003ca>"}`},
		"KeyNeedsQuote": {`{"fields":{"a b":"x","c":"y"}}`, `{"fields":{"a b":"z","c":"y"}}`},
		"NotObject":     {`["a"]`, `["b"]`},
		"TypeChange":    {`{"fields":{"v":{"x":1}}}`, `{"fields":{"v":[1]}}`},
		"Created":       {``, `{"title":"A"}`},
		"Deleted":       {`{"title":"A"}`, ``},
	} {
		t.Run(name, func(t *testing.T) {
			want := core.DiffJSON("", []byte(tc.a), []byte(tc.b))
			pa, pb, _ := pruneEqual([]byte(tc.a), []byte(tc.b), nil, 2)
			got := core.DiffJSON("", pa, pb)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("pruned diff %+v, want %+v", got, want)
			}
		})
	}
}
