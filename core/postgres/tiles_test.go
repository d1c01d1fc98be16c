package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

func TestCheckTile(t *testing.T) {
	s, admin := MustSite(t)
	mustPut(t, admin, s, "gather", "recent", `{"kind":"gather","name":"recent","label":"Recent","displays":[{"name":"side","type":"tile","items":2}]}`)
	mustPut(t, admin, s, "gather", "bytag", `{"kind":"gather","name":"bytag","label":"By tag","filters":[{"field":"tags","op":"eq","value":"{arg0}"}],
		"displays":[{"name":"page","type":"page","path":"/tags/{arg0}"}]}`)
	for _, tc := range []struct {
		name, content, wantPath string
	}{
		{"OK", `{"gather":{"gather":"recent","display":"side"}}`, ""},
		{"Menu", `{"menu":{"menu":"main"}}`, ""},
		{"Text", `{"text":{"body":"hi"}}`, ""},
		{"ErrNoGather", `{"gather":{"gather":"nosuch"}}`, "content.gather.gather"},
		{"ErrPathArgs", `{"gather":{"gather":"bytag"}}`, "content.gather.gather"},
		{"ErrNoDisplay", `{"gather":{"gather":"recent","display":"nosuch"}}`, "content.gather.display"},
		{"ErrNoMenu", `{"menu":{"menu":"nosuch"}}`, "content.menu.menu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tile, err := core.ParseTile([]byte(`{"kind":"tile","name":"x","label":"X","region":"sidebar","content":` + tc.content + `}`))
			if err != nil {
				t.Fatal(err)
			}
			err = s.CheckTile(admin, tile)
			if tc.wantPath == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if core.ErrorCode(err) != core.EInvalid || len(core.ErrorFields(err)) != 1 || core.ErrorFields(err)[0].Path != tc.wantPath {
				t.Fatalf("err = %v (%v), want a problem at %s", err, core.ErrorFields(err), tc.wantPath)
			}
		})
	}
}

// TestTilesMigration runs 0010_tiles again on a site whose gathers have
// tile displays, as a site upgraded from before tiles were documents:
// each becomes a valid tile document, except the one whose gather takes
// path arguments, and a change-feed row says so.
func TestTilesMigration(t *testing.T) {
	s, admin := MustSite(t)
	mustPut(t, admin, s, "gather", "recent", `{"kind":"gather","name":"recent","label":"Recent","displays":[
		{"name":"page","type":"page","path":"/recent"},{"name":"side","type":"tile","title":"Just in","items":2}]}`)
	mustPut(t, admin, s, "gather", "plain", `{"kind":"gather","name":"plain","label":"Plain","displays":[{"name":"t","type":"tile"}]}`)
	mustPut(t, admin, s, "gather", "bytag", `{"kind":"gather","name":"bytag","label":"By tag","filters":[{"field":"tags","op":"eq","value":"{arg0}"}],
		"displays":[{"name":"page","type":"page","path":"/tags/{arg0}"},{"name":"t","type":"tile"}]}`)
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var sql string
	for _, m := range ms {
		if m.Name == "tiles" {
			sql = m.SQL
		}
	}
	if sql == "" {
		t.Fatal("no tiles migration")
	}
	if _, err := s.Pool().Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
	tiles, err := s.FindTiles(admin)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tiles {
		names = append(names, tl.Name)
		d, err := s.Config().FindConfig(admin, "tile", tl.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := core.ParseTile(d.Body); err != nil {
			t.Errorf("%s: the migrated document does not validate: %v\n%s", tl.Name, err, d.Body)
		}
		if err := s.CheckTile(admin, tl); err != nil {
			t.Errorf("%s: %v", tl.Name, err)
		}
	}
	if strings.Join(names, ",") != "plain-t,recent-side" {
		t.Fatalf("tiles %v", names)
	}
	r := tiles[1]
	if r.Region != "sidebar" || r.Label != "Just in" || r.Content.Gather.Gather != "recent" || r.Content.Gather.Display != "side" ||
		strings.Join(r.Visibility.Except, ",") != "/recent,/recent/page/*" {
		t.Fatalf("recent-side = %+v", r)
	}
	var rows int
	if err := s.Pool().QueryRow(context.Background(), `SELECT count(*) FROM change_feed WHERE kind = 'config' AND entity_id LIKE 'tile/%'`).Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("feed rows %d, %v", rows, err)
	}
	// Running it again changes nothing.
	if _, err := s.Pool().Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.FindTiles(admin); len(again) != 2 {
		t.Fatalf("%d tiles after a second run", len(again))
	}
}
