package core

import (
	"encoding/json"
	"time"
)

// SyncVersion is the version of the sync protocol (docs/sync.md). A client
// refuses a server that speaks another one.
const SyncVersion = 1

// SyncInfo is what a server says about itself before a sync.
type SyncInfo struct {
	SyncVersion int    `json:"sync_version"`
	SiteName    string `json:"site_name"`
	User        string `json:"user"` // the token's user
}

// SyncUser is one entry of the user directory a pull copies: never a
// password hash, an e-mail address or any security state.
type SyncUser struct {
	ID     ID       `json:"id"`
	Name   string   `json:"name"`
	Status string   `json:"status"`
	Roles  []string `json:"roles"`
}

// SyncPlugin is an installed plugin as a pull copies it; its module is
// fetched by hash.
type SyncPlugin struct {
	Name     string   `json:"name"`
	Version  string   `json:"version"`
	Manifest string   `json:"manifest"`
	WasmHash string   `json:"wasm_hash"`
	Enabled  bool     `json:"enabled"`
	Approved []string `json:"approved"`
}

// SyncTheme is an installed theme as a pull copies it; its files are
// fetched by hash.
type SyncTheme struct {
	Name     string            `json:"name"`
	Label    string            `json:"label"`
	Version  string            `json:"version"`
	Base     string            `json:"base"`
	Regions  []string          `json:"regions"`
	Manifest string            `json:"manifest"`
	Files    map[string]string `json:"files"` // path -> SHA-256 (hex)
	Enabled  bool              `json:"enabled"`
}

// SyncEntity is the current state of one thing the change feed named: a
// live revision of a staged kind (keeping its id), a config document, a
// file, a user, a role or a plugin. Deleted means it is gone (or the
// token's user may not see it). Themes come whole (manifest and file
// hashes).
type SyncEntity struct {
	Kind     string          `json:"kind"`
	ID       string          `json:"id"` // entity id, KIND/NAME for config, name for roles and plugins
	Deleted  bool            `json:"deleted,omitempty"`
	Revision *Revision       `json:"revision,omitempty"`
	Config   *ConfigDocument `json:"config,omitempty"`
	File     *File           `json:"file,omitempty"`
	User     *SyncUser       `json:"user,omitempty"`
	Role     *Role           `json:"role,omitempty"`
	Plugin   *SyncPlugin     `json:"plugin,omitempty"`
	Theme    *SyncTheme      `json:"theme,omitempty"`
}

// SyncBatch is one page of a pull: the entities changed in whole
// transactions from Cursor's predecessor up to Cursor.
type SyncBatch struct {
	Entities []SyncEntity `json:"entities"`
	// Changes is how many feed rows the batch covers.
	Changes int `json:"changes"`
	// Cursor is where the next batch starts.
	Cursor FeedCursor `json:"cursor,string"`
	// Pending is how many feed rows lie after Cursor (an estimate for
	// progress; new changes may add to it).
	Pending int `json:"pending"`
}

// ChangesetStage names the stage a changeset applies to.
type ChangesetStage struct {
	ID    ID     `json:"id"`
	Name  string `json:"name"`
	Label string `json:"label"`
}

// ChangesetEntry is one entity a pushed stage changes.
type ChangesetEntry struct {
	Kind     string `json:"kind"`
	EntityID ID     `json:"entity_id"`
	Action   string `json:"action"` // create, update, delete
	// BaseRevision is the server revision the change was made from (nil
	// for an entity the server has never had): the push is refused for
	// this entity when the server's stage shows another one.
	BaseRevision *ID `json:"base_revision_id"`
	// Revision is the new revision, id kept; for a delete, the revision
	// deleted.
	Revision ChangesetRevision `json:"revision"`
}

// ChangesetRevision is a revision as a changeset carries it. The server
// records it as the token user's.
type ChangesetRevision struct {
	ID          ID              `json:"id"`
	ParentID    *ID             `json:"parent_id,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	Log         string          `json:"log"`
	TypeVersion int             `json:"type_version"`
	Doc         json.RawMessage `json:"doc"`
}

// Changeset is a local stage's changes, pushed to a server as one unit.
// Files are uploaded by hash first; Files lists those the entries need.
type Changeset struct {
	Stage   ChangesetStage   `json:"stage"`
	Entries []ChangesetEntry `json:"entries"`
	Files   []File           `json:"files"`
}

// ChangesetProblem is one entity a server refused.
type ChangesetProblem struct {
	Kind     string `json:"kind"`
	EntityID ID     `json:"entity_id"`
	// Problem is "conflict" (the server's stage shows another revision
	// than the base) or "invalid".
	Problem string        `json:"problem"`
	Message string        `json:"message"`
	Base    *ID           `json:"base_revision_id,omitempty"`
	Mine    *ID           `json:"mine_revision_id,omitempty"`
	Theirs  *ID           `json:"theirs_revision_id,omitempty"`
	Diff    []FieldChange `json:"diff,omitempty"`
	// TheirsDoc is the server's current document (nil: the entity does
	// not exist there); MineDoc the pushed one.
	TheirsDoc json.RawMessage `json:"theirs_doc,omitempty"`
	MineDoc   json.RawMessage `json:"mine_doc,omitempty"`
}

// ChangesetReport is a server's answer to a changeset. Applied is false
// when any entity had a problem: then nothing was applied.
type ChangesetReport struct {
	Stage    *Stage             `json:"stage"`
	Applied  bool               `json:"applied"`
	Created  bool               `json:"created"` // the stage was made by this push
	Entries  int                `json:"entries"`
	Skipped  int                `json:"skipped"` // entries the server had already (a retried push)
	Problems []ChangesetProblem `json:"problems"`
}

// Sync states.
const (
	SyncIdle    = "idle"
	SyncPulling = "pulling"
	SyncPushing = "pushing"
	SyncOffline = "offline"
	SyncFailed  = "failed"
)

// SyncStatus is the sync state a local site shows its editor.
type SyncStatus struct {
	Remote string `json:"remote,omitempty"` // the server's URL; "" when not connected
	State  string `json:"state"`
	// Done and Total count feed rows of the pull in progress (or the last).
	Done  int `json:"done"`
	Total int `json:"total"`
	// Stage is the stage being pushed.
	Stage        string     `json:"stage,omitempty"`
	OfflineSince *time.Time `json:"offline_since,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
	LastPull     *time.Time `json:"last_pull,omitempty"`
	LastPush     *time.Time `json:"last_push,omitempty"`
	Queued       []string   `json:"queued"`    // stages waiting to be pushed
	Conflicts    int        `json:"conflicts"` // pulled changes waiting for a choice
	Cursor       FeedCursor `json:"cursor,string"`
}
