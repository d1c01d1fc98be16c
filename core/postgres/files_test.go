package postgres_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

var pngHeader = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")

func TestFiles(t *testing.T) {
	t.Parallel()
	s, ctx := MustSite(t)
	files := s.Files(postgres.FileLimits{MaxSize: 1 << 20})
	f, err := files.CreateFile(ctx, "dot.png", bytes.NewReader(pngHeader))
	if err != nil || f.MIME != "image/png" || f.Size != int64(len(pngHeader)) {
		t.Fatalf("create = %+v, %v", f, err)
	}
	sum := sha256.Sum256(pngHeader)
	if f.Hash != hex.EncodeToString(sum[:]) {
		t.Fatalf("hash %s", f.Hash)
	}
	// The same content again shares the blob.
	g, err := files.CreateFile(ctx, "copy.png", bytes.NewReader(pngHeader))
	if err != nil || g.Hash != f.Hash || g.ID == f.ID {
		t.Fatalf("copy = %+v, %v", g, err)
	}
	_, rc, err := files.OpenFile(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, pngHeader) {
		t.Fatal("read back differs")
	}
	for name, tc := range map[string]struct {
		name    string
		content []byte
		code    string
	}{
		"ContentDoesNotMatchExtension": {"photo.png", []byte("just some text, not an image"), core.EInvalid},
		"NotAllowedType":               {"page.html", []byte("<html><script>alert(1)</script></html>"), core.EInvalid},
		"TooLarge":                     {"big.txt", bytes.Repeat([]byte("a"), 2<<20), core.ETooLarge},
		"Empty":                        {"empty.txt", nil, core.EInvalid},
		"BadName":                      {"bad\xffname.txt", []byte("hello"), core.EInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := files.CreateFile(ctx, tc.name, bytes.NewReader(tc.content))
			wantCode(t, err, tc.code)
		})
	}
	var n int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM file`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("files stored = %d, %v; refused uploads must store nothing", n, err)
	}
	// Items reference files; an image must be an image.
	mustPut(t, ctx, s, "item_type", "photo", `{"kind":"item_type","name":"photo","label":"Photo","fields":[{"name":"image","type":"image"}]}`)
	txt, err := files.CreateFile(ctx, "notes.txt", bytes.NewReader([]byte("plain text")))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Items().CreateItem(ctx, core.LiveStageID, &core.Item{Type: "photo", Title: "x", Fields: []byte(`{"image":{"id":"` + txt.ID.String() + `","alt":"a"}}`)}, "")
	wantCode(t, err, core.EInvalid)
	if err := s.Items().CreateItem(ctx, core.LiveStageID, &core.Item{Type: "photo", Title: "x", Fields: []byte(`{"image":{"id":"` + f.ID.String() + `","alt":"a dot"}}`)}, ""); err != nil {
		t.Fatal(err)
	}
}

// patternReader yields size bytes of a repeating pattern without holding
// them.
type patternReader struct{ left int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	p.left -= int64(len(b))
	return len(b), nil
}

// TestLargeFileBoundedHeap stores and reads back a 256 MB file while the
// heap stays far below the file's size.
func TestLargeFileBoundedHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("large file")
	}
	s, ctx := MustSite(t)
	files := s.Files(postgres.FileLimits{MaxSize: 300 << 20, Allowed: []string{"application/octet-stream"}})
	const size = 256 << 20
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	defer close(stop)
	h := sha256.New()
	f, err := files.CreateFile(ctx, "big.bin", io.TeeReader(&patternReader{left: size}, h))
	if err != nil {
		t.Fatal(err)
	}
	if f.Size != size || f.Hash != hex.EncodeToString(h.Sum(nil)) {
		t.Fatalf("stored %d bytes with hash %s", f.Size, f.Hash)
	}
	_, rc, err := files.OpenFile(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	rh := sha256.New()
	n, err := io.Copy(rh, rc)
	if err != nil || n != size || hex.EncodeToString(rh.Sum(nil)) != f.Hash {
		t.Fatalf("read back %d bytes, %v", n, err)
	}
	t.Logf("peak heap in use: %d MiB for a %d MiB file", peak.Load()>>20, size>>20)
	if peak.Load() > 64<<20 {
		t.Fatalf("peak heap %d MiB: the file was not streamed", peak.Load()>>20)
	}
}
