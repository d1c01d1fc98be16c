package core

import (
	"context"
	"encoding/json"
	"time"
)

// Stage states.
const (
	StageLive      = "live"
	StageOpen      = "open"
	StagePublished = "published"
	StageDiscarded = "discarded"
)

// Stage is a set of changes over live. Live is a stage too.
type Stage struct {
	ID        ID         `json:"id"`
	Name      string     `json:"name"`
	Label     string     `json:"label"`
	State     string     `json:"state"`
	PublishAt *time.Time `json:"publish_at,omitempty"`
	CreatedBy ID         `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ChangedAt time.Time  `json:"changed_at"`
}

// Publish conflict resolutions.
const (
	ResolveAbort  = "abort"
	ResolveMine   = "mine"
	ResolveTheirs = "theirs"
)

// PublishOptions controls a publish.
type PublishOptions struct {
	// OnConflict applies to every entry without its own choice.
	OnConflict string
	// Choices maps "kind:id" to a resolution for that entity.
	Choices map[string]string
	DryRun  bool
	Message string
}

// StageChange is one entity a stage changes, with its diff against live.
type StageChange struct {
	Kind         string        `json:"kind"`
	EntityID     ID            `json:"entity_id"`
	Label        string        `json:"label"`
	Action       string        `json:"action"` // create, update, delete
	RevisionID   ID            `json:"revision_id"`
	BaseRevision *ID           `json:"base_revision_id,omitempty"`
	LiveRevision *ID           `json:"live_revision_id,omitempty"`
	Diff         []FieldChange `json:"diff,omitempty"`
}

// PublishEntry reports one entity of a publish.
type PublishEntry struct {
	StageChange
	// Problem is "" (clean), "conflict" (live moved since the stage's base)
	// or "violation" (the resulting live state would be invalid).
	Problem    string   `json:"problem,omitempty"`
	Messages   []string `json:"messages,omitempty"`
	Resolution string   `json:"resolution,omitempty"` // mine, theirs, abort
}

// PublishReport is the outcome of a publish or rollback.
type PublishReport struct {
	Stage   *Stage         `json:"stage"`
	Release *Release       `json:"release,omitempty"`
	Applied bool           `json:"applied"`
	DryRun  bool           `json:"dry_run"`
	Entries []PublishEntry `json:"entries"`
}

// Unresolved reports whether any entry has a problem whose resolution is
// abort (or missing).
func (r *PublishReport) Unresolved() bool {
	for _, e := range r.Entries {
		if e.Problem != "" && e.Resolution != ResolveMine && e.Resolution != ResolveTheirs {
			return true
		}
	}
	return false
}

// Release is one publish of a stage into live.
type Release struct {
	ID         ID             `json:"id"`
	StageID    ID             `json:"stage_id"`
	StageName  string         `json:"stage_name"`
	RollbackOf *ID            `json:"rollback_of,omitempty"`
	CreatedBy  ID             `json:"created_by"`
	CreatedAt  time.Time      `json:"created_at"`
	Message    string         `json:"message"`
	Entries    []ReleaseEntry `json:"entries,omitempty"`
}

// ReleaseEntry is one entity a release changed in live.
type ReleaseEntry struct {
	Kind         string `json:"kind"`
	EntityID     ID     `json:"entity_id"`
	PrevRevision *ID    `json:"prev_revision_id,omitempty"`
	NewRevision  *ID    `json:"new_revision_id,omitempty"`
}

// StageService manages stages, publishing and releases.
type StageService interface {
	// FindStage finds a stage by name or id; ENOTFOUND if it does not exist
	// or the user may not view it.
	FindStage(ctx context.Context, nameOrID string) (*Stage, error)
	FindStages(ctx context.Context, includeClosed bool) ([]*Stage, error)
	// CreateStage returns ECONFLICT if an open stage has the name.
	CreateStage(ctx context.Context, s *Stage) error
	// DiffStage lists every entity the stage changes against live.
	DiffStage(ctx context.Context, stage ID) ([]StageChange, error)
	// DiscardStage drops the stage's changes; it can no longer be published.
	DiscardStage(ctx context.Context, stage ID) error
	// PublishStage promotes the stage into live in one transaction.
	PublishStage(ctx context.Context, stage ID, opts PublishOptions) (*PublishReport, error)
	// ScheduleStage sets (or with nil clears) the publish-at time.
	ScheduleStage(ctx context.Context, stage ID, at *time.Time) (*Stage, error)
	FindReleases(ctx context.Context, limit int) ([]*Release, error)
	FindReleaseByID(ctx context.Context, id ID) (*Release, error)
	// RollbackRelease publishes live back to the state before the release,
	// reporting conflicts with later changes instead of overwriting them.
	RollbackRelease(ctx context.Context, id ID, opts PublishOptions) (*PublishReport, error)
}

// StagedDoc is the generic document of a staged kind other than items
// (aliases, menu links, terms, plugin kinds).
type StagedDoc struct {
	Kind       string          `json:"kind"`
	ID         ID              `json:"id"`
	RevisionID ID              `json:"revision_id"`
	Doc        json.RawMessage `json:"doc"`
}

// Term is a category term in a vocabulary; a term may have several parents.
type Term struct {
	ID          ID     `json:"id"`
	Vocabulary  string `json:"vocabulary"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Parents     []ID   `json:"parents"`
	Weight      int    `json:"weight"`
	RevisionID  ID     `json:"revision_id,omitempty"`
}

// Alias maps a public path to an internal one, per language.
type Alias struct {
	ID       ID     `json:"id"`
	Alias    string `json:"alias"`
	Language string `json:"language"`
	Path     string `json:"path"`
	// Auto marks an alias generated from an alias pattern; it follows the
	// item's title until someone edits the alias by hand.
	Auto       bool `json:"auto,omitempty"`
	RevisionID ID   `json:"revision_id,omitempty"`
}

// MenuLink is one link in a menu tree.
type MenuLink struct {
	ID         ID     `json:"id"`
	Menu       string `json:"menu"`
	Title      string `json:"title"`
	Path       string `json:"path"`
	ParentID   *ID    `json:"parent_id,omitempty"`
	Weight     int    `json:"weight"`
	RevisionID ID     `json:"revision_id,omitempty"`
}

// StagedService stores the staged kinds other than items (terms, aliases,
// menu links and kinds plugins declare) through the same revisions and
// heads as items. Docs are the JSON of Term, Alias, MenuLink or the
// plugin's document.
type StagedService interface {
	// FindStaged returns ENOTFOUND if the entity does not exist in stage.
	FindStaged(ctx context.Context, kind string, stage, id ID) (*StagedDoc, error)
	// FindStagedDocs lists a kind as stage shows it.
	FindStagedDocs(ctx context.Context, kind string, stage ID) ([]*StagedDoc, error)
	// PutStaged creates or updates an entity; ifRevision, when set, must be
	// the revision the writer started from (ECONFLICT otherwise).
	PutStaged(ctx context.Context, kind string, stage, id ID, doc json.RawMessage, ifRevision *ID, log string) (*StagedDoc, error)
	DeleteStaged(ctx context.Context, kind string, stage, id ID) error
}
