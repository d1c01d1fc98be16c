package api_test

import (
	"flag"
	"testing"
)

// TestZZEveryRouteHasAScenario runs after the scenario tests (files and
// tests run in order) and fails when a spec operation was reached by none
// of them. It only means something when the whole package runs.
func TestZZEveryRouteHasAScenario(t *testing.T) {
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		t.Skip("only with the whole package")
	}
	coverage(t)
}
