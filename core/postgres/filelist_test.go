package postgres_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

func TestFindFiles(t *testing.T) {
	t.Parallel()
	s := MustStore(t)
	ctx := asAdmin(t, s)
	files := s.Files(postgres.FileLimits{})
	var made []*core.File
	for _, tc := range []struct{ name, content string }{
		{"Tulips.png", string(pngHeader)},
		{"notes.txt", "some notes"},
		{"tulip-field.png", string(pngHeader) + "x"},
	} {
		f, err := files.CreateFile(ctx, tc.name, bytes.NewReader([]byte(tc.content)))
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, f)
	}
	names := func(fs []*core.File) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Name)
		}
		return out
	}
	for name, tc := range map[string]struct {
		filter postgres.FileFilter
		want   []string
		total  int
	}{
		"OK":           {postgres.FileFilter{}, []string{"tulip-field.png", "notes.txt", "Tulips.png"}, 3},
		"ByName":       {postgres.FileFilter{Name: "TULIP"}, []string{"tulip-field.png", "Tulips.png"}, 2},
		"NameIsNoLike": {postgres.FileFilter{Name: "tulip%"}, nil, 0},
		"ByType":       {postgres.FileFilter{MIMEPrefix: "text/"}, []string{"notes.txt"}, 1},
		"Paged":        {postgres.FileFilter{Limit: 1, Offset: 1}, []string{"notes.txt"}, 3},
		"PastTheEnd":   {postgres.FileFilter{Limit: 2, Offset: 10}, nil, 3},
		"ByOwner":      {postgres.FileFilter{Owner: &made[0].OwnerID, Limit: 2}, []string{"tulip-field.png", "notes.txt"}, 3},
	} {
		t.Run(name, func(t *testing.T) {
			got, total, err := files.FindFiles(ctx, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if g := names(got); total != tc.total || len(g) != len(tc.want) || (len(g) > 0 && g[0] != tc.want[0]) || (len(g) > 1 && g[1] != tc.want[1]) {
				t.Fatalf("got %v (total %d), want %v (total %d)", g, total, tc.want, tc.total)
			}
		})
	}
	t.Run("ErrInvalid", func(t *testing.T) {
		_, _, err := files.FindFiles(ctx, postgres.FileFilter{Limit: 5000})
		wantCode(t, err, core.EInvalid)
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		_, _, err := files.FindFiles(mustUser(t, s, "reader"), postgres.FileFilter{})
		wantCode(t, err, core.EForbidden)
	})
	t.Run("ErrUnauthorized", func(t *testing.T) {
		_, _, err := files.FindFiles(core.NewContextWithUser(context.Background(), core.Anonymous), postgres.FileFilter{})
		wantCode(t, err, core.EUnauthorized)
	})
}
