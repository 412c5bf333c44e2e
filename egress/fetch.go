package egress

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/reactord/reactord/runtime"
)

// Options bound the requests of a Fetcher. The zero value means the defaults.
type Options struct {
	// MaxResponseBytes caps a response body after decompression (default 5 MiB).
	MaxResponseBytes int64
	// MaxRequestBytes caps a request body (default 5 MiB).
	MaxRequestBytes int64
	// MaxRedirects is how many redirects one fetch follows (default 5); negative
	// means none are followed and the redirect response itself is the result.
	MaxRedirects int
	// UserAgent is sent when the request has no User-Agent (default "reactord").
	UserAgent string
	// Timeout bounds one fetch, redirects and body included; 0 leaves it to the
	// context, which ends with the invocation.
	Timeout time.Duration
	// MaxIdlePerHost is how many idle connections are kept per host (default 8); past
	// it, each concurrent request dials, and the policy checks, a new connection.
	MaxIdlePerHost int
}

const defaultMaxBytes = 5 << 20

// Fetcher performs fetch requests for reactor code under a Policy. It is safe for
// concurrent use and keeps connections alive between requests; create one per process.
type Fetcher struct {
	policy Policy
	opts   Options
	client *http.Client
}

// New returns a Fetcher that enforces p with the limits of o.
func New(p Policy, o Options) *Fetcher {
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = defaultMaxBytes
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = defaultMaxBytes
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = 5
	}
	if o.UserAgent == "" {
		o.UserAgent = "reactord"
	}
	if o.MaxIdlePerHost <= 0 {
		o.MaxIdlePerHost = 8
	}
	f := &Fetcher{policy: p, opts: o}
	dialer := &net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
		// The check on the address being connected to, after resolution: whatever a
		// name resolves to, only allowed addresses reach connect(2).
		Control: f.control,
	}
	transport := &http.Transport{
		Proxy:                  nil, // never route reactor traffic through an environment proxy
		DialContext:            dialContext(dialer),
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           max(100, 4*o.MaxIdlePerHost),
		MaxIdleConnsPerHost:    o.MaxIdlePerHost,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 1 << 20,
	}
	f.client = &http.Client{Transport: transport, CheckRedirect: f.checkRedirect}
	return f
}

// control runs just before each connect with the numeric address being dialed.
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("unexpected dial address %q", address)
	}
	return f.policy.Check(ap.Addr())
}

// dialContext dials through d, naming the host in a refusal when a name resolved to
// the refused address. d resolves the name and tries each address it resolves to;
// d.Control refuses the ones the policy does not allow.
func dialContext(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		var refused *refusedError
		if err != nil && errors.As(err, &refused) {
			host, _, _ := net.SplitHostPort(addr)
			if _, perr := netip.ParseAddr(host); perr != nil {
				refused.host = host
			}
			return nil, refused
		}
		return conn, err
	}
}

// checkRedirect vets every hop before it is requested; the hop's connection is then
// checked like the first one's.
func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	switch req.Context().Value(redirectModeKey{}) {
	case "manual":
		return http.ErrUseLastResponse
	case "error":
		return errors.New("unexpected redirect")
	}
	if f.opts.MaxRedirects < 0 {
		return http.ErrUseLastResponse
	}
	if len(via) > f.opts.MaxRedirects {
		return fmt.Errorf("stopped after %d redirects", f.opts.MaxRedirects)
	}
	if err := checkURL(req.URL); err != nil {
		return fmt.Errorf("redirected to a refused URL: %w", err)
	}
	return nil
}

// checkURL refuses what no fetch may request, before any connection.
func checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("unsupported URL scheme %q (only http and https are allowed)", u.Scheme)
	}
	if u.User != nil {
		return errors.New("URLs with credentials (user:password@) are not allowed; send an Authorization header instead")
	}
	if u.Hostname() == "" {
		return errors.New("the URL has no host")
	}
	return nil
}

// Request is a fetch as the Node layer sends it (images/src/web/fetch.js): a text
// body or a base64 one.
type Request struct {
	URL        string            `json:"url"`
	Method     string            `json:"method"`
	Headers    map[string]string `json:"headers"`
	Body       *string           `json:"body"`
	BodyBase64 *string           `json:"body_base64"`
	// Redirect is the Fetch standard's redirect mode: "follow" (the default), "manual"
	// (a redirect response is the result, as Node's http.request sees it) or "error".
	Redirect string `json:"redirect,omitempty"`
	// RawHeaders asks for Response.HeaderList, the headers in the order received with
	// repeats kept (Node's rawHeaders and its set-cookie array need them).
	RawHeaders bool `json:"raw_headers,omitempty"`
}

// Response is the result of a fetch as the Node layer receives it: header names are
// lowercase, repeated headers are joined with ", ", and the body is base64.
type Response struct {
	Status     int               `json:"status"`
	StatusText string            `json:"status_text"`
	URL        string            `json:"url"`
	Redirected bool              `json:"redirected"`
	Headers    map[string]string `json:"headers"`
	BodyBase64 string            `json:"body_base64"`
	// HeaderList is set when the request asked for RawHeaders: [name, value] pairs,
	// names lowercase, one pair per header line.
	HeaderList [][2]string `json:"header_list,omitempty"`
}

