// Package proxy forwards requests to destinations on behalf of callers: the ephemeral
// proxy (BT-PROXY-URL) and pre-configured proxies with request and response transforms.
// It detokenizes {{ }} expressions in outbound bodies and headers, runs code transforms
// on the reactor runtime through the scheduler (same warm instances, same NATS
// dispatch as reactors) and applies the built-in transforms (tokenize, mask,
// append_json, append_text, append_header). Destinations are reached through the
// egress policy.
package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reactord/reactord/auth"
	"github.com/reactord/reactord/egress"
	"github.com/reactord/reactord/internal/apierror"
	"github.com/reactord/reactord/scheduler"
	"github.com/reactord/reactord/store"
)

// Tokens is the token service as the proxy uses it, bound to the caller's
// permissions for one call. The API implements it on the expression evaluator and
// the token store.
type Tokens interface {
	// Evaluate evaluates the {{ }} expressions in s. A string that is exactly one
	// expression yields the referenced value (any JSON type); expressions inside
	// longer text are interpolated as text. req, res and transform_identifier
	// references resolve in scope (nil: none); any other reference is a token id.
	// Errors that are the caller's fault should be *Error (400 or 403).
	Evaluate(ctx context.Context, s string, scope *Scope) (any, error)
	// Prefetch is given every text of a message about to be detokenized (header
	// values, body strings or the body), before they are evaluated one by one, so
	// that the tokens they refer to can be read together. It is a hint: what it
	// cannot do is done, and what goes wrong is reported, by Evaluate.
	Prefetch(ctx context.Context, texts []string)
	// Tokenize creates a token from a create-token request and returns the created
	// token (id, type, ...).
	Tokenize(ctx context.Context, req map[string]any) (map[string]any, error)
}

// Scope is what expressions in transform options may reference.
type Scope struct {
	// Req and Res are the request and response bodies: decoded JSON, the values of
	// a form, or text.
	Req, Res any
	// Transforms holds the tokens created by tokenize transforms, by identifier.
	Transforms map[string]any
}

// Runner runs code transforms; *invoke.Invoker implements it.
type Runner interface {
	// Transform grants the code its Basis Theory client (the transform's
	// runtime.permissions on images that take them, acting for caller, else app's
	// permissions), dispatches req, built by scheduler.NewRequest, and revokes the
	// grant; a dispatch failure is answered in the API's error format.
	Transform(ctx context.Context, req scheduler.Request, rt *store.Runtime, app *store.ApplicationRef, caller auth.Principal) (scheduler.Reply, *apierror.Error)
}

// Config configures a Proxy.
type Config struct {
	// Runner runs code transforms.
	Runner Runner
	// Policy is the egress policy destinations must satisfy.
	Policy egress.Policy
	// AllowHTTP accepts plain-HTTP destinations (development and tests).
	AllowHTTP bool
	// Timeout bounds one destination call, body included (default DefaultTimeout);
	// past it the caller gets a 408 proxy_error.
	Timeout time.Duration
	// MaxResponse caps the destination's response body (default
	// DefaultMaxResponse); past it the caller gets a 502 proxy_error.
	MaxResponse int64
	Logger      *slog.Logger
}

// Defaults of Config: Basis Theory answers 408 when a destination takes more than
// 25 seconds; the response cap is this service's.
const (
	DefaultTimeout     = 25 * time.Second
	DefaultMaxResponse = 10 << 20
)

// maxIdlePerDestination is how many idle connections to one destination are kept
// for reuse.
const maxIdlePerDestination = 128

// Proxy forwards calls. It is safe for concurrent use; create one per process.
type Proxy struct {
	cfg    Config
	client *http.Client
	log    *slog.Logger
	// regexps holds compiled mask expressions by source; nregexps counts them.
	regexps  sync.Map
	nregexps atomic.Int64
}

