package plugin

import (
	"context"
	"testing"
	"time"
)

// BenchmarkSDKItemViewParts splits benchmark (b) into its parts, in thread
// CPU time per call: call-cpu-ns is the tap call in the guest (input
// allocation and copy, item_view, output copy; not the host's output
// validation), reset-cpu-ns the memory and globals reset after it.
// Copy-on-write memory is used where the platform has it;
// TROVATO_PLUGIN_COW=0 measures the compare-and-copy restore.
func BenchmarkSDKItemViewParts(b *testing.B) {
	input := []byte(`{"item":` + string(testItem(8<<10)) + `,"view_mode":"full"}`)
	h := benchHost(b, "sdkguest", MustSDKGuest(b), []string{"item_view"}, Services{}, Limits{PoolSize: 1})
	ctx := context.Background()
	h.mu.RLock()
	sb := h.plugins["sdkguest"].sb
	h.mu.RUnlock()
	in := <-sb.idle
	defer func() { sb.idle <- in }()
	var callCPU, resetCPU time.Duration
	cpu := startCPU()
	for b.Loop() {
		c0 := threadCPUPrecise()
		cctx, cancel := context.WithTimeout(ctx, sb.limits.Deadline)
		in.begin(cctx, ctx)
		_, f := in.call("item_view", input)
		in.end()
		cancel()
		if f != nil {
			b.Fatal(f.Error())
		}
		c1 := threadCPUPrecise()
		if !in.restore() {
			b.Fatal("the instance was not reusable after the call")
		}
		callCPU += c1 - c0
		resetCPU += threadCPUPrecise() - c1
	}
	cpu.report(b)
	b.ReportMetric(float64(callCPU.Nanoseconds())/float64(b.N), "call-cpu-ns/op")
	b.ReportMetric(float64(resetCPU.Nanoseconds())/float64(b.N), "reset-cpu-ns/op")
	if in.cow != nil {
		b.ReportMetric(float64(in.cow.privatePages()), "private-pages")
	}
}
