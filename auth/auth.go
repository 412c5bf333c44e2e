// Package auth decides who a request acts as: an API key's application and what it
// may do (its permissions and those of its access rules), and the short-lived keys
// minted for one invocation's Basis Theory client. The HTTP layer reads the key and
// answers 401/403; this package holds the state behind those answers.
package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/reactord/reactord/store"
)

// Application types of Basis Theory's applications.
const (
	Private    = "private"
	Public     = "public"
	Management = "management"
	Expiring   = "expiring"
)

// ErrUnauthenticated is a missing, unknown, revoked or expired key.
var ErrUnauthenticated = errors.New("a missing or invalid BT-API-KEY was provided")

// Principal is who a request authenticated as: an application and what it may do.
// Its permission map is never written after it is built, so it may be shared.
type Principal struct {
	ApplicationID string
	TenantID      string
	Type          string
	Permissions   map[string]bool
	// Depth is 0 for an API key; for the key of a running invocation's Basis Theory
	// client it is how deep that invocation is nested (1: called with an API key).
	Depth int
	// rules are the application's access rules by priority; plain its own
	// permissions, which act as rules over every container after the rules.
	rules []AccessRule
	plain map[string]bool
}

// Data transforms an access applies to a token's data.
const (
	Reveal = "reveal"
	Mask   = "mask"
	Redact = "redact"
)

// Access decides perm on one token, in containers with id: the first access rule,
// by priority, whose container holds one of the token's containers, whose
// conditions hold and which grants perm decides, with its transform; then the
// application's own permissions, over every container (data revealed with
// token:reveal, else masked). ok false means the principal may not.
func (p Principal) Access(perm, id string, containers []string) (ok bool, transform string) {
	for _, r := range p.rules {
		if !slices.Contains(r.Permissions, perm) || !r.covers(id, containers) {
			continue
		}
		t := r.Transform
		if t == "" {
			t = Mask
		}
		return true, t
	}
	if !p.plain[perm] {
		return false, ""
	}
	if p.plain["token:reveal"] {
		return true, Reveal
	}
	return true, Mask
}

// covers reports whether the rule applies to a token: its container is one of the
// token's or a parent of one ("/pci/" covers "/pci/high/"), and every condition holds.
func (r AccessRule) covers(id string, containers []string) bool {
	if r.Container != "" && !slices.ContainsFunc(containers, func(c string) bool { return strings.HasPrefix(c, r.Container) }) {
		return false
	}
	if len(r.Conditions) == 0 || string(r.Conditions) == "null" {
		return true
	}
	conds, ok := r.conds, r.parsed
	if !ok {
		conds, ok = parseConditions(r.Conditions)
	}
	if !ok {
		return false // unreadable conditions grant nothing
	}
	for _, c := range conds {
		values := containers
		if c.Attribute == "id" {
			values = []string{id}
		}
		match := slices.ContainsFunc(values, func(v string) bool {
			if c.Operator == "starts_with" {
				return strings.HasPrefix(v, c.Value)
			}
			return c.Operator == "equals" && v == c.Value
		})
		if !match {
			return false
		}
	}
	return true
}

// Sandboxed reports whether the principal is reactor code's client, acting for one
// invocation only.
func (p Principal) Sandboxed() bool { return p.Depth > 0 }

// Can reports whether the principal holds perm; the empty permission is any
// authenticated caller.
func (p Principal) Can(perm string) bool { return perm == "" || p.Permissions[perm] }

// WithPermissions returns a principal of the application holding exactly perms.
func WithPermissions(applicationID, tenantID, typ string, perms []string) Principal {
	p := Principal{ApplicationID: applicationID, TenantID: tenantID, Type: typ, Permissions: make(map[string]bool, len(perms)),
		plain: make(map[string]bool, len(perms))}
	for _, perm := range perms {
		p.Permissions[perm] = true
		p.plain[perm] = true
	}
	return p
}

// AccessRule is one entry of an application's rules (Basis Theory's Access Rules):
// its permissions add to the application's, and a rule with transform "reveal" on
// token:read grants token:reveal.
type AccessRule struct {
	Description string          `json:"description,omitempty"`
	Priority    int             `json:"priority"`
	Container   string          `json:"container,omitempty"`
	Conditions  json.RawMessage `json:"conditions,omitempty"`
	Transform   string          `json:"transform,omitempty"`
	Permissions []string        `json:"permissions"`

	// conds are Conditions decoded once, by Of, when parsed; a principal checks
	// them for every token it uses.
	conds  []condition
	parsed bool
}