// New returns a Proxy.
func New(cfg Config) *Proxy {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxResponse <= 0 {
		cfg.MaxResponse = DefaultMaxResponse
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// The destination's redirects are the caller's to follow, not the proxy's. Many
	// callers share few destinations: keep an idle connection for each concurrent call
	// to a destination instead of the fetch default (8 per host).
	f := egress.New(cfg.Policy, egress.Options{MaxRedirects: -1, MaxRequestBytes: 1 << 40,
		MaxResponseBytes: cfg.MaxResponse, MaxIdlePerHost: maxIdlePerDestination})
	return &Proxy{cfg: cfg, client: f.Client(), log: cfg.Logger}
}

// Call is one request to proxy.
type Call struct {
	// Proxy is the pre-configured proxy; nil for the ephemeral proxy.
	Proxy *store.Proxy
	// Destination is the base URL (BT-PROXY-URL or the proxy's destination_url).
	Destination string
	Method      string
	// Path is the escaped path after /proxy, appended to the destination.
	Path string
	// RawQuery is the query to forward (bt-proxy-key already removed).
	RawQuery string
	Header   http.Header
	Body     []byte
	// Tokens evaluates expressions for the caller; nil means expressions cannot be
	// evaluated and a body or header holding one is refused.
	Tokens Tokens
	// Caller is who the call acts as: the authenticated caller, or the proxy's
	// application when it requires no auth (the zero Principal: nobody).
	Caller  auth.Principal
	TraceID string
}

// Response is what the caller gets back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// DestinationStatus is the destination's status, 0 when the destination was
	// not called (a request transform answered instead).
	DestinationStatus int
}

// CheckDestination validates a destination URL: https (or http when allowed), a
// host, no credentials, and a DNS name unless the policy allows private addresses.
func (p *Proxy) CheckDestination(raw string) error {
	return CheckDestination(raw, p.cfg.AllowHTTP, p.cfg.Policy.AllowPrivate)
}

// CheckDestination validates a destination URL under the given allowances.
func CheckDestination(raw string, allowHTTP, allowIP bool) error {
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		return fmt.Errorf("%q is not a valid URL", raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowHTTP:
	case u.Scheme == "http":
		return errors.New("the destination must use https")
	default:
		return fmt.Errorf("unsupported URL scheme %q: the destination must use https", u.Scheme)
	}
	if u.User != nil {
		return errors.New("URLs with credentials (user:password@) are not allowed; send an Authorization header instead")
	}
	if u.Hostname() == "" {
		return errors.New("the destination URL has no host")
	}
	if _, err := netip.ParseAddr(u.Hostname()); err == nil && !allowIP {
		return errors.New("the destination must be a DNS name, not an IP address")
	}
	return nil
}

// Do proxies one call. Failures inside the proxy are returned as *Error; a code
// transform that throws answers with its reactor error mapping as a Response.
func (p *Proxy) Do(ctx context.Context, c *Call) (*Response, error) {
	if err := p.CheckDestination(c.Destination); err != nil {
		return nil, &Error{Status: 400, Title: "Bad Request", Detail: "invalid destination URL: " + err.Error()}
	}
	req := newMessage(c.Header, c.Body)
	req.header = forwardable(req.header)
	detokenize := c.Proxy == nil || !c.Proxy.DisableDetokenization
	if detokenize {
		if err := req.detokenize(ctx, c.Tokens); err != nil {
			return nil, err
		}
	}
	scope := &Scope{Transforms: map[string]any{}}
	if c.Proxy != nil {
		for i, t := range c.Proxy.RequestTransforms {
			resp, err := p.apply(ctx, c, phaseRequest, i, t, req, scope)
			if err != nil || resp != nil {
				return resp, err
			}
		}
	}
	res, err := p.forward(ctx, c, req)
	if err != nil {
		return nil, err
	}
	// Response transforms expect the destination's success; any other answer is
	// returned as the destination sent it.
	if c.Proxy != nil && res.status >= 200 && res.status < 300 {
		for i, t := range c.Proxy.ResponseTransforms {
			resp, err := p.apply(ctx, c, phaseResponse, i, t, res.msg, scope)
			if err != nil || resp != nil {
				return resp, err
			}
		}
	}
	out := &Response{Status: res.status, Header: res.msg.header, Body: res.msg.body, DestinationStatus: res.status}
	return out, nil
}

// reserved request headers are the proxy's own and never reach the destination, with
// hop-by-hop headers and those that follow from the URL and the body. Accept-Encoding
// stays the transport's so bodies arrive decompressed for the response transforms.
var dropRequest = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Host": true, "Content-Length": true, "Accept-Encoding": true,
}

