package vulns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/reactord/reactord/builder"
)

// Buckets of this package: bundle manifests, findings, and the rescan lease.
const (
	ManifestsBucket = "reactord_bundle_packages"
	FindingsBucket  = "reactord_vulnerabilities"
	LeaseBucket     = "reactord_vulnerability_lease"
)

// Resource kinds a finding belongs to.
const (
	Reactor = "reactor"
	Proxy   = "proxy"
)

// Manifests remembers the resolved package tree of every built bundle, by the bundle's
// sha256, so that deployed code can be rescanned without building it again.
// Each gateway follows the revision of every entry: a finding holds for the
// manifest revision it was found in, since a rebuild can record another tree under
// the same bundle (a dependency the code never loads is not in the bundle).
type Manifests struct {
	kv jetstream.KeyValue

	mu   sync.RWMutex
	revs map[string]uint64
}

// OpenManifests opens (or creates) the manifest bucket.
func OpenManifests(ctx context.Context, js jetstream.JetStream) (*Manifests, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: ManifestsBucket, History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("vulns: open %s: %w", ManifestsBucket, err)
	}
	return &Manifests{kv: kv, revs: map[string]uint64{}}, nil
}

// Follow keeps the revisions current until ctx ends; it returns once they hold what
// the bucket held when it was called.
func (m *Manifests) Follow(ctx context.Context) error {
	w, err := m.kv.WatchAll(ctx, jetstream.MetaOnly())
	if err != nil {
		return fmt.Errorf("vulns: watch %s: %w", ManifestsBucket, err)
	}
	return follow(ctx, w, func(e jetstream.KeyValueEntry) {
		m.mu.Lock()
		if e.Operation() == jetstream.KeyValuePut {
			m.revs[e.Key()] = max(m.revs[e.Key()], e.Revision())
		} else {
			delete(m.revs, e.Key())
		}
		m.mu.Unlock()
	})
}

// Revision is the revision of bundle sha's manifest (0: none).
func (m *Manifests) Revision(sha string) uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.revs[sha]
}

// follow feeds the watcher's entries to apply until ctx ends, returning once the
// initial values were applied.
func follow(ctx context.Context, w jetstream.KeyWatcher, apply func(jetstream.KeyValueEntry)) error {
	ready := make(chan struct{})
	go func() {
		defer w.Stop()
		once := sync.OnceFunc(func() { close(ready) })
		defer once()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					once()
					continue
				}
				apply(e)
			}
		}
	}()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// manifestPackage is what a rescan needs of a builder.Package.
type manifestPackage struct {
	Name           string   `json:"name"`
	Version        string   `json:"version"`
	DependencyPath []string `json:"dependency_path"`
}

// Put records the packages bundle sha was built from.
func (m *Manifests) Put(ctx context.Context, sha string, pkgs []builder.Package) error {
	out := make([]manifestPackage, len(pkgs))
	for i, p := range pkgs {
		out[i] = manifestPackage{Name: p.Name, Version: p.Version, DependencyPath: p.DependencyPath}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	rev, err := m.kv.Put(ctx, sha, b)
	if err != nil {
		return fmt.Errorf("vulns: record the packages of bundle %s: %w", sha, err)
	}
	m.mu.Lock()
	m.revs[sha] = max(m.revs[sha], rev)
	m.mu.Unlock()
	return nil
}

// Get returns the packages of bundle sha; rev is 0 for a bundle with no manifest
// (published with `reactord publish`, or built before manifests were kept).
// The revision identifies this version of the manifest.
func (m *Manifests) Get(ctx context.Context, sha string) (pkgs []builder.Package, rev uint64, err error) {
	e, err := m.kv.Get(ctx, sha)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("vulns: packages of bundle %s: %w", sha, err)
	}
	var in []manifestPackage
	if err := json.Unmarshal(e.Value(), &in); err != nil {
		return nil, 0, fmt.Errorf("vulns: packages of bundle %s: %w", sha, err)
	}
	pkgs = make([]builder.Package, len(in))
	for i, p := range in {
		pkgs[i] = builder.Package{Name: p.Name, Version: p.Version, DependencyPath: p.DependencyPath}
	}
	return pkgs, e.Revision(), nil
}

// Finding is an open HIGH or CRITICAL advisory against a deployed resource: the fields
// of a build failure's error_details entry, and when it was first seen.
type Finding struct {
	builder.Vulnerability
	DiscoveredAt time.Time `json:"discovered_at"`
}

// key identifies a finding across rescans and bundle versions.
func (f Finding) key() string { return f.ID + " " + f.Name + "@" + f.Version }

// storedFinding is a Finding with the bundle, and the revision of its manifest, it
// was found in.
type storedFinding struct {
	Finding
	Bundle   string `json:"bundle"`
	Manifest uint64 `json:"manifest"`
}

// record is the findings of one resource.
type record struct {
	Kind     string          `json:"kind"`
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Findings []storedFinding `json:"findings"`
}

// Findings holds the open findings of every resource, in a key-value bucket shared by
// the cluster and followed in memory by each gateway.
type Findings struct {
	kv        jetstream.KeyValue
	manifests *Manifests

	mu    sync.RWMutex
	byKey map[string]*record
}

