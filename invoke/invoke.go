// Package invoke is the one path from an API request to a run of reactor code, for
// react, react-async and proxy code transforms: it builds the scheduler request with
// its deadline, grants the code's Basis Theory client, dispatches it to a worker and
// maps every dispatch failure to the API's error body. For reactors it also
// detokenizes the args and creates the tokens a result asks for.
package invoke

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/reactord/reactord/auth"
	"github.com/reactord/reactord/expr"
	"github.com/reactord/reactord/images"
	"github.com/reactord/reactord/internal/apierror"
	"github.com/reactord/reactord/internal/trace"
	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/scheduler"
	"github.com/reactord/reactord/store"
	"github.com/reactord/reactord/tokens"
)

// Dispatcher sends an invocation to a worker; *scheduler.Dispatcher implements it.
type Dispatcher interface {
	Invoke(ctx context.Context, req scheduler.Request) (scheduler.Reply, error)
}

// Config wires an Invoker.
type Config struct {
	Dispatcher Dispatcher
	// Auth mints the short-lived keys of the code's Basis Theory client.
	Auth *auth.Authenticator
	// BTSubject is the NATS subject where this gateway serves the code's Basis Theory
	// client; empty gives code no client.
	BTSubject string
	// Tokens detokenizes args and tokenizes results; nil does neither.
	Tokens   *tokens.Store
	TenantID string
	// Reactors finds the reactor of a react-async request.
	Reactors *store.Reactors
	Logger   *slog.Logger
}

// Invoker runs invocations. It is safe for concurrent use.
type Invoker struct {
	cfg Config
	log *slog.Logger
}

// New returns an Invoker.
func New(cfg Config) *Invoker {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Invoker{cfg: cfg, log: cfg.Logger}
}

