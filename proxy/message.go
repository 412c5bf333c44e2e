package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// message is a request or response as the transforms see it: headers and the raw
// body, decoded only when a transform needs the JSON.
type message struct {
	header http.Header
	body   []byte
}

func newMessage(h http.Header, body []byte) *message {
	if h == nil {
		h = http.Header{}
	}
	return &message{header: h, body: body}
}

type bodyKind int

const (
	kindText bodyKind = iota
	kindJSON
	kindForm
)

func (m *message) kind() bodyKind {
	mt, _, _ := mime.ParseMediaType(m.header.Get("Content-Type"))
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return kindJSON
	case mt == "application/x-www-form-urlencoded":
		return kindForm
	}
	return kindText
}

// value is the body as transform code and expressions see it: decoded JSON for a
// JSON body that parses, the values of a form, else the text (nil when empty).
func (m *message) value() any {
	if len(m.body) == 0 {
		return nil
	}
	switch m.kind() {
	case kindJSON:
		if v, err := decodeJSON(m.body); err == nil {
			return v
		}
	case kindForm:
		if q, err := url.ParseQuery(string(m.body)); err == nil {
			out := make(map[string]any, len(q))
			for k, vs := range q {
				out[k] = vs[0]
			}
			return out
		}
	}
	return string(m.body)
}

// headerMap is the headers as transform code sees them: one string per name.
func (m *message) headerMap() map[string]string {
	out := make(map[string]string, len(m.header))
	for k, vs := range m.header {
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

// hasExpr is the cheap test before any evaluation.
func hasExpr(s string) bool { return strings.Contains(s, "{{") }

// detokenize replaces the {{ }} expressions of the body and headers with token data.
// JSON bodies keep their layout: only string literals holding an expression are
// rewritten, and one that is exactly an expression becomes the token's JSON value.
func (m *message) detokenize(ctx context.Context, tokens Tokens) error {
	eval := func(s string) (any, error) {
		if tokens == nil {
			return nil, Errorf(400, "the expression in %q cannot be evaluated: tokens are not available in this deployment", s)
		}
		return tokens.Evaluate(ctx, s, nil)
	}
	for k, vs := range m.header {
		for i, v := range vs {
			if !hasExpr(v) {
				continue
			}
			out, err := eval(v)
			if err != nil {
				return err
			}
			vs[i] = text(out)
		}
		m.header[k] = vs
	}
	kind := m.kind()
	// Form values hold expressions URL-encoded; the others are cheap to rule out.
	if kind != kindForm && !bytes.Contains(m.body, []byte("{{")) {
		return nil
	}
	var err error
	switch kind {
	case kindJSON:
		m.body, err = rewriteJSONStrings(m.body, func(s string) ([]byte, error) {
			v, err := eval(s)
			if err != nil {
				return nil, err
			}
			return json.Marshal(v)
		})
		if err != nil && !isProxyError(err) {
			// Not valid JSON after all: detokenize it as text.
			m.body, err = m.detokenizeText(eval)
		}
	case kindForm:
		m.body, err = detokenizeForm(m.body, eval)
	default:
		m.body, err = m.detokenizeText(eval)
	}
	return err
}

func (m *message) detokenizeText(eval func(string) (any, error)) ([]byte, error) {
	v, err := eval(string(m.body))
	if err != nil {
		return nil, err
	}
	return []byte(text(v)), nil
}

func detokenizeForm(body []byte, eval func(string) (any, error)) ([]byte, error) {
	pairs := strings.Split(string(body), "&")
	for i, pair := range pairs {
		k, v, found := strings.Cut(pair, "=")
		if !found {
			continue
		}
		plain, err := url.QueryUnescape(v)
		if err != nil || !hasExpr(plain) {
			continue
		}
		out, err := eval(plain)
		if err != nil {
			return nil, err
		}
		pairs[i] = k + "=" + url.QueryEscape(text(out))
	}
	return []byte(strings.Join(pairs, "&")), nil
}

// text renders an evaluated value where only text fits: strings as they are, other
// values as JSON.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	case json.RawMessage: // token data kept verbatim by the evaluator
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
		return string(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func isProxyError(err error) bool {
	var pe *Error
	return errors.As(err, &pe)
}

// rewriteJSONStrings replaces every string value (not object keys) holding an
// expression with what f returns for it, leaving the rest of the document byte for
// byte.
func rewriteJSONStrings(doc []byte, f func(string) ([]byte, error)) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	var out bytes.Buffer
	last := 0 // doc[:last] is already in out
	// Within an object, tokens alternate key, value; a stack tracks where we are.
	type frame struct {
		object bool
		key    bool // the next token is a key
	}
	var stack []frame
	for {
		prev := int(dec.InputOffset())
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		isKey := false
		if n := len(stack); n > 0 && stack[n-1].object {
			if _, delim := tok.(json.Delim); !delim || tok == json.Delim('{') || tok == json.Delim('[') {
				isKey = stack[n-1].key
				stack[n-1].key = !stack[n-1].key
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		s, ok := tok.(string)
		if !ok || isKey || !hasExpr(s) {
			continue
		}
		end := int(dec.InputOffset())
		start := prev + bytes.IndexByte(doc[prev:end], '"')
		repl, err := f(s)
		if err != nil {
			return nil, err
		}
		out.Write(doc[last:start])
		out.Write(repl)
		last = end
	}
	if last == 0 {
		return doc, nil
	}
	out.Write(doc[last:])
	return out.Bytes(), nil
}
