package server

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"sync"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

// The export memo: a static export asks for every page of the site in one
// run, and most of what a page reads is the same for all of them (the
// gather and tile documents, item types, the site document and menus,
// terms, authors' names, aliases) or is a slice of a listing another page
// read (page N of a gather). Requests whose context carries a memo
// (WithExportMemo) read each of these once per run and share it; the
// site's request path never carries one, so a visitor's page reads
// everything as before. The memo belongs to one run: what changes during
// it is picked up by the next export, which reads the change feed from
// before this one's first read (docs/export.md).

type exportMemoKey struct{}

// WithExportMemo returns a context whose page requests (anonymous only)
// share one memo of what every page of an export reads. everyPage says
// the run renders (nearly) every page: then a listing is read whole once
// and its pages are slices of it, item pages take their item from those
// listings, and the alias table is read whole; otherwise only what is
// small is shared (documents, terms, names, menus).
func WithExportMemo(ctx context.Context, everyPage bool) context.Context {
	return context.WithValue(ctx, exportMemoKey{}, &exportMemo{whole: everyPage, stages: map[core.ID]*stageMemo{}})
}

type exportMemo struct {
	whole  bool
	mu     sync.Mutex
	stages map[core.ID]*stageMemo
}

// stageMemo is the memo of one stage's pages.
type stageMemo struct {
	whole bool

	configs   lazy[[]*core.ConfigDocument] // gather and tile documents
	itemTypes lazy[[]*core.ItemType]       // every item type that parses
	aliases   lazy[*postgres.AliasTable]

	mu       sync.Mutex
	gathers  map[string]*lazy[*gatherList]          // a listing's every item, by gatherKey
	pages    map[string]*lazy[*core.GatherResult]   // a page of a listing (an export of a few pages)
	exposed  map[string]*lazy[[]core.ExposedFilter] // by gather name and version
	items    map[core.ID]*core.Item                 // every item a listing read (live only)
	pageMu   sync.Mutex                             // held while LoadPage fills the maps below
	docs     map[postgres.ConfigKey]*core.ConfigDocument
	users    map[core.ID]*string
	terms    map[core.ID]*core.Term
	files    map[core.ID]*core.File
	refsSeen map[core.ID]bool
	menus    map[string][]*core.MenuLink

	commentMu sync.Mutex                      // held while comments are read
	comments  map[core.ID][]*postgres.Comment // an item page's published comments
	counts    map[core.ID]int                 // a teaser's comment count
}

// lazy is a value read once; a failed read is tried again by the next
// caller. Callers wait for a read in progress rather than repeat it.
type lazy[T any] struct {
	mu   sync.Mutex
	done bool
	v    T
}

func (l *lazy[T]) get(fill func() (T, error)) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return l.v, nil
	}
	v, err := fill()
	if err != nil {
		return v, err
	}
	l.v, l.done = v, true
	return v, nil
}

// lazyAt is the lazy value at key in m, made when first asked (mu guards
// m).
func lazyAt[K comparable, T any](mu *sync.Mutex, m map[K]*lazy[T], key K) *lazy[T] {
	mu.Lock()
	defer mu.Unlock()
	l := m[key]
	if l == nil {
		l = &lazy[T]{}
		m[key] = l
	}
	return l
}