// redirectModeKey carries a request's redirect mode to checkRedirect.
type redirectModeKey struct{}

// dropped lists request headers reactor code cannot set: hop-by-hop headers belong
// to the connection, Host and Content-Length follow from the URL and the body, and
// Accept-Encoding stays the transport's so bodies arrive decompressed (it is a
// forbidden header name in the Fetch standard too).
var dropped = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Host": true, "Content-Length": true, "Accept-Encoding": true,
}

// Handle performs one fetch described by arg (JSON from the Node layer) and returns a
// Response; its signature matches runtime.AsyncHandler. HTTP error statuses are
// results, not errors. An error becomes the rejection of the fetch promise, which
// the layer prefixes with "fetch failed: ", so it says only what happened.
func (f *Fetcher) Handle(ctx context.Context, arg []byte) (any, error) {
	req, q, err := f.newRequest(arg)
	if err != nil {
		return nil, err
	}
	// The parsed request and its body are host memory the reactor's invocation pays
	// for, as are the response body and its encoding below.
	if err := runtime.ChargeHostMemory(ctx, len(arg)+int(max(req.ContentLength, 0))); err != nil {
		return nil, err
	}
	parent := ctx
	if q.Redirect != "" && q.Redirect != "follow" {
		ctx = context.WithValue(ctx, redirectModeKey{}, q.Redirect)
	}
	if f.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.opts.Timeout)
		defer cancel()
	}
	req = req.WithContext(ctx)
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, f.failure(parent, ctx, req, err)
	}
	defer resp.Body.Close()
	limit := f.opts.MaxResponseBytes
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("response body exceeds %d bytes (Content-Length is %d)", limit, resp.ContentLength)
	}
	data, err := readBody(ctx, resp, limit)
	if errors.Is(err, runtime.ErrHostMemory) {
		return nil, fmt.Errorf("reading the response body: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the response body: %w", f.failure(parent, ctx, req, err))
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("response body exceeds %d bytes", limit)
	}
	if err := runtime.ChargeHostMemory(ctx, base64.StdEncoding.EncodedLen(len(data))); err != nil {
		return nil, err
	}
	out := Response{
		Status:     resp.StatusCode,
		StatusText: strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode))),
		URL:        resp.Request.URL.String(),
		Redirected: resp.Request != req, // the client makes a new request for each hop
		Headers:    make(map[string]string, len(resp.Header)),
		BodyBase64: base64.StdEncoding.EncodeToString(data),
	}
	for k, vs := range resp.Header {
		out.Headers[strings.ToLower(k)] = strings.Join(vs, ", ")
		if q.RawHeaders {
			for _, v := range vs {
				out.HeaderList = append(out.HeaderList, [2]string{strings.ToLower(k), v})
			}
		}
	}
	if q.RawHeaders {
		// Go keeps the order of lines within a name, not across names
		slices.SortStableFunc(out.HeaderList, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	}
	return out, nil
}

