package egress

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestClassify is the address classifier: "" means public, anything else is a
// substring of the refusal.
func TestClassify(t *testing.T) {
	tests := []struct {
		ip   string
		want string
	}{
		// public
		{"8.8.8.8", ""}, {"1.1.1.1", ""}, {"93.184.216.34", ""}, {"172.32.0.1", ""}, {"100.128.0.1", ""},
		{"2606:4700:4700::1111", ""}, {"2a00:1450:4001::200e", ""}, {"::ffff:8.8.8.8", ""},
		// IPv4
		{"127.0.0.1", "loopback"}, {"127.1.2.3", "loopback"},
		{"10.0.0.5", "private"}, {"172.16.0.1", "private"}, {"172.31.255.255", "private"}, {"192.168.1.1", "private"},
		{"169.254.1.1", "link-local"}, {"169.254.169.254", "metadata"}, {"169.254.170.2", "metadata"},
		{"100.100.100.200", "metadata"}, {"168.63.129.16", "metadata"}, {"192.0.0.192", "metadata"},
		{"100.64.0.1", "CGNAT"}, {"100.127.255.255", "CGNAT"},
		{"0.0.0.0", "unspecified"}, {"0.1.2.3", "unspecified"},
		{"224.0.0.1", "multicast"}, {"239.255.255.250", "multicast"},
		{"255.255.255.255", "broadcast"}, {"240.0.0.1", "reserved"},
		{"192.0.2.1", "documentation"}, {"198.18.0.1", "benchmarking"},
		// IPv6
		{"::1", "loopback"}, {"::", "unspecified"}, {"fc00::1", "private"}, {"fd12:3456::1", "private"},
		{"fd00:ec2::254", "metadata"}, {"fe80::1", "link-local"}, {"fe80::1%eth0", "link-local"},
		{"ff02::1", "multicast"}, {"ff05::2", "multicast"}, {"fec0::1", "site-local"},
		{"2001:db8::1", "documentation"}, {"100::1", "reserved"}, {"::7f00:1", "reserved"}, {"4000::1", "reserved"},
		// IPv4-mapped IPv6
		{"::ffff:127.0.0.1", "loopback"}, {"::ffff:10.1.2.3", "private"}, {"::ffff:169.254.169.254", "metadata"},
		{"::ffff:0.0.0.0", "unspecified"}, {"::ffff:100.64.0.1", "CGNAT"},
		// NAT64, 6to4 and Teredo embeddings
		{"64:ff9b::a9fe:a9fe", "metadata"}, {"64:ff9b::7f00:1", "loopback"}, {"64:ff9b::808:808", ""},
		{"64:ff9b:1::808:808", "NAT64"},
		{"2002:7f00:1::", "loopback"}, {"2002:a00:1::1", "private"}, {"2002:808:808::", ""},
		{"2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"},       // client 10.0.0.1
		{"2001:0:7f00:1::", "loopback"},                           // server 127.0.0.1
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "documentation"}, // RFC 4380's example: client 192.0.2.45
		{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", ""},              // client 8.8.8.8
	}
	for _, tc := range tests {
		ip := netip.MustParseAddr(tc.ip)
		err := Policy{}.Check(ip)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s refused: %v", tc.ip, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want a refusal mentioning %q", tc.ip, err, tc.want)
		}
		if err := (Policy{AllowPrivate: true}).Check(ip); err != nil {
			t.Errorf("%s refused with AllowPrivate: %v", tc.ip, err)
		}
	}
	want := "destination 10.0.0.5 is a private address; egress to private, loopback, link-local and metadata addresses is not allowed"
	if err := (Policy{}).Check(netip.MustParseAddr("10.0.0.5")); err == nil || err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

// do runs one fetch through Handle, as the runtime does.
func do(ctx context.Context, f *Fetcher, req map[string]any) (Response, error) {
	arg, err := json.Marshal(req)
	if err != nil {
		panic(err)
	}
	out, err := f.Handle(ctx, arg)
	if err != nil {
		return Response{}, err
	}
	return out.(Response), nil
}

