package core_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

func TestItemTypeCommentSettings(t *testing.T) {
	for name, tc := range map[string]struct {
		comments string // the document's comments key, "" for none
		mode     string
		anonSite bool // the anonymous role holds comments.anonymous
		anon     bool
	}{
		"DefaultSiteAllows":     {"", core.CommentsOpen, true, true},
		"DefaultSiteRefuses":    {"", core.CommentsOpen, false, false},
		"EmptyObject":           {`{}`, core.CommentsOpen, true, true},
		"AnonymousTrue":         {`{"anonymous":true}`, core.CommentsOpen, true, true},
		"AnonymousTrueNoRole":   {`{"anonymous":true}`, core.CommentsOpen, false, false},
		"AnonymousFalse":        {`{"anonymous":false}`, core.CommentsOpen, true, false},
		"Closed":                {`{"mode":"closed","anonymous":true}`, core.CommentsClosed, true, false},
		"Hidden":                {`{"mode":"hidden"}`, core.CommentsHidden, true, false},
		"OpenExplicit":          {`{"mode":"open"}`, core.CommentsOpen, true, true},
		"OpenAnonymousFalseOff": {`{"mode":"open","anonymous":false}`, core.CommentsOpen, false, false},
	} {
		t.Run(name, func(t *testing.T) {
			doc := `{"kind":"item_type","name":"page","label":"Page"`
			if tc.comments != "" {
				doc += `,"comments":` + tc.comments
			}
			typ, err := core.ParseItemType(json.RawMessage(doc + `}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := typ.CommentMode(); got != tc.mode {
				t.Errorf("mode %q, want %q", got, tc.mode)
			}
			if got := typ.AnonymousComments(tc.anonSite); got != tc.anon {
				t.Errorf("anonymous %v, want %v", got, tc.anon)
			}
			// The settings survive the canonical document.
			cd, err := typ.ConfigDoc()
			if err != nil {
				t.Fatal(err)
			}
			again, err := core.ParseItemType(cd.Body)
			if err != nil {
				t.Fatal(err)
			}
			if again.CommentMode() != tc.mode || again.AnonymousComments(tc.anonSite) != tc.anon {
				t.Errorf("round trip through %s changed the settings", cd.Body)
			}
		})
	}
	var deleted *core.ItemType // a type that no longer exists: the defaults
	if deleted.CommentMode() != core.CommentsOpen || !deleted.AnonymousComments(true) || deleted.AnonymousComments(false) {
		t.Error("a nil type does not have the default settings")
	}
	for doc, want := range map[string]string{
		`{"mode":"moderated"}`: `comments.mode: must be one of "open", "closed", "hidden"`,
		`{"anonymous":"yes"}`:  "comments.anonymous: must be a boolean",
		`{"open":true}`:        "comments.open: unknown key",
		`[]`:                   "comments: must be an object",
	} {
		_, err := core.ParseItemType(json.RawMessage(`{"kind":"item_type","name":"page","label":"Page","comments":` + doc + `}`))
		if core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", doc, err, want)
		}
	}
}
