package api_test

import "testing"

// TestTileDocuments manages tile documents through the API.
func TestTileDocuments(t *testing.T) {
	e := mustEnv(t, 0)
	recent := `{"kind":"gather","name":"recent","label":"Recent","displays":[{"name":"side","type":"tile","items":1}]}`
	tile := `{"kind":"tile","name":"latest","label":"Latest","region":"sidebar","visibility":{"pages":["/blog/*"]},"content":{"gather":{"gather":"recent","display":"side"}}}`
	e.run(t, []scenario{
		{name: "PutGather", method: "PUT", path: "/gathers/recent", user: "admin", status: 200, body: `{"body":` + recent + `}`},
		{name: "PutTile", method: "PUT", path: "/tiles/latest", user: "admin", status: 200, body: `{"body":` + tile + `}`,
			contains: []string{`"kind":"tile"`, `"version":1`}},
		{name: "PutTileMissingGather", method: "PUT", path: "/tiles/x", user: "admin", status: 400, code: "invalid",
			body:     `{"body":{"kind":"tile","name":"x","label":"X","region":"sidebar","content":{"gather":{"gather":"nosuch"}}}}`,
			contains: []string{`"path":"body.content.gather.gather"`}},
		{name: "PutTileInvalid", method: "PUT", path: "/tiles/x", user: "admin", status: 400, code: "invalid",
			body:     `{"body":{"kind":"tile","name":"x","label":"X","region":"sidebar","content":{"text":{"body":"a"},"menu":{"menu":"main"}}}}`,
			contains: []string{`"path":"body.content"`}},
		{name: "PutTileNameMismatch", method: "PUT", path: "/tiles/other", user: "admin", status: 400, code: "invalid", body: `{"body":` + tile + `}`},
		{name: "PutTileStaleVersion", method: "PUT", path: "/tiles/latest", user: "admin", status: 409,
			body: `{"if_version":7,"body":` + tile + `}`},
		{name: "EditorMayNotPutTile", method: "PUT", path: "/tiles/latest", user: "ed", status: 403, body: `{"body":` + tile + `}`},
		{name: "ListTiles", method: "GET", path: "/tiles", user: "admin", status: 200, contains: []string{`"name":"latest"`}},
		{name: "EditorMayNotListTiles", method: "GET", path: "/tiles", user: "ed", status: 403},
		{name: "GetTile", method: "GET", path: "/tiles/latest", user: "admin", status: 200, contains: []string{`"region":"sidebar"`}},
		{name: "GetMissingTile", method: "GET", path: "/tiles/nosuch", user: "admin", status: 404},
		{name: "TileSourcesOfTheGather", method: "GET", path: "/tile-sources", user: "admin", status: 200,
			contains: []string{`"source":"gather","gather":"recent","name":"side"`}},
		{name: "DeleteTile", method: "DELETE", path: "/tiles/latest", user: "admin", status: 204},
		{name: "DeleteMissingTile", method: "DELETE", path: "/tiles/latest", user: "admin", status: 404},
	})
}
