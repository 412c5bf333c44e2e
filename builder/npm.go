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
)

var (
	// npm's rules for new package names: lowercase, URL-safe, optionally scoped.
	pkgName = regexp.MustCompile(`^(@[a-z0-9-~][a-z0-9-._~]*/)?[a-z0-9-~][a-z0-9-._~]*$`)
	// An exact semver version: no ranges, tags, URLs or git references.
	exactVersion = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

	notTarget   = regexp.MustCompile(`No matching version found for (\S+?)\.?\s*$`)
	notFound404 = regexp.MustCompile(`'([^' ]+)' (?:is not in this registry|could not be found)`)
)

// checkPinned validates dependencies or resolutions: registry names, exact versions.
func checkPinned(field string, m map[string]string) *Error {
	for name, v := range m {
		if len(name) > 214 || !pkgName.MatchString(name) {
			return errorf(CodeInvalidDependencies, "%s: %q is not a valid npm package name", field, name)
		}
		if !exactVersion.MatchString(v) {
			return errorf(CodeInvalidDependencies, "%s: %s must be pinned to an exact version (like 1.2.3), got %q", field, name, v)
		}
	}
	return nil
}

// install runs npm in dir (package.json already written) and returns package-lock.json.
func (b *Builder) install(ctx context.Context, dir string) ([]byte, error) {
	args := []string{"install", "--ignore-scripts", "--no-audit", "--no-fund", "--no-update-notifier",
		"--prefer-offline", "--loglevel=error", "--cache", filepath.Join(b.cfg.CacheDir, "npm")}
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
