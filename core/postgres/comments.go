package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
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

// Limits of an anonymous commenter's name and e-mail.
const (
	CommentNameMaxChars  = 60
	CommentEmailMaxBytes = 254
)

// Audit actions of comment moderation.
const (
	AuditCommentPublish   = "comment.publish"
	AuditCommentUnpublish = "comment.unpublish"
	AuditCommentUpdate    = "comment.update"
	AuditCommentDelete    = "comment.delete"
)

// Comment is a visitor's comment on an item; comments are not staged.
// AuthorID is nil for an anonymous comment, which carries the name (and
// optional e-mail) its author typed.
type Comment struct {
	ID          core.ID
	ItemID      core.ID
	ItemTitle   string // filled by FindCommentQueue and FindCommentByID
	ParentID    *core.ID
	AuthorID    *core.ID
	AuthorName  string
	AuthorEmail string // anonymous comments only; moderators see it
	ClientAddr  string // moderators see it
	Body        string
	Status      string
	CreatedAt   time.Time
	ChangedAt   time.Time
}

// Anonymous reports whether the comment was posted without an account.
func (c *Comment) Anonymous() bool { return c.AuthorID == nil }

// CommentFilter selects comments for moderation, newest first.
type CommentFilter struct {
	Status string  // "" for every status
	ItemID core.ID // NilID for every item
	Offset int
	Limit  int // 1..1000; 0 means 50
}

func validCommentBody(body string) (string, error) {
	body = strings.TrimSpace(body)
	if body == "" || len(body) > CommentMaxBytes || !utf8.ValidString(body) || strings.ContainsRune(body, 0) {
		return "", core.InvalidFields("invalid comment", []core.FieldError{{Path: "body", Message: fmt.Sprintf("must be 1 to %d bytes of text", CommentMaxBytes)}})
	}
	return body, nil
}

// validCommenter checks an anonymous commenter's name and e-mail.
func validCommenter(name, email string) (string, string, error) {
	name, email = strings.TrimSpace(name), strings.TrimSpace(email)
	var fe []core.FieldError
	if name == "" || utf8.RuneCountInString(name) > CommentNameMaxChars || !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
		fe = append(fe, core.FieldError{Path: "name", Message: fmt.Sprintf("must be 1 to %d characters", CommentNameMaxChars)})
	}
	if email != "" {
		a, err := mail.ParseAddress(email)
		if err != nil || a.Address != email || len(email) > CommentEmailMaxBytes || a.Name != "" {
			fe = append(fe, core.FieldError{Path: "email", Message: "must be an e-mail address like name@example.org, or empty"})
		}
	}
	if len(fe) > 0 {
		return "", "", core.InvalidFields("invalid comment", fe)
	}
	return name, email, nil
}

