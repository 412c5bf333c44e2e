package builder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// bundledExtensions are the files a bundle may contain: code and JSON. esbuild's
// other loaders (text, binary, base64, dataurl, file, copy, css) embed a file's bytes
// as they are, which would let code or a dependency carry any readable file into
// the bundle.
var bundledExtensions = map[string]bool{
	".js": true, ".mjs": true, ".cjs": true, ".jsx": true,
	".ts": true, ".mts": true, ".cts": true, ".tsx": true,
	".json": true,
}

// confine is an esbuild plugin that keeps a build inside root, the build's directory
// (the reactor's installed node_modules): every file esbuild loads must lie, after
// symlinks, under root; import attributes other than { type: "json" } are refused;
// and only JavaScript, TypeScript and JSON files are loaded. The load check is the
// one that holds: it sees every file, whatever led to it (a package.json "main" or
// "browser" field, a symlink, a glob-style require('./dir/' + name), which esbuild
// expands without resolve plugins). The resolve check refuses absolute and "../"
// paths leading outside before esbuild looks at them. Asking esbuild to resolve every
// import from the plugin (PluginBuild.Resolve) would also name the import for
// symlinks, but tripled the CPU time of bundling.
func confine(root string) api.Plugin {
	return api.Plugin{
		Name: "reactord-confine",
		Setup: func(pb api.PluginBuild) {
			pb.OnResolve(api.OnResolveOptions{Filter: ".*"}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
				if err := checkAttributes(a.Path, a.With); err != nil {
					return api.OnResolveResult{}, err
				}
				// Refuse a path that lies outside before resolving it at all.
				if a.Namespace == "file" || a.Namespace == "" {
					var lexical string
					switch {
					case filepath.IsAbs(a.Path):
						lexical = a.Path
					case strings.HasPrefix(a.Path, "./") || strings.HasPrefix(a.Path, "../") || a.Path == "." || a.Path == "..":
						if a.ResolveDir != "" {
							lexical = filepath.Join(a.ResolveDir, a.Path)
						}
					}
					if lexical != "" {
						if err := checkInside(root, a.Path, lexical); err != nil {
							return api.OnResolveResult{}, err
						}
					}
				}
				return api.OnResolveResult{}, nil
			})
			pb.OnLoad(api.OnLoadOptions{Filter: ".*", Namespace: "file"}, func(a api.OnLoadArgs) (api.OnLoadResult, error) {
				if err := checkAttributes(a.Path, a.With); err != nil {
					return api.OnLoadResult{}, err
				}
				if err := checkInside(root, a.Path, a.Path); err != nil {
					return api.OnLoadResult{}, err
				}
				// A missing file loads as nothing: a package's "browser" map disabling a
				// module names a path that need not exist, and esbuild gives it an
				// empty module; any other missing file fails in esbuild.
				if _, err := os.Stat(a.Path); err == nil && !bundledExtensions[strings.ToLower(filepath.Ext(a.Path))] {
					// Named relative to the build directory, which is the gateway's own.
					name := a.Path
					if rel, err := filepath.Rel(root, a.Path); err == nil {
						name = rel
					}
					return api.OnLoadResult{}, fmt.Errorf("refused %q: only JavaScript, TypeScript and JSON files are bundled into a reactor", name)
				}
				// No contents: esbuild goes on to read the file with its default loader.
				return api.OnLoadResult{}, nil
			})
		},
	}
}

// checkAttributes refuses import attributes except { type: "json" }: the others pick
// loaders that embed a file's raw bytes.
func checkAttributes(path string, with map[string]string) error {
	var bad []string
	for k, v := range with {
		if k == "type" && v == "json" {
			continue
		}
		bad = append(bad, fmt.Sprintf("%s: %q", k, v))
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("refused %q: import attributes other than { type: \"json\" } are not allowed in reactor builds (with { %s })", path, strings.Join(bad, ", "))
}

// checkInside returns an error naming what unless path, with every symlink resolved,
// lies under root (itself a resolved path).
func checkInside(root, what, path string) error {
	real, err := realPath(path)
	if err != nil {
		return fmt.Errorf("refused %q: %w", what, err)
	}
	if inside(root, real) {
		return nil
	}
	if what == real {
		return fmt.Errorf("refused %q: it is outside the build directory; reactors may bundle only their own code and their dependencies' files", what)
	}
	return fmt.Errorf("refused %q: it resolves to %s, outside the build directory; reactors may bundle only their own code and their dependencies' files", what, real)
}

// realPath resolves path's symlinks. A path that does not exist resolves through its
// nearest existing ancestor, so that a missing file still has a location to check.
func realPath(path string) (string, error) {
	path = filepath.Clean(path)
	var rest []string
	for {
		real, err := filepath.EvalSymlinks(path)
		if err == nil {
			return filepath.Join(append([]string{real}, rest...)...), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(path)
		if parent == path {
			return "", err
		}
		rest = append([]string{filepath.Base(path)}, rest...)
		path = parent
	}
}

func inside(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(os.PathSeparator)) && !filepath.IsAbs(rel)
}