func body(t *testing.T, r Response) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(r.BodyBase64)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// echo reports the request it received: its method, path, headers and body.
func echo(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Method", r.Method)
	w.Header().Set("X-Host", r.Host)
	w.Header().Set("X-Path", r.URL.Path)
	for _, h := range []string{"User-Agent", "Content-Type", "X-Custom", "X-Secret", "Upgrade", "Accept-Encoding"} {
		w.Header().Set("X-Got-"+h, strings.Join(r.Header[h], "|"))
	}
	w.Header().Add("Set-Cookie", "a=1")
	w.Header().Add("Set-Cookie", "b=2")
	w.Header().Set("Content-Type", "application/octet-stream")
	if len(r.Header["Content-Length"]) > 0 || r.ContentLength > 0 {
		w.Header().Set("X-Got-Length", r.Header.Get("Content-Length"))
	}
	w.Write(b)
}

func TestRoundTrip(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", echo)
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code := map[string]int{"404": 404, "418": 418, "500": 500, "503": 503}[r.PathValue("code")]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write([]byte(`{"error":"nope"}`))
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Header.Get("Accept-Encoding"))) // the transport's, not the reactor's
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f := New(Policy{AllowPrivate: true}, Options{})
	binary := []byte{0, 1, 2, 0x7f, 0x80, 0xfe, 0xff, '\r', '\n'}

	tests := []struct {
		name    string
		req     map[string]any
		status  int
		text    string
		body    []byte
		headers map[string]string // expected response headers
	}{
		{name: "GET", req: map[string]any{"url": srv.URL + "/a?q=1", "method": "GET"}, status: 200, text: "OK", body: []byte{},
			headers: map[string]string{"x-method": "GET", "x-path": "/a", "x-got-user-agent": "reactord", "set-cookie": "a=1, b=2"}},
		{name: "default method", req: map[string]any{"url": srv.URL}, status: 200, body: []byte{},
			headers: map[string]string{"x-method": "GET"}},
		{name: "POST text", req: map[string]any{"url": srv.URL + "/t", "method": "post", "body": "héllo wörld",
			"headers": map[string]string{"content-type": "text/plain;charset=UTF-8", "x-custom": "c"}},
			status: 200, body: []byte("héllo wörld"),
			headers: map[string]string{"x-method": "POST", "x-got-content-type": "text/plain;charset=UTF-8", "x-got-x-custom": "c", "x-got-length": "13"}},
		{name: "POST JSON", req: map[string]any{"url": srv.URL, "method": "POST", "body": `{"a":[1,2],"b":"x"}`,
			"headers": map[string]string{"content-type": "application/json"}},
			status: 200, body: []byte(`{"a":[1,2],"b":"x"}`), headers: map[string]string{"x-got-content-type": "application/json"}},
		{name: "PUT binary", req: map[string]any{"url": srv.URL, "method": "PUT", "body": nil, "body_base64": base64.StdEncoding.EncodeToString(binary)},
			status: 200, body: binary, headers: map[string]string{"x-method": "PUT", "x-got-length": "9"}},
		{name: "empty POST body", req: map[string]any{"url": srv.URL, "method": "POST", "body": ""}, status: 200, body: []byte{},
			headers: map[string]string{"x-method": "POST"}},
		{name: "custom method kept as sent", req: map[string]any{"url": srv.URL, "method": "Propfind"}, status: 200, body: []byte{},
			headers: map[string]string{"x-method": "Propfind"}},
		{name: "own user agent", req: map[string]any{"url": srv.URL, "headers": map[string]string{"user-agent": "mine/1"}}, status: 200, body: []byte{},
			headers: map[string]string{"x-got-user-agent": "mine/1"}},
		{name: "hop-by-hop and Host dropped", req: map[string]any{"url": srv.URL, "headers": map[string]string{
			"host": "evil.example", "connection": "close, x-secret", "x-secret": "s", "upgrade": "websocket", "accept-encoding": "br", "x-custom": "kept"}},
			status: 200, body: []byte{},
			headers: map[string]string{"x-host": strings.TrimPrefix(srv.URL, "http://"), "x-got-x-secret": "", "x-got-upgrade": "", "x-got-accept-encoding": "gzip", "x-got-x-custom": "kept"}},
		{name: "404 is a result", req: map[string]any{"url": srv.URL + "/status/404"}, status: 404, text: "Not Found", body: []byte(`{"error":"nope"}`),
			headers: map[string]string{"content-type": "application/json"}},
		{name: "418 is a result", req: map[string]any{"url": srv.URL + "/status/418", "method": "DELETE"}, status: 418, text: "I'm a teapot", body: []byte(`{"error":"nope"}`)},
		{name: "500 is a result", req: map[string]any{"url": srv.URL + "/status/500", "method": "POST", "body": "x"}, status: 500, text: "Internal Server Error", body: []byte(`{"error":"nope"}`)},
		{name: "503 is a result", req: map[string]any{"url": srv.URL + "/status/503"}, status: 503, body: []byte(`{"error":"nope"}`)},
		{name: "Accept-Encoding is the transport's", req: map[string]any{"url": srv.URL + "/gzip", "headers": map[string]string{"accept-encoding": "identity"}},
			status: 200, body: []byte("gzip")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := do(context.Background(), f, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := body(t, r); r.Status != tc.status || string(got) != string(tc.body) {
				t.Errorf("status %d body %q, want %d %q", r.Status, got, tc.status, tc.body)
			}
			if tc.text != "" && r.StatusText != tc.text {
				t.Errorf("status text %q, want %q", r.StatusText, tc.text)
			}
			if r.Redirected || !strings.HasPrefix(r.URL, srv.URL) {
				t.Errorf("url %q redirected %v", r.URL, r.Redirected)
			}
			for k, v := range tc.headers {
				if r.Headers[k] != v {
					t.Errorf("header %s = %q, want %q (all: %v)", k, r.Headers[k], v, r.Headers)
				}
			}
			for k := range r.Headers {
				if k != strings.ToLower(k) {
					t.Errorf("header name %q is not lowercase", k)
				}
			}
		})
	}

	// The result is what the runtime marshals for the Node layer.
	out, err := f.Handle(context.Background(), []byte(`{"url":"`+srv.URL+`/status/404","method":"GET","headers":{},"body":null,"body_base64":null}`))
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(out)
	var m map[string]any
	json.Unmarshal(j, &m)
	for _, k := range []string{"status", "status_text", "url", "redirected", "headers", "body_base64"} {
		if _, ok := m[k]; !ok {
			t.Errorf("result JSON has no %q: %s", k, j)
		}
	}
}

