package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"time"

	"github.com/reactord/reactord/egress"
	"github.com/reactord/reactord/internal/service"
	"github.com/reactord/reactord/runtime"
)

// asyncOps are the host operations reactor code may await in `reactord run`: fetch
// under the egress policy.
func asyncOps(allowPrivate bool) map[string]runtime.AsyncHandler {
	return map[string]runtime.AsyncHandler{"fetch": egress.New(egress.Policy{AllowPrivate: allowPrivate}, egress.Options{}).Handle}
}

// serviceCommand runs `serve` (all in one), `gateway` or `worker`.
func serviceCommand(ctx context.Context, role string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(role, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c service.Config
	c.Register(fs, service.Role(role))
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "reactord %s: unexpected arguments %v\n", role, fs.Args())
		return exitUsage
	}
	if err := c.Validate(); err != nil {
		fmt.Fprintf(stderr, "reactord %s: invalid configuration:\n%v\n", role, err)
		return exitUsage
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: c.LogLevel}))
	c.Logger = log
	if err := runService(ctx, role, c, stdout); err != nil {
		log.Error("reactord stopped", "role", role, "error", err)
		return 1
	}
	return 0
}

func runService(ctx context.Context, role string, c service.Config, stdout io.Writer) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(service.GCPercent)
	}
	svc, err := service.Start(ctx, c)
	if err != nil {
		return err
	}
	if svc.GeneratedKey != "" {
		fmt.Fprintf(stdout, "Management API key (shown once, keep it): %s\n", svc.GeneratedKey)
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		svc.Stop(context.Background())
		return err
	}
	httpSrv := &http.Server{Handler: svc.Handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() {
		if c.TLSCert != "" {
			served <- httpSrv.ServeTLS(ln, c.TLSCert, c.TLSKey)
			return
		}
		served <- httpSrv.Serve(ln)
	}()
	c.Logger.Info("reactord listening", "role", role, "addr", ln.Addr().String(), "tls", c.TLSCert != "")
	if c.PprofAddr != "" {
		stopPprof, err := servePprof(c.PprofAddr, c.Logger)
		if err != nil {
			httpSrv.Close()
			svc.Stop(context.Background())
			return err
		}
		defer stopPprof()
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	c.Logger.Info("shutting down: draining in-flight work", "timeout", c.DrainTimeout.String())
	svc.Drain()
	dctx, cancel := context.WithTimeout(context.Background(), c.DrainTimeout)
	defer cancel()
	return errors.Join(serveErr, httpSrv.Shutdown(dctx), svc.Stop(dctx))
}

// servePprof serves Go's profiles on their own listener, apart from the API, so that
// profiling a running process needs no change to its handler.
func servePprof(addr string, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Info("pprof listening", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}
