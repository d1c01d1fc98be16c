package export

import (
	"reflect"
	"strings"
	"testing"
)

// TestManifestFormats reads what encode writes back to the same manifest,
// reads versions 1 and 2, and refuses indexes outside the string table.
func TestManifestFormats(t *testing.T) {
	hash := strings.Repeat("a", 64)
	m := newManifest()
	m.Cursor, m.Stage = 42, "spring"
	m.Files["index.html"] = &Entry{URL: "/", Kind: KindPage, SHA256: hash, Size: 10, Tags: []string{"config:*", "item:1"}, Links: []string{"/a", "/files/x.png"}}
	m.Files["a/index.html"] = &Entry{URL: "/a", Kind: KindPage, SHA256: hash, Size: 11, Tags: []string{"config:*"}, Links: []string{"/"}}
	m.Files["old/index.html"] = &Entry{URL: "/old", Kind: KindRedirect, SHA256: hash, Size: 12, Links: []string{"/a"}, Target: "/a"}
	raw, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeManifest(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
	}
	for name, tc := range map[string]struct {
		raw     string
		tags    []string
		wantErr bool
	}{
		"V1": {raw: `{"version":1,"cursor":1,"files":{"index.html":{"url":"/","kind":"page","sha256":"` + hash + `","size":1,"tags":["config:*"],"links":["/a"]}}}`,
			tags: []string{"config:*"}},
		"V2": {raw: `{"version":2,"cursor":1,"strings":["config:*","/a"],"files":{"index.html":{"url":"/","kind":"page","sha256":"` + hash + `","size":1,"t":[0],"l":[1]}}}`,
			tags: []string{"config:*"}},
		"ErrIndexOutOfRange": {raw: `{"version":2,"cursor":1,"strings":["config:*"],"files":{"index.html":{"url":"/","kind":"page","sha256":"` + hash + `","size":1,"t":[3]}}}`,
			wantErr: true},
		"ErrBadPacked": {raw: `{"version":3,"cursor":1,"strings":["config:*"],"files":{"index.html":{"url":"/","kind":"page","sha256":"` + hash + `","size":1,"tp":"!!"}}}`,
			wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := decodeManifest([]byte(tc.raw))
			if tc.wantErr {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if en := m.Files["index.html"]; en == nil || !reflect.DeepEqual(en.Tags, tc.tags) || !reflect.DeepEqual(en.Links, []string{"/a"}) {
				t.Errorf("entry %+v", en)
			}
		})
	}
}
