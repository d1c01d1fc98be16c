package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// Site answers the public site's lookups: path aliases in both
// directions and files by hash. Reads of live use the projections, with
// no overlay join; reads of a named stage use the overlay. The caller has
// checked that the acting user may view the stage (Stages().FindStage).
type Site struct{ s *Store }

// Site returns the site lookups.
func (s *Store) Site() *Site { return &Site{s} }

// aliasSource is the alias table as a stage shows it ($1 is the stage).
func aliasSource(stage core.ID) string {
	if stage == core.NilID || stage == core.LiveStageID {
		return `(SELECT alias, language, path FROM path_alias WHERE $1::uuid IS NOT NULL)`
	}
	return `(SELECT r.doc->>'alias' AS alias, r.doc->>'language' AS language, r.doc->>'path' AS path
		FROM ` + overlay(core.KindAlias) + ` ov JOIN revision r ON r.id = ov.revision_id)`
}

func stageOrLive(stage core.ID) core.ID {
	if stage == core.NilID {
		return core.LiveStageID
	}
	return stage
}

// ResolveAlias returns the internal path an alias points to in stage
// (language-neutral aliases first), and the preferred alias of that path
// (language-neutral first, then the shortest), which may be another one.
// ENOTFOUND when no alias matches.
func (si *Site) ResolveAlias(ctx context.Context, stage core.ID, alias string) (path, preferred string, err error) {
	src := aliasSource(stage)
	err = si.s.pool.QueryRow(ctx, `SELECT a.path, (SELECT b.alias FROM `+src+` b WHERE b.path = a.path
			ORDER BY b.language = 'und' DESC, length(b.alias), b.alias LIMIT 1)
		FROM `+src+` a WHERE a.alias = $2 ORDER BY a.language = 'und' DESC, a.language LIMIT 1`, stageOrLive(stage), alias).Scan(&path, &preferred)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", core.Errorf(core.ENotFound, "page %s not found", alias)
	} else if err != nil {
		return "", "", fmt.Errorf("resolve alias: %w", TranslateError(err))
	}
	return path, preferred, nil
}

// AliasesOf maps each internal path that has an alias in stage to its
// alias (language-neutral aliases first, then the shortest). Paths
// without one are absent from the map.
func (si *Site) AliasesOf(ctx context.Context, stage core.ID, paths []string) (map[string]string, error) {
	out := make(map[string]string, len(paths))
	if len(paths) == 0 {
		return out, nil
	}
	rows, err := si.s.pool.Query(ctx, `SELECT DISTINCT ON (path) path, alias FROM `+aliasSource(stage)+` a
		WHERE path = ANY($2) ORDER BY path, language = 'und' DESC, length(alias), alias`, stageOrLive(stage), paths)
	if err != nil {
		return nil, fmt.Errorf("find aliases: %w", TranslateError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var p, a string
		if err := rows.Scan(&p, &a); err != nil {
			return nil, fmt.Errorf("find aliases: %w", err)
		}
		out[p] = a
	}
	return out, rows.Err()
}

// FindFileByHash returns a file entity with the content hash and the
// name. EINVALID for a malformed hash, ENOTFOUND when no file has both.
func (si *Site) FindFileByHash(ctx context.Context, hash, name string) (*core.File, error) {
	sum, err := hex.DecodeString(hash)
	if err != nil || len(sum) != sha256.Size || hex.EncodeToString(sum) != hash {
		return nil, core.Errorf(core.ENotFound, "file not found")
	}
	f := &core.File{Hash: hash}
	err = si.s.pool.QueryRow(ctx, `SELECT id, size, mime, name, owner_id, created_at FROM file
		WHERE hash = $1 AND name = $2 ORDER BY created_at LIMIT 1`, sum, name).
		Scan(&f.ID, &f.Size, &f.MIME, &f.Name, &f.OwnerID, &f.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "file not found")
	} else if err != nil {
		return nil, fmt.Errorf("find file: %w", TranslateError(err))
	}
	return f, nil
}

