// Command related is Trovato's reference "related items" plugin. Below an
// item's full view it lists up to five published items of the same type
// that share its category or one of its tags, newest first.
//
// The lists come from item_query host calls, which apply the access rules
// of the user the page is built for, so the cache key holds the item, the
// stage and the user. Entries are tagged "items" (the kernel drops them
// when any item changes) and live ten minutes at most.
package main

import (
	"time"

	"github.com/trovato/trovato/plugins/sdk"
)

func main() {}

func init() { sdk.Handle("item_view", itemView) }

// MaxRelated is how many related items are shown.
const MaxRelated = 5

// maxTerms bounds the queries per item (one per term).
const maxTerms = 4

func itemView(in sdk.Value, w *sdk.Writer) error {
	if vm := in.Get("view_mode").String(); vm != "" && vm != "full" {
		return nil
	}
	it, err := sdk.ParseItem(in.Get("item"))
	if err != nil {
		return err
	}
	terms := termsOf(&it)
	if len(terms) == 0 {
		return nil
	}
	key := cacheKey(&it)
	if b, ok, err := sdk.CacheGet(key); err == nil && ok {
		if len(b) > 2 { // "{}" caches "nothing related"
			w.Raw(b)
		}
		return nil
	}
	list, err := related(&it, terms)
	if err != nil {
		return err
	}
	out := []byte("{}")
	if len(list) > 0 {
		links := make([]sdk.Node, len(list))
		for i, r := range list {
			links[i] = sdk.Link("/item/"+r.id, r.title)
		}
		n := sdk.Container(sdk.Heading(2, "Related"), sdk.List(false, links...)).WithClass("related").WithWeight(50)
		nw := sdk.NewWriter(nil)
		n.WriteJSON(nw)
		out = nw.Bytes()
		w.Raw(out)
	}
	_ = sdk.CacheSet(key, out, []string{"items", "item:" + it.ID}, 10*time.Minute)
	return nil
}

type term struct{ field, id string }

// termsOf returns the item's category and tags references.
func termsOf(it *sdk.Item) []term {
	var out []term
	for _, f := range []string{"category", "tags"} {
		v := it.Field(f)
		add := func(x sdk.Value) {
			if id := x.Get("id").String(); id != "" && len(out) < maxTerms {
				out = append(out, term{f, id})
			}
		}
		if v.Kind() == sdk.Array {
			v.Elements(func(_ int, x sdk.Value) bool { add(x); return true })
		} else if v.Exists() {
			add(v)
		}
	}
	return out
}

func cacheKey(it *sdk.Item) string {
	stage, user := "live", "anonymous"
	if r, err := sdk.CurrentRequest(); err == nil && r.Stage != "" {
		stage = r.Stage
	}
	if u, err := sdk.CurrentUser(); err == nil && u.ID != "" {
		user = u.ID
	}
	return "related:" + it.ID + ":" + it.RevisionID + ":" + stage + ":" + user
}

type hit struct {
	id, title string
	created   time.Time
}

// related queries each term and merges the results, newest first.
func related(it *sdk.Item, terms []term) ([]hit, error) {
	seen := map[string]bool{it.ID: true}
	var all []hit
	for _, t := range terms {
		op := "eq"
		if t.field == "tags" {
			op = "contains"
		}
		list, err := sdk.QueryItems(sdk.ItemQuery{
			Type: it.Type,
			Filters: []sdk.Filter{
				{Field: "status", Op: "eq", Value: "published"},
				{Field: t.field, Op: op, Value: t.id},
			},
			Sort:  []sdk.Sort{{Field: "created_at", Desc: true}},
			Limit: MaxRelated + 1,
		})
		if err != nil {
			return nil, err
		}
		for _, r := range list.Items {
			if !seen[r.ID] {
				seen[r.ID] = true
				created, _ := time.Parse(time.RFC3339Nano, r.CreatedAt)
				all = append(all, hit{r.ID, r.Title, created})
			}
		}
	}
	// Newest first; insertion sort, the list is short.
	for i := 1; i < len(all); i++ {
		for j := i; j > 0 && all[j].created.After(all[j-1].created); j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
	if len(all) > MaxRelated {
		all = all[:MaxRelated]
	}
	return all, nil
}