// dropResponse are the destination's hop-by-hop headers and those the gateway sets.
var dropResponse = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Content-Length": true,
	"Bt-Trace-Id": true, "Bt-Proxy-Destination-Status": true,
}

func forwardable(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		if dropRequest[ck] || strings.HasPrefix(ck, "Bt-") {
			continue
		}
		out[ck] = vs
	}
	return out
}

type destinationResponse struct {
	status int
	msg    *message
}

// target is the destination URL with the call's path suffix and query appended.
func target(dest, path, rawQuery string) (string, error) {
	u, err := url.Parse(dest)
	if err != nil {
		return "", err
	}
	if path != "" && path != "/" {
		joined, err := url.Parse(u.Scheme + "://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/") + "/" + strings.TrimPrefix(path, "/"))
		if err != nil {
			return "", err
		}
		u.Path, u.RawPath = joined.Path, joined.RawPath
	}
	q := u.RawQuery
	switch {
	case q == "":
		q = rawQuery
	case rawQuery != "":
		q += "&" + rawQuery
	}
	u.RawQuery = q
	return u.String(), nil
}

// forward sends the request to the destination and reads its whole response.
func (p *Proxy) forward(ctx context.Context, c *Call, m *message) (*destinationResponse, error) {
	to, err := target(c.Destination, c.Path, c.RawQuery)
	if err != nil {
		return nil, &Error{Status: 400, Title: "Bad Request", Detail: "invalid destination path: " + err.Error()}
	}
	cctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if len(m.body) > 0 {
		body = bytes.NewReader(m.body)
	}
	req, err := http.NewRequestWithContext(cctx, c.Method, to, body)
	if err != nil {
		return nil, &Error{Status: 400, Title: "Bad Request", Detail: "cannot build the destination request: " + err.Error()}
	}
	req.Header = m.header // the message's own map, not the caller's (see forwardable)
	// Basis Theory's reserved headers choose the destination call's Keep-Alive and
	// Connection, which are otherwise hop-by-hop and never forwarded.
	if v := c.Header.Get("BT-PROXY-KEEP-ALIVE"); v != "" {
		req.Header.Set("Keep-Alive", v)
	}
	if v := c.Header.Get("BT-PROXY-CONNECTION"); v != "" {
		req.Header.Set("Connection", v)
		req.Close = strings.EqualFold(strings.TrimSpace(v), "close")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, p.failure(ctx, cctx, err)
	}
	defer resp.Body.Close()
	if resp.ContentLength > p.cfg.MaxResponse {
		return nil, Errorf(502, "the destination's response body exceeds %d bytes", p.cfg.MaxResponse)
	}
	data, err := readAll(resp.Body, resp.ContentLength, p.cfg.MaxResponse+1)
	if err != nil {
		return nil, p.failure(ctx, cctx, err)
	}
	if int64(len(data)) > p.cfg.MaxResponse {
		return nil, Errorf(502, "the destination's response body exceeds %d bytes", p.cfg.MaxResponse)
	}
	h := make(http.Header, len(resp.Header))
	for k, vs := range resp.Header {
		if !dropResponse[k] {
			h[k] = vs
		}
	}
	return &destinationResponse{status: resp.StatusCode, msg: &message{header: h, body: data}}, nil
}

// readAll is io.ReadAll of at most max bytes of r, with room for size (the
// Content-Length, -1 when unknown) from the start.
func readAll(r io.Reader, size, max int64) ([]byte, error) {
	if size < 0 || size >= max {
		size = 512
	}
	b := make([]byte, 0, size+1) // +1: the read that sees EOF needs no growth
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) >= max {
			return b[:max], nil
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// failure maps a destination error to the proxy error the caller sees.
func (p *Proxy) failure(parent, ctx context.Context, err error) *Error {
	switch {
	case egress.IsRefused(err):
		var refused error = err
		var uerr *url.Error
		if errors.As(err, &uerr) {
			refused = uerr.Err
		}
		return &Error{Status: 422, Title: "Unprocessable Entity", Detail: "destination refused by the egress policy: " + refused.Error()}
	case parent.Err() != nil:
		return Errorf(499, "the caller went away")
	case ctx.Err() != nil:
		return Errorf(http.StatusRequestTimeout, "the destination did not answer within %s", p.cfg.Timeout)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return Errorf(502, "the destination could not be reached: %v", err)
}