// Outcome is an invocation's answer to its caller, as sync react writes it and
// async results keep it.
type Outcome struct {
	Status      int               `json:"status"`
	Headers     map[string]string `json:"headers,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Body        []byte            `json:"body"`
	// NotRun says the reactor did not run (no worker took the invocation, or every
	// instance was busy), so running it again later is safe.
	NotRun bool `json:"-"`
}

// Write answers the outcome.
func (o Outcome) Write(w http.ResponseWriter) {
	for k, v := range o.Headers {
		w.Header().Set(k, v)
	}
	if o.ContentType != "" {
		w.Header().Set("Content-Type", o.ContentType)
	}
	w.WriteHeader(o.Status)
	w.Write(o.Body)
}

// Failed is an answer in the API's error format.
func Failed(e apierror.Error) Outcome {
	return Outcome{Status: e.Status, ContentType: "application/json", Body: e.JSON()}
}

// MaxDepth is how deeply reactors may call reactors through their Basis Theory
// client: an invocation started with an API key is depth 1.
const MaxDepth = 3

// Invocable answers 409 for a reactor that has no built version to run.
func Invocable(rec *store.Reactor) *apierror.Error {
	switch rec.State {
	case "", store.StateActive, store.StateUpdating, store.StateOutdated:
		if rec.Bundle != "" {
			return nil
		}
	}
	e := apierror.New(http.StatusConflict, "the reactor cannot be invoked in state "+rec.State)
	return &e
}

// React runs one invocation of rec with args for caller: the path shared by react
// and react-async.
func (iv *Invoker) React(ctx context.Context, rec *store.Reactor, args json.RawMessage, caller auth.Principal) Outcome {
	if refused := Invocable(rec); refused != nil {
		return Failed(*refused)
	}
	if caller.Depth >= MaxDepth {
		return Failed(apierror.Newf(http.StatusBadRequest, "reactors may call reactors at most %d deep", MaxDepth))
	}
	args, refused := iv.detokenize(ctx, args, caller)
	if refused != nil {
		return Failed(*refused)
	}
	req := scheduler.RequestFor(rec)
	req.Args, req.TraceID = args, trace.ID(ctx)
	if dl, ok := ctx.Deadline(); ok && dl.Before(req.DeadlineTime()) {
		// A nested call finishes within the invocation that made it.
		req.Deadline = dl.UnixMilli()
	}
	reply, failure := iv.Transform(ctx, req, rec.Runtime, rec.Application, caller)
	if failure != nil {
		out := Failed(*failure)
		out.NotRun = failure.Status == http.StatusServiceUnavailable // Run's answer for "no worker took it"
		return out
	}
	out := Outcome{Status: reply.Status, Headers: reply.Headers, ContentType: reply.ContentType, Body: reply.Body,
		NotRun: reply.Outcome == string(runtime.Rejected) && reply.Status == http.StatusTooManyRequests}
	if len(reply.Tokenize) > 0 {
		// The worker sent the result's raw and tokenize blocks instead of its body.
		var toks json.RawMessage
		if iv.cfg.Tokens != nil {
			if !caller.Can("token:create") {
				return Failed(apierror.New(http.StatusForbidden, "the result asks to tokenize data, which needs the token:create permission the caller lacks"))
			}
			var refused *apierror.Error
			if toks, refused = iv.tokenize(ctx, caller, reply.Tokenize); refused != nil {
				return Failed(*refused)
			}
		}
		out.Body = runtime.ResultBody(toks, reply.Raw)
	}
	return out
}

// Run dispatches req, built by scheduler.NewRequest (which sets its deadline), and
// returns the worker's reply, or the API error a dispatch failure answers.
func (iv *Invoker) Run(ctx context.Context, req scheduler.Request) (scheduler.Reply, *apierror.Error) {
	reply, err := iv.cfg.Dispatcher.Invoke(ctx, req)
	if err == nil {
		return reply, nil
	}
	var e apierror.Error
	switch {
	case errors.Is(err, scheduler.ErrNoWorkers):
		e = apierror.New(http.StatusServiceUnavailable, "no worker is serving the "+req.Tier+" tier")
	case errors.Is(err, scheduler.ErrNotStarted):
		e = apierror.New(http.StatusServiceUnavailable, "no worker took the invocation in time; the reactor did not run, so it is safe to retry")
	case errors.Is(err, scheduler.ErrWorkerLost):
		// At most once: the invocation is not sent again, and the caller must know it
		// may have had its effects.
		e = apierror.New(http.StatusBadGateway, "the worker running the reactor stopped before it answered; the reactor may have run")
		e.Title, e.Type = "Reactor Interrupted", "reactor_interrupted"
	case errors.Is(err, context.DeadlineExceeded):
		e = apierror.New(http.StatusInternalServerError, "no answer before the reactor's deadline")
		e.Title, e.Type = "Reactor Timeout", "reactor_timeout"
	default:
		iv.log.Error("invocation failed", "trace_id", req.TraceID, "reactor_id", req.ReactorID, "error", err)
		e = apierror.New(http.StatusInternalServerError, "something went wrong; the trace id identifies it in the logs")
	}
	return scheduler.Reply{}, &e
}

// Transform runs req, a reactor or a proxy's code transform, acting for caller: the
// code gets its Basis Theory client (the runtime permissions on images that take
// them, else the attached application's), for the invocation only; then it is
// dispatched like Run.
func (iv *Invoker) Transform(ctx context.Context, req scheduler.Request, rt *store.Runtime, app *store.ApplicationRef, caller auth.Principal) (scheduler.Reply, *apierror.Error) {
	grant, err := iv.grantFor(ctx, rt, app, caller, req.DeadlineTime())
	if err != nil {
		iv.log.Error("granting the code's Basis Theory client failed", "trace_id", req.TraceID, "reactor_id", req.ReactorID, "error", err)
	}
	if grant != nil {
		req.BT = grant
		defer iv.cfg.Auth.Revoke(grant.Key)
	}
	return iv.Run(ctx, req)
}

// grantFor decides whether code gets a Basis Theory client and with what
// permissions: the runtime's permissions acting for the caller (on images that take
// them), else the attached application's. The key expires with the invocation.
func (iv *Invoker) grantFor(ctx context.Context, rt *store.Runtime, app *store.ApplicationRef, caller auth.Principal, deadline time.Time) (*scheduler.Grant, error) {
	if iv.cfg.BTSubject == "" || iv.cfg.Auth == nil {
		return nil, nil
	}
	var p auth.Principal
	switch {
	case rt != nil && images.Of(rt.Image).RuntimePermissions && len(rt.Permissions) > 0:
		p = auth.WithPermissions(caller.ApplicationID, caller.TenantID, auth.Private, rt.Permissions)
	case app != nil && app.ID != "":
		var err error
		if p, err = iv.cfg.Auth.Application(ctx, app.ID); errors.Is(err, store.ErrNotFound) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
	default:
		return nil, nil
	}
	p.Depth = caller.Depth + 1
	return &scheduler.Grant{Key: iv.cfg.Auth.Mint(p, deadline), Subject: iv.cfg.BTSubject}, nil
}

// detokenize replaces the {{ }} expressions in args with token data. A bad
// expression or an unknown token is the caller's error (400 naming it).
func (iv *Invoker) detokenize(ctx context.Context, args json.RawMessage, caller auth.Principal) (json.RawMessage, *apierror.Error) {
	if iv.cfg.Tokens == nil || len(args) == 0 {
		return args, nil
	}
	out, err := iv.cfg.Tokens.Detokenize(ctx, iv.cfg.TenantID, args, TokenAccess(caller, "token:use"))
	if err != nil {
		return nil, iv.tokenFailure(ctx, err)
	}
	return out, nil
}

// TokenAccess lets caller use (token:use) or create (token:create) the tokens its
// access rules or permissions give it perm on, by the token's containers.
func TokenAccess(caller auth.Principal, perm string) tokens.Allow {
	return func(t *tokens.Token) error {
		if ok, _ := caller.Access(perm, t.ID, t.Containers); !ok {
			return tokens.ErrForbidden
		}
		return nil
	}
}

// tokenize turns a result's tokenize block into tokens created by the caller and
// returns the "tokens" value of the response.
func (iv *Invoker) tokenize(ctx context.Context, caller auth.Principal, block json.RawMessage) (json.RawMessage, *apierror.Error) {
	if iv.cfg.Tokens == nil || len(block) == 0 || string(block) == "null" {
		return nil, nil
	}
	out, err := iv.cfg.Tokens.Tokenize(ctx, iv.cfg.TenantID, caller.ApplicationID, block, TokenAccess(caller, "token:create"))
	if err != nil {
		return nil, iv.tokenFailure(ctx, err)
	}
	return out, nil
}

// tokenFailure maps a tokens or expr error to the caller's answer.
func (iv *Invoker) tokenFailure(ctx context.Context, err error) *apierror.Error {
	var ee *expr.Error
	var ve *tokens.ValidationError
	var e apierror.Error
	switch {
	case errors.Is(err, tokens.ErrForbidden):
		e = apierror.New(http.StatusForbidden, err.Error())
	case errors.As(err, &ee):
		e = apierror.New(http.StatusBadRequest, ee.Error())
	case errors.As(err, &ve):
		e = apierror.Fields(http.StatusBadRequest, "one or more validation errors occurred", ve.Fields)
	case errors.Is(err, tokens.ErrNotFound):
		e = apierror.New(http.StatusBadRequest, "token not found")
	default:
		iv.log.Error("token operation failed", "trace_id", trace.ID(ctx), "error", err)
		e = apierror.New(http.StatusInternalServerError, "something went wrong; the trace id identifies it in the logs")
	}
	return &e
}
