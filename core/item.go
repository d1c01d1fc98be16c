package core

import (
	"context"
	"encoding/json"
	"time"
)

// Item statuses.
const (
	StatusPublished   = "published"
	StatusUnpublished = "unpublished"
)

// Item is one piece of content: a typed document with fields in one JSON
// object, read in a stage.
type Item struct {
	ID          ID              `json:"id"`
	Type        string          `json:"type"`
	Title       string          `json:"title"`
	Status      string          `json:"status"`
	AuthorID    ID              `json:"author_id"`
	CreatedAt   time.Time       `json:"created_at"`
	ChangedAt   time.Time       `json:"changed_at"`
	Promote     bool            `json:"promote"`
	Sticky      bool            `json:"sticky"`
	Language    string          `json:"language"`
	TGroupID    ID              `json:"translation_group_id"`
	Fields      json.RawMessage `json:"fields"`
	RevisionID  ID              `json:"revision_id"`
	TypeVersion int             `json:"type_version"`
}

// Revision is an immutable snapshot of one staged entity.
type Revision struct {
	ID          ID              `json:"id"`
	Kind        string          `json:"kind"`
	EntityID    ID              `json:"entity_id"`
	ParentID    *ID             `json:"parent_id,omitempty"`
	StageID     ID              `json:"stage_id"`
	AuthorID    ID              `json:"author_id"`
	CreatedAt   time.Time       `json:"created_at"`
	Log         string          `json:"log"`
	TypeVersion int             `json:"type_version"`
	Doc         json.RawMessage `json:"doc"`
}

// ItemFilter selects items in a stage.
type ItemFilter struct {
	StageID  ID // NilID means live
	Type     string
	Status   string
	AuthorID *ID
	Language string
	// Sort is created, changed or title, ascending, or with a leading "-"
	// descending; "" is "-created" (sticky items first, newest first).
	Sort   string
	Limit  int // default 50, at most 1000
	Offset int
}

// ItemSorts are the values ItemFilter.Sort takes.
var ItemSorts = []string{"-created", "created", "-changed", "changed", "title", "-title"}

// ItemUpdate changes an item; nil fields are left alone. Fields, when set,
// replaces the named fields only (a JSON object of field name -> value;
// null removes a field).
type ItemUpdate struct {
	Title      *string
	Status     *string
	Promote    *bool
	Sticky     *bool
	Language   *string
	AuthorID   *ID
	Fields     json.RawMessage
	Log        string
	IfRevision *ID // the revision the writer started from; stale -> ECONFLICT
}

// ItemService stores items and their revisions. Every method acts as the
// user in ctx and asks the authorizer.
type ItemService interface {
	// FindItemByID returns the item as stage shows it; ENOTFOUND if it does
	// not exist there or the user may not view it.
	FindItemByID(ctx context.Context, stage ID, id ID) (*Item, error)
	// FindItems returns the items the user may view, and the total count.
	FindItems(ctx context.Context, f ItemFilter) ([]*Item, int, error)
	// CreateItem validates and stores it (in stage) as its first revision.
	// EINVALID lists every bad field; EFORBIDDEN without create permission.
	CreateItem(ctx context.Context, stage ID, it *Item, log string) error
	// UpdateItem writes a new revision; ECONFLICT when IfRevision is stale.
	UpdateItem(ctx context.Context, stage ID, id ID, upd ItemUpdate) (*Item, error)
	// DeleteItem deletes it from live, or tombstones it in a named stage.
	DeleteItem(ctx context.Context, stage ID, id ID) error
	// FindRevisions lists an item's revisions, newest first.
	FindRevisions(ctx context.Context, id ID) ([]*Revision, error)
	FindRevisionByID(ctx context.Context, id ID) (*Revision, error)
	// RestoreRevision writes a new revision with rev's content.
	RestoreRevision(ctx context.Context, stage ID, rev ID, log string) (*Item, error)
}

// ItemHooks lets plugins take part in item writes (the item_presave,
// item_insert, item_update and item_delete taps). PresaveItem runs before
// validation and may change the item; an EINVALID error refuses the save.
// The others run after the write committed; their failures are the
// plugin's and never undo the write.
type ItemHooks interface {
	PresaveItem(ctx context.Context, stage ID, it *Item, isNew bool) error
	ItemSaved(ctx context.Context, stage ID, it *Item, isNew bool)
	ItemDeleted(ctx context.Context, stage ID, it *Item)
}
