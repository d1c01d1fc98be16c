package plugin

import (
	"context"
	"errors"
	"testing"
)

func TestTreeValidator(t *testing.T) {
	v := TreeValidator()
	tests := []struct {
		name, tap, out string
		ok             bool
	}{
		{"ItemViewTree", "item_view", `{"type":"paragraph","children":[{"type":"text","text":"hi"}]}`, true},
		{"ItemViewUnknownType", "item_view", `{"type":"script","text":"alert(1)"}`, false},
		{"ItemViewFormElement", "item_view", `{"type":"form","action":"/x","children":[]}`, false},
		{"ItemViewUnknownKey", "item_view", `{"type":"text","text":"x","html":"<b>"}`, false},
		{"PageView", "page_view", `{"title":"Blog","content":{"type":"heading","level":1,"text":"Blog"}}`, true},
		{"PageViewNoContent", "page_view", `{"title":"Blog"}`, false},
		{"TileViewBadTree", "tile_view", `{"title":"x","content":{"type":"heading","level":9,"text":"x"}}`, false},
		{"OtherTap", "cron", `{"anything":1}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dec, err := v(tc.tap, []byte(tc.out))
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && tc.tap != "cron" && dec == nil {
				t.Fatal("a valid tree was not returned decoded")
			}
		})
	}
}

// TestInvalidTreeDropped: output that fails the validator is dropped with
// ReasonInvalidOutput, never half-used.
func TestInvalidTreeDropped(t *testing.T) {
	h, _ := MustHost(t, HostConfig{Validate: TreeValidator()})
	MustLoad(t, h, testManifest("echo", []string{"item_view"}), MustWAT(t, "minimal"), Limits{})
	tests := []struct {
		name, in string
		reason   Reason
	}{
		{"ValidTree", `{"type":"text","text":"ok"}`, ""},
		{"RawHTMLAttempt", `{"type":"text","text":"x","html":"<script>"}`, ReasonInvalidOutput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.Invoke(context.Background(), "item_view", []byte(tc.in))
			var ce *CallError
			switch {
			case tc.reason == "" && res[0].Err != nil:
				t.Fatal(res[0].Err)
			case tc.reason != "" && (!errors.As(res[0].Err, &ce) || ce.Reason != tc.reason || res[0].Output != nil):
				t.Fatalf("got %v, output %q", res[0].Err, res[0].Output)
			}
		})
	}
}