func TestRedirects(t *testing.T) {
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("/", echo)
	mux.HandleFunc("/hop/{n}", func(w http.ResponseWriter, r *http.Request) {
		n := r.PathValue("n")
		if n == "0" {
			http.Redirect(w, r, "/final", http.StatusFound)
			return
		}
		http.Redirect(w, r, "/hop/"+string(rune(n[0]-1)), http.StatusFound)
	})
	mux.HandleFunc("/307", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/kept", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/to", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("u"), http.StatusFound)
	})
	srv = httptest.NewServer(mux)
	defer srv.Close()
	f := New(Policy{AllowPrivate: true}, Options{})

	r, err := do(context.Background(), f, map[string]any{"url": srv.URL + "/hop/4"}) // 5 redirects
	if err != nil || !r.Redirected || r.URL != srv.URL+"/final" || r.Headers["x-path"] != "/final" {
		t.Errorf("5 redirects: %+v %v", r, err)
	}
	r, err = do(context.Background(), f, map[string]any{"url": srv.URL + "/307", "method": "POST", "body": "again"})
	if err != nil || !r.Redirected || string(body(t, r)) != "again" || r.Headers["x-method"] != "POST" || r.Headers["x-path"] != "/kept" {
		t.Errorf("307 keeps method and body: %+v %v", r, err)
	}
	if _, err := do(context.Background(), f, map[string]any{"url": srv.URL + "/hop/5"}); err == nil || !strings.Contains(err.Error(), "stopped after 5 redirects") {
		t.Errorf("6 redirects: %v", err)
	}
	if _, err := do(context.Background(), New(Policy{AllowPrivate: true}, Options{MaxRedirects: 1}), map[string]any{"url": srv.URL + "/hop/1"}); err == nil || !strings.Contains(err.Error(), "stopped after 1 redirects") {
		t.Errorf("MaxRedirects 1: %v", err)
	}
	r, err = do(context.Background(), New(Policy{AllowPrivate: true}, Options{MaxRedirects: -1}), map[string]any{"url": srv.URL + "/hop/0"})
	if err != nil || r.Status != 302 || r.Redirected || r.Headers["location"] != "/final" {
		t.Errorf("MaxRedirects -1 returns the redirect: %+v %v", r, err)
	}
	r, err = do(context.Background(), f, map[string]any{"url": srv.URL + "/hop/0", "redirect": "manual"})
	if err != nil || r.Status != 302 || r.Redirected || r.Headers["location"] != "/final" {
		t.Errorf("redirect manual returns the redirect: %+v %v", r, err)
	}
	if _, err := do(context.Background(), f, map[string]any{"url": srv.URL + "/hop/0", "redirect": "error"}); err == nil || !strings.Contains(err.Error(), "unexpected redirect") {
		t.Errorf("redirect error: %v", err)
	}
	if _, err := do(context.Background(), f, map[string]any{"url": srv.URL + "/hop/0", "redirect": "sideways"}); err == nil || !strings.Contains(err.Error(), "redirect must be") {
		t.Errorf("bad redirect mode: %v", err)
	}
	for _, to := range []string{"file:///etc/passwd", "ftp://example.com/", "http://user:pw@example.com/"} {
		_, err := do(context.Background(), f, map[string]any{"url": srv.URL + "/to?u=" + to})
		if err == nil || !strings.Contains(err.Error(), "redirected to a refused URL") {
			t.Errorf("redirect to %s: %v", to, err)
		}
	}
}

