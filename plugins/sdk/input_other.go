//go:build !wasip1

package sdk

// inputString copies outside WebAssembly: a test's input buffer may be
// reused after Call returns.
func inputString(b []byte) (string, bool) { return "", false }
