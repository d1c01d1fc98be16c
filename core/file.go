package core

import (
	"context"
	"io"
	"time"
)

// File is an uploaded file: an entity pointing at a content-addressed blob.
type File struct {
	ID        ID        `json:"id"`
	Hash      string    `json:"hash"` // hex SHA-256 of the content
	Size      int64     `json:"size"`
	MIME      string    `json:"mime"` // sniffed from the content
	Name      string    `json:"name"` // original file name
	OwnerID   ID        `json:"owner_id"`
	CreatedAt time.Time `json:"created_at"`
}

// BlobStore stores content-addressed bytes. PostgreSQL implements it;
// an S3-compatible store can later.
type BlobStore interface {
	// PutBlob streams r into the store and returns its hex SHA-256 and
	// size. It returns ETOOLARGE beyond maxSize (when > 0).
	PutBlob(ctx context.Context, r io.Reader, maxSize int64) (hash string, size int64, err error)
	// OpenBlob streams a blob; ENOTFOUND if absent.
	OpenBlob(ctx context.Context, hash string) (io.ReadCloser, int64, error)
}

// FileService stores file entities.
type FileService interface {
	// CreateFile streams r, sniffs its type, checks limits and stores it.
	// EINVALID when the content is not an allowed type or does not match the
	// name's extension; ETOOLARGE beyond the size limit.
	CreateFile(ctx context.Context, name string, r io.Reader) (*File, error)
	FindFileByID(ctx context.Context, id ID) (*File, error)
	OpenFile(ctx context.Context, id ID) (*File, io.ReadCloser, error)
}