// TestRawHeaders: a request asking for raw headers gets every header line, repeats
// kept, in header_list; others get none.
func TestRawHeaders(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Set("X-One", "1")
	}))
	defer srv.Close()
	f := New(Policy{AllowPrivate: true}, Options{})
	r, err := do(context.Background(), f, map[string]any{"url": srv.URL, "raw_headers": true})
	if err != nil {
		t.Fatal(err)
	}
	var cookies []string
	for _, h := range r.HeaderList {
		if h[0] == "set-cookie" {
			cookies = append(cookies, h[1])
		}
	}
	if strings.Join(cookies, "|") != "a=1|b=2" || r.Headers["set-cookie"] != "a=1, b=2" {
		t.Errorf("header list %v, headers %v", r.HeaderList, r.Headers)
	}
	if r, _ := do(context.Background(), f, map[string]any{"url": srv.URL}); r.HeaderList != nil {
		t.Errorf("header list sent unasked: %v", r.HeaderList)
	}
}

// counting is a test server that counts the requests it receives.
func counting(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestPolicyRefusals(t *testing.T) {
	private, hits := counting(t, echo)
	port := private.URL[strings.LastIndex(private.URL, ":"):]
	strict := New(Policy{}, Options{})
	tests := []struct {
		name, url, want string
	}{
		{"loopback", private.URL, "destination 127.0.0.1 is a loopback address"},
		{"name resolving to loopback", "http://localhost" + port + "/", "(resolved from localhost) is a loopback address"},
		{"IPv6 loopback", "http://[::1]" + port + "/", "destination ::1 is a loopback address"},
		{"mapped loopback", "http://[::ffff:127.0.0.1]" + port + "/", "loopback"},
		{"unspecified", "http://0.0.0.0" + port + "/", "unspecified"},
		{"metadata", "http://169.254.169.254/latest/meta-data/", "destination 169.254.169.254 is a cloud metadata address"},
		{"private", "http://10.0.0.5/", "destination 10.0.0.5 is a private address; egress to private, loopback, link-local and metadata addresses is not allowed"},
		{"https private", "https://192.168.0.1/", "private"},
		{"CGNAT", "http://100.64.0.1/", "CGNAT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := do(context.Background(), strict, map[string]any{"url": tc.url})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the refused server received %d requests", n)
	}
	// The same server with the allowance.
	r, err := do(context.Background(), New(Policy{AllowPrivate: true}, Options{}), map[string]any{"url": "http://localhost" + port + "/ok"})
	if err != nil || r.Status != 200 || hits.Load() != 1 {
		t.Errorf("AllowPrivate: %+v %v", r, err)
	}
}

// TestRedirectToPrivate: a redirect from an allowed server to a private one is
// refused at the hop's connect. Test servers all live on loopback, so the "public"
// server listens on 127.0.0.2 and the test policy's unexported public field treats
// exactly that address as public; the private server on 127.0.0.1 gets no exception.
func TestRedirectToPrivate(t *testing.T) {
	private, hits := counting(t, echo)
	privatePort := private.URL[strings.LastIndex(private.URL, ":"):]

	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 on this machine: %v", err)
	}
	public := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		echo(w, r)
	}))
	public.Listener.Close()
	public.Listener = ln
	public.Start()
	defer public.Close()

	f := New(Policy{public: netip.MustParseAddr("127.0.0.2")}, Options{})
	r, err := do(context.Background(), f, map[string]any{"url": public.URL + "/direct"})
	if err != nil || r.Status != 200 {
		t.Fatalf("the stand-in public server is not reachable: %+v %v", r, err)
	}
	tests := []struct{ to, want string }{
		{private.URL + "/", "destination 127.0.0.1 is a loopback address"},
		{"http://localhost" + privatePort + "/", "(resolved from localhost) is a loopback address"},
		{"http://169.254.169.254/latest/meta-data/", "cloud metadata"},
		{"http://[::ffff:10.0.0.1]/", "private"},
	}
	for _, tc := range tests {
		_, err := do(context.Background(), f, map[string]any{"url": public.URL + "/start?to=" + tc.to})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "redirected to") {
			t.Errorf("redirect to %s: %v, want a refusal containing %q", tc.to, err, tc.want)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the private server received %d requests", n)
	}
}

