// Package scheduler runs invocations on workers: the gateway's Dispatcher sends each
// one over NATS to its tier's queue group; a Worker picks it up and runs it on a warm
// instance from its Pools, which keep instances per reactor version and bound each
// tier's concurrency.
package scheduler

import (
	"context"
	"encoding/json"
	"time"

	"github.com/reactord/reactord/internal/apierror"
	"github.com/reactord/reactord/runtime"
)

// Request is one invocation as it travels from the gateway to a worker.
type Request struct {
	ReactorID string `json:"reactor_id"`
	// Bundle is the sha256 of the bundle in the bundle store.
	Bundle string `json:"bundle"`
	Image  string `json:"image"`
	Tier   string `json:"tier"`
	// TimeoutMS is the reactor's timeout.
	TimeoutMS int `json:"timeout_ms"`
	// Deadline is when the caller stops waiting (Unix milliseconds).
	Deadline int64 `json:"deadline"`
	// Sent is when the dispatcher sent it (Unix milliseconds): a worker that takes it
	// late claims it before running it (see Worker.ClaimAfter).
	Sent            int64             `json:"sent,omitempty"`
	WarmConcurrency int               `json:"warm_concurrency"`
	Args            json.RawMessage   `json:"args"`
	Configuration   map[string]string `json:"configuration,omitempty"`
	TraceID         string            `json:"trace_id,omitempty"`
	// BT, when set, gives the code a Basis Theory client acting with this grant.
	BT *Grant `json:"bt,omitempty"`
	// WantResult asks for the handler's whole result in Reply.Result (proxy
	// transforms); reactors leave it off so replies do not carry the result twice.
	WantResult bool `json:"want_result,omitempty"`
}

// Grant is what the code's Basis Theory client may use: a short-lived key the
// gateway minted for this invocation and the NATS subject where that gateway serves
// the client's API requests. Neither enters the sandbox.
type Grant struct {
	Key     string `json:"key"`
	Subject string `json:"subject"`
}

type grantKey struct{}

// WithGrant returns ctx carrying an invocation's grant, for the host's fetch.
func WithGrant(ctx context.Context, g *Grant) context.Context {
	return context.WithValue(ctx, grantKey{}, g)
}

// GrantFrom returns the grant of the invocation ctx belongs to, or nil.
func GrantFrom(ctx context.Context) *Grant {
	g, _ := ctx.Value(grantKey{}).(*Grant)
	return g
}

// Reply is a worker's answer.
type Reply struct {
	Status      int               `json:"status"`
	Headers     map[string]string `json:"headers,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Body        []byte            `json:"body,omitempty"`
	// Raw and Tokenize replace Body for a result with a tokenize block.
	Raw      json.RawMessage `json:"raw,omitempty"`
	Tokenize json.RawMessage `json:"tokenize,omitempty"`
	// Result replaces Body for a successful invocation that asked for it.
	Result     json.RawMessage `json:"result,omitempty"`
	Outcome    string          `json:"outcome"`
	ColdStart  bool            `json:"cold_start,omitempty"`
	DurationUS int64           `json:"duration_us"`
	Worker     string          `json:"worker,omitempty"`
}

// replyFrom carries each part of a response once, so a result up to the documented
// 5 MiB fits a message: a successful result asked for whole (proxy transforms) goes
// without its body; a result with a tokenize block goes as raw and tokenize, from
// which the gateway renders the body once it created the tokens; any other answer
// goes as its body.
func replyFrom(r runtime.Response, wantResult bool) Reply {
	out := Reply{Status: r.Status, Headers: r.Headers, ContentType: r.ContentType, Body: r.Body,
		Outcome: string(r.Outcome), DurationUS: r.Duration.Microseconds()}
	switch {
	case r.Outcome == runtime.OK && wantResult:
		out.Result, out.Body = r.Result, nil
	case r.Outcome == runtime.OK && len(r.Tokenize) > 0:
		out.Raw, out.Tokenize, out.Body = r.Raw, r.Tokenize, nil
	}
	return out
}

// errorReply answers with the API's error format.
func errorReply(status int, typ, title, detail string) Reply {
	body := apierror.Error{Type: typ, Title: title, Status: status, Detail: detail}.JSON()
	return Reply{Status: status, ContentType: "application/json", Body: body, Outcome: "rejected"}
}

// DeadlineTime is when the caller stops waiting.
func (r Request) DeadlineTime() time.Time { return time.UnixMilli(r.Deadline) }

// subject is the NATS subject of a tier's invocations.
func subject(prefix, tier string) string { return prefix + ".invoke." + tier }

// QueueGroup is the queue group workers share, so each invocation goes to one.
const QueueGroup = "reactord-workers"

// DefaultPrefix is the subject prefix of reactord's NATS traffic.
const DefaultPrefix = "reactord"