// OpenFindings opens (or creates) the findings bucket; findings hold for the
// manifests they were found in.
func OpenFindings(ctx context.Context, js jetstream.JetStream, manifests *Manifests) (*Findings, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: FindingsBucket, History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("vulns: open %s: %w", FindingsBucket, err)
	}
	return &Findings{kv: kv, manifests: manifests, byKey: map[string]*record{}}, nil
}

func findingKey(kind, id string) string { return kind + "." + id }

// Follow keeps the in-memory copy current until ctx ends; it returns once the copy
// holds what the bucket held when it was called.
func (f *Findings) Follow(ctx context.Context) error {
	w, err := f.kv.WatchFiltered(ctx, []string{Reactor + ".>", Proxy + ".>"})
	if err != nil {
		return fmt.Errorf("vulns: watch %s: %w", FindingsBucket, err)
	}
	return follow(ctx, w, func(e jetstream.KeyValueEntry) {
		f.mu.Lock()
		var r record
		if e.Operation() == jetstream.KeyValuePut && json.Unmarshal(e.Value(), &r) == nil {
			f.byKey[e.Key()] = &r
		} else {
			delete(f.byKey, e.Key())
		}
		f.mu.Unlock()
	})
}

// current reports whether a stored finding still holds: its bundle is served and its
// manifest was not replaced by a rebuild.
func (f *Findings) current(sf storedFinding, serving []string) bool {
	return (serving == nil || slices.Contains(serving, sf.Bundle)) && f.manifests.Revision(sf.Bundle) == sf.Manifest
}

// Open returns the open findings of a resource found in the bundles it serves now:
// a finding of a bundle an update replaced is resolved (the new bundle passed its
// build's scan), and so is one of a manifest a rebuild replaced. Sorted by package
// name and id; nil when none.
func (f *Findings) Open(kind, id string, serving []string) []Finding {
	f.mu.RLock()
	r := f.byKey[findingKey(kind, id)]
	f.mu.RUnlock()
	if r == nil {
		return nil
	}
	var out []Finding
	seen := map[string]bool{}
	for _, sf := range r.Findings {
		if serving != nil && f.current(sf, serving) && !seen[sf.key()] {
			seen[sf.key()] = true
			out = append(out, sf.Finding)
		}
	}
	return out
}

// stored returns the stored findings of a resource from the bucket itself.
func (f *Findings) stored(ctx context.Context, kind, id string) (*record, uint64, error) {
	e, err := f.kv.Get(ctx, findingKey(kind, id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("vulns: findings of %s %s: %w", kind, id, err)
	}
	var r record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return nil, 0, fmt.Errorf("vulns: findings of %s %s: %w", kind, id, err)
	}
	return &r, e.Revision(), nil
}

func (f *Findings) put(ctx context.Context, r *record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := f.kv.Put(ctx, findingKey(r.Kind, r.ID), b); err != nil {
		return fmt.Errorf("vulns: record findings of %s %s: %w", r.Kind, r.ID, err)
	}
	return nil
}

func (f *Findings) remove(ctx context.Context, kind, id string) error {
	err := f.kv.Delete(ctx, findingKey(kind, id))
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("vulns: clear findings of %s %s: %w", kind, id, err)
	}
	return nil
}

// keys lists the resources with stored findings.
func (f *Findings) keys() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]string, 0, len(f.byKey))
	for k := range f.byKey {
		out = append(out, k)
	}
	return out
}

// collector is the gauge of open findings by severity, read from the in-memory copy.
type collector struct {
	f    *Findings
	desc *prometheus.Desc
}

// Collector returns a Prometheus collector of reactord_vulnerabilities_open, the open
// findings of deployed resources by severity.
func (f *Findings) Collector() prometheus.Collector {
	return collector{f: f, desc: prometheus.NewDesc("reactord_vulnerabilities_open",
		"Open HIGH and CRITICAL vulnerability findings of deployed reactors and proxies, by severity.", []string{"severity"}, nil)}
}

func (c collector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c collector) Collect(ch chan<- prometheus.Metric) {
	counts := map[string]int{"HIGH": 0, "CRITICAL": 0}
	c.f.mu.RLock()
	for _, r := range c.f.byKey {
		seen := map[string]bool{}
		for _, sf := range r.Findings {
			if c.f.current(sf, nil) && !seen[sf.key()] {
				seen[sf.key()] = true
				counts[sf.Severity]++
			}
		}
	}
	c.f.mu.RUnlock()
	for sev, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), sev)
	}
}

// Blocking returns the oldest CRITICAL finding of open that has been open for at least
// after, or nil (always nil when after is not positive): Basis Theory blocks the
// invocation of code with unresolved CRITICAL findings after a remediation period.
func Blocking(open []Finding, after time.Duration, now time.Time) *Finding {
	if after <= 0 {
		return nil
	}
	var oldest *Finding
	for i, f := range open {
		if f.Severity == "CRITICAL" && now.Sub(f.DiscoveredAt) >= after && (oldest == nil || f.DiscoveredAt.Before(oldest.DiscoveredAt)) {
			oldest = &open[i]
		}
	}
	return oldest
}

// Describe names a finding for messages: id, severity, package and dependency path.
func (f Finding) Describe() string {
	return fmt.Sprintf("%s (%s) in %s@%s (dependency path %s), discovered at %s", f.ID, f.Severity, f.Name, f.Version,
		strings.Join(f.DependencyPath, " > "), f.DiscoveredAt.UTC().Format(time.RFC3339))
}
