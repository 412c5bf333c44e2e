package service

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/google/uuid"

	"github.com/reactord/reactord/builder"
	"github.com/reactord/reactord/egress"
	"github.com/reactord/reactord/vulns"
	"github.com/reactord/reactord/webhooks"
)

// startRescans opens the findings of deployed code (shown by the API, counted in
// /metrics) and, when this gateway builds node22 code against an OSV source, rescans
// it on a schedule; one gateway of a cluster rescans at a time.
func (s *Service) startRescans(ctx context.Context, g gatewayState, builds bool, manifests *vulns.Manifests, hooks *webhooks.Dispatcher) (*vulns.Findings, error) {
	c := s.cfg.Build
	if err := manifests.Follow(ctx); err != nil {
		return nil, err
	}
	findings, err := vulns.OpenFindings(ctx, s.js, manifests)
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
		Notify: notifyDiscoveries(hooks, g.sys.TenantID, s.log), Registerer: s.reg, Logger: s.log})
	if err != nil {
		return nil, err
	}
	go r.Run(ctx)
	return findings, nil
}

// startWebhooks opens the webhooks and delivers their events; deliveries obey the
// egress policy of reactor fetch.
func (s *Service) startWebhooks(ctx context.Context) (*webhooks.Store, *webhooks.Dispatcher, error) {
	st, err := webhooks.Open(ctx, s.js, s.key)
	if err != nil {
		return nil, nil, err
	}
	client := egress.New(egress.Policy{AllowPrivate: s.cfg.EgressAllowPrivate}, egress.Options{MaxRedirects: -1}).Client()
	d, err := webhooks.NewDispatcher(ctx, webhooks.Config{JS: s.js, Store: st, Client: client, Registerer: s.reg, Logger: s.log})
	if err != nil {
		return nil, nil, err
	}
	if err := d.Run(ctx); err != nil {
		return nil, nil, err
	}
	return st, d, nil
}

// followResources sends the reactor and proxy lifecycle events.
func (s *Service) followResources(ctx context.Context, d *webhooks.Dispatcher, tenantID string) error {
	return d.FollowResources(ctx, s.js, tenantID)
}

// notifyDiscoveries sends reactor.vulnerabilities_discovered and
// proxy.vulnerabilities_discovered events.
func notifyDiscoveries(hooks *webhooks.Dispatcher, tenantID string, log *slog.Logger) func(context.Context, vulns.Discovery) {
	return func(ctx context.Context, d vulns.Discovery) {
		typ := webhooks.ReactorVulnerabilitiesFound
		if d.Kind == vulns.Proxy {
			typ = webhooks.ProxyVulnerabilitiesDiscovered
		}
		ev := webhooks.NewEvent(typ, tenantID, map[string]any{
			d.Kind:            map[string]any{"id": d.ID, "name": d.Name},
			"vulnerabilities": d.New,
			"open":            d.Open,
			"actor":           map[string]string{"type": "system", "name": "reactord vulnerability rescan"},
		})
		if err := hooks.Publish(ctx, ev); err != nil {
			log.Error("queueing a webhook event failed", "event_type", typ, d.Kind+"_id", d.ID, "error", err)
		}
	}
}
