package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/reactord/reactord/store"
	"github.com/reactord/reactord/vulns"
)

// reactorView is a reactor as GET shows it: with the open findings of its deployed
// code, when it has any.
func (s *Server) reactorView(rec *store.Reactor) any {
	var open []vulns.Finding
	if s.cfg.Vulnerabilities != nil {
		open = s.cfg.Vulnerabilities.Open(vulns.Reactor, rec.ID, vulns.ReactorBundles(rec))
	}
	return showReactor(rec, open...)
}

// proxyView is a proxy as GET shows it, likewise.
func (s *Server) proxyView(rec *store.Proxy) proxyView {
	v := showProxy(rec)
	if s.cfg.Vulnerabilities != nil {
		v.Vulnerabilities = s.cfg.Vulnerabilities.Open(vulns.Proxy, rec.ID, vulns.ProxyBundles(rec))
	}
	return v
}

// vulnerabilityPolicy applies --block-critical-after to an invocation of kind id
// serving bundles: the caller answers 409 naming the finding when an unresolved
// CRITICAL finding is older than the policy allows; otherwise this warns in the
// BT-VULNERABILITY-WARNING header while a CRITICAL finding awaits remediation.
// It returns the finding that blocks the invocation, or nil.
func (s *Server) vulnerabilityPolicy(w http.ResponseWriter, kind, id string, bundles []string) *vulns.Finding {
	after := s.cfg.BlockCriticalAfter
	if s.cfg.Vulnerabilities == nil || after <= 0 {
		return nil
	}
	open := s.cfg.Vulnerabilities.Open(kind, id, bundles)
	if f := vulns.Blocking(open, after, time.Now()); f != nil {
		return f
	}
	for _, f := range open {
		if f.Severity == "CRITICAL" {
			w.Header().Add("BT-VULNERABILITY-WARNING", fmt.Sprintf("%s; invocations are blocked from %s unless the dependencies are updated",
				f.Describe(), f.DiscoveredAt.Add(after).UTC().Format(time.RFC3339)))
		}
	}
	return nil
}

// blockedMessage is the detail of a blocked invocation.
func blockedMessage(kind, id string, f *vulns.Finding, after time.Duration) string {
	return fmt.Sprintf("%s %s is blocked: the unresolved CRITICAL vulnerability %s has been open longer than %s; update the dependencies listed to resolve it",
		kind, id, f.Describe(), after)
}
