package api

import (
	"time"

	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/store"
	"github.com/reactord/reactord/vulns"
)

// runtimeView is a runtime object with the values in effect, defaults included:
// timeout 10, resources standard, warm_concurrency 0, and dependencies and
// permissions shown even when empty, as Basis Theory's responses show them.
type runtimeView struct {
	*store.Runtime
	Dependencies map[string]string `json:"dependencies"`
	Permissions  []string          `json:"permissions"`
}

// pendingView and requestedView show a pending deployment's runtime likewise.
type pendingView struct {
	*store.Pending
	Runtime *runtimeView `json:"runtime,omitempty"`
}

type requestedView struct {
	*store.Requested
	Reactor *pendingView `json:"reactor,omitempty"`
}

// reactorBody is a reactor as the API shows it.
type reactorBody struct {
	*store.Reactor
	Runtime         *runtimeView    `json:"runtime,omitempty"`
	Requested       *requestedView  `json:"requested,omitempty"`
	Vulnerabilities []vulns.Finding `json:"vulnerabilities,omitempty"`
}

// creatingBody is a reactor that has never been deployed: while it is creating,
// Basis Theory shows its state and the requested deployment, not the pending code
// and runtime at the top level.
type creatingBody struct {
	ID         string         `json:"id"`
	TenantID   string         `json:"tenant_id"`
	Name       string         `json:"name"`
	State      string         `json:"state"`
	Requested  *requestedView `json:"requested,omitempty"`
	CreatedBy  string         `json:"created_by,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
	ModifiedBy string         `json:"modified_by,omitempty"`
	ModifiedAt *time.Time     `json:"modified_at,omitempty"`
}

// showReactor is rec as the API shows it, with the open vulnerability findings of
// its deployed code.
func showReactor(rec *store.Reactor, open ...vulns.Finding) any {
	var req *requestedView
	if rec.Requested != nil {
		req = &requestedView{Requested: rec.Requested}
		if p := rec.Requested.Reactor; p != nil {
			req.Reactor = &pendingView{Pending: p, Runtime: effectiveRuntime(p.Runtime)}
		}
	}
	if rec.State == store.StateCreating {
		return creatingBody{rec.ID, rec.TenantID, rec.Name, rec.State, req, rec.CreatedBy, rec.CreatedAt, rec.ModifiedBy, rec.ModifiedAt}
	}
	return reactorBody{Reactor: rec, Runtime: effectiveRuntime(rec.Runtime), Requested: req, Vulnerabilities: open}
}

// effectiveRuntime fills in the defaults a runtime object runs with; nil (node-bt
// with no runtime object) stays nil.
func effectiveRuntime(rt *store.Runtime) *runtimeView {
	if rt == nil {
		return nil
	}
	out := *rt
	if out.Timeout == 0 {
		out.Timeout = int(runtime.DefaultTimeout / time.Second)
	}
	if out.Resources == "" {
		out.Resources = string(runtime.Standard)
	}
	v := &runtimeView{Runtime: &out, Dependencies: out.Dependencies, Permissions: out.Permissions}
	if v.Dependencies == nil {
		v.Dependencies = map[string]string{}
	}
	if v.Permissions == nil {
		v.Permissions = []string{}
	}
	return v
}
