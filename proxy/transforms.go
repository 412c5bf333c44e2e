package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/reactord/reactord/proxy/internal/jsonpath"
	rt "github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/scheduler"
	"github.com/reactord/reactord/store"
)

// Transform types of Basis Theory's proxy transforms.
const (
	TypeCode         = "code"
	TypeTokenize     = "tokenize"
	TypeMask         = "mask"
	TypeAppendJSON   = "append_json"
	TypeAppendText   = "append_text"
	TypeAppendHeader = "append_header"
)

// Mask matchers of Basis Theory's mask transform.
const (
	MatcherRegex           = "regex"
	MatcherChaseStratusPAN = "chase_stratus_pan"
)

type phase string

const (
	phaseRequest  phase = "request"
	phaseResponse phase = "response"
)

// options is the union of the transform options.
type options struct {
	Token      map[string]any `json:"token"`
	Identifier string         `json:"identifier"`
	Value      any            `json:"value"`
	Location   string         `json:"location"`
}

// TransformID is the synthetic reactor id a proxy's code transform runs under, so
// the worker pools keep its warm instances apart from reactors and other transforms.
func TransformID(proxyID, phase string, index int) string {
	return fmt.Sprintf("proxy:%s:%s:%d", proxyID, phase, index)
}

// step is one transform applied to one message of one call.
type step struct {
	c     *Call
	ph    phase
	index int
	t     store.ProxyTransform
	o     options
	m     *message
	scope *Scope
}

// kind is one transform type: the phases it runs in, the checks of its fields at
// create and update, and what it does to a message. A non-nil Response from apply
// ends the call with it (a code transform threw); errors are *Error.
type kind struct {
	name     string
	phases   []phase
	validate func(t store.ProxyTransform, o options, add func(field, msg string))
	apply    func(ctx context.Context, p *Proxy, s *step) (*Response, error)
}

// kinds is every transform type, in the order error messages list them. A new
// transform type is one entry here.
var kinds = []kind{
	{name: TypeCode, phases: []phase{phaseRequest, phaseResponse}, validate: validateCode, apply: applyCode},
	{name: TypeTokenize, phases: []phase{phaseRequest, phaseResponse}, validate: validateTokenize, apply: applyTokenize},
	{name: TypeMask, phases: []phase{phaseResponse}, validate: validateMask, apply: applyMask},
	{name: TypeAppendJSON, phases: []phase{phaseResponse}, validate: validateAppendJSON, apply: applyAppendJSON},
	{name: TypeAppendText, phases: []phase{phaseResponse}, validate: validateAppendText, apply: applyAppendText},
	{name: TypeAppendHeader, phases: []phase{phaseResponse}, validate: validateAppendHeader, apply: applyAppendHeader},
}

// kindOf returns the kind of a transform type ("" is code) allowed in phase ph.
func kindOf(typ string, ph phase) (kind, bool) {
	if typ == "" {
		typ = TypeCode
	}
	for _, k := range kinds {
		if k.name == typ && slices.Contains(k.phases, ph) {
			return k, true
		}
	}
	return kind{}, false
}

// kindNames lists the transform types allowed in phase ph.
func kindNames(ph phase) string {
	var names []string
	for _, k := range kinds {
		if slices.Contains(k.phases, ph) {
			names = append(names, k.name)
		}
	}
	return strings.Join(names, ", ")
}

// ValidateTransforms checks transforms of a phase ("request" or "response") and
// returns field-level messages keyed like "request_transforms[0].code". A code
// transform's runtime object is the caller's to check, as a reactor's is.
func ValidateTransforms(phaseName string, ts []store.ProxyTransform) map[string][]string {
	errs := map[string][]string{}
	for i, t := range ts {
		field := fmt.Sprintf("%s_transforms[%d]", phaseName, i)
		add := func(f, msg string) { errs[field+f] = append(errs[field+f], msg) }
		var o options
		if len(t.Options) > 0 && !bytes.Equal(t.Options, []byte("null")) {
			if err := json.Unmarshal(t.Options, &o); err != nil {
				add(".options", "options must be an object: "+err.Error())
				continue
			}
		}
		k, ok := kindOf(t.Type, phase(phaseName))
		if !ok {
			add(".type", "type must be one of "+kindNames(phase(phaseName)))
			continue
		}
		k.validate(t, o, add)
	}
	return errs
}

func validateCode(t store.ProxyTransform, _ options, add func(field, msg string)) {
	if t.Code == "" {
		add(".code", "code is required for a code transform")
	}
}

func validateTokenize(_ store.ProxyTransform, o options, add func(field, msg string)) {
	if o.Token == nil {
		add(".options.token", "options.token is required for a tokenize transform")
	}
}

