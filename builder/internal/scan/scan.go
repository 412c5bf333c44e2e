// Package scan matches npm packages against OSV advisories with osv-scalibr's matchers:
// offline from a local copy of OSV's npm export (all.zip), or online against an OSV API.
package scan

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/osv-scalibr/enricher/vulnmatch/osvdev"
	"github.com/google/osv-scalibr/enricher/vulnmatch/osvlocal"
	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/inventory"
	osvpb "github.com/ossf/osv-schema/bindings/go/osvschema"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
	"google.golang.org/protobuf/encoding/protojson"
	osvclient "osv.dev/bindings/go/osvdev"
)

// Package is one resolved npm package.
type Package struct{ Name, Version string }

// Match is one advisory affecting one package version.
type Match struct {
	Package  Package
	OSVID    string
	Aliases  []string
	Summary  string
	Severity string // LOW, MEDIUM, HIGH, CRITICAL or UNKNOWN
}

// Scanner finds advisories for packages. Exactly one of its sources is used: the local
// database when DB is set, else the API.
type Scanner struct {
	db  string
	api string

	mu     sync.Mutex
	loaded *localDB
}

type localDB struct {
	path    string
	modTime time.Time
	size    int64
	// byName indexes the advisories by affected package name, so a package is
	// matched against its own advisories only, not the whole database.
	byName map[string][]*osvpb.Vulnerability
}

// New returns a scanner over the local database directory db or, when db is empty, the
// OSV API at api. Both empty returns nil: nothing is scanned.
func New(db, api string) *Scanner {
	if db == "" && api == "" {
		return nil
	}
	return &Scanner{db: db, api: strings.TrimRight(api, "/")}
}

// Source describes where advisories come from, for reports.
func (s *Scanner) Source() string {
	if s.db != "" {
		return "osv-offline:" + s.db
	}
	return "osv-api:" + s.api
}

// zipPath finds npm/all.zip under dir, in osv-scanner's offline layout
// (DIR/osv-scanner/npm/all.zip), osv-scalibr's (DIR/osv-scalibr/npm/all.zip) or plainly
// at DIR/npm/all.zip.
func zipPath(dir string) (string, error) {
	for _, sub := range []string{"", "osv-scanner", "osv-scalibr"} {
		p := filepath.Join(dir, sub, "npm", "all.zip")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no OSV database at %s (want %s, as osv-scanner --download-offline-databases writes it, or %s)",
		dir, filepath.Join(dir, "osv-scanner", "npm", "all.zip"), filepath.Join(dir, "npm", "all.zip"))
}

// load reads the npm advisories once and again only when the file changes.
func (s *Scanner) load(ctx context.Context) (map[string][]*osvpb.Vulnerability, error) {
	p, err := zipPath(s.db)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.loaded; l != nil && l.path == p && l.modTime.Equal(st.ModTime()) && l.size == st.Size() {
		return l.byName, nil
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		return nil, fmt.Errorf("read OSV database %s: %w", p, err)
	}
	defer zr.Close()
	byName := map[string][]*osvpb.Vulnerability{}
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("read %s in %s: %w", f.Name, p, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s in %s: %w", f.Name, p, err)
		}
		v := &osvpb.Vulnerability{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, v); err != nil {
			return nil, fmt.Errorf("OSV record %s in %s: %w", f.Name, p, err)
		}
		if v.GetWithdrawn() != nil {
			continue
		}
		seen := map[string]bool{}
		for _, a := range v.GetAffected() {
			if n := a.GetPackage().GetName(); n != "" && !seen[n] {
				seen[n] = true
				byName[n] = append(byName[n], v)
			}
		}
	}
	s.loaded = &localDB{path: p, modTime: st.ModTime(), size: st.Size(), byName: byName}
	return byName, nil
}

func toExtractor(pkgs []Package) []*extractor.Package {
	out := make([]*extractor.Package, len(pkgs))
	for i, p := range pkgs {
		out[i] = &extractor.Package{Name: p.Name, Version: p.Version, PURLType: "npm"}
	}
	return out
}

