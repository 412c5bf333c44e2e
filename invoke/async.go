package invoke

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/reactord/reactord/auth"
	"github.com/reactord/reactord/internal/apierror"
	"github.com/reactord/reactord/internal/trace"
	"github.com/reactord/reactord/store"
)

// asyncRetry is how long a react-async request that did not run waits before it is
// delivered again.
const asyncRetry = 2 * time.Second

// RunAsync runs queued react-async requests, up to concurrency at once, until ctx
// ends, keeping each answer as the request's result. Every gateway may run it: the
// queue hands each request to one of them.
func (iv *Invoker) RunAsync(ctx context.Context, q *store.Async, concurrency int) error {
	return q.Run(ctx, concurrency, iv.log, func(ctx context.Context, req store.AsyncRequest) store.AsyncResult {
		ctx = trace.With(ctx, req.TraceID)
		iv.log.LogAttrs(ctx, slog.LevelDebug, "async request taken", slog.String("id", req.ID), slog.String("trace_id", req.TraceID))
		caller := auth.WithPermissions(req.ApplicationID, req.TenantID, "", req.Permissions)
		var out Outcome
		rec, err := iv.cfg.Reactors.Cached(ctx, req.ReactorID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			out = Failed(apierror.New(http.StatusNotFound, "the reactor was deleted before the request ran"))
		case err != nil:
			iv.log.Error("async request: reactor lookup failed", "trace_id", req.TraceID, "error", err)
			out = Failed(apierror.New(http.StatusInternalServerError, "something went wrong; the trace id identifies it in the logs"))
		default:
			out = iv.React(ctx, rec, req.Args, caller)
		}
		iv.log.LogAttrs(ctx, slog.LevelDebug, "async request done", slog.String("id", req.ID), slog.String("trace_id", req.TraceID), slog.Int("status", out.Status))
		res := store.AsyncResult{Status: out.Status, Headers: out.Headers, ContentType: out.ContentType, Body: out.Body}
		if out.NotRun {
			// At least once means a request that did not run runs later, rather
			// than keeping "busy, retry" as its answer.
			res.RetryAfter = asyncRetry
		}
		return res
	})
}
