package postgres

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// chunkSize is the size of one stored blob chunk.
const chunkSize = 1 << 20

// Blobs implements core.BlobStore in PostgreSQL: content-addressed,
// chunked and streamed, so no file is ever held whole in memory.
type Blobs struct{ s *Store }

var _ core.BlobStore = (*Blobs)(nil)

// Blobs returns the blob store.
func (s *Store) Blobs() *Blobs { return &Blobs{s} }

// PutBlob implements core.BlobStore.
func (b *Blobs) PutBlob(ctx context.Context, r io.Reader, maxSize int64) (string, int64, error) {
	var (
		hash string
		size int64
	)
	err := b.s.inTx(ctx, func(tx *txn) error {
		var err error
		hash, size, err = putBlob(ctx, tx, r, maxSize)
		return err
	})
	return hash, size, err
}

func putBlob(ctx context.Context, tx *txn, r io.Reader, maxSize int64) (string, int64, error) {
	blobID := core.NewID()
	h := sha256.New()
	buf := make([]byte, chunkSize)
	var size int64
	for n := 0; ; n++ {
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			size += int64(k)
			if maxSize > 0 && size > maxSize {
				return "", 0, core.Errorf(core.ETooLarge, "the file is larger than the limit of %d bytes", maxSize)
			}
			h.Write(buf[:k])
			if _, err := tx.Exec(ctx, `INSERT INTO blob_chunk (blob_id, n, data) VALUES ($1, $2, $3)`, blobID, n, buf[:k]); err != nil {
				return "", 0, fmt.Errorf("store blob chunk: %w", TranslateError(err))
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		} else if err != nil {
			return "", 0, fmt.Errorf("read upload: %w", err)
		}
	}
	sum := h.Sum(nil)
	tag, err := tx.Exec(ctx, `INSERT INTO blob (hash, blob_id, size) VALUES ($1, $2, $3) ON CONFLICT (hash) DO NOTHING`, sum, blobID, size)
	if err != nil {
		return "", 0, fmt.Errorf("store blob: %w", TranslateError(err))
	}
	if tag.RowsAffected() == 0 {
		// Same content stored before: drop this copy's chunks.
		if _, err := tx.Exec(ctx, `DELETE FROM blob_chunk WHERE blob_id = $1`, blobID); err != nil {
			return "", 0, fmt.Errorf("drop duplicate blob: %w", TranslateError(err))
		}
	}
	return hex.EncodeToString(sum), size, nil
}

// OpenBlob implements core.BlobStore. The reader fetches one chunk at a
// time.
func (b *Blobs) OpenBlob(ctx context.Context, hash string) (io.ReadCloser, int64, error) {
	sum, err := hex.DecodeString(hash)
	if err != nil || len(sum) != sha256.Size {
		return nil, 0, core.Errorf(core.EInvalid, "%q is not a SHA-256 hash", hash)
	}
	var (
		blobID core.ID
		size   int64
	)
	err = b.s.pool.QueryRow(ctx, `SELECT blob_id, size FROM blob WHERE hash = $1`, sum).Scan(&blobID, &size)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, core.Errorf(core.ENotFound, "blob %s not found", hash)
	} else if err != nil {
		return nil, 0, fmt.Errorf("open blob: %w", TranslateError(err))
	}
	return &chunkReader{ctx: ctx, q: b.s.pool, blobID: blobID}, size, nil
}

type chunkReader struct {
	ctx    context.Context
	q      querier
	blobID core.ID
	n      int
	cur    []byte
	done   bool
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		if c.done {
			return 0, io.EOF
		}
		err := c.q.QueryRow(c.ctx, `SELECT data FROM blob_chunk WHERE blob_id = $1 AND n = $2`, c.blobID, c.n).Scan(&c.cur)
		if errors.Is(err, pgx.ErrNoRows) {
			c.done = true
			return 0, io.EOF
		} else if err != nil {
			return 0, fmt.Errorf("read blob chunk: %w", TranslateError(err))
		}
		c.n++
	}
	k := copy(p, c.cur)
	c.cur = c.cur[k:]
	return k, nil
}

func (c *chunkReader) Close() error { c.done, c.cur = true, nil; return nil }

// FileLimits configures uploads.
type FileLimits struct {
	MaxSize int64    // bytes; 0 means 64 MiB
	Allowed []string // MIME types; nil means DefaultAllowedTypes
}

