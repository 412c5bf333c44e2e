package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/reactord/reactord/images"
	"github.com/reactord/reactord/internal/apierror"
	"github.com/reactord/reactord/internal/service"
	"github.com/reactord/reactord/runtime"
)

// runCommand is `reactord run`: one invocation of a reactor file, exactly as the
// service runs it, printed as {"status": N, "body": ...}.
func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	argsJSON := fs.String("args", "{}", "the request's args, as JSON")
	configJSON := fs.String("config", "{}", "the reactor's configuration, a JSON object of strings")
	image := fs.String("image", images.NodeBT, "runtime image: "+strings.Join(images.Names(), ", "))
	timeout := fs.Float64("timeout", runtime.DefaultTimeout.Seconds(), "timeout in seconds, 1 to 30")
	resources := fs.String("resources", string(runtime.Standard), "resource tier: standard, large or xlarge")
	allowPrivate := fs.Bool("egress-allow-private", os.Getenv("REACTORD_EGRESS_ALLOW_PRIVATE") == "true", "let fetch reach loopback and private addresses (REACTORD_EGRESS_ALLOW_PRIVATE)")
	cacheDir := fs.String("cache-dir", envOr("REACTORD_CACHE_DIR", defaultCacheDir()), "engine compilation cache (REACTORD_CACHE_DIR); empty disables it")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: reactord run FILE.js [flags]\n\nRuns one invocation and prints {\"status\": N, \"body\": ...}; console output goes to stderr.\n\nFlags:")
		fs.PrintDefaults()
	}
	file, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "reactord run: "+format+"\n", a...)
		return exitUsage
	}
	if file == "" {
		fs.Usage()
		return exitUsage
	}
	code, err := os.ReadFile(file)
	if err != nil {
		return usageErr("%v", err)
	}
	if !json.Valid([]byte(*argsJSON)) {
		return usageErr("--args is not valid JSON")
	}
	var config map[string]string
	if err := json.Unmarshal([]byte(*configJSON), &config); err != nil {
		return usageErr("--config must be a JSON object of strings: %v", err)
	}
	if _, err := images.Lookup(*image); err != nil {
		return usageErr("%v", err)
	}
	if *timeout < 1 || *timeout > runtime.MaxTimeout.Seconds() {
		return usageErr("--timeout must be between 1 and %v seconds", runtime.MaxTimeout.Seconds())
	}
	limits, err := runtime.TierLimits(runtime.Tier(*resources))
	if err != nil {
		return usageErr("%v", err)
	}
	limits.Timeout = time.Duration(*timeout * float64(time.Second))

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng, err := runtime.NewEngine(ctx, runtime.Config{CacheDir: *cacheDir, Logger: log, Async: asyncOps(*allowPrivate)})
	if err != nil {
		fmt.Fprintln(stderr, "reactord run:", err)
		return 1
	}
	defer eng.Close(ctx)

	resp, err := invokeOnce(ctx, eng, runtime.Bundle{Image: *image, Code: code, Filename: filepath.Base(file)}, limits,
		runtime.Event{Args: json.RawMessage(*argsJSON), Configuration: config})
	if err != nil {
		fmt.Fprintln(stderr, "reactord run:", err)
		return 1
	}
	for _, l := range resp.Logs {
		fmt.Fprintf(stderr, "[%s] %s\n", l.Level, l.Message)
	}
	if resp.LogsTruncated {
		fmt.Fprintln(stderr, "[reactord] console output truncated at", limits.MaxLogs, "bytes")
	}
	if resp.Tokenize != nil {
		fmt.Fprintln(stderr, "[reactord] the result asks to tokenize data; `reactord run` has no token store, so tokens is null")
	}
	body := resp.Body
	if !strings.HasPrefix(resp.ContentType, "application/json") || !json.Valid(body) {
		body, _ = json.Marshal(string(body))
	}
	out, _ := json.Marshal(struct {
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
	}{resp.Status, body})
	fmt.Fprintln(stdout, string(out))
	return 0
}

// invokeOnce loads the bundle and runs one invocation; code that cannot load is
// answered as the API does at create time (422).
func invokeOnce(ctx context.Context, eng *runtime.Engine, b runtime.Bundle, limits runtime.Limits, ev runtime.Event) (runtime.Response, error) {
	snap, err := eng.Load(ctx, b)
	var codeErr *runtime.CodeError
	if errors.As(err, &codeErr) {
		body := apierror.Fields(422, codeErr.Message, map[string][]string{"code": {codeErr.Message}}).JSON()
		return runtime.Response{Status: 422, Body: body, ContentType: "application/json"}, nil
	}
	if err != nil {
		return runtime.Response{}, err
	}
	defer snap.Close()
	in, err := snap.NewInstance(ctx, limits)
	if err != nil {
		return runtime.Response{}, err
	}
	defer in.Close(ctx)
	return in.Invoke(ctx, ev)
}

// parseInterleaved parses flags that may come before or after the one positional
// argument, and returns that argument.
func parseInterleaved(fs *flag.FlagSet, args []string) (string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch len(positional) {
	case 0:
		return "", nil
	case 1:
		return positional[0], nil
	}
	fmt.Fprintf(fs.Output(), "expected one file, got %d: %s\n", len(positional), strings.Join(positional, " "))
	return "", errors.New("too many arguments")
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func defaultCacheDir() string { return service.DefaultCacheDir() }

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return "reactord " + bi.Main.Version
	}
	return "reactord (devel)"
}
