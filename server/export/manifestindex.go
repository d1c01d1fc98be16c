package export

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"github.com/trovato/trovato/core"
)

// ManifestIndexFile is a binary copy of the manifest's base
// (ManifestFile), written beside it with each base. An incremental export
// reads it without decoding its entries: the entries sorted by path, the
// entries by URL and the entries of each tag are tables it searches
// (indexView), so a run decodes the few entries a change names, not the
// 15,000 of a 10,000-article site. It names the base it copies
// (generation, size and modification time); a missing, damaged or stale
// index is ignored and the JSON base read (and the index written again),
// so the JSON stays the manifest of record (the database keeps it, tools
// read it).
const ManifestIndexFile = ".trovato-export.idx"

// indexMagic names the format: version 2 adds the lookup tables to
// version 1's entries (a version 1 index is read as stale).
const indexMagic = "trovato-export-index 2\n"

// kinds of entries, one byte each in the index.
var indexKinds = []string{KindPage, KindFile, KindAsset, KindRedirect, KindExtra}

// encodeIndex writes m (read from or written as the base of generation
// gen, whose string table is strs) as an index of the base file fi:
//
//	magic, gen, base size, base time, version, cursor, stage
//	strings: count, then each (length, bytes)
//	entries: count, then each in path order (path, URL, kind, SHA-256,
//	  size, tags, links, target), tags and links as string indexes
//	offsets: the entries' offsets, 4 bytes each
//	by URL: entry numbers in URL order, 4 bytes each
//	string table: 2^k slots of 4 bytes (string index + 1, 0 empty) by
//	  FNV-1a of the string, linear probing
//	postings: each string's offset of its list (4 bytes, 0 none), then
//	  the lists: count, entry numbers (ascending, as differences)
//	redirects: count, entry numbers of the redirect entries
//	where the offsets, by URL, string table, postings and redirects
//	begin, 4 bytes each
//	CRC-32 (IEEE) of everything before it
//
// packed, when given, are the entries as the base wrote them: their lists
// are taken from its packed indexes instead of looking every string up.
func encodeIndex(m *Manifest, gen string, strs []string, packed map[string]*wireEntry, fi fs.FileInfo) ([]byte, error) {
	var pos map[string]uint64 // made when a list is not packed
	b := make([]byte, 0, 64*len(m.Files))
	b = append(b, indexMagic...)
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	u32 := func(v int) { b = binary.LittleEndian.AppendUint32(b, uint32(v)) }
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
	paths := m.Paths()
	b = binary.AppendUvarint(b, uint64(len(paths)))
	postings := make([][]int, len(strs))
	var redirects []int
	var buf []byte
	list := func(l []string, pack string, entry int, tags bool) error {
		b = binary.AppendUvarint(b, uint64(len(l)))
		post := func(n uint64) {
			if p := postings[n]; tags && (len(p) == 0 || p[len(p)-1] != entry) {
				postings[n] = append(p, entry)
			}
		}
		if pack != "" {
			var err error
			if buf, err = base64.RawURLEncoding.AppendDecode(buf[:0], []byte(pack)); err != nil {
				return fmt.Errorf("entry %d: packed indexes: %v", entry, err)
			}
			// The packed indexes were written from this list (encodeBase):
			// their count and range are checked, not each string again.
			rest := buf
			for range l {
				n, w := binary.Uvarint(rest)
				if w <= 0 || n >= uint64(len(strs)) {
					return fmt.Errorf("entry %d: packed indexes do not match its list", entry)
				}
				rest = rest[w:]
				post(n)
			}
			if len(rest) > 0 {
				return fmt.Errorf("entry %d: packed indexes do not match its list", entry)
			}
			b = append(b, buf...)
			return nil
		}
		if pos == nil {
			pos = make(map[string]uint64, len(strs))
			for i, s := range strs {
				if _, dup := pos[s]; !dup {
					pos[s] = uint64(i)
				}
			}
		}
		for _, s := range l {
			n, ok := pos[s]
			if !ok {
				return fmt.Errorf("string %q not in the table", s)
			}
			b = binary.AppendUvarint(b, n)
			post(n)
		}
		return nil
	}
	offsets := make([]int, len(paths))
	for i, p := range paths {
		en := m.Files[p]
		k := slices.Index(indexKinds, en.Kind)
		if k < 0 {
			return nil, fmt.Errorf("entry %q: kind %q", p, en.Kind)
		}
		if en.Kind == KindRedirect {
			redirects = append(redirects, i)
		}
		offsets[i] = len(b)
		str(p)
		str(en.URL)
		b = append(b, byte(k))
		str(en.SHA256)
		b = binary.AppendUvarint(b, uint64(en.Size))
		var tp, lp string
		if we := packed[p]; we != nil {
			tp, lp = we.TP, we.LP
		}
		if err := list(en.Tags, tp, i, true); err != nil {
			return nil, err
		}
		if err := list(en.Links, lp, i, false); err != nil {
			return nil, err
		}
		str(en.Target)
	}
	var at [5]int
	at[0] = len(b)
	for _, off := range offsets {
		u32(off)
	}
	at[1] = len(b)
	byURL := make([]int, len(paths))
	for i := range byURL {
		byURL[i] = i
	}
	slices.SortFunc(byURL, func(x, y int) int { return strings.Compare(m.Files[paths[x]].URL, m.Files[paths[y]].URL) })
	for _, i := range byURL {
		u32(i)
	}
	slots := make([]int, hashSlots(len(strs)))
	for i, s := range strs {
		h := strHash(s) & uint32(len(slots)-1)
		for slots[h] != 0 && strs[slots[h]-1] != s {
			h = (h + 1) & uint32(len(slots)-1)
		}
		if slots[h] == 0 { // else a duplicate: the first is found
			slots[h] = i + 1
		}
	}
	at[2] = len(b)
	for _, v := range slots {
		u32(v)
	}
	table := len(b)
	at[3] = table
	b = append(b, make([]byte, 4*len(strs))...)
	for n, p := range postings {
		if len(p) == 0 {
			continue
		}
		binary.LittleEndian.PutUint32(b[table+4*n:], uint32(len(b)))
		b = binary.AppendUvarint(b, uint64(len(p)))
		prev := 0
		for _, e := range p {
			b = binary.AppendUvarint(b, uint64(e-prev))
			prev = e
		}
	}
	at[4] = len(b)
	b = binary.AppendUvarint(b, uint64(len(redirects)))
	for _, e := range redirects {
		b = binary.AppendUvarint(b, uint64(e))
	}
	for _, a := range at {
		u32(a)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b)), nil
}

