package core

import (
	"context"
	"encoding/json"
	"time"
)

// ConfigDocument is one versioned document in the config store: site
// settings, item types, gathers, tiles, alias patterns, theme settings.
// docs/config-formats.md fixes the format of each kind.
type ConfigDocument struct {
	Kind      string          `json:"kind"`
	Name      string          `json:"name"`
	Version   int             `json:"version"`
	Body      json.RawMessage `json:"body"`
	ChangedAt time.Time       `json:"changed_at"`
	ChangedBy ID              `json:"changed_by"`
}

// ConfigService stores config documents. Every write appends to the change
// feed in the same transaction.
type ConfigService interface {
	// FindConfig returns ENOTFOUND if no document has the kind and name.
	FindConfig(ctx context.Context, kind, name string) (*ConfigDocument, error)
	// FindConfigs lists the documents of a kind ("" for every kind).
	FindConfigs(ctx context.Context, kind string) ([]*ConfigDocument, error)
	// PutConfig validates body against the kind's schema and stores it as a
	// new version. ifVersion, when non-zero, must equal the current version
	// (ECONFLICT otherwise). Storing an identical body is a no-op.
	PutConfig(ctx context.Context, kind, name string, body json.RawMessage, ifVersion int) (*ConfigDocument, error)
	// DeleteConfig returns ENOTFOUND if the document does not exist.
	DeleteConfig(ctx context.Context, kind, name string) error
}

// CheckConfigDocument validates a config document body against its kind's
// schema and semantic checks and returns its canonical form. The body's
// name must match name.
func CheckConfigDocument(kind, name string, body json.RawMessage) (json.RawMessage, error) {
	doc, err := ParseConfigDoc(kind, body)
	if err != nil {
		return nil, err
	}
	if doc.Name != name {
		return nil, InvalidFields("the document's name does not match", []FieldError{{Path: "name", Message: "must be " + name}})
	}
	return doc.Body, nil
}
