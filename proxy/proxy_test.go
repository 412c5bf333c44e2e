package proxy_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reactord/reactord/egress"
	"github.com/reactord/reactord/proxy"
	"github.com/reactord/reactord/store"
)

// tokenTable evaluates expressions that are exactly "{{ id }}" or embed such
// references, from a fixed table; it stands in for the token service, which the API
// provides in production.
type tokenTable struct {
	data    map[string]any
	created []map[string]any
}

func (tt *tokenTable) Evaluate(_ context.Context, s string, scope *proxy.Scope) (any, error) {
	var out strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			out.WriteString(rest)
			break
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return nil, proxy.Errorf(400, "unterminated expression in %q", s)
		}
		ref := strings.TrimSpace(rest[i+2 : i+j])
		var v any
		var ok bool
		switch {
		case strings.HasPrefix(ref, "res.") && scope != nil:
			v, ok = scope.Res.(map[string]any)[strings.TrimPrefix(ref, "res.")]
		case strings.HasPrefix(ref, "req.") && scope != nil:
			v, ok = scope.Req.(map[string]any)[strings.TrimPrefix(ref, "req.")]
		case strings.HasPrefix(ref, "transform_identifier:") && scope != nil:
			id := strings.Trim(strings.TrimSpace(strings.TrimPrefix(ref, "transform_identifier:")), "'")
			v, ok = scope.Transforms[id]
		default:
			v, ok = tt.data[ref]
		}
		if !ok {
			return nil, proxy.Errorf(400, "unknown token or reference in %q", s)
		}
		if i == 0 && j+2 == len(rest) && out.Len() == 0 {
			return v, nil
		}
		if str, isStr := v.(string); isStr {
			out.WriteString(rest[:i] + str)
		} else {
			b, _ := json.Marshal(v)
			out.WriteString(rest[:i] + string(b))
		}
		rest = rest[i+j+2:]
	}
	return out.String(), nil
}

func (tt *tokenTable) Prefetch(context.Context, []string) {}

func (tt *tokenTable) Tokenize(_ context.Context, req map[string]any) (map[string]any, error) {
	tok := map[string]any{"id": "tok-" + string(rune('a'+len(tt.created))), "type": req["type"], "data": req["data"]}
	tt.created = append(tt.created, tok)
	return tok, nil
}

type seen struct {
	method, path, query string
	header              http.Header
	body                string
}

// destination records what it received and answers with status and body.
func destination(t *testing.T, status int, contentType, body string) (*httptest.Server, chan seen) {
	ch := make(chan seen, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(b)}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("X-Dest", "yes")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func local(cfg proxy.Config) *proxy.Proxy {
	cfg.Policy = egress.Policy{AllowPrivate: true}
	cfg.AllowHTTP = true
	return proxy.New(cfg)
}

func TestForwardAndDetokenize(t *testing.T) {
	dest, got := destination(t, 201, "application/json", `{"ok":true}`)
	tokens := &tokenTable{data: map[string]any{"t1": "4242424242424242", "t2": map[string]any{"n": json.Number("1")}, "t3": "secret"}}
	p := local(proxy.Config{})
	cases := []struct {
		name, contentType, body, wantBody string
	}{
		{"json keeps layout, whole-string expressions take the token's JSON type",
			"application/json", `{ "card": "{{ t1 }}",  "obj": "{{t2}}", "text": "x-{{ t3 }}-y", "{{ t3 }}": 1 }`,
			`{ "card": "4242424242424242",  "obj": {"n":1}, "text": "x-secret-y", "{{ t3 }}": 1 }`},
		{"form values", "application/x-www-form-urlencoded", `a=%7B%7B+t1+%7D%7D&b=plain`, `a=4242424242424242&b=plain`},
		{"text", "text/plain", `card {{ t1 }} end`, `card 4242424242424242 end`},
		{"no expression is sent byte for byte", "application/json", `{"a":  1}`, `{"a":  1}`},
		{"arrays, nesting, escapes and a key spaced from its colon",
			"application/json", "[\"{{ t1 }}\", {\"k\\\"{{ t3 }}\" \n : \"{{ t3 }}\", \"esc\": \"\\u007b\\u007b t3 }} \\\"q\\\"\", \"n\": [1, \"{{ t2 }}\"]}, \"plain \\\" {\"]",
			"[\"4242424242424242\", {\"k\\\"{{ t3 }}\" \n : \"secret\", \"esc\": \"secret \\\"q\\\"\", \"n\": [1, {\"n\":1}]}, \"plain \\\" {\"]"},
		{"JSON that does not parse is detokenized as text", "application/json", `{"card": "{{ t1 }}"`, `{"card": "4242424242424242"`},
		{"a form with nothing to replace is sent byte for byte", "application/x-www-form-urlencoded", `a=1&b&c=%7B`, `a=1&b&c=%7B`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {tc.contentType}, "Bt-Api-Key": {"k"}, "Bt-Proxy-Url": {dest.URL},
				"Authorization": {"Bearer {{ t3 }}"}, "X-Custom": {"1"}}
			resp, err := p.Do(context.Background(), &proxy.Call{Destination: dest.URL + "/api?fixed=1", Method: "POST", Path: "/foo/bar",
				RawQuery: "q=2", Header: h, Body: []byte(tc.body), Tokens: tokens})
			if err != nil {
				t.Fatal(err)
			}
			s := <-got
			if s.body != tc.wantBody {
				t.Errorf("destination got body %s, want %s", s.body, tc.wantBody)
			}
			if s.method != "POST" || s.path != "/api/foo/bar" || s.query != "fixed=1&q=2" {
				t.Errorf("destination got %s %s?%s", s.method, s.path, s.query)
			}
			if s.header.Get("Authorization") != "Bearer secret" || s.header.Get("X-Custom") != "1" ||
				s.header.Get("Bt-Api-Key") != "" || s.header.Get("Bt-Proxy-Url") != "" {
				t.Errorf("destination got headers %v", s.header)
			}
			if resp.Status != 201 || resp.DestinationStatus != 201 || string(resp.Body) != `{"ok":true}` || resp.Header.Get("X-Dest") != "yes" {
				t.Errorf("response %d %d %s %v", resp.Status, resp.DestinationStatus, resp.Body, resp.Header)
			}
		})
	}
}

