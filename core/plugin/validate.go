package plugin

import (
	"encoding/json"
	"fmt"

	"github.com/trovato/trovato/core"
)

// TreeValidator returns the OutputValidator for the taps whose output is
// or holds a render tree (docs/plugin-abi.md): item_view, item_view_alter
// and preprocess return a tree; page_view and tile_view return
// {"title", "content"} with content a tree; form_alter returns a form
// tree, the only place plugins may use form elements. Every tree is
// decoded strictly with core.DecodeTree. Other taps pass.
func TreeValidator() OutputValidator {
	return func(tap string, out []byte) error {
		switch tap {
		case "item_view", "item_view_alter", "preprocess":
			_, err := core.DecodeTree(out, core.TreeOptions{})
			return err
		case "form_alter":
			_, err := core.DecodeTree(out, core.TreeOptions{AllowForms: true})
			return err
		case "page_view", "tile_view":
			var doc struct {
				Title   string          `json:"title"`
				Content json.RawMessage `json:"content"`
			}
			if err := decodeStrict(out, &doc); err != nil {
				return fmt.Errorf("%s output: %v", tap, err)
			}
			if len(doc.Content) == 0 {
				return fmt.Errorf("%s output: content is required", tap)
			}
			if _, err := core.DecodeTree(doc.Content, core.TreeOptions{}); err != nil {
				return fmt.Errorf("%s output: content: %w", tap, err)
			}
		}
		return nil
	}
}
