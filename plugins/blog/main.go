// Command blog is Trovato's reference blog plugin:
//
//   - item_info declares the blog item type (body and tags);
//   - route and page_view serve /blog and /blog/page/{page}: the newest
//     published entries, posts_per_page at a time (a variable the install
//     tap sets to 10);
//   - menu adds Blog to the main menu;
//   - item_view adds a byline and the entry's tag links;
//   - item_access lets the author of a blog entry who holds blog.post,
//     and anyone holding blog.moderate, update it (a grant vote; it counts
//     only with the access.vote capability approved).
package main

import (
	"strconv"

	"github.com/trovato/trovato/plugins/sdk"
)

func main() {}

func init() {
	sdk.Handle("install", install)
	sdk.Handle("item_info", itemInfo)
	sdk.Handle("route", routes)
	sdk.PageView(pageView)
	sdk.Handle("menu", menu)
	sdk.Handle("item_view", itemView)
	sdk.ItemAccess(itemAccess)
}

const blogType = `{"kind":"item_type","name":"blog","label":"Blog entry",` +
	`"description":"A dated entry of the blog, with a byline and tags.",` +
	`"fields":[{"name":"body","label":"Body","type":"long_text","format":"markdown"},` +
	`{"name":"tags","label":"Tags","type":"term_ref","vocabulary":"tags","cardinality":"unlimited"}]}`

func install(in sdk.Value, w *sdk.Writer) error {
	if _, ok, err := sdk.Variable("posts_per_page"); err != nil || ok {
		return err
	}
	if err := sdk.SetVariable("posts_per_page", []byte("10")); err != nil {
		return err
	}
	w.BeginObject()
	w.Key("messages")
	w.Any([]string{"Blog entries are listed 10 per page at /blog."})
	w.EndObject()
	return nil
}

func itemInfo(in sdk.Value, w *sdk.Writer) error {
	w.BeginObject()
	w.Key("item_types")
	w.BeginArray()
	w.Raw([]byte(blogType))
	w.EndArray()
	w.EndObject()
	return nil
}

func routes(in sdk.Value, w *sdk.Writer) error {
	w.BeginObject()
	w.Key("routes")
	w.BeginArray()
	for _, p := range []string{"/blog", "/blog/page/{page}"} {
		w.BeginObject()
		w.Key("path")
		w.String(p)
		w.Key("title")
		w.String("Blog")
		w.Key("permission")
		w.String("content.access")
		w.EndObject()
	}
	w.EndArray()
	w.EndObject()
	return nil
}

func perPage() int {
	v, ok, err := sdk.Variable("posts_per_page")
	if err != nil || !ok || v.Int() < 1 || v.Int() > 100 {
		return 10
	}
	return int(v.Int())
}

func pageView(in sdk.PageViewInput) (sdk.Page, error) {
	page := 1
	if p, ok := in.Params["page"]; ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return sdk.Page{}, sdk.Errorf(sdk.ENotFound, "no blog page %q", p)
		}
		page = n
	}
	n := perPage()
	list, err := sdk.QueryItems(sdk.ItemQuery{
		Type:    "blog",
		Filters: []sdk.Filter{{Field: "status", Op: "eq", Value: "published"}},
		Limit:   n, Offset: (page - 1) * n,
	})
	if err != nil {
		return sdk.Page{}, err
	}
	if len(list.Items) == 0 && page > 1 {
		return sdk.Page{}, sdk.Errorf(sdk.ENotFound, "no blog page %d", page)
	}
	body := sdk.Container().WithClass("blog")
	if len(list.Items) == 0 {
		body = body.Append(sdk.Paragraph(sdk.Text("No blog entries yet.")))
	} else {
		entries := make([]sdk.Node, 0, len(list.Items))
		for _, it := range list.Items {
			entries = append(entries, sdk.Container(
				sdk.Link("/item/"+it.ID, it.Title),
				sdk.Text(" "),
				sdk.Time(it.CreatedAt, dateOf(it.CreatedAt)),
			))
		}
		body = body.Append(sdk.List(false, entries...))
	}
	var pager []sdk.Node
	if page > 1 {
		prev := "/blog"
		if page > 2 {
			prev = "/blog/page/" + strconv.Itoa(page-1)
		}
		pager = append(pager, sdk.Link(prev, "Newer entries"))
	}
	if page*n < list.Total {
		pager = append(pager, sdk.Link("/blog/page/"+strconv.Itoa(page+1), "Older entries"))
	}
	if len(pager) > 0 {
		body = body.Append(sdk.Paragraph(pager...).WithClass("pager"))
	}
	return sdk.Page{Title: "Blog", Content: body}, nil
}

func dateOf(ts string) string {
	if len(ts) >= 10 {
		return ts[:10]
	}
	return ts
}

func menu(in sdk.Value, w *sdk.Writer) error {
	if in.Get("menu").String() != "main" {
		return nil
	}
	w.BeginObject()
	w.Key("links")
	w.BeginArray()
	w.BeginObject()
	w.Key("title")
	w.String("Blog")
	w.Key("path")
	w.String("/blog")
	w.Key("weight")
	w.Int(5)
	w.Key("parent")
	w.String("")
	w.EndObject()
	w.EndArray()
	w.EndObject()
	return nil
}

// itemView adds the byline and tag links of a blog entry; other items get
// nothing.
func itemView(in sdk.Value, w *sdk.Writer) error {
	it, err := sdk.ParseItem(in.Get("item"))
	if err != nil {
		return err
	}
	if it.Type != "blog" {
		return nil
	}
	byline := sdk.Paragraph(sdk.Text("By "), sdk.Link("/user/"+it.AuthorID, "the author"))
	if it.CreatedAt != "" {
		byline = byline.Append(sdk.Text(" on "), sdk.Time(it.CreatedAt, dateOf(it.CreatedAt)))
	}
	parts := []sdk.Node{byline.WithClass("byline")}
	var tags []sdk.Node
	it.Field("tags").Elements(func(i int, v sdk.Value) bool {
		id := v.Get("id").String()
		if id == "" {
			id = v.String()
		}
		if id != "" {
			tags = append(tags, sdk.Link("/term/"+id, "#"+strconv.Itoa(len(tags)+1)).WithAttr("rel", "tag"))
		}
		return true
	})
	if len(tags) > 0 {
		parts = append(parts, sdk.Paragraph(append([]sdk.Node{sdk.Text("Tags: ")}, tags...)...).WithClass("tags"))
	}
	n := sdk.Container(parts...).WithClass("blog-meta").WithWeight(-10)
	n.WriteJSON(w)
	return nil
}

// itemAccess grants updates of a blog entry to its author when they hold
// blog.post, and to holders of blog.moderate.
func itemAccess(in sdk.ItemAccessInput) (sdk.Vote, error) {
	if in.Item.Type != "blog" || in.Op != "update" || !in.User.Authenticated {
		return sdk.Neutral, nil
	}
	if ok, err := sdk.HasPermission("blog.moderate"); err == nil && ok {
		return sdk.Grant, nil
	}
	if in.User.ID == in.Item.AuthorID {
		if ok, err := sdk.HasPermission("blog.post"); err == nil && ok {
			return sdk.Grant, nil
		}
	}
	return sdk.Neutral, nil
}
