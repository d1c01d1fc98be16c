package export

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/trovato/trovato/core"
)

// ManifestIndexFile is a binary copy of the manifest's base
// (ManifestFile), written beside it with each base: reading it costs a
// few milliseconds where decoding the JSON base of a 10,000-article site
// costs about 150 (its strings are slices of the file read once, its
// entries one array). It names the base it copies (generation, size and
// modification time); a missing, damaged or stale index is ignored and
// the JSON base read, so the JSON stays the manifest of record (the
// database keeps it, tools read it).
const ManifestIndexFile = ".trovato-export.idx"

const indexMagic = "trovato-export-index 1\n"

// kinds of entries, one byte each in the index.
var indexKinds = []string{KindPage, KindFile, KindAsset, KindRedirect, KindExtra}

// encodeIndex writes m (read from or written as the base of generation
// gen, whose string table is strs) as an index of the base file fi.
func encodeIndex(m *Manifest, gen string, strs []string, fi fs.FileInfo) ([]byte, error) {
	pos := make(map[string]uint64, len(strs))
	for i, s := range strs {
		if _, dup := pos[s]; !dup {
			pos[s] = uint64(i)
		}
	}
	b := make([]byte, 0, 64*len(m.Files))
	b = append(b, indexMagic...)
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str(gen)
	b = binary.AppendUvarint(b, uint64(fi.Size()))
	b = binary.AppendVarint(b, fi.ModTime().UnixNano())
	b = binary.AppendUvarint(b, uint64(m.Version))
	b = binary.AppendUvarint(b, uint64(m.Cursor))
	str(m.Stage)
	b = binary.AppendUvarint(b, uint64(len(strs)))
	for _, s := range strs {
		str(s)
	}
	b = binary.AppendUvarint(b, uint64(len(m.Files)))
	list := func(l []string) error {
		b = binary.AppendUvarint(b, uint64(len(l)))
		for _, s := range l {
			n, ok := pos[s]
			if !ok {
				return fmt.Errorf("string %q not in the table", s)
			}
			b = binary.AppendUvarint(b, n)
		}
		return nil
	}
	for _, p := range m.Paths() {
		en := m.Files[p]
		k := -1
		for i, kind := range indexKinds {
			if kind == en.Kind {
				k = i
			}
		}
		if k < 0 {
			return nil, fmt.Errorf("entry %q: kind %q", p, en.Kind)
		}
		str(p)
		str(en.URL)
		b = append(b, byte(k))
		str(en.SHA256)
		b = binary.AppendUvarint(b, uint64(en.Size))
		if err := list(en.Tags); err != nil {
			return nil, err
		}
		if err := list(en.Links); err != nil {
			return nil, err
		}
		str(en.Target)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b)), nil
}

// writeIndex writes the index of the base just written in dir (its
// size and modification time name it).
func writeIndex(dir string, m *Manifest, gen string, strs []string) error {
	fi, err := os.Stat(filepath.Join(dir, ManifestFile))
	if err != nil {
		return err
	}
	raw, err := encodeIndex(m, gen, strs, fi)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, ManifestIndexFile), raw)
}

var errStaleIndex = errors.New("stale index")

// readIndex reads DIR's index of the base fi: the manifest and the base's
// string table, or an error (errStaleIndex: it copies another base).
func readIndex(dir string, fi fs.FileInfo) (*Manifest, []string, string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ManifestIndexFile))
	if err != nil {
		return nil, nil, "", err
	}
	if len(raw) < len(indexMagic)+4 || !bytes.HasPrefix(raw, []byte(indexMagic)) {
		return nil, nil, "", errors.New("not an index")
	}
	body := raw[:len(raw)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(raw[len(raw)-4:]) {
		return nil, nil, "", errors.New("damaged index")
	}
	d := indexReader{s: string(body), off: len(indexMagic)}
	gen := d.str()
	size, mtime := d.uvarint(), d.varint()
	if d.err == nil && (size != uint64(fi.Size()) || mtime != fi.ModTime().UnixNano()) {
		return nil, nil, "", errStaleIndex
	}
	m := &Manifest{Version: int(d.uvarint()), Cursor: core.FeedCursor(d.uvarint()), Stage: d.str()}
	strs := make([]string, d.count())
	for i := range strs {
		strs[i] = d.str()
	}
	n := d.count()
	m.Files = make(map[string]*Entry, n)
	entries := make([]Entry, n)
	var sl slab
	list := func() []string {
		c := d.count()
		if c == 0 {
			return nil
		}
		out := sl.take(c)
		for i := range out {
			v := d.uvarint()
			if v >= uint64(len(strs)) {
				d.fail()
				return nil
			}
			out[i] = strs[v]
		}
		return out
	}
	for i := 0; i < n && d.err == nil; i++ {
		p := d.str()
		en := &entries[i]
		en.URL = d.str()
		if k := int(d.byte()); k < len(indexKinds) {
			en.Kind = indexKinds[k]
		} else {
			d.fail()
		}
		en.SHA256 = d.str()
		en.Size = int64(d.uvarint())
		en.Tags, en.Links = list(), list()
		en.Target = d.str()
		if d.err == nil && (!safeRel(p) || len(en.SHA256) != 64) {
			return nil, nil, "", fmt.Errorf("bad entry %q", p)
		}
		m.Files[p] = en
	}
	if d.err == nil && d.off != len(d.s) {
		d.fail()
	}
	if d.err != nil {
		return nil, nil, "", d.err
	}
	return m, strs, gen, nil
}

// indexReader reads an index's fields; past a malformed one every read
// returns zero and err is set.
type indexReader struct {
	s   string
	off int
	err error
}

func (d *indexReader) fail() {
	if d.err == nil {
		d.err = errors.New("malformed index")
	}
	d.off = len(d.s)
}

func (d *indexReader) uvarint() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		if d.off >= len(d.s) {
			break
		}
		c := d.s[d.off]
		d.off++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	d.fail()
	return 0
}

func (d *indexReader) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// count is a length that must fit in what is left to read.
func (d *indexReader) count() int {
	v := d.uvarint()
	if v > uint64(len(d.s)-d.off) {
		d.fail()
		return 0
	}
	return int(v)
}

func (d *indexReader) byte() byte {
	if d.off >= len(d.s) {
		d.fail()
		return 0
	}
	c := d.s[d.off]
	d.off++
	return c
}

func (d *indexReader) str() string {
	n := d.count()
	s := d.s[d.off : d.off+n]
	d.off += n
	return s
}