func validateMask(t store.ProxyTransform, _ options, add func(field, msg string)) {
	if utf8.RuneCountInString(t.Replacement) != 1 {
		add(".replacement", "replacement must be exactly one character")
	}
	switch t.Matcher {
	case MatcherRegex:
		re, err := regexp.Compile(t.Expression)
		switch {
		case t.Expression == "":
			add(".expression", "expression is required when matcher is regex")
		case err != nil:
			add(".expression", "expression is not a valid regular expression: "+err.Error())
		case re.NumSubexp() < 1:
			add(".expression", "expression must contain at least one capture group")
		}
	case MatcherChaseStratusPAN:
	default:
		add(".matcher", "matcher must be one of regex, chase_stratus_pan")
	}
}

func validateAppendJSON(_ store.ProxyTransform, o options, add func(field, msg string)) {
	if _, err := jsonpath.Parse(o.Location); err != nil {
		add(".options.location", "options.location must be a JSONPath like $.a.b: "+err.Error())
	}
}

func validateAppendText(_ store.ProxyTransform, o options, add func(field, msg string)) {
	if _, ok := o.Value.(string); !ok {
		add(".options.value", "options.value must be a string")
	}
}

func validateAppendHeader(_ store.ProxyTransform, o options, add func(field, msg string)) {
	if o.Location == "" || !validHeaderName(o.Location) {
		add(".options.location", "options.location must be a header name")
	}
	validateAppendText(store.ProxyTransform{}, o, add)
}

