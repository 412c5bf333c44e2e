package api

import (
	"net/http"
	"slices"

	"github.com/reactord/reactord/auth"
)

// permission is one entry of GET /permissions: the seeds' permission types and the
// application types that may hold them.
type permission struct {
	Type             string   `json:"type"`
	Description      string   `json:"description"`
	ApplicationTypes []string `json:"application_types"`
}

const (
	appPrivate    = auth.Private
	appPublic     = auth.Public
	appManagement = auth.Management
	appExpiring   = auth.Expiring
)

var applicationTypes = []string{appPrivate, appPublic, appManagement, appExpiring}

// permissionCatalog is the seeds' "Permission Types" table.
var permissionCatalog = []permission{
	{"token:create", "Create Tokens", []string{appPublic, appPrivate}},
	{"token:update", "Update Tokens", []string{appPublic, appPrivate}},
	{"token:read", "Read Tokens", []string{appPrivate, appExpiring}},
	// Not in the seeds' table: the seeds grant plaintext through a "reveal" access
	// rule, and node22's runtime.permissions name token:reveal; both map to it.
	{"token:reveal", "Reveal plaintext token data in responses", []string{appPrivate, appExpiring}},
	{"token:search", "Search Tokens", []string{appPrivate}},
	{"token:delete", "Delete Tokens", []string{appPrivate}},
	{"token:use", "Use Tokens in Basis Theory Services (e.g. Proxy, Reactors)", []string{appPrivate}},
	{"tenant:read", "Read Tenants", []string{appManagement}},
	{"tenant:update", "Update Tenants", []string{appManagement}},
	{"tenant:delete", "Delete Tenants", []string{appManagement}},
	{"application:read", "Read Applications", []string{appManagement}},
	{"application:create", "Create Applications", []string{appManagement}},
	{"application:update", "Update and regenerate API keys for Applications", []string{appManagement}},
	{"application:delete", "Delete Applications", []string{appManagement}},
	{"log:read", "Read audit logs", []string{appManagement}},
	{"reactor:read", "Read Reactor Formulas and Reactors", []string{appManagement}},
	{"reactor:create", "Create Reactors Formulas and Reactors", []string{appManagement}},
	{"reactor:update", "Update Reactors Formulas and Reactors", []string{appManagement}},
	{"reactor:delete", "Delete Reactors Formulas and Reactors", []string{appManagement}},
	{"proxy:read", "Read Proxies", []string{appManagement}},
	{"proxy:create", "Create Proxies", []string{appManagement}},
	{"proxy:update", "Update Proxies", []string{appManagement}},
	{"proxy:delete", "Delete Proxies", []string{appManagement}},
	{"tenant:member:read", "Read Tenant Members", []string{appManagement}},
	{"tenant:member:update", "Update Tenant Members", []string{appManagement}},
	{"tenant:member:delete", "Delete Tenant Members", []string{appManagement}},
	{"tenant:invitation:create", "Create Tenant Invitations", []string{appManagement}},
	{"tenant:invitation:read", "Read Tenant Invitations", []string{appManagement}},
	{"tenant:invitation:update", "Update Tenant Invitations", []string{appManagement}},
	{"tenant:invitation:delete", "Delete Tenant Invitations", []string{appManagement}},
	{"report:read", "Read reports", []string{appManagement}},
	{"webhook:read", "Read Webhooks", []string{appManagement}},
	{"webhook:create", "Create Webhooks", []string{appManagement}},
	{"webhook:update", "Update Webhooks", []string{appManagement}},
	{"webhook:delete", "Delete Webhooks", []string{appManagement}},
}

// permissionAllowed reports whether an application of type appType may hold perm.
func permissionAllowed(perm, appType string) (known, allowed bool) {
	for _, p := range permissionCatalog {
		if p.Type == perm {
			return true, slices.Contains(p.ApplicationTypes, appType)
		}
	}
	return false, false
}

// listPermissions is GET /permissions, optionally filtered by application_type.
func (s *Server) listPermissions(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	typ := r.URL.Query().Get("application_type")
	if typ != "" && !slices.Contains(applicationTypes, typ) {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "application_type must be one of private, public, management, expiring",
			map[string][]string{"application_type": {"unknown application type " + typ}})
		return
	}
	out := []permission{}
	for _, perm := range permissionCatalog {
		if typ == "" || slices.Contains(perm.ApplicationTypes, typ) {
			out = append(out, perm)
		}
	}
	writeJSON(w, http.StatusOK, out)
}
