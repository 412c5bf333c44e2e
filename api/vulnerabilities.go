package api

import (
	"github.com/reactord/reactord/store"
	"github.com/reactord/reactord/vulns"
)

// reactorView is a reactor as GET shows it: with the open findings of its deployed
// code, when it has any.
type reactorView struct {
	*store.Reactor
	Vulnerabilities []vulns.Finding `json:"vulnerabilities,omitempty"`
}

// proxyView is a proxy as GET shows it, likewise.
type proxyView struct {
	*store.Proxy
	Vulnerabilities []vulns.Finding `json:"vulnerabilities,omitempty"`
}

func (s *Server) reactorView(rec *store.Reactor) reactorView {
	v := reactorView{Reactor: rec}
	if s.cfg.Vulnerabilities != nil {
		v.Vulnerabilities = s.cfg.Vulnerabilities.Open(vulns.Reactor, rec.ID, vulns.ReactorBundles(rec))
	}
	return v
}

func (s *Server) proxyView(rec *store.Proxy) proxyView {
	v := proxyView{Proxy: rec}
	if s.cfg.Vulnerabilities != nil {
		v.Vulnerabilities = s.cfg.Vulnerabilities.Open(vulns.Proxy, rec.ID, vulns.ProxyBundles(rec))
	}
	return v
}
