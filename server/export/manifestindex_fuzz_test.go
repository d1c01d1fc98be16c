package export

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// FuzzIndex: an index whose bytes were changed behind its checksum (the
// checksum made right again, as a crafted file would) is refused or read
// without a panic, and every lookup on it answers or fails cleanly.
func FuzzIndex(f *testing.F) {
	dir := f.TempDir()
	m := newManifest()
	for i := range 12 {
		en := &Entry{URL: fmt.Sprintf("/p%d", i), Kind: indexKinds[i%len(indexKinds)], SHA256: fmt.Sprintf("%064x", i), Size: int64(i),
			Tags: []string{"config:*", fmt.Sprintf("item:%d", i%3)}, Links: []string{"/", fmt.Sprintf("/p%d", (i+1)%12)}}
		m.Files[fmt.Sprintf("p%d/index.html", i)] = en
	}
	if _, err := saveBase(dir, m); err != nil {
		f.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, ManifestIndexFile))
	if err != nil {
		f.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, ManifestFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw, 0, byte(0))
	f.Add(raw, len(raw)/2, byte(0xff))
	f.Add(raw, len(raw)-30, byte(0x7f))
	f.Fuzz(func(t *testing.T, data []byte, at int, x byte) {
		if len(data) < 4 {
			return
		}
		body := append([]byte(nil), data[:len(data)-4]...)
		if at >= 0 && at < len(body) {
			body[at] ^= x
		}
		file := binary.LittleEndian.AppendUint32(body, crc32.ChecksumIEEE(body))
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, ManifestIndexFile), file, 0o644); err != nil {
			t.Fatal(err)
		}
		v, err := openIndex(d, fi)
		if err != nil {
			return
		}
		var sl slab
		for i := range v.n {
			if p, en, err := v.entry(i, &sl); err == nil {
				v.findPath(p)
				v.findURL(en.URL)
			}
		}
		for _, s := range v.strs {
			v.tagged(s)
			v.findStr(s)
		}
		v.redirects()
		v.manifest()
	})
}
