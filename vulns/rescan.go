package vulns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/reactord/reactord/builder"
	"github.com/reactord/reactord/store"
)

// Discovery is a rescan's news about one resource: findings not open before.
type Discovery struct {
	// Kind is Reactor or Proxy; ID and Name name the resource.
	Kind, ID, Name string
	// New are the findings first seen by this rescan; Open all of the resource's.
	New, Open []Finding
}

// Config wires a Rescanner.
type Config struct {
	JS       jetstream.JetStream
	Reactors *store.Reactors
	// Proxies is nil when the gateway serves no proxies.
	Proxies   *store.Proxies
	Scanner   *builder.Scanner
	Manifests *Manifests
	Findings  *Findings
	// Interval is the time between full rescans (default 24 h).
	Interval time.Duration
	// Poll is how often the lease is renewed or sought and the offline database
	// checked for a change (default 30 s).
	Poll time.Duration
	// Holder names this gateway in the lease.
	Holder string
	// Notify receives every resource with new findings; nil sends nothing.
	Notify func(context.Context, Discovery)
	// Registerer receives the rescan metrics; nil registers none.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Rescanner rescans deployed node22 code. One gateway of a cluster rescans at a time:
// the one holding the lease, a key of a JetStream key-value bucket whose entries
// expire, created only when absent and renewed by revision.
type Rescanner struct {
	cfg   Config
	log   *slog.Logger
	lease jetstream.KeyValue
	ttl   time.Duration
	runs  *prometheus.CounterVec
	took  prometheus.Histogram
}

// leaseKey is the lease's key; stateKey, in the findings bucket, the last full rescan.
const (
	leaseKey = "rescan"
	stateKey = "state.rescan"
)

// state is when the last full rescan ran and against which database.
type state struct {
	At    time.Time `json:"at"`
	Stamp string    `json:"database"`
}

// NewRescanner opens the lease bucket.
func NewRescanner(ctx context.Context, cfg Config) (*Rescanner, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = 24 * time.Hour
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ttl := max(3*cfg.Poll, time.Second)
	kv, err := cfg.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: LeaseBucket, History: 1, TTL: ttl, Storage: jetstream.MemoryStorage})
	if err != nil {
		return nil, fmt.Errorf("vulns: open %s: %w", LeaseBucket, err)
	}
	r := &Rescanner{cfg: cfg, log: cfg.Logger, lease: kv, ttl: ttl,
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reactord_vulnerability_rescans_total",
			Help: "Full rescans of deployed code, by outcome."}, []string{"outcome"}),
		took: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "reactord_vulnerability_rescan_duration_seconds",
			Help: "Duration of full rescans of deployed code.", Buckets: prometheus.ExponentialBuckets(0.01, 4, 10)})}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(r.runs, r.took)
	}
	return r, nil
}

// Run rescans until ctx ends: every Poll it holds or seeks the lease and, holding it,
// prunes findings of replaced bundles and runs a full rescan when Interval has passed
// since the last one or the offline database changed.
func (r *Rescanner) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	for {
		r.tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Rescanner) tick(ctx context.Context) {
	held, err := r.hold(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("vulnerability rescans: lease", "error", err)
		}
		return
	}
	if !held {
		return
	}
	if err := r.prune(ctx); err != nil && ctx.Err() == nil {
		r.log.Warn("vulnerability rescans: prune", "error", err)
	}
	due, st, err := r.due(ctx)
	if err != nil || !due {
		return
	}
	if _, err := r.RescanAll(ctx); err != nil {
		if ctx.Err() == nil {
			r.log.Error("vulnerability rescan failed", "error", err, "source", r.cfg.Scanner.Source())
		}
		return
	}
	st.At = time.Now().UTC()
	b, _ := json.Marshal(st)
	if _, err := r.cfg.Findings.kv.Put(ctx, stateKey, b); err != nil {
		r.log.Warn("vulnerability rescans: record the rescan", "error", err)
	}
}

// hold creates the lease or renews this gateway's; false when another holds it.
func (r *Rescanner) hold(ctx context.Context) (bool, error) {
	_, err := r.lease.Create(ctx, leaseKey, []byte(r.cfg.Holder))
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return false, err
	}
	e, err := r.lease.Get(ctx, leaseKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil // expired just now: the next poll takes it
	}
	if err != nil {
		return false, err
	}
	if string(e.Value()) != r.cfg.Holder {
		return false, nil
	}
	if _, err := r.lease.Update(ctx, leaseKey, []byte(r.cfg.Holder), e.Revision()); err != nil {
		return false, nil // lost it to another gateway meanwhile
	}
	return true, nil
}