// hashSlots is the string table's size for n strings: a power of two at
// least twice n.
func hashSlots(n int) int {
	s := 8
	for s < 2*n {
		s *= 2
	}
	return s
}

// strHash is FNV-1a (32 bits).
func strHash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// writeIndex writes the index of the base just written in dir (its
// size and modification time name it).
func writeIndex(dir string, m *Manifest, w *wireManifest) error {
	fi, err := os.Stat(filepath.Join(dir, ManifestFile))
	if err != nil {
		return err
	}
	raw, err := encodeIndex(m, w.Gen, w.Strings, w.Files, fi)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, ManifestIndexFile), raw)
}

var errStaleIndex = errors.New("stale index")

// indexView is an index read for lookups: its header and string table
// decoded, its entries decoded only when asked for.
type indexView struct {
	s                 string // the index without its checksum
	gen               string
	version           int
	cursor            core.FeedCursor
	stage             string
	strs              []string
	n                 int // entries
	offsets, byURL    int // where the tables start
	slots, nslots     int
	postings, redirAt int
}

// openIndex reads DIR's index of the base fi, or an error (errStaleIndex:
// it copies another base). Every table is checked to lie inside the file
// and every entry offset inside the entries; entries are checked as they
// are decoded.
func openIndex(dir string, fi fs.FileInfo) (*indexView, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ManifestIndexFile))
	if err != nil {
		return nil, err
	}
	if len(raw) < len(indexMagic)+4 || !bytes.HasPrefix(raw, []byte(indexMagic)) {
		return nil, errors.New("not an index")
	}
	body := raw[:len(raw)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(raw[len(raw)-4:]) {
		return nil, errors.New("damaged index")
	}
	// The file's bytes are read once and never written: the view's
	// strings are slices of them, not a copy (10 MB at 10,000 articles).
	d := indexReader{s: unsafe.String(unsafe.SliceData(body), len(body)), off: len(indexMagic)}
	v := &indexView{s: d.s}
	v.gen = d.str()
	size, mtime := d.uvarint(), d.varint()
	if d.err == nil && (size != uint64(fi.Size()) || mtime != fi.ModTime().UnixNano()) {
		return nil, errStaleIndex
	}
	v.version, v.cursor, v.stage = int(d.uvarint()), core.FeedCursor(d.uvarint()), d.str()
	v.strs = make([]string, d.count())
	for i := range v.strs {
		v.strs[i] = d.str()
	}
	v.n = d.count()
	entries := d.off
	if d.err != nil || len(d.s) < d.off+20 {
		return nil, errors.New("malformed index")
	}
	// The trailer locates the tables.
	end := len(d.s) - 20
	var at [5]int
	for i := range at {
		at[i] = v.u32(end + 4*i)
	}
	v.offsets, v.byURL, v.slots, v.postings, v.redirAt = at[0], at[1], at[2], at[3], at[4]
	v.nslots = (v.postings - v.slots) / 4
	if v.offsets < entries || v.byURL != v.offsets+4*v.n || v.slots != v.byURL+4*v.n || v.postings < v.slots ||
		v.nslots == 0 || v.nslots&(v.nslots-1) != 0 || v.postings != v.slots+4*v.nslots ||
		v.redirAt < v.postings+4*len(v.strs) || v.redirAt > end {
		return nil, errors.New("malformed index")
	}
	d = indexReader{s: d.s[:end], off: v.redirAt}
	c := d.count()
	for range c {
		if e := d.uvarint(); e >= uint64(v.n) {
			d.fail()
		}
	}
	if d.err == nil && d.off != len(d.s) {
		d.fail()
	}
	for i := 0; i < v.n && d.err == nil; i++ {
		if o := v.u32(v.offsets + 4*i); o < entries || o >= v.offsets {
			d.fail()
		}
		if e := v.u32(v.byURL + 4*i); e >= v.n {
			d.fail()
		}
	}
	for n := 0; n < len(v.strs) && d.err == nil; n++ {
		if o := v.u32(v.postings + 4*n); o != 0 && (o < v.postings+4*len(v.strs) || o >= v.redirAt) {
			d.fail()
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	return v, nil
}

func (v *indexView) u32(off int) int {
	s := v.s[off : off+4]
	return int(uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24)
}

// findStr is the index of string s in the table, or -1.
func (v *indexView) findStr(s string) int {
	mask := uint32(v.nslots - 1)
	for h := strHash(s) & mask; ; h = (h + 1) & mask {
		n := v.u32(v.slots + 4*int(h))
		if n == 0 || n > len(v.strs) {
			return -1
		}
		if v.strs[n-1] == s {
			return n - 1
		}
	}
}

// reader is an indexReader at entry i.
func (v *indexView) reader(i int) indexReader {
	return indexReader{s: v.s[:v.offsets], off: v.u32(v.offsets + 4*i)}
}

// path is entry i's path.
func (v *indexView) path(i int) string {
	d := v.reader(i)
	return d.str()
}

// url is entry i's URL.
func (v *indexView) url(i int) string {
	d := v.reader(i)
	d.str()
	return d.str()
}

// entry decodes entry i.
func (v *indexView) entry(i int, sl *slab) (string, *Entry, error) {
	d := v.reader(i)
	p := d.str()
	en := &Entry{URL: d.str()}
	if k := int(d.byte()); k < len(indexKinds) {
		en.Kind = indexKinds[k]
	} else {
		d.fail()
	}
	en.SHA256 = d.str()
	en.Size = int64(d.uvarint())
	list := func() []string {
		c := d.count()
		if c == 0 {
			return nil
		}
		out := sl.take(c)
		for i := range out {
			n := d.uvarint()
			if n >= uint64(len(v.strs)) {
				d.fail()
				return nil
			}
			out[i] = v.strs[n]
		}
		return out
	}
	en.Tags, en.Links = list(), list()
	en.Target = d.str()
	if d.err != nil {
		return "", nil, d.err
	}
	if !safeRel(p) || len(en.SHA256) != 64 {
		return "", nil, fmt.Errorf("bad entry %q", p)
	}
	return p, en, nil
}

// findPath is the number of the entry at path rel, or -1.
func (v *indexView) findPath(rel string) int {
	i, ok := sort.Find(v.n, func(i int) int { return strings.Compare(rel, v.path(i)) })
	if !ok {
		return -1
	}
	return i
}

// findURL is the number of the entry whose URL is u, or -1.
func (v *indexView) findURL(u string) int {
	k, ok := sort.Find(v.n, func(k int) int { return strings.Compare(u, v.url(v.u32(v.byURL+4*k))) })
	if !ok {
		return -1
	}
	return v.u32(v.byURL + 4*k)
}

// tagged are the numbers of the entries with tag t.
func (v *indexView) tagged(t string) ([]int, error) {
	n := v.findStr(t)
	if n < 0 {
		return nil, nil
	}
	at := v.u32(v.postings + 4*n)
	if at == 0 {
		return nil, nil
	}
	d := indexReader{s: v.s[:v.redirAt], off: at}
	out := make([]int, d.count())
	e := 0
	for i := range out {
		step := d.uvarint()
		if step >= uint64(v.n) || e+int(step) >= v.n {
			return nil, errors.New("malformed index")
		}
		e += int(step)
		out[i] = e
	}
	if d.err != nil {
		return nil, errors.New("malformed index")
	}
	return out, nil
}

// redirects are the numbers of the redirect entries.
func (v *indexView) redirects() []int {
	d := indexReader{s: v.s, off: v.redirAt}
	out := make([]int, d.count())
	for i := range out {
		out[i] = int(d.uvarint())
	}
	return out
}

// manifest decodes every entry.
func (v *indexView) manifest() (*Manifest, error) {
	m := &Manifest{Version: v.version, Cursor: v.cursor, Stage: v.stage, Files: make(map[string]*Entry, v.n)}
	var sl slab
	for i := range v.n {
		p, en, err := v.entry(i, &sl)
		if err != nil {
			return nil, err
		}
		m.Files[p] = en
	}
	return m, nil
}

// readIndex reads DIR's index of the base fi whole: the manifest and the
// base's string table, or an error (errStaleIndex: it copies another
// base).
func readIndex(dir string, fi fs.FileInfo) (*Manifest, []string, string, error) {
	v, err := openIndex(dir, fi)
	if err != nil {
		return nil, nil, "", err
	}
	m, err := v.manifest()
	if err != nil {
		return nil, nil, "", err
	}
	return m, v.strs, v.gen, nil
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
