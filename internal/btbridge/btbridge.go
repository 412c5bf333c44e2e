// Package btbridge carries the requests of the Basis Theory client inside reactor
// code to the API. The client talks to http://bt.internal through the sandbox's
// fetch; on the worker, Fetch recognises that host and sends the request over NATS,
// with the invocation's short-lived key, to the gateway that minted the key, where
// Serve runs it through the API's own handler (and so its permission checks). The
// key never enters the sandbox: it travels in the invocation's context.
package btbridge

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/reactord/reactord/egress"
	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/scheduler"
)

// Host is the origin reactor code's Basis Theory client is configured with.
const Host = "bt.internal"

// maxBody bounds a bridged request or response body.
const maxBody = 1 << 20

// maxConcurrent bounds the bridged requests one gateway serves at once; past it,
// the bridge stops taking messages until one finishes.
const maxConcurrent = 64

type request struct {
	Key string `json:"key"`
	// Deadline is the calling invocation's deadline (Unix milliseconds): the
	// bridged request runs under it, so nothing it starts outlives the invocation.
	Deadline int64             `json:"deadline,omitempty"`
	Method   string            `json:"method"`
	Path     string            `json:"path"`
	Headers  map[string]string `json:"headers,omitempty"`
	Body     []byte            `json:"body,omitempty"`
}

type response struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    []byte            `json:"body,omitempty"`
}

// Fetch wraps the host's fetch: requests to http://bt.internal go to the API with
// the invocation's grant, anything else to next (nil: refused).
func Fetch(nc *nats.Conn, next runtime.AsyncHandler) runtime.AsyncHandler {
	return func(ctx context.Context, arg []byte) (any, error) {
		var q egress.Request
		if err := json.Unmarshal(arg, &q); err != nil {
			return nil, fmt.Errorf("malformed fetch request: %w", err)
		}
		u, err := url.Parse(q.URL)
		if err != nil || !strings.EqualFold(u.Hostname(), Host) {
			if next == nil {
				return nil, errors.New("fetch is not available in this runtime")
			}
			return next(ctx, arg)
		}
		return bridge(ctx, nc, u, q)
	}
}

func bridge(ctx context.Context, nc *nats.Conn, u *url.URL, q egress.Request) (any, error) {
	g := scheduler.GrantFrom(ctx)
	if g == nil {
		return result(u, response{Status: http.StatusForbidden, Headers: map[string]string{"content-type": "application/json"},
			Body: []byte(`{"errors":{},"title":"Forbidden","status":403,"detail":"this reactor has no Basis Theory client: attach an application (node-bt) or set runtime.permissions (node22)"}`)}), nil
	}
	var body []byte
	switch {
	case q.BodyBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*q.BodyBase64)
		if err != nil {
			return nil, fmt.Errorf("malformed fetch request: %w", err)
		}
		body = b
	case q.Body != nil:
		body = []byte(*q.Body)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("request body exceeds %d bytes", maxBody)
	}
	method := strings.ToUpper(q.Method)
	if method == "" {
		method = http.MethodGet
	}
	q2 := request{Key: g.Key, Method: method, Path: u.RequestURI(), Headers: q.Headers, Body: body}
	if dl, ok := ctx.Deadline(); ok {
		q2.Deadline = dl.UnixMilli()
	}
	b, _ := json.Marshal(q2)
	if err := runtime.ChargeHostMemory(ctx, len(body)+len(b)); err != nil {
		return nil, err
	}
	msg, err := nc.RequestWithContext(ctx, g.Subject, b)
	if err != nil {
		return nil, fmt.Errorf("the Basis Theory API did not answer: %w", err)
	}
	if err := runtime.ChargeHostMemory(ctx, len(msg.Data)); err != nil {
		return nil, err
	}
	var r response
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		return nil, fmt.Errorf("the Basis Theory API answered malformed data: %w", err)
	}
	return result(u, r), nil
}

func result(u *url.URL, r response) egress.Response {
	out := egress.Response{Status: r.Status, StatusText: http.StatusText(r.Status), URL: u.String(), Headers: map[string]string{},
		BodyBase64: base64.StdEncoding.EncodeToString(r.Body)}
	for k, v := range r.Headers {
		out.Headers[strings.ToLower(k)] = v
	}
	return out
}

// Serve answers bridged requests on subject with h until ctx ends, up to
// maxConcurrent at once, each under its invocation's deadline. Each request is served
// as if it came over HTTP with its key as BT-API-KEY; the placeholder key the
// sandbox's client sends is replaced.
func Serve(ctx context.Context, nc *nats.Conn, subject string, h http.Handler, log *slog.Logger) error {
	sem := make(chan struct{}, maxConcurrent)
	sub, err := nc.QueueSubscribe(subject, "reactord-bt", func(m *nats.Msg) {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		go func() {
			defer func() { <-sem }()
			reply(m, serveOne(ctx, h, m.Data))
		}()
	})
	if err != nil {
		return fmt.Errorf("btbridge: subscribe %s: %w", subject, err)
	}
	// Bridged requests wait in the gateway's goroutines, not in NATS buffers.
	sub.SetPendingLimits(-1, -1)
	go func() {
		<-ctx.Done()
		sub.Unsubscribe()
	}()
	log.Debug("Basis Theory client bridge serving", "subject", subject)
	return nil
}

var malformed = response{Status: http.StatusBadRequest, Body: []byte(`{"errors":{},"title":"Bad Request","status":400,"detail":"malformed bridged request"}`)}

func serveOne(ctx context.Context, h http.Handler, data []byte) response {
	var q request
	if err := json.Unmarshal(data, &q); err != nil || q.Key == "" || !strings.HasPrefix(q.Path, "/") {
		return malformed
	}
	if q.Deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.UnixMilli(q.Deadline))
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, q.Method, "http://"+Host+q.Path, bytes.NewReader(q.Body))
	if err != nil {
		return malformed
	}
	for k, v := range q.Headers {
		if !strings.EqualFold(k, "BT-API-KEY") {
			req.Header.Set(k, v)
		}
	}
	req.Header.Set("BT-API-KEY", q.Key)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out := response{Status: rec.Code, Headers: map[string]string{}, Body: rec.Body.Bytes()}
	for k := range rec.Header() {
		out.Headers[k] = rec.Header().Get(k)
	}
	if len(out.Body) > maxBody {
		out = response{Status: http.StatusInternalServerError, Body: []byte(`{"errors":{},"title":"Internal Server Error","status":500,"detail":"the response exceeds the bridge's limit"}`)}
	}
	return out
}

func reply(m *nats.Msg, r response) {
	b, _ := json.Marshal(r)
	m.Respond(b)
}
