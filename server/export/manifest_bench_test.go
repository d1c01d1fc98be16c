package export

import (
	"fmt"
	"testing"
)

// BenchmarkManifest encodes and decodes the manifest of a 10,000-article
// export's shape: 15,000 pages, each with 25 tags and 60 links, most of
// them shared (the frame's).
func BenchmarkManifest(b *testing.B) {
	m := newManifest()
	for i := range 15000 {
		en := &Entry{URL: fmt.Sprintf("/articles/article-%d", i), Kind: KindPage, SHA256: fmt.Sprintf("%064x", i), Size: 9000}
		for j := range 20 {
			en.Tags = append(en.Tags, fmt.Sprintf("config:tile/t%d", j))
		}
		for j := range 5 {
			en.Tags = append(en.Tags, fmt.Sprintf("item:01900000-0000-7000-8000-%012d", (i+j*97)%10000))
		}
		for j := range 50 {
			en.Links = append(en.Links, fmt.Sprintf("/frame/link-%d", j))
		}
		for j := range 10 {
			en.Links = append(en.Links, fmt.Sprintf("/articles/article-%d", (i+j*31)%15000))
		}
		m.Files[fmt.Sprintf("articles/article-%d/index.html", i)] = en
	}
	raw, err := m.encode()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := m.encode(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(raw))/1e6, "MB")
	})
	dir := b.TempDir()
	// SaveBase: a new base (a full export, a compaction): the JSON base
	// and its index written.
	b.Run("SaveBase", func(b *testing.B) {
		for b.Loop() {
			if _, err := saveBase(dir, m); err != nil {
				b.Fatal(err)
			}
		}
	})
	if _, err := saveManifest(dir, newManifest(), m, true); err != nil {
		b.Fatal(err)
	}
	// OpenPrev: what an incremental export reads of it.
	b.Run("OpenPrev", func(b *testing.B) {
		for b.Loop() {
			if p, _, err := openPrev(dir); err != nil || p.count != len(m.Files) {
				b.Fatal(err)
			}
		}
	})
	b.Run("ReadIndex", func(b *testing.B) {
		for b.Loop() {
			if got, _, err := ReadManifest(dir); err != nil || len(got.Files) != len(m.Files) {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeManifest(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
