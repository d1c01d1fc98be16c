package server

import (
	"context"

	"github.com/trovato/trovato/core"
)

// dependAliases records that the page shows the aliases of paths
// (core.AliasTag): a new, changed or removed alias of one of them
// renders it again.
func (s *Server) dependAliases(ctx context.Context, st *reqState, paths []string) {
	if st.cacheKey == "" {
		return
	}
	tags := make([]string, len(paths))
	for i, p := range paths {
		tags[i] = core.AliasTag(p)
	}
	s.depend(ctx, st, tags...)
}

// dependItems records, for a page listing items by id (the sitemap), the
// tags of each item: item:ID (its lastmod, its status) and the alias of
// its path. As dependShown, a change of any item while the page was built
// (item:* moved since probe) leaves the page uncached.
func (s *Server) dependItems(ctx context.Context, st *reqState, probe map[string]int64, ids []core.ID) {
	if st.cacheKey == "" || probe == nil {
		return
	}
	tags := make([]string, 0, 2*len(ids))
	for _, id := range ids {
		tags = append(tags, core.EntityTag(core.KindItem, id.String()), core.AliasTag(itemPath(id)))
	}
	all := core.ListTag(core.KindItem)
	after := s.dependProbe(ctx, st, []string{all}, tags...)
	if after != nil && after[all] != probe[all] {
		st.cacheKey = ""
	}
}