// FindFileMIME returns the sniffed MIME type of the content with the
// hash (any file entity holding it). ENOTFOUND when none does.
func (si *Site) FindFileMIME(ctx context.Context, hash string) (string, error) {
	sum, err := hex.DecodeString(hash)
	if err != nil || len(sum) != sha256.Size || hex.EncodeToString(sum) != hash {
		return "", core.Errorf(core.ENotFound, "file not found")
	}
	var mime string
	err = si.s.pool.QueryRow(ctx, `SELECT mime FROM file WHERE hash = $1 ORDER BY created_at LIMIT 1`, sum).Scan(&mime)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", core.Errorf(core.ENotFound, "file not found")
	} else if err != nil {
		return "", fmt.Errorf("find file: %w", TranslateError(err))
	}
	return mime, nil
}

// FindTerms returns the terms with the ids as stage shows them, by id;
// ids that do not exist there are absent.
func (si *Site) FindTerms(ctx context.Context, stage core.ID, ids []core.ID) (map[core.ID]*core.Term, error) {
	out := make(map[core.ID]*core.Term, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := si.s.pool.Query(ctx, termsSQL(stage), stageOrLive(stage), ids)
	if err != nil {
		return nil, fmt.Errorf("find terms: %w", TranslateError(err))
	}
	return out, scanTerms(rows, out)
}

// termsSQL selects terms by id ($2) as stage $1 shows them.
func termsSQL(stage core.ID) string {
	if stage != core.NilID && stage != core.LiveStageID {
		return `SELECT ov.entity_id, r.doc->>'vocabulary', r.doc->>'name', COALESCE(r.doc->>'description', ''),
			COALESCE((r.doc->>'weight')::int, 0), r.id
			FROM ` + overlay(core.KindTerm) + ` ov JOIN revision r ON r.id = ov.revision_id WHERE ov.entity_id = ANY($2)`
	}
	return `SELECT id, vocabulary, name, description, weight, revision_id FROM term WHERE $1::uuid IS NOT NULL AND id = ANY($2)`
}

func scanTerms(rows pgx.Rows, out map[core.ID]*core.Term) error {
	defer rows.Close()
	for rows.Next() {
		t := &core.Term{}
		if err := rows.Scan(&t.ID, &t.Vocabulary, &t.Name, &t.Description, &t.Weight, &t.RevisionID); err != nil {
			return fmt.Errorf("find terms: %w", err)
		}
		out[t.ID] = t
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find terms: %w", TranslateError(err))
	}
	return nil
}

// FindMenuLinks returns the links of a menu as stage shows them, ordered
// by weight and title.
func (si *Site) FindMenuLinks(ctx context.Context, stage core.ID, menu string) ([]*core.MenuLink, error) {
	rows, err := si.s.pool.Query(ctx, menuSQL(stage), stageOrLive(stage), menu)
	if err != nil {
		return nil, fmt.Errorf("find menu links: %w", TranslateError(err))
	}
	return scanMenuLinks(rows)
}

// menuSQL selects the links of menu $2 as stage $1 shows them.
func menuSQL(stage core.ID) string {
	if stage != core.NilID && stage != core.LiveStageID {
		return `SELECT ov.entity_id, r.doc->>'menu', r.doc->>'title', r.doc->>'path', (r.doc->>'parent_id')::uuid,
			COALESCE((r.doc->>'weight')::int, 0), r.id
			FROM ` + overlay(core.KindMenuLink) + ` ov JOIN revision r ON r.id = ov.revision_id
			WHERE r.doc->>'menu' = $2 ORDER BY 6, 3, 1`
	}
	return `SELECT id, menu, title, path, parent_id, weight, revision_id FROM menu_link
		WHERE $1::uuid IS NOT NULL AND menu = $2 ORDER BY weight, title, id`
}

func scanMenuLinks(rows pgx.Rows) ([]*core.MenuLink, error) {
	defer rows.Close()
	var out []*core.MenuLink
	for rows.Next() {
		l := &core.MenuLink{}
		if err := rows.Scan(&l.ID, &l.Menu, &l.Title, &l.Path, &l.ParentID, &l.Weight, &l.RevisionID); err != nil {
			return nil, fmt.Errorf("find menu links: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find menu links: %w", TranslateError(err))
	}
	return out, nil
}

// ConfigKey names a config document.
type ConfigKey struct{ Kind, Name string }

// PageQuery is what a page reads besides its main entity; LoadPage reads
// it all in one round trip.
type PageQuery struct {
	Configs []ConfigKey
	Users   []core.ID // names only
	// Refs are ids referenced from fields: each is looked up as a term
	// (in the stage) and as a file.
	Refs []core.ID
	Menu string // "" reads no menu
}

// PageData is what LoadPage found. Missing documents, users, terms and
// files are absent from the maps.
type PageData struct {
	Configs   map[ConfigKey]*core.ConfigDocument
	UserNames map[core.ID]string
	Terms     map[core.ID]*core.Term
	Files     map[core.ID]*core.File
	MenuLinks []*core.MenuLink
}

// LoadPage reads everything q names, as stage shows it, in one batch.
// The caller has checked the user may view the stage.
func (si *Site) LoadPage(ctx context.Context, stage core.ID, q PageQuery) (*PageData, error) {
	d := &PageData{Configs: map[ConfigKey]*core.ConfigDocument{}, UserNames: map[core.ID]string{},
		Terms: map[core.ID]*core.Term{}, Files: map[core.ID]*core.File{}}
	b := &pgx.Batch{}
	if len(q.Configs) > 0 {
		kinds, names := make([]string, len(q.Configs)), make([]string, len(q.Configs))
		for i, k := range q.Configs {
			kinds[i], names[i] = k.Kind, k.Name
		}
		b.Queue(`SELECT `+configColumns+` FROM config_doc c JOIN unnest($1::text[], $2::text[]) AS k(kind, name) USING (kind, name)`, kinds, names).
			Query(func(rows pgx.Rows) error {
				defer rows.Close()
				for rows.Next() {
					doc, err := scanConfig(rows)
					if err != nil {
						return err
					}
					d.Configs[ConfigKey{doc.Kind, doc.Name}] = doc
				}
				return rows.Err()
			})
	}
	if len(q.Users) > 0 {
		b.Queue(`SELECT id, name FROM users WHERE id = ANY($1)`, q.Users).Query(func(rows pgx.Rows) error {
			defer rows.Close()
			for rows.Next() {
				var id core.ID
				var name string
				if err := rows.Scan(&id, &name); err != nil {
					return err
				}
				d.UserNames[id] = name
			}
			return rows.Err()
		})
	}
	if len(q.Refs) > 0 {
		b.Queue(termsSQL(stage), stageOrLive(stage), q.Refs).Query(func(rows pgx.Rows) error { return scanTerms(rows, d.Terms) })
		b.Queue(`SELECT id, hash, size, mime, name, owner_id, created_at FROM file WHERE id = ANY($1)`, q.Refs).Query(func(rows pgx.Rows) error {
			defer rows.Close()
			for rows.Next() {
				f := &core.File{}
				var sum []byte
				if err := rows.Scan(&f.ID, &sum, &f.Size, &f.MIME, &f.Name, &f.OwnerID, &f.CreatedAt); err != nil {
					return err
				}
				f.Hash = hex.EncodeToString(sum)
				d.Files[f.ID] = f
			}
			return rows.Err()
		})
	}
	if q.Menu != "" {
		b.Queue(menuSQL(stage), stageOrLive(stage), q.Menu).Query(func(rows pgx.Rows) error {
			links, err := scanMenuLinks(rows)
			d.MenuLinks = links
			return err
		})
	}
	if b.Len() == 0 {
		return d, nil
	}
	if err := si.s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("load page: %w", TranslateError(err))
	}
	return d, nil
}

// OpenBlobRange streams length bytes of a blob from offset (length < 0:
// to the end), reading only the chunks that hold them. ENOTFOUND if the
// blob is absent.
func (si *Site) OpenBlobRange(ctx context.Context, hash string, offset, length int64) (io.ReadCloser, error) {
	sum, err := hex.DecodeString(hash)
	if err != nil || len(sum) != sha256.Size {
		return nil, core.Errorf(core.EInvalid, "%q is not a SHA-256 hash", hash)
	}
	if offset < 0 {
		return nil, core.Errorf(core.EInvalid, "negative offset")
	}
	var blobID core.ID
	err = si.s.pool.QueryRow(ctx, `SELECT blob_id FROM blob WHERE hash = $1`, sum).Scan(&blobID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "blob %s not found", hash)
	} else if err != nil {
		return nil, fmt.Errorf("open blob: %w", TranslateError(err))
	}
	cr := &chunkReader{ctx: ctx, q: si.s.pool, blobID: blobID, n: int(offset / chunkSize)}
	if skip := offset % chunkSize; skip > 0 {
		if _, err := io.CopyN(io.Discard, cr, skip); err != nil && err != io.EOF {
			return nil, err
		}
	}
	if length < 0 {
		return cr, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(cr, length), cr}, nil
}
