package core

import (
	"github.com/google/uuid"
)

// ID identifies every entity, revision, stage, release and file. IDs are
// UUIDv7, made by whoever creates the thing (a desktop offline too), and
// never rewritten.
type ID = uuid.UUID

// NilID is the zero ID.
var NilID = uuid.Nil

// NewID returns a new UUIDv7.
func NewID() ID {
	return uuid.Must(uuid.NewV7())
}

// ParseID parses s as an ID, returning EInvalid on bad input.
func ParseID(s string) (ID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return NilID, Errorf(EInvalid, "%q is not a valid id", s)
	}
	return id, nil
}
