package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres/pgtest"
)

// TestIDCodec: ids round-trip in binary as values, pointers, arrays and
// nullable columns; NULL into a core.ID is NilID as before; ids compared
// with text still work through their text form.
func TestIDCodec(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewDB(t)
	ctx := context.Background()
	a, b := core.NewID(), core.NewID()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	typ, ok := conn.Conn().TypeMap().TypeForOID(pgtype.UUIDOID)
	conn.Release()
	if !ok || fmt.Sprintf("%T", typ.Codec) != "postgres.idCodec" {
		t.Fatalf("uuid columns use %T, not the binary id codec", typ.Codec)
	}

	var got core.ID
	if err := pool.QueryRow(ctx, `SELECT $1::uuid`, a).Scan(&got); err != nil || got != a {
		t.Fatalf("value: %v %v", got, err)
	}
	var text string
	if err := pool.QueryRow(ctx, `SELECT $1::uuid::text`, a).Scan(&text); err != nil || text != a.String() {
		t.Fatalf("sent in binary, read as text: %q %v", text, err)
	}
	if err := pool.QueryRow(ctx, `SELECT $1::text::uuid`, a.String()).Scan(&got); err != nil || got != a {
		t.Fatalf("text in, id out: %v %v", got, err)
	}
	if err := pool.QueryRow(ctx, `SELECT $1::text`, a).Scan(&text); err != nil || text != a.String() {
		t.Fatalf("id as a text parameter: %q %v", text, err)
	}
	var ptr *core.ID
	if err := pool.QueryRow(ctx, `SELECT $1::uuid`, &b).Scan(&ptr); err != nil || ptr == nil || *ptr != b {
		t.Fatalf("pointer: %v %v", ptr, err)
	}
	var none *core.ID
	if err := pool.QueryRow(ctx, `SELECT $1::uuid`, none).Scan(&ptr); err != nil || ptr != nil {
		t.Fatalf("nil pointer: %v %v", ptr, err)
	}
	got = a
	if err := pool.QueryRow(ctx, `SELECT NULL::uuid`).Scan(&got); err != nil || got != core.NilID {
		t.Fatalf("NULL into an id: %v %v", got, err)
	}
	var ids []core.ID
	if err := pool.QueryRow(ctx, `SELECT array_agg(x ORDER BY o) FROM unnest($1::uuid[]) WITH ORDINALITY AS t(x, o)`, []core.ID{b, a}).Scan(&ids); err != nil || len(ids) != 2 || ids[0] != b || ids[1] != a {
		t.Fatalf("array: %v %v", ids, err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM unnest($1::uuid[]) x WHERE x = ANY($2)`, []core.ID{a, b}, []uuid.UUID{a}).Scan(&n); err != nil || n != 1 {
		t.Fatalf("= ANY: %d %v", n, err)
	}
	if err := pool.QueryRow(ctx, `SELECT 'not-a-uuid'::text`).Scan(&got); err == nil {
		t.Fatal("a text that is no id scanned into an id")
	}
}

func BenchmarkIDRoundTrip(b *testing.B) {
	pool := pgtest.NewDB(b)
	ctx := context.Background()
	ids := make([]core.ID, 20)
	for i := range ids {
		ids[i] = core.NewID()
	}
	b.ReportAllocs()
	for b.Loop() {
		rows, err := pool.Query(ctx, `SELECT x FROM unnest($1::uuid[]) x`, ids)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var id core.ID
			if err := rows.Scan(&id); err != nil {
				b.Fatal(err)
			}
		}
		rows.Close()
	}
}