func TestProxyErrors(t *testing.T) {
	dest, _ := destination(t, 200, "text/plain", "ok")
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer slow.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tokens := &tokenTable{data: map[string]any{}}
	strict := proxy.New(proxy.Config{AllowHTTP: true}) // the default policy: public addresses only
	cases := []struct {
		name   string
		p      *proxy.Proxy
		call   proxy.Call
		status int
		detail string
	}{
		{"loopback refused by the egress policy", strict, proxy.Call{Destination: "http://localhost:" + strings.Split(dest.URL, ":")[2]}, 422, "egress policy"},
		{"IP destination refused in production", strict, proxy.Call{Destination: dest.URL}, 400, "DNS name"},
		{"plain http refused", proxy.New(proxy.Config{}), proxy.Call{Destination: "http://example.com"}, 400, "https"},
		{"unreachable", local(proxy.Config{}), proxy.Call{Destination: closedURL}, 502, "could not be reached"},
		{"too slow", local(proxy.Config{Timeout: 50 * time.Millisecond}), proxy.Call{Destination: slow.URL}, 408, "did not answer"},
		{"unknown token", local(proxy.Config{}), proxy.Call{Destination: dest.URL, Body: []byte(`{{ nope }}`), Tokens: tokens}, 400, "unknown token"},
		{"expressions without tokens", local(proxy.Config{}), proxy.Call{Destination: dest.URL, Body: []byte(`{{ nope }}`)}, 400, "not available"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.call
			c.Method = "POST"
			_, err := tc.p.Do(context.Background(), &c)
			var pe *proxy.Error
			if !errors.As(err, &pe) || pe.Status != tc.status || !strings.Contains(pe.Detail, tc.detail) {
				t.Fatalf("got %v, want %d %q", err, tc.status, tc.detail)
			}
			var body struct {
				ProxyError struct {
					Status int    `json:"status"`
					Title  string `json:"title"`
					Detail string `json:"detail"`
				} `json:"proxy_error"`
			}
			if err := json.Unmarshal(pe.JSON(), &body); err != nil || body.ProxyError.Status != tc.status || body.ProxyError.Title == "" {
				t.Errorf("proxy_error body %s", pe.JSON())
			}
		})
	}
}

