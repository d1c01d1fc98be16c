package postgres

import (
	"context"
	"io"

	"github.com/trovato/trovato/core"
)

// PutBlob stores bytes uploaded for a push under the SHA-256 (hex) want:
// bytes with another hash are refused (EINVALID) and nothing is kept;
// ETOOLARGE past maxSize.
func (sy *Sync) PutBlob(ctx context.Context, r io.Reader, maxSize int64, want string) error {
	return sy.s.inTx(ctx, func(tx *txn) error {
		got, _, err := putBlob(ctx, tx, r, maxSize)
		if err != nil {
			return err
		}
		if got != want {
			return core.Errorf(core.EInvalid, "The uploaded bytes hash to %s, not %s.", got, want)
		}
		return nil
	})
}