func TestLimits(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := 2048
		if r.URL.Path == "/exact" {
			n = 1024
		}
		if r.URL.Path == "/chunked" {
			w.Write([]byte(strings.Repeat("x", 512)))
			w.(http.Flusher).Flush() // no Content-Length: the cap applies while reading
			w.Write([]byte(strings.Repeat("x", 1024)))
			return
		}
		w.Write([]byte(strings.Repeat("x", n)))
	}))
	defer srv.Close()
	capped := New(Policy{AllowPrivate: true}, Options{MaxResponseBytes: 1024, MaxRequestBytes: 8})
	for _, path := range []string{"/big", "/chunked"} {
		if _, err := do(context.Background(), capped, map[string]any{"url": srv.URL + path}); err == nil || !strings.Contains(err.Error(), "response body exceeds 1024 bytes") {
			t.Errorf("%s: %v", path, err)
		}
	}
	if r, err := do(context.Background(), capped, map[string]any{"url": srv.URL + "/exact"}); err != nil || len(body(t, r)) != 1024 {
		t.Errorf("a body at the cap: %v", err)
	}
	for _, req := range []map[string]any{
		{"url": srv.URL, "method": "POST", "body": "123456789"},
		{"url": srv.URL, "method": "POST", "body_base64": base64.StdEncoding.EncodeToString([]byte("123456789"))},
	} {
		if _, err := do(context.Background(), capped, req); err == nil || !strings.Contains(err.Error(), "request body exceeds 8 bytes") {
			t.Errorf("request cap: %v", err)
		}
	}
	if _, err := do(context.Background(), capped, map[string]any{"url": srv.URL + "/exact", "method": "POST", "body": "12345678"}); err != nil {
		t.Errorf("a request body at the cap: %v", err)
	}
}