// Scan returns the advisories affecting pkgs.
func (s *Scanner) Scan(ctx context.Context, pkgs []Package) ([]Match, error) {
	if len(pkgs) == 0 {
		return nil, nil
	}
	ext := toExtractor(pkgs)
	var out []Match
	if s.db != "" {
		vulns, err := s.load(ctx)
		if err != nil {
			return nil, err
		}
		for i, ep := range ext {
			for _, v := range osvlocal.VulnerabilitiesAffectingPackage(vulns[ep.Name], ep) {
				out = append(out, match(pkgs[i], v))
			}
		}
		return out, nil
	}
	client := osvclient.DefaultClient()
	client.BaseHostURL = s.api
	client.Config.UserAgent = "reactord-builder"
	inv := &inventory.Inventory{Packages: ext}
	if err := osvdev.NewWithClient(client, time.Minute).Enrich(ctx, nil, inv); err != nil {
		return nil, fmt.Errorf("query OSV API %s: %w", s.api, err)
	}
	index := map[*extractor.Package]Package{}
	for i, ep := range ext {
		index[ep] = pkgs[i]
	}
	for _, pv := range inv.PackageVulns {
		p, ok := index[pv.Package]
		if !ok || pv.Vulnerability == nil {
			continue
		}
		out = append(out, match(p, pv.Vulnerability))
	}
	return out, nil
}

func match(p Package, v *osvpb.Vulnerability) Match {
	return Match{Package: p, OSVID: v.GetId(), Aliases: v.GetAliases(), Summary: v.GetSummary(), Severity: Severity(v)}
}

// Severity rates an advisory: the database's own rating (GitHub's
// database_specific.severity) when present, else the highest CVSS base score.
func Severity(v *osvpb.Vulnerability) string {
	if ds := v.GetDatabaseSpecific(); ds != nil {
		if f, ok := ds.GetFields()["severity"]; ok {
			if s := normalize(f.GetStringValue()); s != "" {
				return s
			}
		}
	}
	best, found := -1.0, false
	consider := func(sevs []*osvpb.Severity) {
		for _, sev := range sevs {
			if score, err := cvssScore(sev); err == nil && score > best {
				best, found = score, true
			}
		}
	}
	consider(v.GetSeverity())
	for _, a := range v.GetAffected() {
		consider(a.GetSeverity())
	}
	if !found {
		return "UNKNOWN"
	}
	r, err := gocvss31.Rating(best)
	if err != nil {
		return "UNKNOWN"
	}
	return normalize(r)
}

func normalize(s string) string {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "LOW":
		return "LOW"
	case "MODERATE", "MEDIUM":
		return "MEDIUM"
	case "HIGH":
		return "HIGH"
	case "CRITICAL":
		return "CRITICAL"
	case "NONE":
		return "LOW"
	}
	return ""
}

func cvssScore(sev *osvpb.Severity) (float64, error) {
	vec := sev.GetScore()
	switch {
	case strings.HasPrefix(vec, "CVSS:3.1/"):
		c, err := gocvss31.ParseVector(vec)
		if err != nil {
			return 0, err
		}
		return c.BaseScore(), nil
	case strings.HasPrefix(vec, "CVSS:3.0/"):
		c, err := gocvss30.ParseVector(vec)
		if err != nil {
			return 0, err
		}
		return c.BaseScore(), nil
	case strings.HasPrefix(vec, "CVSS:4.0/"):
		c, err := gocvss40.ParseVector(vec)
		if err != nil {
			return 0, err
		}
		return c.Score(), nil
	}
	return 0, errors.New("not a CVSS v3/v4 vector")
}

// Stamp identifies the offline database file's current version (modification time and
// size); "" for the API or when the file is missing.
func (s *Scanner) Stamp() string {
	if s.db == "" {
		return ""
	}
	p, err := zipPath(s.db)
	if err != nil {
		return ""
	}
	st, err := os.Stat(p)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%s %d %d", p, st.ModTime().UnixNano(), st.Size())
}