func TestBuiltinResponseTransforms(t *testing.T) {
	dest, _ := destination(t, 200, "application/json", `{"card":"4242424242424242","name":"Ann","nested":{"k":1}}`)
	tokens := &tokenTable{data: map[string]any{}}
	opts := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	px := &store.Proxy{ID: "p1", ResponseTransforms: []store.ProxyTransform{
		{Type: "tokenize", Options: opts(map[string]any{"identifier": "card_token", "token": map[string]any{"type": "card_number", "data": "{{ res.card }}"}})},
		{Type: "mask", Matcher: "regex", Expression: `"card":"\d{12}(\d{4})"`, Replacement: "#"},
		{Type: "mask", Matcher: "regex", Expression: `"name":"(\w+)"`, Replacement: "*"},
		{Type: "append_json", Options: opts(map[string]any{"location": "$.meta.token_id", "value": "{{ transform_identifier: 'card_token' }}"})},
		{Type: "append_header", Options: opts(map[string]any{"location": "X-Token", "value": "id={{ res.name }}"})},
	}}
	p := local(proxy.Config{})
	resp, err := p.Do(context.Background(), &proxy.Call{Proxy: px, Destination: dest.URL, Method: "GET", Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		t.Fatalf("body %s: %v", resp.Body, err)
	}
	if body["card"] != "424242424242####" || body["name"] != "***" {
		t.Errorf("masked body %s", resp.Body)
	}
	meta, _ := body["meta"].(map[string]any)
	tok, _ := meta["token_id"].(map[string]any)
	if len(tokens.created) != 1 || tokens.created[0]["data"] != "4242424242424242" || tok["id"] != "tok-a" {
		t.Errorf("tokenize created %v; appended %s", tokens.created, resp.Body)
	}
	// The header transform runs after the mask, so it sees the masked name.
	if resp.Header.Get("X-Token") != "id=***" {
		t.Errorf("X-Token %q", resp.Header.Get("X-Token"))
	}

	text, _ := destination(t, 200, "text/plain", "PAN 4111111111111111 ref 1234567890123 end")
	px = &store.Proxy{ID: "p2", ResponseTransforms: []store.ProxyTransform{
		{Type: "mask", Matcher: "chase_stratus_pan", Replacement: "X"},
		{Type: "append_text", Options: opts(map[string]any{"value": " (masked)"})},
	}}
	resp, err = p.Do(context.Background(), &proxy.Call{Proxy: px, Destination: text.URL, Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	// 1234567890123 fails the Luhn check and is not a card number.
	if string(resp.Body) != "PAN XXXXXXXXXXXXXXXX ref 1234567890123 end (masked)" {
		t.Errorf("chase_stratus_pan body %q", resp.Body)
	}
}

func TestValidateTransforms(t *testing.T) {
	cases := []struct {
		phase string
		t     store.ProxyTransform
		field string
	}{
		{"request", store.ProxyTransform{Type: "mask", Matcher: "regex", Expression: "(a)", Replacement: "*"}, "request_transforms[0].type"},
		{"response", store.ProxyTransform{Type: "mask", Matcher: "regex", Expression: "a", Replacement: "*"}, "response_transforms[0].expression"},
		{"response", store.ProxyTransform{Type: "mask", Matcher: "regex", Expression: "(a)", Replacement: "**"}, "response_transforms[0].replacement"},
		{"response", store.ProxyTransform{Type: "mask", Matcher: "other", Replacement: "*"}, "response_transforms[0].matcher"},
		{"request", store.ProxyTransform{Type: "code"}, "request_transforms[0].code"},
		{"request", store.ProxyTransform{Type: "tokenize", Options: json.RawMessage(`{}`)}, "request_transforms[0].options.token"},
		{"response", store.ProxyTransform{Type: "append_json", Options: json.RawMessage(`{"location":"a.b"}`)}, "response_transforms[0].options.location"},
		{"response", store.ProxyTransform{Type: "append_header", Options: json.RawMessage(`{"location":"bad name","value":"v"}`)}, "response_transforms[0].options.location"},
	}
	for _, tc := range cases {
		errs := proxy.ValidateTransforms(tc.phase, []store.ProxyTransform{tc.t})
		if len(errs[tc.field]) == 0 {
			t.Errorf("%+v: want an error on %s, got %v", tc.t, tc.field, errs)
		}
	}
	ok := []store.ProxyTransform{{Code: "module.exports = x => x"}, {Type: "mask", Matcher: "chase_stratus_pan", Replacement: "X"},
		{Type: "append_json", Options: json.RawMessage(`{"location":"$.a['b'][0]","value":1}`)}}
	if errs := proxy.ValidateTransforms("response", ok); len(errs) != 0 {
		t.Errorf("valid transforms refused: %v", errs)
	}
}

// TestResponseLimit: a destination's body is read up to MaxResponse bytes whether or
// not it announces its length; one byte more is a 502.
func TestResponseLimit(t *testing.T) {
	const limit = 1000
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		json.Unmarshal([]byte(r.URL.Query().Get("n")), &n)
		body := strings.Repeat("x", n)
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", itoa(n))
			io.WriteString(w, body)
			return
		}
		for len(body) > 0 { // unannounced length, in pieces
			k := min(len(body), 300)
			io.WriteString(w, body[:k])
			w.(http.Flusher).Flush()
			body = body[k:]
		}
	}))
	t.Cleanup(dest.Close)
	p := local(proxy.Config{MaxResponse: limit})
	for _, tc := range []struct {
		query  string
		status int
	}{
		{"n=0", 200}, {"n=999", 200}, {"n=1000", 200}, {"n=1001", 502},
		{"n=1&chunked=1", 200}, {"n=1000&chunked=1", 200}, {"n=1001&chunked=1", 502}, {"n=5000&chunked=1", 502},
	} {
		t.Run(tc.query, func(t *testing.T) {
			var n int
			json.Unmarshal([]byte(strings.TrimPrefix(strings.Split(tc.query, "&")[0], "n=")), &n)
			resp, err := p.Do(context.Background(), &proxy.Call{Destination: dest.URL, Method: "GET", RawQuery: tc.query})
			var pe *proxy.Error
			switch {
			case tc.status == 200 && (err != nil || resp.Status != 200 || len(resp.Body) != n):
				t.Errorf("got %v %v", resp, err)
			case tc.status != 200 && (!errors.As(err, &pe) || pe.Status != tc.status):
				t.Errorf("got %v %v, want a %d proxy error", resp, err, tc.status)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
