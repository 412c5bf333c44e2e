package builder

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"strings"

	"github.com/reactord/reactord/builder/internal/scan"
)

// Scanner checks a resolved package tree against OSV advisories. The builder scans
// each build with one; rescans of deployed bundles and `reactord scan` use it alone.
type Scanner struct {
	s        *scan.Scanner
	required bool
	log      *slog.Logger
}

// NewScanner scans against the local database directory db or, when db is empty, the
// OSV API at api. With required, a scan that cannot run (no source, an unreadable
// database, an unreachable API) is a CodeScanUnavailable failure; without, the tree
// passes unscanned and the report's Note says why.
func NewScanner(db, api string, required bool, log *slog.Logger) *Scanner {
	if log == nil {
		log = slog.Default()
	}
	return &Scanner{s: scan.New(db, api), required: required, log: log}
}

// Source names where advisories come from ("" when none is configured).
func (s *Scanner) Source() string {
	if s.s == nil {
		return ""
	}
	return s.s.Source()
}

// DatabaseStamp identifies the current version of the offline database file (its
// modification time and size), "" for the API or a missing file: a change means the
// advisories changed.
func (s *Scanner) DatabaseStamp() string {
	if s.s == nil {
		return ""
	}
	return s.s.Stamp()
}

// Blocking reports whether a severity fails a build and counts as a finding of a
// deployed artifact: HIGH and CRITICAL.
func Blocking(severity string) bool { return severity == "HIGH" || severity == "CRITICAL" }

// Scan checks pkgs and returns the report and the HIGH and CRITICAL findings, sorted by
// package name and id. The error is a *Error (CodeScanUnavailable) or ctx's.
func (s *Scanner) Scan(ctx context.Context, pkgs []Package) (ScanReport, []Vulnerability, error) {
	if s.s == nil {
		r := ScanReport{Note: "not scanned for vulnerabilities: no OSV database (--osv-db DIR, REACTORD_OSV_DB) or OSV API (--osv-api URL) is configured", Findings: []Finding{}}
		if len(pkgs) > 0 {
			if s.required {
				return r, nil, errorf(CodeScanUnavailable, "the dependencies cannot be scanned for vulnerabilities: no OSV database or API is configured")
			}
			s.log.WarnContext(ctx, "builder: "+r.Note)
		}
		return r, nil, nil
	}
	r := ScanReport{Scanned: true, Source: s.s.Source(), Findings: []Finding{}}
	seen := map[scan.Package]Package{}
	var list []scan.Package
	for _, p := range pkgs {
		k := scan.Package{Name: p.Name, Version: p.Version}
		if q, ok := seen[k]; !ok || len(p.DependencyPath) < len(q.DependencyPath) {
			if !ok {
				list = append(list, k)
			}
			seen[k] = p
		}
	}
	r.Packages = len(list)
	matches, err := s.s.Scan(ctx, list)
	if ctx.Err() != nil {
		return r, nil, ctx.Err()
	}
	if err != nil {
		if s.required {
			return r, nil, errorf(CodeScanUnavailable, "the vulnerability scan could not run: %v", err)
		}
		r.Scanned = false
		r.Note = "not scanned for vulnerabilities: the scan could not run: " + err.Error()
		s.log.WarnContext(ctx, "builder: "+r.Note)
		return r, nil, nil
	}
	var fail []Vulnerability
	for _, mt := range matches {
		p := seen[mt.Package]
		v := Vulnerability{Name: p.Name, Version: p.Version, Severity: mt.Severity, ID: publicID(mt), DependencyPath: p.DependencyPath}
		r.Findings = append(r.Findings, Finding{Vulnerability: v, OSVID: mt.OSVID, Aliases: mt.Aliases, Summary: mt.Summary})
		if Blocking(v.Severity) {
			fail = append(fail, v)
		}
	}
	sort.Slice(r.Findings, func(i, j int) bool {
		a, c := r.Findings[i], r.Findings[j]
		if a.Name != c.Name {
			return a.Name < c.Name
		}
		return a.ID < c.ID
	})
	sort.Slice(fail, func(i, j int) bool {
		if fail[i].Name != fail[j].Name {
			return fail[i].Name < fail[j].Name
		}
		return fail[i].ID < fail[j].ID
	})
	return r, fail, nil
}

// publicID prefers the CVE alias, as Basis Theory's error_details show
// (CVE-2022-0536 for follow-redirects).
func publicID(m scan.Match) string {
	for _, a := range m.Aliases {
		if strings.HasPrefix(a, "CVE-") {
			return a
		}
	}
	return m.OSVID
}

// LockfilePackages lists the packages of an npm package-lock.json (v2 or v3) reachable
// from the root package's dependencies, each with its shortest dependency path: what
// a build of the same tree scans.
func LockfilePackages(lock []byte) ([]Package, error) {
	var root struct {
		Packages map[string]struct {
			Dependencies         map[string]string `json:"dependencies"`
			OptionalDependencies map[string]string `json:"optionalDependencies"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(lock, &root); err != nil {
		return nil, fmt.Errorf("package-lock.json: %w", err)
	}
	direct := map[string]string{}
	r := root.Packages[""]
	maps.Copy(direct, r.Dependencies)
	maps.Copy(direct, r.OptionalDependencies)
	return tree(lock, direct)
}