// readBody reads up to limit+1 bytes of resp's body, charging them to the
// invocation as they arrive (all at once when the length is announced).
func readBody(ctx context.Context, resp *http.Response, limit int64) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= limit {
		if err := runtime.ChargeHostMemory(ctx, int(n)+1); err != nil {
			return nil, err
		}
		// The transport ends the body at its Content-Length; the extra byte only
		// lets ReadFull see the end.
		buf := make([]byte, n+1)
		k, err := io.ReadFull(resp.Body, buf)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = nil
		}
		return buf[:k], err
	}
	var buf bytes.Buffer
	chunk := make([]byte, 32<<10)
	for int64(buf.Len()) <= limit {
		n, err := resp.Body.Read(chunk[:min(int64(len(chunk)), limit+1-int64(buf.Len()))])
		if n > 0 {
			// The buffer doubles as it grows: charge its capacity, not just the data.
			before := buf.Cap()
			buf.Write(chunk[:n])
			if err := runtime.ChargeHostMemory(ctx, buf.Cap()-before); err != nil {
				return nil, err
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// newRequest validates the fetch arg and builds the HTTP request for it.
func (f *Fetcher) newRequest(arg []byte) (*http.Request, Request, error) {
	var q Request
	if err := json.Unmarshal(arg, &q); err != nil {
		return nil, q, fmt.Errorf("malformed fetch request: %w", err)
	}
	switch q.Redirect {
	case "", "follow", "manual", "error":
	default:
		return nil, q, fmt.Errorf("malformed fetch request: redirect must be follow, manual or error, not %q", q.Redirect)
	}
	req, err := f.buildRequest(q)
	return req, q, err
}

func (f *Fetcher) buildRequest(q Request) (*http.Request, error) {
	u, err := url.Parse(q.URL)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q", q.URL)
	}
	if err := checkURL(u); err != nil {
		return nil, err
	}
	method, err := normalizeMethod(q.Method)
	if err != nil {
		return nil, err
	}
	var body []byte
	switch {
	case q.Body != nil && q.BodyBase64 != nil:
		return nil, errors.New("malformed fetch request: both body and body_base64 are set")
	case q.BodyBase64 != nil:
		if int64(base64.StdEncoding.DecodedLen(len(*q.BodyBase64))) > f.opts.MaxRequestBytes+2 {
			return nil, fmt.Errorf("request body exceeds %d bytes", f.opts.MaxRequestBytes)
		}
		if body, err = base64.StdEncoding.DecodeString(*q.BodyBase64); err != nil {
			return nil, fmt.Errorf("malformed fetch request: body_base64 is not base64: %w", err)
		}
	case q.Body != nil:
		body = []byte(*q.Body)
	}
	if int64(len(body)) > f.opts.MaxRequestBytes {
		return nil, fmt.Errorf("request body exceeds %d bytes", f.opts.MaxRequestBytes)
	}
	if body != nil && (method == http.MethodGet || method == http.MethodHead) {
		return nil, fmt.Errorf("a %s request cannot have a body", method)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("invalid request: %w", err)
	}
	if err := f.setHeaders(req.Header, q.Headers); err != nil {
		return nil, err
	}
	return req, nil
}

// normalizeMethod checks that m is a token and uppercases the methods the Fetch
// standard normalizes, leaving others as they are. It refuses CONNECT, TRACE and
// TRACK, as the standard does.
func normalizeMethod(m string) (string, error) {
	if m == "" {
		return http.MethodGet, nil
	}
	if !isToken(m) {
		return "", fmt.Errorf("invalid HTTP method %q", m)
	}
	switch up := strings.ToUpper(m); up {
	case "DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT":
		return up, nil
	case "CONNECT", "TRACE", "TRACK":
		return "", fmt.Errorf("the HTTP method %s is not allowed", up)
	}
	return m, nil
}

// setHeaders validates the reactor's headers and copies the ones it may set into h.
func (f *Fetcher) setHeaders(h http.Header, in map[string]string) error {
	connection := map[string]bool{} // headers the request names as hop-by-hop
	for k, v := range in {
		if !isToken(k) {
			return fmt.Errorf("invalid header name %q", k)
		}
		if !validValue(v) {
			return fmt.Errorf("invalid value for header %q: control characters such as CR, LF and NUL are not allowed", k)
		}
		if http.CanonicalHeaderKey(k) == "Connection" {
			for _, name := range strings.Split(v, ",") {
				connection[http.CanonicalHeaderKey(strings.TrimSpace(name))] = true
			}
		}
	}
	for k, v := range in {
		ck := http.CanonicalHeaderKey(k)
		if dropped[ck] || connection[ck] {
			continue
		}
		h.Set(ck, v)
	}
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", f.opts.UserAgent)
	}
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2): a method or a
// header name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validValue reports whether s is a header value without control characters other
// than horizontal tab.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// failure turns an error from the HTTP client into what the reactor should read:
// what happened, without Go's wrapping or the host's resolver and socket details.
// parent is the caller's context and ctx the request's (parent with Timeout).
func (f *Fetcher) failure(parent, ctx context.Context, req *http.Request, err error) error {
	// Where the failure happened: a redirect hop is named, the first URL is known.
	var prefix string
	var uerr *url.Error
	if errors.As(err, &uerr) && uerr.URL != req.URL.String() && uerr.URL != "" {
		prefix = "redirected to " + uerr.URL + ": "
	}
	var refused *refusedError
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.As(err, &refused):
		return fmt.Errorf("%s%w", prefix, refused)
	case parent.Err() == context.DeadlineExceeded:
		return errors.New("the request did not complete before the invocation timed out")
	case parent.Err() != nil:
		return errors.New("the request was cancelled: the invocation ended")
	case ctx.Err() != nil:
		return fmt.Errorf("the request did not complete within %s", f.opts.Timeout)
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return fmt.Errorf("%scannot resolve %s: no such host", prefix, dnsErr.Name)
		}
		return fmt.Errorf("%scannot resolve %s", prefix, dnsErr.Name)
	case errors.As(err, &opErr) && opErr.Err != nil:
		if opErr.Addr != nil {
			return fmt.Errorf("%s%s %s: %w", prefix, opErr.Op, opErr.Addr, opErr.Err)
		}
		return fmt.Errorf("%s%s: %w", prefix, opErr.Op, opErr.Err)
	case uerr != nil:
		return fmt.Errorf("%s%w", prefix, uerr.Err)
	}
	return err
}

// Client returns the fetcher's HTTP client: every connection it makes is checked
// against the policy, and redirects follow Options.MaxRedirects. The proxy forwards
// requests through it so destinations obey the same policy as reactor fetch.
func (f *Fetcher) Client() *http.Client { return f.client }

// IsRefused reports whether err is (or wraps) a refusal by the egress policy.
func IsRefused(err error) bool {
	var refused *refusedError
	return errors.As(err, &refused)
}
