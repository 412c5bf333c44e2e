package service

import (
	"context"
	"fmt"
	"os"

	"github.com/google/uuid"

	"github.com/reactord/reactord/builder"
	"github.com/reactord/reactord/vulns"
)

// startRescans opens the findings of deployed code (shown by the API, counted in
// /metrics) and, when this gateway builds node22 code against an OSV source, rescans
// it on a schedule; one gateway of a cluster rescans at a time.
func (s *Service) startRescans(ctx context.Context, g gatewayState, builds bool, manifests *vulns.Manifests) (*vulns.Findings, error) {
	c := s.cfg.Build
	findings, err := vulns.OpenFindings(ctx, s.js)
	if err != nil {
		return nil, err
	}
	if err := findings.Follow(ctx); err != nil {
		return nil, err
	}
	s.reg.MustRegister(findings.Collector())
	if !builds || (c.OSVDB == "" && c.OSVAPI == "") {
		return findings, nil
	}
	host, _ := os.Hostname()
	r, err := vulns.NewRescanner(ctx, vulns.Config{JS: s.js, Reactors: g.reactors, Proxies: g.proxies,
		Scanner: builder.NewScanner(c.OSVDB, c.OSVAPI, true, s.log), Manifests: manifests, Findings: findings,
		Interval: c.RescanInterval, Poll: c.RescanPoll, Holder: fmt.Sprintf("%s-%d-%s", host, os.Getpid(), uuid.NewString()[:8]),
		Notify: s.notifyVulnerabilities, Registerer: s.reg, Logger: s.log})
	if err != nil {
		return nil, err
	}
	go r.Run(ctx)
	return findings, nil
}
