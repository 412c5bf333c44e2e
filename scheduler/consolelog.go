package scheduler

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/reactord/reactord/internal/redact"
	rt "github.com/reactord/reactord/runtime"
)

// ReactorLogs is how a worker logs reactors' console output.
type ReactorLogs string

const (
	// ReactorLogsRedacted logs console output with card numbers (Luhn-valid 13-19
	// digits) and SSN-shaped values masked. The zero value means this.
	ReactorLogsRedacted ReactorLogs = "redacted"
	// ReactorLogsOff logs no console output.
	ReactorLogsOff ReactorLogs = "off"
	// ReactorLogsFull logs console output as the reactor wrote it.
	ReactorLogsFull ReactorLogs = "full"
)

// ParseReactorLogs reads an operator's choice of off, redacted or full.
func ParseReactorLogs(s string) (ReactorLogs, error) {
	switch m := ReactorLogs(s); m {
	case ReactorLogsOff, ReactorLogsRedacted, ReactorLogsFull:
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q; want off, redacted or full", s)
}

// logConsole logs an invocation's console output as configured. Each line is one
// record under the configured level, with the reactor's own level and text in a
// "console" group, so nothing the reactor writes becomes a field of the service's.
func (p *Pools) logConsole(ctx context.Context, req Request, resp rt.Response) {
	mode := p.cfg.ReactorLogs
	if mode == ReactorLogsOff || !p.log.Enabled(ctx, p.cfg.ReactorLogLevel) {
		return
	}
	for _, l := range resp.Logs {
		msg := l.Message
		if mode != ReactorLogsFull {
			msg = redact.String(msg)
		}
		p.log.Log(ctx, p.cfg.ReactorLogLevel, "reactor console", "trace_id", req.TraceID, "reactor_id", req.ReactorID,
			slog.Group("console", "level", l.Level, "message", msg))
	}
	if resp.LogsTruncated {
		p.log.Log(ctx, p.cfg.ReactorLogLevel, "reactor console output truncated", "trace_id", req.TraceID, "reactor_id", req.ReactorID)
	}
}
