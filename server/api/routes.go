package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed openapi.yaml
var specYAML []byte

// Spec returns the OpenAPI document (YAML) the API is described by.
func Spec() []byte { return specYAML }

// specJSON loads and validates the embedded document and returns it as
// JSON.
func specJSON() ([]byte, error) {
	doc, err := openapi3.NewLoader().LoadFromData(specYAML)
	if err != nil {
		return nil, fmt.Errorf("api: load openapi.yaml: %w", err)
	}
	if err := doc.Validate(openapi3.NewLoader().Context); err != nil {
		return nil, fmt.Errorf("api: openapi.yaml: %w", err)
	}
	return json.Marshal(doc)
}

func (a *API) register() {
	a.handlePublic("GET", "/openapi.json", func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(a.spec)
		return nil
	})
	a.handle("GET", "/session", a.getSession)
	a.handle("PUT", "/session/preview", a.setPreview)

	a.handle("GET", "/items", a.listItems)
	a.handle("POST", "/items", a.createItem)
	a.handle("GET", "/items/{id}", a.getItem)
	a.handle("PATCH", "/items/{id}", a.updateItem)
	a.handle("DELETE", "/items/{id}", a.deleteItem)
	a.handle("GET", "/items/{id}/revisions", a.listRevisions)
	a.handle("GET", "/items/{id}/draft", a.getDraft)
	a.handle("PUT", "/items/{id}/draft", a.putDraft)
	a.handle("DELETE", "/items/{id}/draft", a.deleteDraft)
	a.handle("POST", "/items/{id}/draft/save", a.promoteDraft)
	a.bulkRoutes()
	a.handle("GET", "/revisions/{id}", a.getRevision)
	a.handle("GET", "/revisions/{id}/diff", a.diffRevision)
	a.handle("POST", "/revisions/{id}/restore", a.restoreRevision)

	a.configKindRoutes("/types", "item_type")
	a.handle("PUT", "/types/{name}", a.applyType)

	a.handle("GET", "/stages", a.listStages)
	a.handle("POST", "/stages", a.createStage)
	a.handle("GET", "/stages/{stage}", a.getStage)
	a.handle("GET", "/stages/{stage}/diff", a.diffStage)
	a.handle("POST", "/stages/{stage}/publish", a.publishStage)
	a.handle("POST", "/stages/{stage}/discard", a.discardStage)
	a.handle("PUT", "/stages/{stage}/schedule", a.scheduleStage)
	a.handle("GET", "/stages/{stage}/preview", a.preview)
	a.handle("GET", "/releases", a.listReleases)
	a.handle("GET", "/releases/{id}", a.getRelease)
	a.handle("POST", "/releases/{id}/rollback", a.rollbackRelease)

	a.configKindRoutes("/vocabularies", "vocabulary")
	a.stagedRoutes(kindTerm, decodeStaged[termDoc], "vocabulary")
	a.configKindRoutes("/menus", "menu")
	a.handle("POST", "/menus/{name}/arrange", a.arrangeMenu)
	a.stagedRoutes(kindMenuLink, decodeStaged[menuLinkDoc], "menu")
	a.stagedRoutes(kindAlias, decodeStaged[aliasDoc], "path")

	a.configKindRoutes("/gathers", "gather")
	a.handle("GET", "/gathers/{name}/results", a.runGather)
	a.handle("POST", "/gather-preview", a.previewGather)
	a.tileRoutes()

	a.handle("POST", "/render", a.renderText)

	a.handle("GET", "/files", a.listFiles)
	a.handle("POST", "/files", a.uploadFile)
	a.handle("GET", "/files/{id}", a.getFile)

	a.handle("GET", "/users", a.listUsers)
	a.handle("POST", "/users", a.createUser)
	a.handle("GET", "/users/{id}", a.getUser)
	a.handle("PATCH", "/users/{id}", a.updateUser)
	a.handle("DELETE", "/users/{id}", a.deleteUser)
	a.handle("PUT", "/users/{id}/roles/{role}", a.addUserRole)
	a.handle("DELETE", "/users/{id}/roles/{role}", a.removeUserRole)
	a.handle("GET", "/roles", a.listRoles)
	a.handle("POST", "/roles", a.createRole)
	a.handle("DELETE", "/roles/{name}", a.deleteRole)
	a.handle("PUT", "/roles/{name}/permissions/{permission}", a.grantPermission)
	a.handle("DELETE", "/roles/{name}/permissions/{permission}", a.revokePermission)
	a.handle("GET", "/permissions", a.permissionMatrix)

	a.handle("GET", "/config/{kind}", a.listConfigs)
	a.handle("GET", "/config/{kind}/{name}", a.getConfig)
	a.handle("PUT", "/config/{kind}/{name}", a.putConfig)
	a.handle("DELETE", "/config/{kind}/{name}", a.deleteConfig)

	a.handle("GET", "/tokens", a.listTokens)
	a.handle("POST", "/tokens", a.createToken)
	a.handle("DELETE", "/tokens/{id}", a.revokeToken)
	a.handle("GET", "/audit", a.listAudit)
	a.commentRoutes()
	a.handle("GET", "/plugins", a.listPlugins)
	a.handle("POST", "/plugins", a.installPlugin)
	a.handle("DELETE", "/plugins/{name}", a.uninstallPlugin)
	a.handle("POST", "/plugins/{name}/enable", a.enablePlugin)
	a.handle("POST", "/plugins/{name}/disable", a.disablePlugin)
	a.syncRoutes()
}