// TestCancel: the invocation's context, or Options.Timeout, ends a slow request
// promptly.
func TestCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			w.Write([]byte("start"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	tests := []struct {
		name    string
		opts    Options
		timeout time.Duration
		path    string
		want    string
	}{
		{"invocation deadline", Options{}, 200 * time.Millisecond, "/slow", "before the invocation timed out"},
		{"deadline while reading the body", Options{}, 200 * time.Millisecond, "/slow-body", "before the invocation timed out"},
		{"fetch timeout", Options{Timeout: 200 * time.Millisecond}, 10 * time.Second, "/slow", "did not complete within 200ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			start := time.Now()
			_, err := do(ctx, New(Policy{AllowPrivate: true}, tc.opts), map[string]any{"url": srv.URL + tc.path})
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := do(ctx, New(Policy{AllowPrivate: true}, Options{}), map[string]any{"url": srv.URL + "/slow"})
	if err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("cancel: %v", err)
	}
}

// TestBadRequests are refused before any connection, with messages for the reactor.
func TestBadRequests(t *testing.T) {
	srv, hits := counting(t, echo)
	f := New(Policy{AllowPrivate: true}, Options{})
	tests := []struct {
		name string
		arg  string
		want string
	}{
		{"file scheme", `{"url":"file:///etc/passwd"}`, `unsupported URL scheme "file"`},
		{"ftp scheme", `{"url":"ftp://example.com/x"}`, `unsupported URL scheme "ftp"`},
		{"javascript scheme", `{"url":"javascript:alert(1)"}`, `unsupported URL scheme "javascript"`},
		{"relative URL", `{"url":"/path"}`, `unsupported URL scheme ""`},
		{"no host", `{"url":"http:///x"}`, "no host"},
		{"credentials", `{"url":"http://user:pw@` + strings.TrimPrefix(srv.URL, "http://") + `/"}`, "credentials"},
		{"unparseable URL", `{"url":"http://[::1"}`, "invalid URL"},
		{"CRLF in header value", `{"url":"` + srv.URL + `","headers":{"x-a":"a\r\nInjected: 1"}}`, `invalid value for header "x-a"`},
		{"LF in header value", `{"url":"` + srv.URL + `","headers":{"x-a":"a\nb"}}`, `invalid value for header "x-a"`},
		{"NUL in header value", `{"url":"` + srv.URL + `","headers":{"x-a":"a\u0000b"}}`, `invalid value for header "x-a"`},
		{"space in header name", `{"url":"` + srv.URL + `","headers":{"x a":"b"}}`, `invalid header name "x a"`},
		{"CRLF in header name", `{"url":"` + srv.URL + `","headers":{"x\r\ny":"b"}}`, "invalid header name"},
		{"empty header name", `{"url":"` + srv.URL + `","headers":{"":"b"}}`, "invalid header name"},
		{"bad method", `{"url":"` + srv.URL + `","method":"GET /x HTTP/1.1\r\n"}`, "invalid HTTP method"},
		{"CONNECT", `{"url":"` + srv.URL + `","method":"connect"}`, "CONNECT is not allowed"},
		{"TRACE", `{"url":"` + srv.URL + `","method":"TRACE"}`, "TRACE is not allowed"},
		{"GET with body", `{"url":"` + srv.URL + `","method":"GET","body":"x"}`, "GET request cannot have a body"},
		{"both bodies", `{"url":"` + srv.URL + `","method":"POST","body":"x","body_base64":"eA=="}`, "both body and body_base64"},
		{"bad base64", `{"url":"` + srv.URL + `","method":"POST","body_base64":"%%%"}`, "not base64"},
		{"malformed JSON", `{"url":`, "malformed fetch request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.Handle(context.Background(), []byte(tc.arg))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
			// The Node layer adds "fetch failed: " itself.
			if err != nil && strings.Contains(err.Error(), "fetch failed") {
				t.Errorf("err %q repeats the layer's prefix", err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server received %d requests", n)
	}
}