// condition is one of an access rule's conditions.
type condition struct{ Attribute, Operator, Value string }

// parseConditions decodes a rule's conditions; ok is false when they are unreadable.
func parseConditions(raw json.RawMessage) (conds []condition, ok bool) {
	return conds, json.Unmarshal(raw, &conds) == nil
}

// Of returns an application's principal.
func Of(a *store.Application) Principal {
	p := WithPermissions(a.ID, a.TenantID, a.Type, a.Permissions)
	var rules []AccessRule
	json.Unmarshal(a.Rules, &rules) // validated when stored
	slices.SortStableFunc(rules, func(x, y AccessRule) int { return x.Priority - y.Priority })
	for i := range rules {
		rules[i].conds, rules[i].parsed = parseConditions(rules[i].Conditions)
	}
	p.rules = rules
	for _, rule := range rules {
		for _, perm := range rule.Permissions {
			p.Permissions[perm] = true
			if perm == "token:read" && rule.Transform == "reveal" {
				p.Permissions["token:reveal"] = true
			}
		}
	}
	return p
}

// sandboxKeyPrefix marks the short-lived keys minted for one invocation's Basis
// Theory client. They live only in the memory of the gateway that minted them.
const sandboxKeyPrefix = "key_sandbox_"

// Authenticator checks API keys against the applications bucket and the sandbox
// keys this gateway minted.
type Authenticator struct {
	apps *store.Applications
	// principals caches each application's principal by revision.
	principals sync.Map

	mu     sync.Mutex
	grants map[string]grant
}

type grant struct {
	p       Principal
	expires time.Time
}

type cachedPrincipal struct {
	revision uint64
	p        Principal
}

// New returns an authenticator over the applications bucket.
func New(apps *store.Applications) *Authenticator {
	return &Authenticator{apps: apps, grants: map[string]grant{}}
}

// Authenticate returns the principal of key, ErrUnauthenticated, or a store error.
func (a *Authenticator) Authenticate(ctx context.Context, key string) (Principal, error) {
	if key == "" || len(key) > 256 {
		return Principal{}, ErrUnauthenticated
	}
	if strings.HasPrefix(key, sandboxKeyPrefix) {
		if p, ok := a.lookupGrant(key, time.Now()); ok {
			return p, nil
		}
		return Principal{}, ErrUnauthenticated
	}
	app, err := a.apps.ByKey(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("auth: %w", err)
	}
	if app.Expired(time.Now()) {
		return Principal{}, ErrUnauthenticated
	}
	return a.PrincipalOf(app), nil
}

// PrincipalOf returns an application's principal, computed once per revision.
func (a *Authenticator) PrincipalOf(app *store.Application) Principal {
	if c, ok := a.principals.Load(app.ID); ok && c.(cachedPrincipal).revision == app.Revision {
		return c.(cachedPrincipal).p
	}
	p := Of(app)
	a.principals.Store(app.ID, cachedPrincipal{app.Revision, p})
	return p
}

// Application returns the principal of an application by id (from the watched
// in-memory index when it is current), or store.ErrNotFound.
func (a *Authenticator) Application(ctx context.Context, id string) (Principal, error) {
	app, err := a.apps.Cached(ctx, id)
	if err != nil {
		return Principal{}, err
	}
	return a.PrincipalOf(app), nil
}

// Mint returns a new sandbox key acting as p until expires or Revoke; p.Depth must
// be the invocation's depth (1 or more).
func (a *Authenticator) Mint(p Principal, expires time.Time) string {
	b := make([]byte, 24)
	rand.Read(b)
	key := sandboxKeyPrefix + hex.EncodeToString(b)
	a.mu.Lock()
	a.grants[key] = grant{p, expires}
	a.mu.Unlock()
	return key
}

// Revoke ends a sandbox key.
func (a *Authenticator) Revoke(key string) {
	a.mu.Lock()
	delete(a.grants, key)
	a.mu.Unlock()
}

func (a *Authenticator) lookupGrant(key string, now time.Time) (Principal, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := a.grants[key]
	if !ok || now.After(g.expires) {
		return Principal{}, false
	}
	return g.p, true
}
