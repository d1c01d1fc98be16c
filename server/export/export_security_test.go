package export

import (
	"strings"
	"testing"
)

// A file name with a line break would be two names in rsync's
// --files-from list (and --delete-missing-args would delete the second
// one on the target): control characters never become file paths.
func TestOutputPathControlCharacters(t *testing.T) {
	for _, p := range []string{"/a%0Ab", "/a%0D%0Ab", "/x%0A..", "/tab%09name", "/del%7F", "/files/h/a%0A-rf.png"} {
		if rel, ok := outputPath(p, true); ok {
			t.Errorf("outputPath(%q) = %q, ok; want refused", p, rel)
		}
	}
	for _, p := range []string{"/caf%C3%A9", "/a%20b", "/-leading-dash"} {
		if _, ok := outputPath(p, true); !ok {
			t.Errorf("outputPath(%q) refused; want a file name", p)
		}
	}
	if _, err := decodeManifest([]byte(`{"version":1,"files":{"a\nb/index.html":{"url":"/a","kind":"page","sha256":"` + strings.Repeat("0", 64) + `"}}}`)); err == nil {
		t.Error("a manifest naming a file with a line break was accepted")
	}
}
