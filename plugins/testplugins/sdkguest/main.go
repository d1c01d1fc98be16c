// Command sdkguest is the Go SDK test guest used by core/plugin's tests
// and benchmarks:
//
//   - item_view renders an item from the full input document: a heading,
//     a byline and one paragraph per listed field.
//   - item_view_alter renders the same tree from an item id by fetching
//     each field with a host call (the host-call side of benchmark c).
//   - item_access denies locked items, grants their author, else neutral.
//   - tile_view exercises every host call and reports what it saw.
//   - cron panics, page_view allocates until memory runs out.
//   - menu does nothing (the cost of an empty Go tap).
package main

import (
	"strconv"
	"time"

	"github.com/trovato/trovato/plugins/sdk"
)

func main() {}

// hoard keeps what page_view allocates reachable.
var hoard [][]byte

// ViewFields are the fields item_view renders, in order.
var ViewFields = []string{
	"f00", "f01", "f02", "f03", "f04", "f05", "f06", "f07", "f08", "f09",
	"f10", "f11", "f12", "f13", "f14", "f15", "f16", "f17",
}

func init() {
	sdk.ItemView(itemView)
	sdk.Handle("item_view_alter", itemViewByHostCalls)
	sdk.ItemAccess(itemAccess)
	sdk.Handle("tile_view", hostCallReport)
	sdk.Handle("menu", func(sdk.Value, *sdk.Writer) error { return nil })
	sdk.Handle("cron", func(sdk.Value, *sdk.Writer) error { panic("cron exploded") })
	sdk.Handle("page_view", func(sdk.Value, *sdk.Writer) error {
		for {
			hoard = append(hoard, make([]byte, 1<<20))
		}
	})
}

func itemView(in sdk.ItemViewInput) (sdk.Node, error) {
	it := in.Item
	body := make([]sdk.Node, 0, len(ViewFields)+2)
	body = append(body,
		sdk.Heading(2, it.Title),
		sdk.Paragraph(sdk.Text("By "), sdk.Link("/user/"+it.AuthorID, it.AuthorID), sdk.Text(" on "), sdk.Time(it.CreatedAt, it.CreatedAt)).WithClass("byline"),
	)
	for _, f := range ViewFields {
		if v := it.Field(f); v.Exists() {
			body = append(body, sdk.Paragraph(sdk.Text(v.String())).WithWeight(len(body)))
		}
	}
	return sdk.Container(body...).WithTag("article"), nil
}

// itemViewByHostCalls takes {"id": ...} and reads the title, author,
// created and every view field through item_field host calls.
func itemViewByHostCalls(in sdk.Value, w *sdk.Writer) error {
	id := in.Get("id").String()
	get := func(f string) (string, error) {
		v, err := sdk.ItemField(id, f)
		return v.String(), err
	}
	title, err := get("title")
	if err != nil {
		return err
	}
	author, err := get("author_id")
	if err != nil {
		return err
	}
	created, err := get("created_at")
	if err != nil {
		return err
	}
	body := []sdk.Node{
		sdk.Heading(2, title),
		sdk.Paragraph(sdk.Text("By "), sdk.Link("/user/"+author, author), sdk.Text(" on "), sdk.Time(created, created)).WithClass("byline"),
	}
	for _, f := range ViewFields {
		s, err := get(f)
		if sdk.ErrorCode(err) == sdk.ENotFound {
			continue
		}
		if err != nil {
			return err
		}
		body = append(body, sdk.Paragraph(sdk.Text(s)).WithWeight(len(body)))
	}
	n := sdk.Container(body...).WithTag("article")
	n.WriteJSON(w)
	return nil
}

func itemAccess(in sdk.ItemAccessInput) (sdk.Vote, error) {
	if in.Item.Field("locked").Bool() {
		return sdk.Deny, nil
	}
	if in.User.ID != "" && in.User.ID == in.Item.AuthorID {
		return sdk.Grant, nil
	}
	return sdk.Neutral, nil
}

// hostCallReport calls every host function and writes what each returned
// (or the error code).
func hostCallReport(in sdk.Value, w *sdk.Writer) error {
	w.BeginObject()
	report := func(k string, v any, err error) {
		w.Key(k)
		if err != nil {
			w.String("error:" + sdk.ErrorCode(err))
			return
		}
		w.Any(v)
	}
	it, err := sdk.LoadItem(in.Get("item_id").String())
	report("item_title", it.Title, err)
	f, err := sdk.ItemField(in.Get("item_id").String(), "f01")
	report("item_field", f.String(), err)
	list, err := sdk.QueryItems(sdk.ItemQuery{Type: "article", Filters: []sdk.Filter{{Field: "status", Op: "eq", Value: "published"}}, Limit: 5})
	report("query_total", list.Total, err)
	u, err := sdk.CurrentUser()
	report("user", u.Name, err)
	has, err := sdk.HasPermission("edit own blog")
	report("perm", has, err)
	err = sdk.CacheSet("k", []byte(`"cached"`), []string{"item:1"}, time.Minute)
	report("cache_set", true, err)
	cv, ok, err := sdk.CacheGet("k")
	report("cache_get", string(cv)+"/"+strconv.FormatBool(ok), err)
	report("cache_invalidate", true, sdk.InvalidateTags("item:1"))
	err = sdk.SetVariable("greeting", []byte(`"hello"`))
	report("var_set", true, err)
	vv, ok, err := sdk.Variable("greeting")
	report("var_get", vv.String()+"/"+strconv.FormatBool(ok), err)
	r, err := sdk.CurrentRequest()
	report("request", r.Path+"|"+r.Stage+"|"+r.Language, err)
	d, err := sdk.Data(sdk.DataOp{Op: "insert", Table: "notes", Values: map[string]any{"id": "0190f0e0-0000-7000-8000-000000000001", "body": "hi"}})
	report("data", d.Get("affected").Int(), err)
	_, err = sdk.Data(sdk.DataOp{Op: "select", Table: "users"})
	report("data_foreign", nil, err)
	big, err := sdk.ItemField(in.Get("item_id").String(), "big")
	report("big_field_len", len(big.String()), err)
	sdk.Log(sdk.LevelInfo, "report done")
	w.EndObject()
	return nil
}
