package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// Comment statuses.
const (
	CommentPending   = "pending"
	CommentPublished = "published"
)

// CommentMaxBytes bounds a comment's text.
const CommentMaxBytes = 5000

// Comment is a visitor's comment on an item; comments are not staged.
type Comment struct {
	ID         core.ID
	ItemID     core.ID
	ParentID   *core.ID
	AuthorID   core.ID
	AuthorName string
	Body       string
	Status     string
	CreatedAt  time.Time
}

// CreateComment stores a comment by the user in ctx on a live item they
// may view: published at once for content administrators, pending
// otherwise. Errors: EUnauthorized for the anonymous user, EInvalid for an
// empty or oversized body or a parent on another item, ENotFound for an
// item the user may not view.
func (s *Store) CreateComment(ctx context.Context, c *Comment) error {
	u := core.UserFromContext(ctx)
	if u.IsAnonymous() {
		return core.Errorf(core.EUnauthorized, "sign in to comment")
	}
	c.Body = strings.TrimSpace(c.Body)
	if c.Body == "" || len(c.Body) > CommentMaxBytes || !utf8.ValidString(c.Body) || strings.ContainsRune(c.Body, 0) {
		return core.InvalidFields("invalid comment", []core.FieldError{{Path: "body", Message: fmt.Sprintf("must be 1 to %d bytes of text", CommentMaxBytes)}})
	}
	if _, err := s.Items().FindItemByID(ctx, core.LiveStageID, c.ItemID); err != nil {
		return err
	}
	if c.ParentID != nil {
		var item core.ID
		err := s.pool.QueryRow(ctx, `SELECT item_id FROM comment WHERE id = $1 AND status = 'published'`, *c.ParentID).Scan(&item)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && item != c.ItemID) {
			return core.InvalidFields("invalid comment", []core.FieldError{{Path: "parent", Message: "must be a published comment on the same item"}})
		} else if err != nil {
			return fmt.Errorf("create comment: %w", TranslateError(err))
		}
	}
	c.Status = CommentPending
	if ok, err := s.authz.HasPermission(ctx, u, core.PermAdministerContent); err != nil {
		return err
	} else if ok {
		c.Status = CommentPublished
	}
	c.ID, c.AuthorID, c.AuthorName = core.NewID(), u.ID, u.Name
	err := s.pool.QueryRow(ctx, `INSERT INTO comment (id, item_id, parent_id, author_id, body, status) VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at`,
		c.ID, c.ItemID, c.ParentID, c.AuthorID, c.Body, c.Status).Scan(&c.CreatedAt)
	if err != nil {
		return fmt.Errorf("create comment: %w", TranslateError(err))
	}
	return nil
}

// FindComments lists an item's comments of a status ("" for every
// status), oldest first, at most 1000.
func (s *Store) FindComments(ctx context.Context, item core.ID, status string) ([]*Comment, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.id, c.item_id, c.parent_id, c.author_id, coalesce(u.name, ''), c.body, c.status, c.created_at
		FROM comment c LEFT JOIN users u ON u.id = c.author_id
		WHERE c.item_id = $1 AND ($2 = '' OR c.status = $2) ORDER BY c.created_at, c.id LIMIT 1000`, item, status)
	if err != nil {
		return nil, fmt.Errorf("find comments: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []*Comment
	for rows.Next() {
		c := &Comment{}
		if err := rows.Scan(&c.ID, &c.ItemID, &c.ParentID, &c.AuthorID, &c.AuthorName, &c.Body, &c.Status, &c.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SetCommentStatus moderates a comment (content administrators only).
// Errors: EForbidden, ENotFound, EInvalid for an unknown status.
func (s *Store) SetCommentStatus(ctx context.Context, id core.ID, status string) (*Comment, error) {
	if status != CommentPending && status != CommentPublished {
		return nil, core.Errorf(core.EInvalid, "status must be %q or %q", CommentPending, CommentPublished)
	}
	if ok, err := s.authz.HasPermission(ctx, core.UserFromContext(ctx), core.PermAdministerContent); err != nil {
		return nil, err
	} else if !ok {
		return nil, core.Errorf(core.EForbidden, "moderating comments needs %s", core.PermAdministerContent)
	}
	c := &Comment{ID: id, Status: status}
	err := s.pool.QueryRow(ctx, `UPDATE comment SET status = $2 WHERE id = $1 RETURNING item_id`, id, status).Scan(&c.ItemID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "comment %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("set comment status: %w", TranslateError(err))
	}
	return c, nil
}
