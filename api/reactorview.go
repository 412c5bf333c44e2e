package api

import (
	"time"

	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/store"
)

// reactorView is a reactor as Basis Theory's API shows it. Its runtime carries the
// values in effect, defaults included (timeout 10, resources standard,
// warm_concurrency 0, empty dependencies and permissions). While a reactor is
// creating, nothing has been deployed yet: the body shows the state and the
// requested deployment, not the pending code and runtime at the top level.
func reactorView(rec *store.Reactor) any {
	v := *rec
	v.Runtime = effectiveRuntime(rec.Runtime)
	if rec.Requested != nil && rec.Requested.Reactor != nil {
		req, pending := *rec.Requested, *rec.Requested.Reactor
		pending.Runtime = effectiveRuntime(pending.Runtime)
		req.Reactor = &pending
		v.Requested = &req
	}
	if rec.State != store.StateCreating {
		return &v
	}
	return struct {
		ID         string           `json:"id"`
		TenantID   string           `json:"tenant_id"`
		Name       string           `json:"name"`
		State      string           `json:"state"`
		Requested  *store.Requested `json:"requested,omitempty"`
		CreatedBy  string           `json:"created_by,omitempty"`
		CreatedAt  time.Time        `json:"created_at"`
		ModifiedBy string           `json:"modified_by,omitempty"`
		ModifiedAt *time.Time       `json:"modified_at,omitempty"`
	}{v.ID, v.TenantID, v.Name, v.State, v.Requested, v.CreatedBy, v.CreatedAt, v.ModifiedBy, v.ModifiedAt}
}

// effectiveRuntime fills in the defaults a runtime object runs with; nil (node-bt
// with no runtime object) stays nil.
func effectiveRuntime(rt *store.Runtime) *store.Runtime {
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
	if out.Dependencies == nil {
		out.Dependencies = map[string]string{}
	}
	if out.Permissions == nil {
		out.Permissions = []string{}
	}
	return &out
}
