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
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	c.Logger = log
	if err := runService(ctx, role, c, stdout); err != nil {
		log.Error("reactord stopped", "role", role, "error", err)
		return 1
	}
	return 0
}

func runService(ctx context.Context, role string, c service.Config, stdout io.Writer) error {
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