// memo is the request's stage memo, or nil: no export, or a signed-in
// request (what a listing shows depends on the user).
func (s *Server) memo(ctx context.Context, st *reqState) *stageMemo {
	m, _ := ctx.Value(exportMemoKey{}).(*exportMemo)
	if m == nil || !st.user.IsAnonymous() {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sm := m.stages[st.stage]
	if sm == nil {
		sm = &stageMemo{whole: m.whole, gathers: map[string]*lazy[*gatherList]{}, pages: map[string]*lazy[*core.GatherResult]{}, exposed: map[string]*lazy[[]core.ExposedFilter]{},
			items: map[core.ID]*core.Item{}, docs: map[postgres.ConfigKey]*core.ConfigDocument{}, users: map[core.ID]*string{},
			terms: map[core.ID]*core.Term{}, files: map[core.ID]*core.File{}, refsSeen: map[core.ID]bool{}, menus: map[string][]*core.MenuLink{},
			comments: map[core.ID][]*postgres.Comment{}, counts: map[core.ID]int{}}
		m.stages[st.stage] = sm
	}
	return sm
}

// gatherTileDocs are the gather and tile documents (siteConfig).
func (s *Server) gatherTileDocs(ctx context.Context, st *reqState) ([]*core.ConfigDocument, error) {
	read := func() ([]*core.ConfigDocument, error) {
		return s.k.Store.Config().FindConfigsOfKinds(ctx, "gather", "tile")
	}
	if m := s.memo(ctx, st); m != nil {
		return m.configs.get(read)
	}
	return read()
}

// termField is the first field of a term reference to vocabulary in any
// item type (by type name, then field order), or "".
func (s *Server) termField(ctx context.Context, st *reqState, vocabulary string) (string, error) {
	read := func() ([]*core.ItemType, error) {
		docs, err := s.k.Store.Config().FindConfigs(ctx, "item_type")
		if err != nil {
			return nil, err
		}
		out := make([]*core.ItemType, 0, len(docs))
		for _, d := range docs {
			if typ, err := core.ParseItemType(d.Body); err == nil {
				out = append(out, typ)
			}
		}
		return out, nil
	}
	var (
		types []*core.ItemType
		err   error
	)
	if m := s.memo(ctx, st); m != nil {
		types, err = m.itemTypes.get(read)
	} else {
		types, err = read()
	}
	if err != nil {
		return "", err
	}
	for _, typ := range types {
		for _, fd := range typ.Fields {
			if fd.Type == core.FieldTermRef && fd.Vocabulary == vocabulary {
				return fd.Name, nil
			}
		}
	}
	return "", nil
}

// exposedFilters are a gather's exposed filters (Gathers.ExposedFilters).
func (s *Server) exposedFilters(ctx context.Context, st *reqState, g *core.Gather) ([]core.ExposedFilter, error) {
	read := func() ([]core.ExposedFilter, error) { return s.k.Store.Gathers().ExposedFilters(ctx, g) }
	m := s.memo(ctx, st)
	if m == nil {
		return read()
	}
	key := g.Name + "/" + strconv.Itoa(g.Version)
	l := lazyAt(&m.mu, m.exposed, key)
	return l.get(read)
}

// runGather runs a page of a gather. In an export that renders every page
// the gather is read whole once (RunGatherAll) and each page is its slice,
// the same items RunGather returns; exposed input, a gather_extend plugin
// (which may change a gather page by page) and pages RunGather refuses
// run as on the site.
func (s *Server) runGather(ctx context.Context, st *reqState, g *core.Gather, args core.GatherArgs) (*core.GatherResult, error) {
	m := s.memo(ctx, st)
	page := args.Page
	if page == 0 {
		page = 1
	}
	if m != nil && !m.whole && len(args.Exposed) == 0 && (s.k.Plugins == nil || !s.k.Plugins.Implements(ctx, "gather_extend")) {
		return s.memoGatherPage(ctx, st, m, g, args)
	}
	if m == nil || !m.whole || len(args.Exposed) > 0 || page < 1 || page > core.GatherMaxPage ||
		(args.Display != "" && g.Display(args.Display) == nil) || (s.k.Plugins != nil && s.k.Plugins.Implements(ctx, "gather_extend")) {
		return s.k.Store.Gathers().RunGather(ctx, g, st.stage, args)
	}
	// What decides the rows and their order; not the name, pager or
	// displays (a tile of five shares the list of its gather's pages).
	raw, err := json.Marshal(struct {
		Types         []string
		Relationships []core.GatherRelationship
		Filters       []core.GatherFilter
		Sorts         []core.GatherSort
		Args          []string
	}{g.Types, g.Relationships, g.Filters, g.Sorts, args.PathArgs})
	if err != nil {
		return nil, err
	}
	key := string(raw)
	l := lazyAt(&m.mu, m.gathers, key)
	list, _ := l.get(func() (*gatherList, error) {
		items, err := s.k.Store.Gathers().RunGatherAll(ctx, g, st.stage, core.GatherArgs{PathArgs: args.PathArgs, Display: args.Display})
		if err != nil {
			s.log.Warn("export: a listing could not be read whole; its pages are read one by one", "gather", g.Name, "err", err)
			return &gatherList{failed: true}, nil
		}
		if st.stage == core.LiveStageID {
			// One copy of an item for every listing that read the same
			// revision of it (a site's articles are in several listings).
			m.mu.Lock()
			for i, it := range items {
				if prev := m.items[it.ID]; prev == nil {
					m.items[it.ID] = it
				} else if prev.RevisionID == it.RevisionID && prev.ChangedAt.Equal(it.ChangedAt) {
					items[i] = prev
				}
			}
			m.mu.Unlock()
		}
		return &gatherList{items: items}, nil
	})
	if list.failed {
		return s.k.Store.Gathers().RunGather(ctx, g, st.stage, args)
	}
	all := list.items
	perPage := g.PerPage(args.Display)
	res := &core.GatherResult{Items: []*core.Item{}, Total: len(all), Page: page, PerPage: perPage}
	if lo := (page - 1) * perPage; lo < len(all) && (g.Pager.Style != "none" || page == 1) {
		for _, it := range all[lo:min(lo+perPage, len(all))] {
			cp := *it
			res.Items = append(res.Items, &cp)
		}
	}
	res.Pages = max(1, (res.Total+perPage-1)/perPage)
	if g.Pager.Style == "none" {
		res.Pages = 1
	}
	if args.NoTotal {
		res.Total, res.Pages = 0, 1 // as RunGather: not counted
	}
	return res, nil
}

// memoGatherPage is RunGather run once per export for the same gather and
// arguments: in an export of a few pages (incremental), a tile shown on
// every page (the latest articles) is read once, not once per page (at
// 10,000 articles each read scans every article: 20 ms of the database).
func (s *Server) memoGatherPage(ctx context.Context, st *reqState, m *stageMemo, g *core.Gather, args core.GatherArgs) (*core.GatherResult, error) {
	raw, err := json.Marshal(struct {
		G *core.Gather
		A core.GatherArgs
	}{g, args})
	if err != nil {
		return nil, err
	}
	key := string(raw)
	l := lazyAt(&m.mu, m.pages, key)
	res, err := l.get(func() (*core.GatherResult, error) { return s.k.Store.Gathers().RunGather(ctx, g, st.stage, args) })
	if err != nil {
		return nil, err
	}
	// Each page gets its own copies (a page may change what it shows).
	cp := *res
	cp.Items = make([]*core.Item, len(res.Items))
	for i, it := range res.Items {
		c := *it
		cp.Items[i] = &c
	}
	return &cp, nil
}

// gatherList is a listing read whole, or failed: then its pages are
// read one by one as on the site.
type gatherList struct {
	items  []*core.Item
	failed bool
}

// findItem is Items.FindItemByID; in an export that renders every page,
// an item a listing of live read already is taken from it (with the same
// access check).
func (s *Server) findItem(ctx context.Context, st *reqState, id core.ID) (*core.Item, error) {
	if m := s.memo(ctx, st); m != nil && m.whole && st.stage == core.LiveStageID {
		m.mu.Lock()
		it := m.items[id]
		m.mu.Unlock()
		if it != nil {
			if err := s.k.Store.Authorizer().Authorize(ctx, core.UserFromContext(ctx), core.OpView, it); err != nil {
				return nil, err
			}
			cp := *it
			return &cp, nil
		}
	}
	return s.k.Store.Items().FindItemByID(ctx, st.stage, id)
}

// aliasTable is the stage's whole alias table in an export that renders
// every page, else nil.
func (s *Server) aliasTable(ctx context.Context, st *reqState) (*postgres.AliasTable, error) {
	m := s.memo(ctx, st)
	if m == nil || !m.whole {
		return nil, nil
	}
	return m.aliases.get(func() (*postgres.AliasTable, error) { return s.k.Store.Site().LoadAliases(ctx, st.stage) })
}

// resolveAlias is Site.ResolveAlias.
func (s *Server) resolveAlias(ctx context.Context, st *reqState, alias string) (path, preferred string, err error) {
	t, err := s.aliasTable(ctx, st)
	if err != nil {
		return "", "", err
	}
	if t != nil {
		return t.Resolve(alias)
	}
	return s.k.Store.Site().ResolveAlias(ctx, st.stage, alias)
}

// aliasesOf is Site.AliasesOf.
func (s *Server) aliasesOf(ctx context.Context, st *reqState, paths []string) (map[string]string, error) {
	t, err := s.aliasTable(ctx, st)
	if err != nil {
		return nil, err
	}
	if t != nil {
		return t.AliasesOf(paths), nil
	}
	return s.k.Store.Site().AliasesOf(ctx, st.stage, paths)
}

// loadPage is Site.LoadPage; in an export, each document, user name,
// referenced id and menu is read once and later pages take it from the
// memo (a page that needs nothing new reads nothing).
func (s *Server) loadPage(ctx context.Context, st *reqState, q postgres.PageQuery) (*postgres.PageData, error) {
	m := s.memo(ctx, st)
	if m == nil {
		return s.k.Store.Site().LoadPage(ctx, st.stage, q)
	}
	m.pageMu.Lock()
	defer m.pageMu.Unlock()
	var miss postgres.PageQuery
	for _, k := range q.Configs {
		if _, ok := m.docs[k]; !ok {
			miss.Configs = append(miss.Configs, k)
		}
	}
	for _, id := range q.Users {
		if _, ok := m.users[id]; !ok {
			miss.Users = append(miss.Users, id)
		}
	}
	for _, id := range q.Refs {
		if !m.refsSeen[id] {
			miss.Refs = append(miss.Refs, id)
		}
	}
	if _, ok := m.menus[q.Menu]; !ok && q.Menu != "" {
		miss.Menu = q.Menu
	}
	if len(miss.Configs)+len(miss.Users)+len(miss.Refs) > 0 || miss.Menu != "" {
		d, err := s.k.Store.Site().LoadPage(ctx, st.stage, miss)
		if err != nil {
			return nil, err
		}
		for _, k := range miss.Configs {
			m.docs[k] = d.Configs[k] // nil: no such document
		}
		for _, id := range miss.Users {
			if name, ok := d.UserNames[id]; ok {
				m.users[id] = &name
			} else {
				m.users[id] = nil
			}
		}
		for _, id := range miss.Refs {
			m.refsSeen[id], m.terms[id], m.files[id] = true, d.Terms[id], d.Files[id]
		}
		if miss.Menu != "" {
			m.menus[miss.Menu] = d.MenuLinks
		}
	}
	d := &postgres.PageData{Configs: map[postgres.ConfigKey]*core.ConfigDocument{}, UserNames: map[core.ID]string{},
		Terms: map[core.ID]*core.Term{}, Files: map[core.ID]*core.File{}}
	for _, k := range q.Configs {
		if doc := m.docs[k]; doc != nil {
			d.Configs[k] = doc
		}
	}
	for _, id := range q.Users {
		if name := m.users[id]; name != nil {
			d.UserNames[id] = *name
		}
	}
	for _, id := range q.Refs {
		if t := m.terms[id]; t != nil {
			d.Terms[id] = t
		}
		if f := m.files[id]; f != nil {
			d.Files[id] = f
		}
	}
	if q.Menu != "" {
		d.MenuLinks = m.menus[q.Menu]
	}
	return d, nil
}

// menuLinks are a menu's links (Site.FindMenuLinks), read once per export.
func (s *Server) menuLinks(ctx context.Context, st *reqState, menu string) ([]*core.MenuLink, error) {
	if s.memo(ctx, st) == nil {
		return s.k.Store.Site().FindMenuLinks(ctx, st.stage, menu)
	}
	d, err := s.loadPage(ctx, st, postgres.PageQuery{Menu: menu})
	if err != nil {
		return nil, err
	}
	return d.MenuLinks, nil
}

// commentBatch is want plus, up to 1000 ids in all, other items the
// listings read whose entry in known is not filled yet: the item pages
// and teasers to come take theirs from the same query.
func (m *stageMemo) commentBatch(want []core.ID, known func(core.ID) bool) []core.ID {
	ids := append([]core.ID(nil), want...)
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.items {
		if len(ids) >= 1000 {
			break
		}
		if !known(id) && !slices.Contains(want, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// findComments is Store.FindComments of an item's published comments; in
// an export that renders every page, read for up to 1000 items at once.
func (s *Server) findComments(ctx context.Context, st *reqState, item core.ID) ([]*postgres.Comment, error) {
	m := s.memo(ctx, st)
	if m == nil || !m.whole {
		return s.k.Store.FindComments(ctx, item, postgres.CommentPublished)
	}
	m.commentMu.Lock()
	defer m.commentMu.Unlock()
	if cs, ok := m.comments[item]; ok {
		return slices.Clone(cs), nil
	}
	ids := m.commentBatch([]core.ID{item}, func(id core.ID) bool { _, ok := m.comments[id]; return ok })
	got, err := s.k.Store.FindCommentsOfItems(ctx, ids, postgres.CommentPublished)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		m.comments[id] = got[id]
	}
	return slices.Clone(got[item]), nil
}

// countComments is Store.CountComments (at most 1000 ids); in an export
// that renders every page, counted for up to 1000 items at once.
func (s *Server) countComments(ctx context.Context, st *reqState, ids []core.ID) (map[core.ID]int, error) {
	m := s.memo(ctx, st)
	if m == nil || !m.whole || len(ids) > 1000 {
		return s.k.Store.CountComments(ctx, ids)
	}
	m.commentMu.Lock()
	defer m.commentMu.Unlock()
	known := func(id core.ID) bool { _, ok := m.counts[id]; return ok }
	var missing []core.ID
	for _, id := range ids {
		if !known(id) && !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		batch := m.commentBatch(missing, known)
		got, err := s.k.Store.CountComments(ctx, batch)
		if err != nil {
			return nil, err
		}
		for _, id := range batch {
			m.counts[id] = got[id]
		}
	}
	out := make(map[core.ID]int, len(ids))
	for _, id := range ids {
		if n := m.counts[id]; n > 0 {
			out[id] = n
		}
	}
	return out, nil
}
