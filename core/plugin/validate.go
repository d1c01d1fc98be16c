package plugin

import (
	"encoding/json"
	"fmt"

	"github.com/trovato/trovato/core"
)

// PageOutput is the decoded output of page_view and tile_view.
type PageOutput struct {
	Title   string
	Content core.Node
}

// TreeValidator returns the OutputValidator for the taps whose output is
// or holds a render tree (docs/plugin-abi.md): item_view, item_view_alter
// and preprocess return a tree (decoded: a core.Node); page_view and
// tile_view return {"title", "content"} with content a tree (decoded: a
// PageOutput); form_alter returns a form tree, the only place plugins may
// use form elements. Every tree is decoded strictly with core.DecodeTree.
// Other taps pass, decoding nothing.
func TreeValidator() OutputValidator {
	return func(tap string, out []byte) (any, error) {
		switch tap {
		case "item_view", "item_view_alter", "preprocess":
			return core.DecodeTree(out, core.TreeOptions{})
		case "form_alter":
			return core.DecodeTree(out, core.TreeOptions{AllowForms: true})
		case "page_view", "tile_view":
			var doc struct {
				Title   string          `json:"title"`
				Content json.RawMessage `json:"content"`
			}
			if err := decodeStrict(out, &doc); err != nil {
				return nil, fmt.Errorf("%s output: %v", tap, err)
			}
			if len(doc.Content) == 0 {
				return nil, fmt.Errorf("%s output: content is required", tap)
			}
			n, err := core.DecodeTree(doc.Content, core.TreeOptions{})
			if err != nil {
				return nil, fmt.Errorf("%s output: content: %w", tap, err)
			}
			return PageOutput{Title: doc.Title, Content: n}, nil
		}
		return nil, nil
	}
}