// DefaultAllowedTypes are the MIME types accepted when none are
// configured. SVG is not among them: it can carry script.
var DefaultAllowedTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "audio/mpeg", "video/mp4", "application/zip"}

// Files implements core.FileService.
type Files struct {
	s      *Store
	limits FileLimits
}

var _ core.FileService = (*Files)(nil)

// Files returns the file service with the given limits.
func (s *Store) Files(limits FileLimits) *Files {
	if limits.MaxSize == 0 {
		limits.MaxSize = 64 << 20
	}
	if limits.Allowed == nil {
		limits.Allowed = DefaultAllowedTypes
	}
	return &Files{s: s, limits: limits}
}

// sniff returns the MIME type of the content's first bytes.
func sniff(head []byte) string {
	t := http.DetectContentType(head)
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	if t == "application/octet-stream" && len(head) >= 12 && string(head[0:4]) == "RIFF" && string(head[8:12]) == "WEBP" {
		t = "image/webp"
	}
	return t
}

// CreateFile implements core.FileService.
func (f *Files) CreateFile(ctx context.Context, name string, r io.Reader) (*core.File, error) {
	u := core.UserFromContext(ctx)
	if err := f.s.authz.Require(ctx, u, core.PermUploadFiles); err != nil {
		return nil, err
	}
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if !utf8.ValidString(name) || name == "" || name == "." || name == "/" || len(name) > 255 || strings.ContainsAny(name, "\x00\r\n") {
		return nil, core.Errorf(core.EInvalid, "file name %q is not valid", name)
	}
	br := bufio.NewReaderSize(r, 512)
	head, err := br.Peek(512)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("read upload: %w", err)
	}
	if len(head) == 0 {
		return nil, core.Errorf(core.EInvalid, "the file is empty")
	}
	typ := sniff(head)
	allowed := false
	for _, a := range f.limits.Allowed {
		if a == typ {
			allowed = true
		}
	}
	if !allowed {
		return nil, core.Errorf(core.EInvalid, "files of type %s are not allowed (allowed: %s)", typ, strings.Join(f.limits.Allowed, ", "))
	}
	if ext := strings.ToLower(path.Ext(name)); ext != "" {
		claimed := mime.TypeByExtension(ext)
		if i := strings.IndexByte(claimed, ';'); i >= 0 {
			claimed = claimed[:i]
		}
		if claimed != "" && claimed != typ && !(strings.HasPrefix(typ, "text/plain") && strings.HasPrefix(claimed, "text/")) {
			return nil, core.Errorf(core.EInvalid, "the content of %s is %s, which does not match its extension %s", name, typ, ext)
		}
	}
	file := &core.File{ID: core.NewID(), MIME: typ, Name: name, OwnerID: u.ID}
	err = f.s.inTx(ctx, func(tx *txn) error {
		hash, size, err := putBlob(ctx, tx, br, f.limits.MaxSize)
		if err != nil {
			return err
		}
		file.Hash, file.Size = hash, size
		sum, _ := hex.DecodeString(hash)
		if err := tx.QueryRow(ctx, `INSERT INTO file (id, hash, size, mime, name, owner_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at`,
			file.ID, sum, size, typ, name, u.ID).Scan(&file.CreatedAt); err != nil {
			return fmt.Errorf("store file: %w", TranslateError(err))
		}
		return tx.feed(ctx, core.KindFile, file.ID.String(), nil, nil, nil, core.ChangeCreate)
	})
	if err != nil {
		return nil, err
	}
	return file, nil
}

// FindFileByID implements core.FileService.
func (f *Files) FindFileByID(ctx context.Context, id core.ID) (*core.File, error) {
	file := &core.File{}
	var sum []byte
	err := f.s.pool.QueryRow(ctx, `SELECT id, hash, size, mime, name, owner_id, created_at FROM file WHERE id = $1`, id).
		Scan(&file.ID, &sum, &file.Size, &file.MIME, &file.Name, &file.OwnerID, &file.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "file %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find file: %w", TranslateError(err))
	}
	file.Hash = hex.EncodeToString(sum)
	return file, nil
}

// OpenFile implements core.FileService.
func (f *Files) OpenFile(ctx context.Context, id core.ID) (*core.File, io.ReadCloser, error) {
	file, err := f.FindFileByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	rc, _, err := f.s.Blobs().OpenBlob(ctx, file.Hash)
	if err != nil {
		return nil, nil, err
	}
	return file, rc, nil
}