// CommentItemType is the item type whose comment settings apply to items
// of type name: nil (the defaults) when the type no longer exists.
func (s *Store) CommentItemType(ctx context.Context, name string) (*core.ItemType, error) {
	doc, err := findConfig(ctx, s.pool, "item_type", name)
	if core.ErrorCode(err) == core.ENotFound {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	t, err := core.ParseItemType(doc.Body)
	if err != nil {
		return nil, fmt.Errorf("item type %q: %w", name, err)
	}
	return t, nil
}

// CreateComment stores a comment on a live item the acting user may view,
// when the item's type has comments open (core.CommentSettings). A
// signed-in user's comment is published at once when they hold
// comments.administer, pending otherwise. An anonymous visitor may comment
// when the anonymous role holds comments.anonymous and the item's type
// does not say anonymous: false: c.AuthorName (and optionally
// c.AuthorEmail) say who they are, the context's client address is kept,
// and the comment always waits as pending. Errors: EUnauthorized for an
// anonymous visitor the site or the item's type does not let comment,
// EForbidden when the item's type has comments closed or hidden,
// EInvalid for an empty or oversized body, a bad name or e-mail, a name
// of a registered user, or a parent that is not a published comment on the
// same item; ENotFound for an item the user may not view.
func (s *Store) CreateComment(ctx context.Context, c *Comment) error {
	u := core.UserFromContext(ctx)
	anonymousOK := false
	if u.IsAnonymous() {
		ok, err := s.authz.HasPermission(ctx, u, core.PermPostAnonymousComments)
		if err != nil {
			return err
		} else if !ok {
			return core.Errorf(core.EUnauthorized, "sign in to comment")
		}
		anonymousOK = ok
	}
	it, err := s.Items().FindItemByID(ctx, core.LiveStageID, c.ItemID)
	if err != nil {
		return err
	}
	typ, err := s.CommentItemType(ctx, it.Type)
	if err != nil {
		return err
	}
	if mode := typ.CommentMode(); mode != core.CommentsOpen {
		return core.Errorf(core.EForbidden, "comments are %s on %s items", mode, it.Type)
	}
	if u.IsAnonymous() && !typ.AnonymousComments(anonymousOK) {
		return core.Errorf(core.EUnauthorized, "sign in to comment: %s items take comments from signed-in users only", it.Type)
	}
	body, err := validCommentBody(c.Body)
	if err != nil {
		return err
	}
	c.Body = body
	c.Status = CommentPending
	c.AuthorID = nil
	c.ClientAddr = core.ClientAddrFromContext(ctx)
	if len(c.ClientAddr) > 100 || !utf8.ValidString(c.ClientAddr) {
		c.ClientAddr = ""
	}
	if u.IsAnonymous() {
		if c.AuthorName, c.AuthorEmail, err = validCommenter(c.AuthorName, c.AuthorEmail); err != nil {
			return err
		}
	} else {
		c.AuthorID, c.AuthorName, c.AuthorEmail = &u.ID, u.Name, ""
		if ok, err := s.authz.HasPermission(ctx, u, core.PermAdministerComments); err != nil {
			return err
		} else if ok {
			c.Status = CommentPublished
		}
	}
	c.ID = core.NewID()
	return s.inTx(ctx, func(tx *txn) error {
		if c.ParentID != nil {
			var item core.ID
			err := tx.QueryRow(ctx, `SELECT item_id FROM comment WHERE id = $1 AND status = 'published'`, *c.ParentID).Scan(&item)
			if errors.Is(err, pgx.ErrNoRows) || (err == nil && item != c.ItemID) {
				return core.InvalidFields("invalid comment", []core.FieldError{{Path: "parent", Message: "must be a published comment on the same item"}})
			} else if err != nil {
				return fmt.Errorf("create comment: %w", TranslateError(err))
			}
		}
		var name, email *string
		if c.AuthorID == nil {
			var taken bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE lower(name) = lower($1))`, c.AuthorName).Scan(&taken); err != nil {
				return fmt.Errorf("create comment: %w", TranslateError(err))
			}
			if taken {
				return core.InvalidFields("invalid comment", []core.FieldError{{Path: "name", Message: "belongs to a registered user: sign in, or choose another name"}})
			}
			name = &c.AuthorName
			if c.AuthorEmail != "" {
				email = &c.AuthorEmail
			}
		}
		err := tx.QueryRow(ctx, `INSERT INTO comment (id, item_id, parent_id, author_id, author_name, author_email, client_addr, body, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING created_at, changed_at`,
			c.ID, c.ItemID, c.ParentID, c.AuthorID, name, email, c.ClientAddr, c.Body, c.Status).Scan(&c.CreatedAt, &c.ChangedAt)
		if err != nil {
			return fmt.Errorf("create comment: %w", TranslateError(err))
		}
		if c.Status == CommentPublished {
			return tx.feed(ctx, core.KindComment, c.ItemID.String(), idPtr(core.LiveStageID), nil, nil, core.ChangeUpdate)
		}
		return nil
	})
}

// commentColumns are read by every comment query (c: comment, u: users,
// i: item).
const commentColumns = `c.id, c.item_id, coalesce(i.title, ''), c.parent_id, c.author_id, coalesce(c.author_name, u.name, ''),
	coalesce(c.author_email, ''), c.client_addr, c.body, c.status, c.created_at, c.changed_at`

func scanComment(row pgx.Row) (*Comment, error) {
	c := &Comment{}
	err := row.Scan(&c.ID, &c.ItemID, &c.ItemTitle, &c.ParentID, &c.AuthorID, &c.AuthorName, &c.AuthorEmail, &c.ClientAddr,
		&c.Body, &c.Status, &c.CreatedAt, &c.ChangedAt)
	return c, err
}

// FindComments lists an item's comments of a status ("" for every
// status), oldest first, at most 1000, for showing on the item's page:
// the author's e-mail and address are left out.
func (s *Store) FindComments(ctx context.Context, item core.ID, status string) ([]*Comment, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+commentColumns+`
		FROM comment c LEFT JOIN users u ON u.id = c.author_id LEFT JOIN item i ON false
		WHERE c.item_id = $1 AND ($2 = '' OR c.status = $2) ORDER BY c.created_at, c.id LIMIT 1000`, item, status)
	if err != nil {
		return nil, fmt.Errorf("find comments: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []*Comment
	for rows.Next() {
		c, err := scanComment(rows)
		if err != nil {
			return nil, err
		}
		c.AuthorEmail, c.ClientAddr = "", ""
		out = append(out, c)
	}
	return out, rows.Err()
}

// CountComments returns the number of visible comments of each item
// (items without any are left out), in one query, for listings: the
// published comments that are not replies below a pending one (the item
// page hides those with their parent), as the item page counts them.
// At most 1000 ids.
func (s *Store) CountComments(ctx context.Context, items []core.ID) (map[core.ID]int, error) {
	out := make(map[core.ID]int, len(items))
	if len(items) == 0 {
		return out, nil
	}
	if len(items) > 1000 {
		return nil, core.Errorf(core.EInvalid, "count comments: at most 1000 items, not %d", len(items))
	}
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE hidden AS (
			SELECT c.id FROM comment c WHERE c.item_id = ANY($1::uuid[]) AND c.status = 'pending'
			UNION
			SELECT k.id FROM comment k JOIN hidden h ON k.parent_id = h.id WHERE k.item_id = ANY($1))
		SELECT c.item_id, count(*) FROM comment c
		WHERE c.item_id = ANY($1) AND c.status = 'published' AND NOT EXISTS (SELECT 1 FROM hidden h WHERE h.id = c.id)
		GROUP BY c.item_id`, items)
	if err != nil {
		return nil, fmt.Errorf("count comments: %w", TranslateError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var id core.ID
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count comments: %w", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count comments: %w", TranslateError(err))
	}
	return out, nil
}

// requireModerator returns EForbidden (EUnauthorized when anonymous)
// unless the acting user holds comments.administer.
func (s *Store) requireModerator(ctx context.Context) error {
	return s.authz.Require(ctx, core.UserFromContext(ctx), core.PermAdministerComments)
}

// FindCommentQueue lists comments for moderation (comments.administer),
// newest first, with their item's title. Errors: EForbidden,
// EUnauthorized, EInvalid for an unknown status or a limit out of range.
func (s *Store) FindCommentQueue(ctx context.Context, f CommentFilter) ([]*Comment, error) {
	if err := s.requireModerator(ctx); err != nil {
		return nil, err
	}
	if f.Status != "" && f.Status != CommentPending && f.Status != CommentPublished {
		return nil, core.InvalidFields("invalid filter", []core.FieldError{{Path: "status", Message: fmt.Sprintf("must be %q or %q", CommentPending, CommentPublished)}})
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 1 || f.Limit > 1000 || f.Offset < 0 {
		return nil, core.InvalidFields("invalid filter", []core.FieldError{{Path: "limit", Message: "must be 1 to 1000"}})
	}
	var item *core.ID
	if f.ItemID != core.NilID {
		item = &f.ItemID
	}
	rows, err := s.pool.Query(ctx, `SELECT `+commentColumns+`
		FROM comment c LEFT JOIN users u ON u.id = c.author_id LEFT JOIN item i ON i.id = c.item_id
		WHERE ($1 = '' OR c.status = $1) AND ($2::uuid IS NULL OR c.item_id = $2)
		ORDER BY c.created_at DESC, c.id DESC OFFSET $3 LIMIT $4`, f.Status, item, f.Offset, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("find comment queue: %w", TranslateError(err))
	}
	defer rows.Close()
	out := []*Comment{}
	for rows.Next() {
		c, err := scanComment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// FindCommentByID reads one comment for moderation (comments.administer).
// Errors: EForbidden, EUnauthorized, ENotFound.
func (s *Store) FindCommentByID(ctx context.Context, id core.ID) (*Comment, error) {
	if err := s.requireModerator(ctx); err != nil {
		return nil, err
	}
	return findComment(ctx, s.pool, id, false)
}

func findComment(ctx context.Context, q querier, id core.ID, lock bool) (*Comment, error) {
	sql := `SELECT ` + commentColumns + `
		FROM comment c LEFT JOIN users u ON u.id = c.author_id LEFT JOIN item i ON i.id = c.item_id WHERE c.id = $1`
	if lock {
		sql += ` FOR UPDATE OF c`
	}
	c, err := scanComment(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "comment %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find comment %s: %w", id, TranslateError(err))
	}
	return c, nil
}

// CommentUpdate changes a comment; nil fields stay.
type CommentUpdate struct {
	Body   *string
	Status *string
}

// UpdateComment moderates a comment (comments.administer): a new status
// (published or pending) and/or a new body, audited in the same
// transaction (comment.publish, comment.unpublish, comment.update).
// Changes that alter what visitors see append a comment row to the change
// feed, so every node's page cache drops the item's pages. Unpublishing a
// comment hides its replies with it. Errors: EForbidden, EUnauthorized,
// ENotFound, EInvalid for an unknown status, a bad body, or no change
// asked for.
func (s *Store) UpdateComment(ctx context.Context, id core.ID, upd CommentUpdate) (*Comment, error) {
	if err := s.requireModerator(ctx); err != nil {
		return nil, err
	}
	if upd.Body == nil && upd.Status == nil {
		return nil, core.Errorf(core.EInvalid, "nothing to change: give a body or a status")
	}
	if upd.Status != nil && *upd.Status != CommentPending && *upd.Status != CommentPublished {
		return nil, core.InvalidFields("invalid comment", []core.FieldError{{Path: "status", Message: fmt.Sprintf("must be %q or %q", CommentPending, CommentPublished)}})
	}
	var body string
	if upd.Body != nil {
		var err error
		if body, err = validCommentBody(*upd.Body); err != nil {
			return nil, err
		}
	}
	var out *Comment
	err := s.inTx(ctx, func(tx *txn) error {
		c, err := findComment(ctx, tx, id, true)
		if err != nil {
			return err
		}
		wasVisible, bodyChanged := c.Status == CommentPublished, false
		if upd.Status != nil && *upd.Status != c.Status {
			action := AuditCommentPublish
			if *upd.Status == CommentPending {
				action = AuditCommentUnpublish
			}
			c.Status = *upd.Status
			if err := writeAudit(ctx, tx, s.now(), action, "comment:"+id.String(), map[string]any{"item": c.ItemID}); err != nil {
				return err
			}
		}
		if upd.Body != nil && body != c.Body {
			c.Body, bodyChanged = body, true
			if err := writeAudit(ctx, tx, s.now(), AuditCommentUpdate, "comment:"+id.String(), map[string]any{"item": c.ItemID}); err != nil {
				return err
			}
		}
		isVisible := c.Status == CommentPublished
		if err := tx.QueryRow(ctx, `UPDATE comment SET status = $2, body = $3, changed_at = now() WHERE id = $1 RETURNING changed_at`,
			id, c.Status, c.Body).Scan(&c.ChangedAt); err != nil {
			return fmt.Errorf("update comment %s: %w", id, TranslateError(err))
		}
		out = c
		if wasVisible != isVisible || isVisible && bodyChanged {
			return tx.feed(ctx, core.KindComment, c.ItemID.String(), idPtr(core.LiveStageID), nil, nil, core.ChangeUpdate)
		}
		return nil
	})
	return out, err
}

// SetCommentStatus publishes or unpublishes a comment: UpdateComment with
// a status only.
func (s *Store) SetCommentStatus(ctx context.Context, id core.ID, status string) (*Comment, error) {
	return s.UpdateComment(ctx, id, CommentUpdate{Status: &status})
}

// DeleteComment deletes a comment and its replies (comments.administer),
// audited as comment.delete with the number of comments removed. Errors:
// EForbidden, EUnauthorized, ENotFound.
func (s *Store) DeleteComment(ctx context.Context, id core.ID) (*Comment, error) {
	if err := s.requireModerator(ctx); err != nil {
		return nil, err
	}
	var out *Comment
	err := s.inTx(ctx, func(tx *txn) error {
		c, err := findComment(ctx, tx, id, true)
		if err != nil {
			return err
		}
		var n, published int
		err = tx.QueryRow(ctx, `WITH RECURSIVE sub AS (
				SELECT id, status FROM comment WHERE id = $1
				UNION ALL SELECT k.id, k.status FROM comment k JOIN sub ON k.parent_id = sub.id)
			SELECT count(*), count(*) FILTER (WHERE status = 'published') FROM sub`, id).Scan(&n, &published)
		if err != nil {
			return fmt.Errorf("delete comment %s: %w", id, TranslateError(err))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM comment WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete comment %s: %w", id, TranslateError(err))
		}
		if err := writeAudit(ctx, tx, s.now(), AuditCommentDelete, "comment:"+id.String(),
			map[string]any{"item": c.ItemID, "deleted": n, "author": c.AuthorName}); err != nil {
			return err
		}
		out = c
		if published > 0 {
			return tx.feed(ctx, core.KindComment, c.ItemID.String(), idPtr(core.LiveStageID), nil, nil, core.ChangeDelete)
		}
		return nil
	})
	return out, err
}
