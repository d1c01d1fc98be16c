package postgres

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/trovato/trovato/core"
)

// FileFilter narrows FindFiles. Name matches a case-insensitive substring
// of the file name (no wildcards); MIMEPrefix matches the start of the
// sniffed type ("image/" or "application/pdf"); Limit (1..1000, default
// 50) and Offset page through the newest first.
type FileFilter struct {
	Name       string
	MIMEPrefix string
	Owner      *core.ID
	Limit      int
	Offset     int
}

// FindFiles lists stored files, newest first, with the number of files the
// filter matches. Listing files needs files.upload: it is what editors pick
// file and image field values from. EFORBIDDEN without it, EINVALID for a
// limit or offset out of range.
func (f *Files) FindFiles(ctx context.Context, filter FileFilter) ([]*core.File, int, error) {
	if err := f.s.authz.Require(ctx, core.UserFromContext(ctx), core.PermUploadFiles); err != nil {
		return nil, 0, err
	}
	if filter.Limit == 0 {
		filter.Limit = 50
	}
	if filter.Limit < 1 || filter.Limit > 1000 || filter.Offset < 0 {
		return nil, 0, core.Errorf(core.EInvalid, "file list limit must be 1..1000 and offset not negative")
	}
	var (
		where []string
		args  []any
	)
	if filter.Name != "" {
		args = append(args, filter.Name)
		where = append(where, fmt.Sprintf("strpos(lower(name), lower($%d)) > 0", len(args)))
	}
	if filter.MIMEPrefix != "" {
		args = append(args, filter.MIMEPrefix)
		where = append(where, fmt.Sprintf("starts_with(mime, $%d)", len(args)))
	}
	if filter.Owner != nil {
		args = append(args, *filter.Owner)
		where = append(where, fmt.Sprintf("owner_id = $%d", len(args)))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, filter.Limit, filter.Offset)
	rows, err := f.s.pool.Query(ctx, `SELECT id, hash, size, mime, name, owner_id, created_at, count(*) OVER () FROM file`+cond+
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("find files: %w", TranslateError(err))
	}
	defer rows.Close()
	var (
		out   []*core.File
		total int
	)
	for rows.Next() {
		file := &core.File{}
		var sum []byte
		if err := rows.Scan(&file.ID, &sum, &file.Size, &file.MIME, &file.Name, &file.OwnerID, &file.CreatedAt, &total); err != nil {
			return nil, 0, fmt.Errorf("find files: %w", TranslateError(err))
		}
		file.Hash = hex.EncodeToString(sum)
		out = append(out, file)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("find files: %w", TranslateError(err))
	}
	if len(out) == 0 && filter.Offset > 0 {
		// A page past the end still says how many there are.
		q := `SELECT count(*) FROM file` + cond
		if err := f.s.pool.QueryRow(ctx, q, args[:len(args)-2]...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("count files: %w", TranslateError(err))
		}
	}
	return out, total, nil
}
