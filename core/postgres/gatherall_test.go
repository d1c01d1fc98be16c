package postgres_test

import (
	"testing"

	"github.com/trovato/trovato/core"
)

// TestRunGatherAll: every page RunGather returns is the slice of
// RunGatherAll's items at its place, also when the sort keys tie (the
// order ends with the id), and the total is the length.
func TestRunGatherAll(t *testing.T) {
	t.Parallel()
	gs := mustGatherSite(t)
	for name, body := range map[string]string{
		"DefaultOrder": `{"kind":"gather","name":"t","label":"T","pager":{"per_page":2}}`,
		"Ties":         `{"kind":"gather","name":"t","label":"T","sorts":[{"field":"promote"}],"pager":{"per_page":2}}`,
		"Filtered": `{"kind":"gather","name":"t","label":"T","types":["article"],"filters":[{"field":"status","op":"eq","value":"published"}],
			"sorts":[{"field":"sticky","direction":"desc"}],"pager":{"per_page":3}}`,
		"Nothing": `{"kind":"gather","name":"t","label":"T","filters":[{"field":"title","op":"eq","value":"none such"}],"pager":{"per_page":2}}`,
	} {
		t.Run(name, func(t *testing.T) {
			g := mustGather(t, body)
			all, err := gs.s.Gathers().RunGatherAll(gs.admin, g, core.LiveStageID, core.GatherArgs{})
			if err != nil {
				t.Fatal(err)
			}
			per := g.PerPage("")
			for page := 1; page <= len(all)/per+2; page++ {
				res, err := gs.s.RunGather(gs.admin, g, core.LiveStageID, core.GatherArgs{Page: page})
				if err != nil {
					t.Fatal(err)
				}
				lo := min((page-1)*per, len(all))
				want := all[lo:min(lo+per, len(all))]
				if res.Total != len(all) || len(res.Items) != len(want) {
					t.Fatalf("page %d: %d items of %d, want %d of %d", page, len(res.Items), res.Total, len(want), len(all))
				}
				for i, it := range res.Items {
					if it.ID != want[i].ID || it.RevisionID != want[i].RevisionID || string(it.Fields) != string(want[i].Fields) {
						t.Errorf("page %d item %d: %s, want %s", page, i, it.Title, want[i].Title)
					}
				}
			}
		})
	}
}