// due reports whether a full rescan is due, with the state to record after it.
func (r *Rescanner) due(ctx context.Context) (bool, state, error) {
	now := state{Stamp: r.cfg.Scanner.DatabaseStamp()}
	e, err := r.cfg.Findings.kv.Get(ctx, stateKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return true, now, nil
	}
	if err != nil {
		return false, now, err
	}
	var last state
	if json.Unmarshal(e.Value(), &last) != nil {
		return true, now, nil
	}
	if last.Stamp != now.Stamp {
		r.log.Info("the OSV database changed: rescanning deployed code", "database", now.Stamp)
		return true, now, nil
	}
	return time.Since(last.At) >= r.cfg.Interval, now, nil
}

// deployed is one resource and the bundles it serves.
type deployed struct {
	kind, id, name string
	bundles        []string
}

func (r *Rescanner) deployed(ctx context.Context) ([]deployed, error) {
	reactors, err := r.cfg.Reactors.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []deployed
	for _, rec := range reactors {
		if b := ReactorBundles(rec); len(b) > 0 {
			out = append(out, deployed{Reactor, rec.ID, rec.Name, b})
		}
	}
	if r.cfg.Proxies == nil {
		return out, nil
	}
	proxies, err := r.cfg.Proxies.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range proxies {
		if b := ProxyBundles(p); len(b) > 0 {
			out = append(out, deployed{Proxy, p.ID, p.Name, b})
		}
	}
	return out, nil
}

// ReactorBundles are the bundles a node22 reactor serves (none for other images).
func ReactorBundles(r *store.Reactor) []string {
	if r.Bundle == "" || !r.Runtime.Built() {
		return nil
	}
	return []string{r.Bundle}
}

// ProxyBundles are the bundles a proxy's node22 code transforms serve.
func ProxyBundles(p *store.Proxy) []string {
	var out []string
	for _, ts := range [][]store.ProxyTransform{p.RequestTransforms, p.ResponseTransforms} {
		for _, t := range ts {
			if t.Built() && t.Bundle != "" {
				out = append(out, t.Bundle)
			}
		}
	}
	return out
}

// serving returns the bundles a resource serves now; false when it is gone.
func (r *Rescanner) serving(ctx context.Context, kind, id string) ([]string, bool, error) {
	switch kind {
	case Reactor:
		rec, err := r.cfg.Reactors.Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		return ReactorBundles(rec), true, nil
	case Proxy:
		if r.cfg.Proxies == nil {
			return nil, false, nil
		}
		p, err := r.cfg.Proxies.Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		return ProxyBundles(p), true, nil
	}
	return nil, false, nil
}

