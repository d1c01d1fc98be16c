package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Ids (core.ID, a uuid.UUID) travel in PostgreSQL's binary uuid format:
// 16 bytes each way. Without this codec pgx only sees uuid.UUID as a
// driver.Valuer and sql.Scanner, so every id sent was formatted as text
// and parsed back, and every id read was formatted and parsed again
// (about 5% of the CPU of an uncached page). A NULL read into a core.ID
// still gives NilID, as uuid.UUID's Scan did.

// registerIDCodec makes m encode and decode uuid.UUID (and its arrays)
// in binary. Other Go types of uuid columns keep pgx's UUIDCodec.
func registerIDCodec(m *pgtype.Map) {
	t := &pgtype.Type{Name: "uuid", OID: pgtype.UUIDOID, Codec: idCodec{}}
	m.RegisterType(t)
	m.RegisterType(&pgtype.Type{Name: "_uuid", OID: pgtype.UUIDArrayOID, Codec: &pgtype.ArrayCodec{ElementType: t}})
}

// afterConnect is the pool's AfterConnect hook.
func afterConnect(_ context.Context, conn *pgx.Conn) error {
	registerIDCodec(conn.TypeMap())
	return nil
}

type idCodec struct{ pgtype.UUIDCodec }

func (c idCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if format == pgtype.BinaryFormatCode {
		switch value.(type) {
		case uuid.UUID:
			return encodeID{}
		case *uuid.UUID:
			return encodeIDPtr{}
		}
	}
	return c.UUIDCodec.PlanEncode(m, oid, format, value)
}

func (c idCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	if _, ok := target.(*uuid.UUID); ok && format == pgtype.BinaryFormatCode {
		return scanID{}
	}
	return c.UUIDCodec.PlanScan(m, oid, format, target)
}

type encodeID struct{}

func (encodeID) Encode(value any, buf []byte) ([]byte, error) {
	id := value.(uuid.UUID)
	return append(buf, id[:]...), nil
}

type encodeIDPtr struct{}

func (encodeIDPtr) Encode(value any, buf []byte) ([]byte, error) {
	id := value.(*uuid.UUID)
	if id == nil {
		return nil, nil
	}
	return append(buf, id[:]...), nil
}

type scanID struct{}

func (scanID) Scan(src []byte, dst any) error {
	id := dst.(*uuid.UUID)
	switch len(src) {
	case 16:
		copy(id[:], src)
	case 0:
		if src != nil {
			return fmt.Errorf("invalid length for uuid: 0")
		}
		*id = uuid.Nil
	default:
		return fmt.Errorf("invalid length for uuid: %d", len(src))
	}
	return nil
}
