package builder

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Package is one installed package of the resolved tree.
type Package struct {
	// Name is the package's registry name.
	Name string `json:"name"`
	// Version is the resolved version.
	Version string `json:"version"`
	// Location is its path in node_modules, as package-lock.json names it.
	Location string `json:"location"`
	// DependencyPath leads from a direct dependency to this package.
	DependencyPath []string `json:"dependency_path"`
	// Integrity is the tarball's subresource integrity from the lockfile.
	Integrity string `json:"integrity,omitempty"`
	// BundledBytes is how much of the bundle this package's code takes (0: unused).
	BundledBytes int `json:"bundled_bytes"`
}

type lockEntry struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Integrity            string            `json:"integrity"`
	Link                 bool              `json:"link"`
	Dependencies         map[string]string `json:"dependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
}

type lockfile struct {
	LockfileVersion int                  `json:"lockfileVersion"`
	Packages        map[string]lockEntry `json:"packages"`
}

// parent is the location whose node_modules holds loc ("" is the root).
func parent(loc string) string {
	i := strings.LastIndex(loc, "node_modules/")
	if i <= 0 {
		return ""
	}
	return strings.TrimSuffix(loc[:i], "/")
}

func childLoc(loc, name string) string {
	if loc == "" {
		return "node_modules/" + name
	}
	return loc + "/node_modules/" + name
}

// resolve finds the location Node would load name from when required at loc.
func (l *lockfile) resolve(loc, name string) (string, bool) {
	for {
		c := childLoc(loc, name)
		if e, ok := l.Packages[c]; ok && !e.Link {
			return c, true
		}
		if loc == "" {
			return "", false
		}
		loc = parent(loc)
	}
}

// tree lists the installed packages of a package-lock.json (v2 or v3), each with its
// shortest dependency path from a direct dependency, sorted by location.
func tree(lock []byte, direct map[string]string) ([]Package, error) {
	var l lockfile
	if err := json.Unmarshal(lock, &l); err != nil {
		return nil, fmt.Errorf("package-lock.json: %w", err)
	}
	if l.LockfileVersion < 2 || l.Packages == nil {
		return nil, fmt.Errorf("package-lock.json: lockfileVersion %d has no packages map (npm 7 or later is required)", l.LockfileVersion)
	}
	paths := map[string][]string{}
	var queue []string
	names := make([]string, 0, len(direct))
	for n := range direct {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		loc, ok := l.resolve("", n)
		if !ok {
			return nil, fmt.Errorf("package-lock.json: direct dependency %s is not installed", n)
		}
		if _, seen := paths[loc]; !seen {
			paths[loc] = []string{n}
			queue = append(queue, loc)
		}
	}
	for len(queue) > 0 {
		loc := queue[0]
		queue = queue[1:]
		e := l.Packages[loc]
		var deps []string
		for _, m := range []map[string]string{e.Dependencies, e.OptionalDependencies, e.PeerDependencies} {
			for n := range m {
				deps = append(deps, n)
			}
		}
		sort.Strings(deps)
		for _, n := range deps {
			c, ok := l.resolve(loc, n)
			if !ok {
				continue // an optional or peer dependency npm did not install
			}
			if _, seen := paths[c]; seen {
				continue
			}
			paths[c] = append(append([]string(nil), paths[loc]...), n)
			queue = append(queue, c)
		}
	}
	var out []Package
	for loc, e := range l.Packages {
		if loc == "" || e.Link {
			continue
		}
		name := e.Name
		if name == "" {
			name = loc[strings.LastIndex(loc, "node_modules/")+len("node_modules/"):]
		}
		p, ok := paths[loc]
		if !ok {
			continue // not reachable from a direct dependency (npm keeps extraneous entries rarely)
		}
		out = append(out, Package{Name: name, Version: e.Version, Location: loc, DependencyPath: p, Integrity: e.Integrity})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Location < out[j].Location })
	return out, nil
}
