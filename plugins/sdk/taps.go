package sdk

import (
	"errors"
	"fmt"
)

// Taps is the canonical list of taps, in the order of their export shims.
var Taps = [...]string{
	"install", "uninstall", "item_info", "route", "page_view",
	"item_view", "item_view_alter", "item_presave", "item_insert",
	"item_update", "item_delete", "item_access", "item_grants",
	"user_grants", "menu", "form_alter", "form_validate", "cron",
	"gather_extend", "preprocess", "tile_info", "tile_view",
}

// Handler is a tap in its rawest form: it reads the input document and
// writes the output document with w. Writing nothing means "no
// contribution".
type Handler func(in Value, w *Writer) error

var handlers [len(Taps)]Handler

func tapIndex(name string) int {
	for i, t := range Taps {
		if t == name {
			return i
		}
	}
	return -1
}

// Handle registers h for the named tap. It panics on an unknown tap name,
// which is a programming error caught at plugin start.
func Handle(tap string, h Handler) {
	i := tapIndex(tap)
	if i < 0 {
		panic(fmt.Sprintf("sdk: unknown tap %q", tap))
	}
	handlers[i] = h
}

// ItemView registers an item_view tap.
func ItemView(fn func(ItemViewInput) (Node, error)) {
	Handle("item_view", func(in Value, w *Writer) error {
		x := ItemViewInput{ViewMode: "full"}
		if _, err := membersAt(in, 0, func(k string, i int) (end int, err error) {
			switch k {
			case "item":
				x.Item, end, err = parseItemAt(in, i)
				return end, err
			case "view_mode", "language":
				v, end, err := valueAt(in, i)
				if k == "view_mode" {
					x.ViewMode = v.String()
				} else {
					x.Language = v.String()
				}
				return end, err
			}
			return skipValue(in, i)
		}); err != nil {
			return Errorf(EInvalid, "item_view input: %v", err)
		}
		n, err := fn(x)
		if err != nil {
			return err
		}
		n.WriteJSON(w)
		return nil
	})
}

// ItemViewAlter registers an item_view_alter tap.
func ItemViewAlter(fn func(ItemViewAlterInput) (Node, error)) {
	Handle("item_view_alter", func(in Value, w *Writer) error {
		x := ItemViewAlterInput{ViewMode: in.Get("view_mode").String()}
		var err error
		if x.Item, err = ParseItem(in.Get("item")); err != nil {
			return err
		}
		if x.Tree, err = ParseNode(in.Get("tree")); err != nil {
			return Errorf(EInvalid, "%v", err)
		}
		n, err := fn(x)
		if err != nil {
			return err
		}
		n.WriteJSON(w)
		return nil
	})
}

// ItemAccess registers an item_access tap. Votes count only if the
// administrator approved the access.vote capability.
func ItemAccess(fn func(ItemAccessInput) (Vote, error)) {
	Handle("item_access", func(in Value, w *Writer) error {
		x := ItemAccessInput{Op: in.Get("op").String(), User: parseUser(in.Get("user"))}
		var err error
		if x.Item, err = ParseItem(in.Get("item")); err != nil {
			return err
		}
		v, err := fn(x)
		if err != nil {
			return err
		}
		switch v {
		case Grant, Deny, Neutral:
		default:
			return Errorf(EInternal, "item_access returned vote %q", v)
		}
		w.BeginObject()
		w.Key("vote")
		w.String(string(v))
		w.EndObject()
		return nil
	})
}

// Page is the output of page_view and tile_view.
type Page struct {
	Title   string
	Content Node
}

func (p *Page) writeJSON(w *Writer) {
	w.BeginObject()
	w.Key("title")
	w.String(p.Title)
	w.Key("content")
	p.Content.WriteJSON(w)
	w.EndObject()
}

// PageView registers a page_view tap.
func PageView(fn func(PageViewInput) (Page, error)) {
	Handle("page_view", func(in Value, w *Writer) error {
		x := PageViewInput{
			Path: in.Get("path").String(), Route: in.Get("route").String(),
			Params: map[string]string{}, Query: parseQuery(in.Get("query")),
			User: parseUser(in.Get("user")),
		}
		in.Get("params").Members(func(k string, v Value) bool { x.Params[k] = v.String(); return true })
		p, err := fn(x)
		if err != nil {
			return err
		}
		p.writeJSON(w)
		return nil
	})
}

// TileViewInput is the input of tile_view.
type TileViewInput struct {
	Tile   string
	Region string
	Path   string
	Config Value
	User   User
}

// TileView registers a tile_view tap.
func TileView(fn func(TileViewInput) (Page, error)) {
	Handle("tile_view", func(in Value, w *Writer) error {
		x := TileViewInput{
			Tile: in.Get("tile").String(), Region: in.Get("region").String(),
			Path: in.Get("path").String(), Config: in.Get("config"), User: parseUser(in.Get("user")),
		}
		p, err := fn(x)
		if err != nil {
			return err
		}
		p.writeJSON(w)
		return nil
	})
}

func parseQuery(v Value) map[string][]string {
	q := map[string][]string{}
	v.Members(func(k string, vals Value) bool { q[k] = vals.Strings(); return true })
	return q
}

// Dispatch state: one input buffer the host writes into (trovato_alloc)
// and one output writer, both reused across calls and part of the clean
// snapshot after warm-up.
var (
	outW   = &Writer{}
	errW   = &Writer{}
	errTap = errors.New("sdk: tap not implemented by this plugin")
)

// run executes tap i on input and returns the output or error document.
func run(i int, input []byte) (out []byte, isErr bool) {
	h := handlers[i]
	outW.Reset()
	var err error
	if h == nil {
		err = Errorf(ENotImpl, "%v: %s", errTap, Taps[i])
	} else {
		err = safeCall(h, Value(input), outW)
	}
	if err == nil {
		return outW.Bytes(), false
	}
	code, msg := EInternal, err.Error()
	if e, ok := err.(*Error); ok {
		code, msg = e.Code, e.Message
	}
	errW.Reset()
	errW.BeginObject()
	errW.Key("code")
	errW.String(code)
	errW.Key("message")
	errW.String(msg)
	errW.EndObject()
	return errW.Bytes(), true
}

func safeCall(h Handler, in Value, w *Writer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Errorf(EInternal, "panic: %v", r)
		}
	}()
	return h(in, w)
}

// Call runs a registered tap the way the host does and returns its output
// document (nil for no contribution), or the tap's error. Use it in tests
// with UseFake.
func Call(tap string, input []byte) ([]byte, error) {
	i := tapIndex(tap)
	if i < 0 {
		return nil, Errorf(EInvalid, "unknown tap %q", tap)
	}
	out, isErr := run(i, input)
	if isErr {
		v := Value(out)
		return nil, &Error{Code: v.Get("code").String(), Message: v.Get("message").String()}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return append([]byte(nil), out...), nil
}
