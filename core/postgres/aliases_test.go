package postgres_test

import (
	"encoding/json"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Hello, World!":             "hello-world",
		"Crème brûlée à la carte":   "creme-brulee-a-la-carte",
		"Straße & Œuvre":            "strasse-oeuvre",
		"  --Spaces--  ":            "spaces",
		"Привет мир":                "привет-мир",
		"<script>alert(1)</script>": "script-alert-1-script",
	} {
		if got := postgres.Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func aliasesOf(t *testing.T, s *postgres.Store, stage core.ID, id core.ID) []core.Alias {
	t.Helper()
	docs, err := s.Staged().FindStagedDocs(asAdmin(t, s), core.KindAlias, stage)
	if err != nil {
		t.Fatal(err)
	}
	var out []core.Alias
	for _, d := range docs {
		var a core.Alias
		_ = json.Unmarshal(d.Doc, &a)
		if a.Path == "/item/"+id.String() {
			a.ID = d.ID
			out = append(out, a)
		}
	}
	return out
}

func TestAutomaticAliasesAndRedirects(t *testing.T) {
	t.Parallel()
	s, ctx := MustSite(t)
	mustPut(t, ctx, s, "alias_pattern", "article", `{"kind":"alias_pattern","name":"article","item_type":"article","pattern":"articles/[title]"}`)
	a := mustItem(t, ctx, s, core.LiveStageID, "Hello World", `{}`)
	b := mustItem(t, ctx, s, core.LiveStageID, "Hello World", `{}`)
	if got := aliasesOf(t, s, core.LiveStageID, a.ID); len(got) != 1 || got[0].Alias != "/articles/hello-world" || !got[0].Auto {
		t.Fatalf("a's aliases = %+v", got)
	}
	if got := aliasesOf(t, s, core.LiveStageID, b.ID); len(got) != 1 || got[0].Alias != "/articles/hello-world-2" {
		t.Fatalf("b's aliases = %+v; want a collision suffix", got)
	}
	// A new title moves the generated alias and leaves a redirect.
	title := "Goodbye World"
	if _, err := s.Items().UpdateItem(ctx, core.LiveStageID, a.ID, core.ItemUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	if got := aliasesOf(t, s, core.LiveStageID, a.ID); len(got) != 1 || got[0].Alias != "/articles/goodbye-world" {
		t.Fatalf("after retitle = %+v", got)
	}
	if to, err := s.FindRedirect(ctx, "/articles/hello-world", "und"); err != nil || to != "/articles/goodbye-world" {
		t.Fatalf("redirect = %q, %v", to, err)
	}
	// In a stage the alias follows the title there; live keeps its own.
	st := mustStage(t, ctx, s, "retitle")
	title2 := "Staged Title"
	if _, err := s.Items().UpdateItem(ctx, st.ID, a.ID, core.ItemUpdate{Title: &title2}); err != nil {
		t.Fatal(err)
	}
	if got := aliasesOf(t, s, st.ID, a.ID); len(got) != 1 || got[0].Alias != "/articles/staged-title" {
		t.Fatalf("staged alias = %+v", got)
	}
	if got := aliasesOf(t, s, core.LiveStageID, a.ID); got[0].Alias != "/articles/goodbye-world" {
		t.Fatalf("live alias changed before publish: %+v", got)
	}
	if rep, err := s.Stages().PublishStage(ctx, st.ID, core.PublishOptions{}); err != nil || !rep.Applied {
		t.Fatalf("publish = %+v, %v", rep, err)
	}
	if to, err := s.FindRedirect(ctx, "/articles/goodbye-world", "und"); err != nil || to != "/articles/staged-title" {
		t.Fatalf("redirect after publish = %q, %v", to, err)
	}
	if to, _ := s.FindRedirect(ctx, "/articles/hello-world", "und"); to != "/articles/staged-title" {
		t.Fatalf("older redirect = %q; want it to follow to the newest alias", to)
	}
	// An alias edited by hand is left alone.
	al := aliasesOf(t, s, core.LiveStageID, b.ID)[0]
	if _, err := s.Staged().PutStaged(ctx, core.KindAlias, core.LiveStageID, al.ID, json.RawMessage(`{"alias":"/my-post","path":"/item/`+b.ID.String()+`"}`), nil, ""); err != nil {
		t.Fatal(err)
	}
	title3 := "Renamed"
	if _, err := s.Items().UpdateItem(ctx, core.LiveStageID, b.ID, core.ItemUpdate{Title: &title3}); err != nil {
		t.Fatal(err)
	}
	if got := aliasesOf(t, s, core.LiveStageID, b.ID); len(got) != 1 || got[0].Alias != "/my-post" {
		t.Fatalf("hand-made alias = %+v", got)
	}
	_, err := s.FindRedirect(ctx, "/nowhere", "und")
	wantCode(t, err, core.ENotFound)
}
