package core

import (
	"context"
	"time"
)

// Change feed kinds. docs/change-feed.md lists them.
const (
	KindItem     = "item"
	KindAlias    = "alias"
	KindMenuLink = "menu_link"
	KindTerm     = "term"
	KindConfig   = "config"
	KindPlugin   = "plugin"
	KindTheme    = "theme"
	KindFile     = "file"
	KindUser     = "user"
	KindRole     = "role"
	KindStage    = "stage"
	KindRelease  = "release"
	// KindComment rows say an item's visible comments changed: entity_id
	// is the item's id (comments are not staged).
	KindComment = "comment"
)

// Change operations.
const (
	ChangeCreate = "create"
	ChangeUpdate = "update"
	ChangeDelete = "delete"
)

// Change is one row of the change feed.
type Change struct {
	Seq        int64     `json:"seq"`
	XID        uint64    `json:"xid"`
	Kind       string    `json:"kind"`
	EntityID   string    `json:"entity_id"`
	StageID    *ID       `json:"stage_id,omitempty"`
	RevisionID *ID       `json:"revision_id,omitempty"`
	ReleaseID  *ID       `json:"release_id,omitempty"`
	Op         string    `json:"op"`
	At         time.Time `json:"at"`
}

// FeedCursor is a reader's position in the feed: every change whose
// transaction id is below it has been read. The zero cursor reads from the
// start.
type FeedCursor uint64

// ChangeFeed reads the change feed.
type ChangeFeed interface {
	// ReadChanges returns up to limit changes after cur, in commit-safe
	// order, and the cursor to pass next time. It only returns changes of
	// transactions older than every transaction still running, so a
	// transaction that commits later can never be skipped.
	ReadChanges(ctx context.Context, cur FeedCursor, limit int) ([]Change, FeedCursor, error)
	// FeedHead returns the cursor a new reader should start from to see only
	// future changes.
	FeedHead(ctx context.Context) (FeedCursor, error)
}
