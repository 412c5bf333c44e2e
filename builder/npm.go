package builder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"deps.dev/util/semver"
)

var (
	// npm's rules for new package names: lowercase, URL-safe, optionally scoped.
	pkgName = regexp.MustCompile(`^(@[a-z0-9-~][a-z0-9-._~]*/)?[a-z0-9-~][a-z0-9-._~]*$`)
	// An exact semver version: a pin, which needs no resolving.
	exactVersion = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

	notTarget   = regexp.MustCompile(`No matching version found for (\S+?)\.?\s*$`)
	notFound404 = regexp.MustCompile(`'([^' ]+)' (?:is not in this registry|could not be found)`)
)

// maxRange bounds a version range's length (npm's own limit is 256).
const maxRange = 256

// CheckVersion reports whether v is an exact version or an npm semver range (1.2.3,
// ^1.3.2, ~1.2, 1.x, >=1 <2, 1.2.3 - 2.0.0, ... joined by ||). Dist-tags (latest),
// URLs, git, file and alias references are refused: they are not reproducible, and
// file and git references would reach outside the registry.
func CheckVersion(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("a version or semver range is required (like 1.2.3 or ^1.2.3)")
	}
	if len(v) > maxRange {
		return fmt.Errorf("the version range is longer than %d characters", maxRange)
	}
	if _, err := semver.NPM.ParseConstraint(v); err != nil {
		return fmt.Errorf("%q is not a version or semver range (like 1.2.3 or ^1.2.3; tags, URLs, git and file references are not accepted)", v)
	}
	return nil
}

// checkVersions validates dependencies or resolutions: registry names, and versions
// or semver ranges.
func checkVersions(field string, m map[string]string) *Error {
	for name, v := range m {
		if len(name) > 214 || !pkgName.MatchString(name) {
			return errorf(CodeInvalidDependencies, "%s: %q is not a valid npm package name", field, name)
		}
		if err := CheckVersion(v); err != nil {
			return errorf(CodeInvalidDependencies, "%s: %s: %v", field, name, err)
		}
	}
	return nil
}

// pinned reports whether every version in the maps is exact.
func pinned(maps ...map[string]string) bool {
	for _, m := range maps {
		for _, v := range m {
			if !exactVersion.MatchString(v) {
				return false
			}
		}
	}
	return true
}

// install runs npm in dir (package.json already written) and returns package-lock.json.
// With a lockfile in dir it runs npm ci, which installs exactly that tree; fresh asks
// the registry for current versions instead of trusting cached metadata, so that a
// range resolves to what is published now.
func (b *Builder) install(ctx context.Context, dir string, ci, fresh bool) ([]byte, error) {
	verb := "install"
	if ci {
		verb = "ci"
	}
	args := []string{verb, "--ignore-scripts", "--no-audit", "--no-fund", "--no-update-notifier",
		"--loglevel=error", "--cache", filepath.Join(b.cfg.CacheDir, "npm")}
	if !fresh {
		args = append(args, "--prefer-offline")
	}
	if b.cfg.Registry != "" {
		args = append(args, "--registry", b.cfg.Registry)
	}
	cmd := exec.CommandContext(ctx, b.npm, args...)
	cmd.Dir = dir
	// Install scripts are also refused through the environment, in case an npmrc
	// or a workspace setting would turn them back on.
	cmd.Env = append(os.Environ(), "npm_config_ignore_scripts=true", "npm_config_update_notifier=false")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	b.log.DebugContext(ctx, "npm install", "dir", dir, "took", time.Since(start), "err", err)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, npmError(stderr.String(), err)
	}
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return nil, errorf(CodeInstallFailed, "npm wrote no package-lock.json: %v", err)
	}
	return lock, nil
}

// npmError turns npm's output into an error a user can act on.
func npmError(out string, runErr error) *Error {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "npm warn") || strings.Contains(l, "A complete log of this run") {
			continue
		}
		if m := notTarget.FindStringSubmatch(l); m != nil {
			name, version := splitSpec(m[1])
			return errorf(CodeDependencyNotFound, "%s@%s is not in the npm registry: no version %s of %s exists", name, version, version, name)
		}
		if m := notFound404.FindStringSubmatch(l); m != nil {
			name, _ := splitSpec(m[1])
			return errorf(CodeDependencyNotFound, "package %s is not in the npm registry", name)
		}
		lines = append(lines, strings.TrimPrefix(l, "npm error "))
	}
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	var ee *exec.Error
	if errors.As(runErr, &ee) {
		return errorf(CodeInstallFailed, "npm is required on the build machine: %v", runErr)
	}
	return errorf(CodeInstallFailed, "npm install failed (%v): %s", runErr, strings.Join(lines, "; "))
}

// splitSpec splits "name@version" (the name may be scoped).
func splitSpec(s string) (string, string) {
	i := strings.LastIndex(s, "@")
	if i <= 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// packageJSON is the manifest npm installs from: dependencies, and resolutions as npm
// overrides (which apply them at any depth of the tree).
func packageJSON(deps, resolutions map[string]string) ([]byte, error) {
	pj := map[string]any{"name": "reactord-reactor", "version": "0.0.0", "private": true, "dependencies": deps}
	if len(resolutions) > 0 {
		overrides := map[string]string{}
		for n, v := range resolutions {
			// npm refuses an override that conflicts with a direct dependency unless it
			// references it; a resolution of a direct dependency simply wins.
			if _, ok := deps[n]; ok {
				deps[n] = v
			}
			overrides[n] = v
		}
		pj["overrides"] = overrides
	}
	return json.MarshalIndent(pj, "", "  ")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

var errStale = errors.New("stale install")

// installed returns the lockfile of a finished install in dir.
func installed(dir string) ([]byte, error) {
	if !fileExists(filepath.Join(dir, ".complete")) {
		return nil, errStale
	}
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errStale, err)
	}
	return lock, nil
}
