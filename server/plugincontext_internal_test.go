package server

import (
	"context"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/plugin"
)

// TestPluginContextStage: plugins are told the stage the request shows:
// live, a previewed stage, or the stage a stage server (a stage's static
// export) serves.
func TestPluginContextStage(t *testing.T) {
	spring := &core.Stage{ID: core.NewID(), Name: "spring", State: core.StageOpen}
	summer := &core.Stage{ID: core.NewID(), Name: "summer", State: core.StageOpen}
	for _, tc := range []struct {
		name    string
		server  *core.Stage
		preview *core.Stage
		want    string
	}{
		{"Live", nil, nil, core.StageLive},
		{"Preview", nil, spring, "spring"},
		{"StageServer", summer, nil, "summer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{stage: tc.server}
			ctx := s.pluginContext(context.Background(), &reqState{user: core.Anonymous, preview: tc.preview}, nil)
			if got := plugin.RequestFromContext(ctx).Stage; got != tc.want {
				t.Fatalf("plugin request stage = %q, want %q", got, tc.want)
			}
		})
	}
}
