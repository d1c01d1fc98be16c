// Package sdk is the Go SDK for Trovato plugins.
//
// A plugin is a Go program built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o NAME.wasm
//
// beside a plugin.toml. Taps are plain typed Go functions registered from
// an init function:
//
//	func init() {
//		sdk.ItemView(func(in sdk.ItemViewInput) (sdk.Node, error) {
//			return sdk.Container(sdk.Paragraph(sdk.Text("By " + in.Item.AuthorID))), nil
//		})
//	}
//
// The SDK exports every tap of the ABI (docs/plugin-abi.md); the host only
// calls the taps the manifest declares. Host calls (LoadItem, Data,
// CacheGet, ...) go to the "trovato" host module inside WebAssembly; in a
// plain `go test` they go to a Fake installed with UseFake, and Call runs a
// registered tap exactly as the host would, so plugin logic is testable
// without WebAssembly.
//
// The hot path avoids encoding/json: Value reads JSON lazily from the
// input buffer and Writer appends JSON without reflection.
package sdk
