package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"deps.dev/util/semver"

	"github.com/reactord/reactord/bundles"
	"github.com/reactord/reactord/images"
	"github.com/reactord/reactord/internal/apierror"
	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/store"
)

// maxWarmConcurrency bounds warm_concurrency, the instances kept ready per reactor.
const maxWarmConcurrency = 100

// runtimePermissions are what runtime.permissions may grant the code's bt client.
var runtimePermissions = []string{"token:create", "token:read", "token:reveal", "token:update", "token:delete", "token:search", "token:use"}

var packageName = regexp.MustCompile(`^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$`)

// validateRuntime checks a runtime object, of a reactor or a proxy's code
// transform; field prefixes the error keys ("runtime", "request_transforms[0].runtime").
func validateRuntime(rt *store.Runtime, field string, add func(field, msg string)) {
	if rt == nil {
		return
	}
	img, err := images.Lookup(rt.Image)
	if err != nil || rt.Image == "" {
		add(field+".image", fmt.Sprintf("image must be one of %v", images.Names()))
	}
	if maxT := int(runtime.MaxTimeout.Seconds()); rt.Timeout != 0 && (rt.Timeout < 1 || rt.Timeout > maxT) {
		add(field+".timeout", fmt.Sprintf("timeout must be between 1 and %d seconds", maxT))
	}
	if rt.Resources != "" {
		if _, err := runtime.TierLimits(runtime.Tier(rt.Resources)); err != nil {
			add(field+".resources", "resources must be one of "+tierNames())
		}
	}
	if rt.WarmConcurrency < 0 || rt.WarmConcurrency > maxWarmConcurrency {
		add(field+".warm_concurrency", fmt.Sprintf("warm_concurrency must be between 0 and %d", maxWarmConcurrency))
	}
	for _, perm := range rt.Permissions {
		if !slices.Contains(runtimePermissions, perm) {
			add(field+".permissions", fmt.Sprintf("%q is not a permission reactor code can hold (one of %v)", perm, runtimePermissions))
		}
	}
	if rt.Bundle != "" && (!img.Build || len(rt.Dependencies)+len(rt.Resolutions) > 0 || !bundles.ValidAddress(rt.Bundle)) {
		add(field+".bundle", "bundle is the sha256 of a published "+strings.Join(images.Built(), "/")+" bundle, without dependencies (the bundle holds them)")
	}
	if img.Build {
		validateDependencies(rt, field, add)
	} else if len(rt.Dependencies)+len(rt.Resolutions) > 0 {
		add(field+".dependencies", "dependencies and resolutions need an image with a build step ("+strings.Join(images.Built(), ", ")+"); "+rt.Image+" has curated packages")
	}
}

func tierNames() string {
	names := make([]string, len(runtime.Tiers))
	for i, t := range runtime.Tiers {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// validateDependencies checks that every dependency and resolution names an npm
// package and an exact version or an npm semver range (^1.3.2, ~1.2, >=1 <2), which
// npm resolves at build time; tags, URLs, git and file references are refused.
func validateDependencies(rt *store.Runtime, field string, add func(field, msg string)) {
	for f, deps := range map[string]map[string]string{field + ".dependencies": rt.Dependencies, field + ".resolutions": rt.Resolutions} {
		for name, v := range deps {
			if len(name) > 214 || !packageName.MatchString(name) {
				add(f, fmt.Sprintf("%q is not a valid npm package name", name))
			}
			if _, err := semver.NPM.ParseConstraint(v); err != nil || strings.TrimSpace(v) == "" || len(v) > 256 {
				add(f, fmt.Sprintf("%s@%s: use an exact version or a semver range (for example 1.2.3 or ^1.2.3); tags, URLs, git and file references are not accepted", name, v))
			}
		}
	}
}

// checkCode answers whether code on rt can be stored: code that needs a build is
// checked by its build (and needs a builder, or a published bundle); other code is
// loaded once here. field and rtField name the code and its runtime in field errors.
func (s *Server) checkCode(ctx context.Context, code string, rt *store.Runtime, field, rtField string) *apierror.Error {
	if rt.Built() {
		if !s.cfg.Builds.CanBuild() && rt.Bundle == "" {
			e := apierror.Fields(http.StatusUnprocessableEntity,
				"this deployment does not run the "+rt.Image+" builder; use "+images.Default+", or a bundle published with reactord publish (runtime.bundle)",
				map[string][]string{rtField + ".image": {rt.Image + " needs the builder"}})
			return &e
		}
		return nil // the build loads the bundle and reports code errors
	}
	image := images.Default
	if rt != nil && rt.Image != "" {
		image = rt.Image
	}
	// Untrusted code is evaluated within the limits it will run with.
	snap, err := s.cfg.Engine.Load(ctx, runtime.Bundle{Image: image, Code: []byte(code), Limits: rt.Limits()})
	var codeErr *runtime.CodeError
	if errors.As(err, &codeErr) {
		e := apierror.Fields(http.StatusUnprocessableEntity, codeErr.Message, map[string][]string{field: {codeErr.Message}})
		return &e
	}
	if err != nil {
		return &apierror.Error{Status: http.StatusInternalServerError, Detail: err.Error()}
	}
	snap.Close()
	return nil
}

// writeCodeError answers checkCode's refusal: a 4xx as is, a 500 logged.
func (s *Server) writeCodeError(w http.ResponseWriter, r *http.Request, e *apierror.Error) {
	if e.Status >= 500 {
		s.internal(w, r, errors.New(e.Detail))
		return
	}
	writeJSON(w, e.Status, e)
}
