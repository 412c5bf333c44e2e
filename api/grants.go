package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/reactord/reactord/scheduler"
	"github.com/reactord/reactord/store"
)

// sandboxKeyPrefix marks the short-lived keys minted for one invocation's Basis
// Theory client. They live only in this gateway's memory.
const sandboxKeyPrefix = "key_sandbox_"

type grant struct {
	p       principal
	expires time.Time
}

// grants are the live sandbox keys of the invocations this gateway runs.
type grants struct {
	mu    sync.Mutex
	byKey map[string]grant
}

func (g *grants) mint(p principal, expires time.Time) string {
	b := make([]byte, 24)
	rand.Read(b)
	key := sandboxKeyPrefix + hex.EncodeToString(b)
	g.mu.Lock()
	if g.byKey == nil {
		g.byKey = map[string]grant{}
	}
	g.byKey[key] = grant{p, expires}
	g.mu.Unlock()
	return key
}

func (g *grants) revoke(key string) {
	g.mu.Lock()
	delete(g.byKey, key)
	g.mu.Unlock()
}

func (g *grants) lookup(key string, now time.Time) (principal, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	x, ok := g.byKey[key]
	if !ok || now.After(x.expires) {
		return principal{}, false
	}
	return x.p, true
}

// grantFor decides whether rec's code gets a Basis Theory client and with what
// permissions: node22's runtime.permissions (acting for the caller), or the
// attached application's (node-bt). The key expires with the invocation.
func (s *Server) grantFor(ctx context.Context, rec *store.Reactor, caller principal, deadline time.Time) (*scheduler.Grant, error) {
	if s.cfg.BTSubject == "" {
		return nil, nil
	}
	var p principal
	switch {
	case isNode22(rec.Runtime) && len(rec.Runtime.Permissions) > 0:
		p = principal{ApplicationID: caller.ApplicationID, TenantID: caller.TenantID, Type: appPrivate, Permissions: map[string]bool{}}
		for _, perm := range rec.Runtime.Permissions {
			p.Permissions[perm] = true
		}
	case rec.Application != nil && rec.Application.ID != "":
		a, err := s.cfg.Applications.Cached(ctx, rec.Application.ID)
		if err != nil {
			return nil, err
		}
		p = s.principalOf(a)
	default:
		return nil, nil
	}
	return &scheduler.Grant{Key: s.grants.mint(p, deadline), Subject: s.cfg.BTSubject}, nil
}