func validHeaderName(s string) bool {
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// apply runs transform t on m.
func (p *Proxy) apply(ctx context.Context, c *Call, ph phase, i int, t store.ProxyTransform, m *message, scope *Scope) (*Response, error) {
	s := &step{c: c, ph: ph, index: i, t: t, m: m, scope: scope}
	if len(t.Options) > 0 {
		if err := json.Unmarshal(t.Options, &s.o); err != nil {
			return nil, Errorf(500, "%s transform %d has invalid options", ph, i)
		}
	}
	k, ok := kindOf(t.Type, ph)
	if !ok {
		return nil, Errorf(500, "%s transform %d has an unknown type %q", ph, i, t.Type)
	}
	return k.apply(ctx, p, s)
}

func applyCode(ctx context.Context, p *Proxy, s *step) (*Response, error) {
	return p.code(ctx, s.c, s.ph, s.index, s.t, s.m)
}

func applyTokenize(ctx context.Context, p *Proxy, s *step) (*Response, error) {
	return nil, p.tokenize(ctx, s.c, s.ph, s.o, s.m, s.scope)
}

func applyMask(_ context.Context, p *Proxy, s *step) (*Response, error) {
	p.mask(s.t, s.m)
	return nil, nil
}

func applyAppendJSON(ctx context.Context, p *Proxy, s *step) (*Response, error) {
	v, err := p.render(ctx, s.c, s.o.Value, s.m, s.ph, s.scope)
	if err != nil {
		return nil, err
	}
	return nil, appendJSON(s.m, s.o.Location, v)
}

func applyAppendText(ctx context.Context, p *Proxy, s *step) (*Response, error) {
	v, err := p.render(ctx, s.c, s.o.Value, s.m, s.ph, s.scope)
	if err != nil {
		return nil, err
	}
	s.m.body = append(bytes.Clone(s.m.body), text(v)...)
	return nil, nil
}

func applyAppendHeader(ctx context.Context, p *Proxy, s *step) (*Response, error) {
	v, err := p.render(ctx, s.c, s.o.Value, s.m, s.ph, s.scope)
	if err != nil {
		return nil, err
	}
	s.m.header.Set(s.o.Location, text(v))
	return nil, nil
}

// render evaluates the expressions in every string of v.
func (p *Proxy) render(ctx context.Context, c *Call, v any, m *message, ph phase, scope *Scope) (any, error) {
	var walk func(v any) (any, error)
	needScope := true
	walk = func(v any) (any, error) {
		switch v := v.(type) {
		case string:
			if !hasExpr(v) {
				return v, nil
			}
			if c.Tokens == nil {
				return nil, Errorf(400, "the expression in %q cannot be evaluated: tokens are not available in this deployment", v)
			}
			if needScope {
				needScope = false
				if ph == phaseRequest {
					scope.Req = m.value()
				} else {
					scope.Res = m.value()
				}
			}
			return c.Tokens.Evaluate(ctx, v, scope)
		case map[string]any:
			out := make(map[string]any, len(v))
			for k, x := range v {
				y, err := walk(x)
				if err != nil {
					return nil, err
				}
				out[k] = y
			}
			return out, nil
		case []any:
			out := make([]any, len(v))
			for k, x := range v {
				y, err := walk(x)
				if err != nil {
					return nil, err
				}
				out[k] = y
			}
			return out, nil
		}
		return v, nil
	}
	return walk(v)
}

func (p *Proxy) tokenize(ctx context.Context, c *Call, ph phase, o options, m *message, scope *Scope) error {
	if c.Tokens == nil {
		return Errorf(400, "tokenize transforms need tokens, which are not available in this deployment")
	}
	v, err := p.render(ctx, c, any(o.Token), m, ph, scope)
	if err != nil {
		return err
	}
	req, _ := v.(map[string]any)
	token, err := c.Tokens.Tokenize(ctx, req)
	if err != nil {
		return err
	}
	if o.Identifier != "" {
		scope.Transforms[o.Identifier] = token
	}
	return nil
}

// mask replaces each character a matcher selects with the replacement.
func (p *Proxy) mask(t store.ProxyTransform, m *message) {
	repl, _ := utf8.DecodeRuneInString(t.Replacement)
	switch t.Matcher {
	case MatcherRegex:
		re, err := p.regexp(t.Expression)
		if err != nil {
			return // validated at create
		}
		m.body = maskGroups(re, m.body, repl)
	case MatcherChaseStratusPAN:
		m.body = maskGroups(panPattern, m.body, repl, luhn)
	}
}

// maxRegexps bounds the compiled mask expressions a Proxy keeps.
const maxRegexps = 1024

// regexp returns expr compiled, compiling each expression once (up to maxRegexps of
// them): a *regexp.Regexp is safe for concurrent use and depends on nothing but expr.
func (p *Proxy) regexp(expr string) (*regexp.Regexp, error) {
	if re, ok := p.regexps.Load(expr); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(expr)
	if err == nil && p.nregexps.Add(1) <= maxRegexps {
		p.regexps.Store(expr, re)
	}
	return re, err
}

// panPattern finds the candidate card numbers of a Chase Stratus response: runs of
// 13 to 19 digits. Only those passing the Luhn check are masked.
var panPattern = regexp.MustCompile(`(?:^|[^0-9])([0-9]{13,19})(?:[^0-9]|$)`)

func luhn(d []byte) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

// maskGroups replaces every character of every capture group of every match.
func maskGroups(re *regexp.Regexp, body []byte, repl rune, keep ...func([]byte) bool) []byte {
	out := bytes.Clone(body)
	var spans [][2]int
	for _, loc := range re.FindAllSubmatchIndex(body, -1) {
		for g := 1; 2*g+1 < len(loc); g++ {
			if loc[2*g] < 0 {
				continue
			}
			if len(keep) > 0 && !keep[0](body[loc[2*g]:loc[2*g+1]]) {
				continue
			}
			spans = append(spans, [2]int{loc[2*g], loc[2*g+1]})
		}
	}
	if len(spans) == 0 {
		return body
	}
	var b bytes.Buffer
	last := 0
	for _, s := range spans {
		if s[0] < last {
			continue // nested groups: the outer one is masked already
		}
		b.Write(out[last:s[0]])
		for range utf8.RuneCount(out[s[0]:s[1]]) {
			b.WriteRune(repl)
		}
		last = s[1]
	}
	b.Write(out[last:])
	return b.Bytes()
}

func appendJSON(m *message, location string, v any) error {
	path, err := jsonpath.Parse(location)
	if err != nil {
		return Errorf(500, "append_json location %q: %v", location, err)
	}
	var doc any
	if len(bytes.TrimSpace(m.body)) > 0 {
		if doc, err = decodeJSON(m.body); err != nil {
			return Errorf(422, "append_json needs a JSON response body: %v", err)
		}
	}
	doc, err = path.Set(doc, v)
	if err != nil {
		return Errorf(422, "append_json at %s: %v", location, err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return Errorf(500, "append_json: %v", err)
	}
	m.body = b
	if m.header.Get("Content-Type") == "" {
		m.header.Set("Content-Type", "application/json")
	}
	return nil
}

// code runs a code transform on the reactor runtime. Every failure of the code (a
// syntax error, a thrown error, a reactor error class with its status, a timeout)
// is the proxy's, answered as {"proxy_error": ...} so callers tell it from the
// destination's answer. A request transform may answer the call itself.
func (p *Proxy) code(ctx context.Context, c *Call, ph phase, i int, t store.ProxyTransform, m *message) (*Response, error) {
	req := scheduler.NewRequest(TransformID(c.Proxy.ID, string(ph), i), t.Bundle, t.Runtime, c.Proxy.Configuration)
	req.TraceID, req.WantResult = c.TraceID, true
	base := codeArgs{Body: m.valueJSON(), Headers: m.headerMap()}
	var args any = base
	if ph == phaseRequest {
		args = codeRequestArgs{base, c.Method, c.Path, c.RawQuery}
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, Errorf(500, "encoding the transform's input: %v", err)
	}
	req.Args = raw
	var app *store.ApplicationRef
	if c.Proxy.ApplicationID != "" {
		app = &store.ApplicationRef{ID: c.Proxy.ApplicationID}
	}
	reply, failure := p.cfg.Runner.Transform(ctx, req, t.Runtime, app, c.Caller)
	if failure != nil {
		return nil, &Error{Status: failure.Status, Body: failure.JSON()}
	}
	if rt.Outcome(reply.Outcome) != rt.OK {
		return nil, &Error{Status: reply.Status, Body: reply.Body}
	}
	// One decoding of the result serves both readings of it.
	var out transformResult
	if json.Unmarshal(reply.Result, &out) != nil {
		return nil, errNotAnObject
	}
	if ph == phaseRequest {
		if resp, err := skipResponse(out.Response); resp != nil || err != nil {
			return resp, err
		}
	}
	return nil, m.set(out)
}

// transformResult is what a transform returns: { body, headers }, or, from a
// request transform, { response: { status, headers, body } }.
type transformResult struct {
	Response json.RawMessage `json:"response"`
	Body     json.RawMessage `json:"body"`
	Headers  json.RawMessage `json:"headers"`
}

var errNotAnObject = &Error{Status: 500, Title: "Reactor Runtime Error", Type: "reactor_runtime_error",
	Detail: "a transform must return an object { body, headers }"}

// codeArgs is a code transform's input (node-bt's req.args, node22's event.req):
// the message, and for a request its method, path (after /proxy) and query.
type codeArgs struct {
	Body    json.RawMessage   `json:"body"`
	Headers map[string]string `json:"headers"`
}

type codeRequestArgs struct {
	codeArgs
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query"`
}

// skipResponse is Basis Theory's "Skip Proxy Request": a request transform that
// returns { response: { status, headers, body } } answers the call with it, and
// the destination is not called. status defaults to 200 (statusCode is accepted
// too); the body is sent as a string as is, anything else as JSON.
func skipResponse(response json.RawMessage) (*Response, error) {
	if len(response) == 0 || bytes.Equal(response, []byte("null")) {
		return nil, nil
	}
	var r struct {
		Status     *int            `json:"status"`
		StatusCode *int            `json:"statusCode"`
		Body       json.RawMessage `json:"body"`
		Headers    json.RawMessage `json:"headers"`
	}
	if err := json.Unmarshal(response, &r); err != nil {
		return nil, &Error{Status: 500, Title: "Reactor Runtime Error", Type: "reactor_runtime_error",
			Detail: "a transform's response must be an object { status, headers, body }"}
	}
	status := 200
	switch {
	case r.Status != nil:
		status = *r.Status
	case r.StatusCode != nil:
		status = *r.StatusCode
	}
	if status < 100 || status > 599 {
		return nil, &Error{Status: 500, Title: "Reactor Runtime Error", Type: "reactor_runtime_error",
			Detail: fmt.Sprintf("a transform's response status must be 100 to 599, not %d", status)}
	}
	m := &message{header: http.Header{}}
	if err := m.set(transformResult{Body: r.Body, Headers: r.Headers}); err != nil {
		return nil, err
	}
	if m.header.Get("Content-Type") == "" && len(r.Body) > 0 && r.Body[0] != '"' && !bytes.Equal(r.Body, []byte("null")) {
		m.header.Set("Content-Type", "application/json")
	}
	return &Response{Status: status, Header: m.header, Body: m.body}, nil
}

// set sets the message from a transform's { body, headers } result. A missing
// member keeps the current value; a string body is sent as is, anything else as JSON.
func (m *message) set(out transformResult) error {
	if len(out.Headers) > 0 && !bytes.Equal(out.Headers, []byte("null")) {
		var hs map[string]any
		if err := json.Unmarshal(out.Headers, &hs); err != nil {
			return &Error{Status: 500, Title: "Reactor Runtime Error", Type: "reactor_runtime_error",
				Detail: "a transform's headers must be an object"}
		}
		h := make(http.Header, len(hs))
		for k, v := range hs {
			if v == nil || !validHeaderName(k) {
				continue
			}
			h.Set(k, text(v))
		}
		m.header = h
	}
	switch {
	case len(out.Body) == 0:
	case bytes.Equal(out.Body, []byte("null")):
		m.body = nil
	case out.Body[0] == '"':
		var s string
		json.Unmarshal(out.Body, &s)
		m.body = []byte(s)
	default:
		m.body = out.Body
	}
	return nil
}