// prune drops the findings of deleted resources and replaced bundles.
func (r *Rescanner) prune(ctx context.Context) error {
	for _, k := range r.cfg.Findings.keys() {
		kind, id, _ := strings.Cut(k, ".")
		rec, _, err := r.cfg.Findings.stored(ctx, kind, id)
		if err != nil || rec == nil {
			continue
		}
		bundles, ok, err := r.serving(ctx, kind, id)
		if err != nil {
			return err
		}
		if !ok {
			if err := r.cfg.Findings.remove(ctx, kind, id); err != nil {
				return err
			}
			continue
		}
		kept := slices.DeleteFunc(slices.Clone(rec.Findings), func(sf storedFinding) bool { return len(bundles) == 0 || !r.cfg.Findings.current(sf, bundles) })
		if len(kept) == len(rec.Findings) {
			continue
		}
		if len(kept) == 0 {
			err = r.cfg.Findings.remove(ctx, kind, id)
		} else {
			rec.Findings = kept
			err = r.cfg.Findings.put(ctx, rec)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Stats describe one full rescan.
type Stats struct {
	// Resources and Bundles are what was deployed; Scanned the distinct bundles
	// scanned (each once, however many resources serve it); Unknown those without a
	// manifest.
	Resources, Bundles, Scanned, Unknown int
	// Discoveries is how many resources had new findings.
	Discoveries int
	Duration    time.Duration
}

// RescanAll rescans every deployed resource now, records the findings, logs and
// notifies the new ones, and clears the ones that are gone.
func (r *Rescanner) RescanAll(ctx context.Context) (Stats, error) {
	start := time.Now()
	var st Stats
	outcome := "failed"
	defer func() {
		r.runs.WithLabelValues(outcome).Inc()
		r.took.Observe(time.Since(start).Seconds())
	}()
	list, err := r.deployed(ctx)
	if err != nil {
		return st, err
	}
	st.Resources = len(list)
	type result struct {
		vulns    []builder.Vulnerability
		manifest uint64
	}
	results := map[string]result{}
	live := map[string]bool{}
	for _, d := range list {
		live[findingKey(d.kind, d.id)] = true
		var found []storedFinding
		for _, sha := range d.bundles {
			st.Bundles++
			res, seen := results[sha]
			if !seen {
				pkgs, rev, err := r.cfg.Manifests.Get(ctx, sha)
				if err != nil {
					return st, err
				}
				res.manifest = rev
				if rev == 0 {
					st.Unknown++
				} else if len(pkgs) > 0 {
					_, res.vulns, err = r.cfg.Scanner.Scan(ctx, pkgs)
					if err != nil {
						return st, err
					}
					st.Scanned++
				}
				results[sha] = res
			}
			for _, v := range res.vulns {
				found = append(found, storedFinding{Finding: Finding{Vulnerability: v}, Bundle: sha, Manifest: res.manifest})
			}
		}
		isNew, err := r.record(ctx, d, found)
		if err != nil {
			return st, err
		}
		if isNew {
			st.Discoveries++
		}
	}
	for _, k := range r.cfg.Findings.keys() {
		if !live[k] {
			kind, id, _ := strings.Cut(k, ".")
			if err := r.cfg.Findings.remove(ctx, kind, id); err != nil {
				return st, err
			}
		}
	}
	st.Duration = time.Since(start)
	outcome = "ok"
	r.log.Info("vulnerability rescan finished", "resources", st.Resources, "bundles", st.Bundles, "scanned", st.Scanned,
		"without_manifest", st.Unknown, "discoveries", st.Discoveries, "duration", st.Duration.String(), "source", r.cfg.Scanner.Source())
	return st, nil
}

// record stores a resource's findings, keeping when each was first seen, and logs and
// notifies the new ones; it reports whether there were any.
func (r *Rescanner) record(ctx context.Context, d deployed, found []storedFinding) (bool, error) {
	prev, _, err := r.cfg.Findings.stored(ctx, d.kind, d.id)
	if err != nil {
		return false, err
	}
	first := map[string]time.Time{}
	if prev != nil {
		for _, f := range prev.Findings {
			first[f.key()] = f.DiscoveredAt
		}
	}
	now := time.Now().UTC()
	var fresh []Finding
	for i := range found {
		if at, ok := first[found[i].key()]; ok {
			found[i].DiscoveredAt = at
			continue
		}
		found[i].DiscoveredAt = now
		first[found[i].key()] = now
		fresh = append(fresh, found[i].Finding)
	}
	switch {
	case len(found) == 0 && prev == nil:
		return false, nil
	case len(found) == 0:
		return false, r.cfg.Findings.remove(ctx, d.kind, d.id)
	case prev != nil && len(fresh) == 0 && sameFindings(prev.Findings, found):
		return false, nil
	}
	if err := r.cfg.Findings.put(ctx, &record{Kind: d.kind, ID: d.id, Name: d.name, Findings: found}); err != nil {
		return false, err
	}
	if len(fresh) == 0 {
		return false, nil
	}
	ids := make([]string, len(fresh))
	for i, f := range fresh {
		ids[i] = f.ID + " (" + f.Severity + ", " + f.Name + "@" + f.Version + ")"
	}
	r.log.Warn("vulnerabilities discovered in deployed code", d.kind+"_id", d.id, "name", d.name, "vulnerabilities", ids)
	if r.cfg.Notify != nil {
		open := make([]Finding, len(found))
		for i, f := range found {
			open[i] = f.Finding
		}
		r.cfg.Notify(ctx, Discovery{Kind: d.kind, ID: d.id, Name: d.name, New: fresh, Open: open})
	}
	return true, nil
}

func sameFindings(a, b []storedFinding) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].key() != b[i].key() || a[i].Bundle != b[i].Bundle || a[i].Manifest != b[i].Manifest {
			return false
		}
	}
	return true
}
