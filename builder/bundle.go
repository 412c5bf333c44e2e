package builder

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// nodeBuiltins are Node 22's built-in module names. The bundle leaves them to the Node
// layer's require, which provides some and refuses the rest (images/src/modules.js).
var nodeBuiltins = []string{
	"assert", "assert/strict", "async_hooks", "buffer", "child_process", "cluster", "console",
	"constants", "crypto", "dgram", "diagnostics_channel", "dns", "dns/promises", "domain",
	"events", "fs", "fs/promises", "http", "http2", "https", "inspector", "inspector/promises",
	"module", "net", "os", "path", "path/posix", "path/win32", "perf_hooks", "process",
	"punycode", "querystring", "readline", "readline/promises", "repl", "stream",
	"stream/consumers", "stream/promises", "stream/web", "string_decoder", "sys", "timers",
	"timers/promises", "tls", "trace_events", "tty", "url", "util", "util/types", "v8", "vm",
	"wasi", "worker_threads", "zlib", "sea", "sqlite", "test", "test/reporters",
}

// layerModules are the built-ins the node22 layer implements; requiring any other
// built-in throws ERR_NOT_AVAILABLE_IN_REACTORS (images/README.md).
var layerModules = map[string]bool{
	"assert": true, "assert/strict": true, "buffer": true, "console": true, "crypto": true,
	"events": true, "path": true, "path/posix": true, "process": true, "punycode": true,
	"querystring": true, "stream": true, "stream/promises": true, "string_decoder": true,
	"sys": true, "timers": true, "timers/promises": true, "url": true, "util": true,
	"util/types": true, "zlib": true, "http": true, "https": true, "net": true, "tls": true,
	sdkModule: true,
}

// sdkModule is provided by every image, so a reactor never bundles its own copy.
const sdkModule = "@basis-theory/basis-theory-reactor-formulas-sdk-js"

var builtinFilter = func() string {
	names := append([]string{sdkModule}, nodeBuiltins...)
	for i, n := range names {
		names[i] = regexp.QuoteMeta(n)
	}
	return `^(node:.*|(` + strings.Join(names, "|") + `))$`
}()

// externals keeps Node built-ins (with or without "node:") out of the bundle.
var externals = api.Plugin{
	Name: "reactord-node-builtins",
	Setup: func(pb api.PluginBuild) {
		pb.OnResolve(api.OnResolveOptions{Filter: builtinFilter}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
			return api.OnResolveResult{Path: a.Path, External: true}, nil
		})
	},
}

// bundled is esbuild's output and what the metafile tells about it.
type bundled struct {
	code []byte
	// required maps each built-in the bundle requires to the packages requiring it.
	required map[string][]string
	// bytes is how many output bytes each node_modules location contributes.
	bytes map[string]int
}

type metafile struct {
	Inputs map[string]struct {
		Imports []struct {
			Path     string `json:"path"`
			External bool   `json:"external"`
		} `json:"imports"`
	} `json:"inputs"`
	Outputs map[string]struct {
		Inputs map[string]struct {
			BytesInOutput int `json:"bytesInOutput"`
		} `json:"inputs"`
	} `json:"outputs"`
}

// location is the node_modules location an input path belongs to ("" for the reactor).
func location(input string) string {
	i := strings.LastIndex(input, "node_modules/")
	if i < 0 {
		return ""
	}
	rest := input[i+len("node_modules/"):]
	parts := strings.SplitN(rest, "/", 3)
	n := 1
	if strings.HasPrefix(rest, "@") {
		n = 2
	}
	if len(parts) < n {
		return ""
	}
	return input[:i] + "node_modules/" + strings.Join(parts[:n], "/")
}

// bundle compiles the reactor's code, resolved from dir's node_modules, into one
// CommonJS script for the engine.
func bundle(ctx context.Context, dir string, code []byte) (*bundled, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("builder: %w", err)
	}
	opts := api.BuildOptions{
		Stdin: &api.StdinOptions{
			Contents:   string(code),
			ResolveDir: dir,
			Sourcefile: "reactor.js",
			Loader:     api.LoaderJS,
		},
		AbsWorkingDir: dir,
		// No tsconfig.json lookups: their "extends" may name any file on the host.
		TsconfigRaw: "{}",
		Bundle:      true,
		Write:       false,
		Outfile:     "bundle.js",
		Format:      api.FormatCommonJS,
		// The engine is no Node: packages' browser builds (fetch, Web Crypto) are the
		// ones that run on the layer; Node built-ins stay external for its require.
		Platform:          api.PlatformBrowser,
		Target:            api.ES2022,
		MinifySyntax:      true,
		MinifyWhitespace:  true,
		Define:            map[string]string{"process.env.NODE_ENV": `"production"`},
		Metafile:          true,
		LogLevel:          api.LogLevelSilent,
		Plugins:           []api.Plugin{externals, confine(root)},
		Charset:           api.CharsetUTF8,
		LegalComments:     api.LegalCommentsNone,
		TreeShaking:       api.TreeShakingTrue,
		IgnoreAnnotations: false,
	}
	done := make(chan api.BuildResult, 1)
	go func() { done <- api.Build(opts) }()
	var res api.BuildResult
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res = <-done:
	}
	if len(res.Errors) > 0 {
		var msgs []string
		// One message per place: a glob-style import of a host directory fails once
		// per file it matched, and listing them all would list the directory.
		seen := map[string]bool{}
		for _, m := range res.Errors {
			msg, place := m.Text, ""
			if l := m.Location; l != nil {
				place = fmt.Sprintf("%s:%d:%d", l.File, l.Line, l.Column+1)
				msg = place + ": " + msg
			}
			if place != "" && seen[place] {
				continue
			}
			seen[place] = place != ""
			if len(msgs) == 5 {
				msgs = append(msgs, "and more")
				break
			}
			msgs = append(msgs, msg)
		}
		return nil, errorf(CodeBuildFailed, "bundling failed: %s", strings.Join(msgs, "; "))
	}
	if len(res.OutputFiles) != 1 {
		return nil, errorf(CodeBuildFailed, "bundling produced %d files, want 1", len(res.OutputFiles))
	}
	var meta metafile
	if err := json.Unmarshal([]byte(res.Metafile), &meta); err != nil {
		return nil, fmt.Errorf("esbuild metafile: %w", err)
	}
	out := &bundled{code: res.OutputFiles[0].Contents, required: map[string][]string{}, bytes: map[string]int{}}
	for path, in := range meta.Inputs {
		who := location(path)
		if who == "" {
			who = "reactor"
		} else {
			who = strings.TrimPrefix(who[strings.LastIndex(who, "node_modules/"):], "node_modules/")
		}
		for _, imp := range in.Imports {
			if !imp.External {
				continue
			}
			m := strings.TrimPrefix(imp.Path, "node:")
			if !contains(out.required[m], who) {
				out.required[m] = append(out.required[m], who)
			}
		}
	}
	for m := range out.required {
		sort.Strings(out.required[m])
	}
	for _, o := range meta.Outputs {
		for path, in := range o.Inputs {
			if loc := location(path); loc != "" {
				out.bytes[loc] += in.BytesInOutput
			}
		}
	}
	return out, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// unavailable lists the built-ins the bundle requires that the layer refuses, as
// "http (required by node-fetch)".
func (b *bundled) unavailable() []string {
	var out []string
	for m, who := range b.required {
		if !layerModules[m] {
			out = append(out, fmt.Sprintf("%s (required by %s)", m, strings.Join(who, ", ")))
		}
	}
	sort.Strings(out)
	return out
}
