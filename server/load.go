package server

import (
	"context"
	"encoding/json"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

var siteKey = postgres.ConfigKey{Kind: "site", Name: "site"}

// load reads what the page needs besides its main entity in one round
// trip: the first call of a request adds the site settings and the main
// menu to extra; later calls read only their extra and merge it.
func (s *Server) load(ctx context.Context, st *reqState, extra postgres.PageQuery) error {
	q := extra
	first := st.data == nil
	if first {
		q.Configs = append(q.Configs, siteKey)
		q.Menu = MainMenu
	}
	d, err := s.loadPage(ctx, st, q)
	if err != nil {
		return err
	}
	if first {
		st.data = d
		return nil
	}
	for k, v := range d.Configs {
		st.data.Configs[k] = v
	}
	for k, v := range d.UserNames {
		st.data.UserNames[k] = v
	}
	for k, v := range d.Terms {
		st.data.Terms[k] = v
	}
	for k, v := range d.Files {
		st.data.Files[k] = v
	}
	return nil
}

// ensureLoaded loads the site settings and the main menu if nothing was
// loaded yet.
func (s *Server) ensureLoaded(ctx context.Context, st *reqState) error {
	if st.data != nil {
		return nil
	}
	return s.load(ctx, st, postgres.PageQuery{})
}

// refIDs collects the ids that field values refer to ({"id": ...} alone
// or in a list), whatever the field's type.
func refIDs(fields json.RawMessage) []core.ID {
	var m map[string]json.RawMessage
	if json.Unmarshal(fields, &m) != nil {
		return nil
	}
	var out []core.ID
	add := func(raw json.RawMessage) {
		var ref struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(raw, &ref) == nil && ref.ID != "" {
			if id, err := core.ParseID(ref.ID); err == nil {
				out = append(out, id)
			}
		}
	}
	for _, raw := range m {
		switch {
		case len(raw) > 0 && raw[0] == '{':
			add(raw)
		case len(raw) > 0 && raw[0] == '[':
			var list []json.RawMessage
			if json.Unmarshal(raw, &list) == nil {
				for _, v := range list {
					if len(v) > 0 && v[0] == '{' {
						add(v)
					}
				}
			}
		}
	}
	return out
}
