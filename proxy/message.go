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
	"unicode/utf8"
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
	ct := m.header.Get("Content-Type")
	switch ct { // the common forms, without parsing
	case "application/json", "application/json; charset=utf-8":
		return kindJSON
	case "application/x-www-form-urlencoded":
		return kindForm
	case "":
		return kindText
	}
	mt, _, _ := mime.ParseMediaType(ct)
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

// valueJSON is value encoded as JSON. A JSON body that parses is used as it is,
// without decoding and encoding it again (its key order kept).
func (m *message) valueJSON() json.RawMessage {
	if len(m.body) > 0 && m.kind() == kindJSON && json.Valid(m.body) && utf8.Valid(m.body) {
		return m.body
	}
	b, err := json.Marshal(m.value())
	if err != nil { // the values of value() always encode
		return json.RawMessage("null")
	}
	return b
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
// Every text to evaluate is found first and handed to the token service's Prefetch,
// so that it can read the tokens they refer to together.
func (m *message) detokenize(ctx context.Context, tokens Tokens) error {
	type headerValue struct {
		key string
		i   int
	}
	var texts []string
	var headers []headerValue
	for k, vs := range m.header {
		for i, v := range vs {
			if hasExpr(v) {
				headers = append(headers, headerValue{k, i})
				texts = append(texts, v)
			}
		}
	}
	kind := m.kind()
	var strs []jsonString
	var form []formValue
	wholeBody := false
	switch {
	case kind != kindForm && !bytes.Contains(m.body, []byte("{{")):
		// Form values hold expressions URL-encoded; the others are cheap to rule out.
	case kind == kindJSON && json.Valid(m.body):
		var err error
		if strs, err = jsonExprStrings(m.body); err != nil {
			return err
		}
		for _, s := range strs {
			texts = append(texts, s.text)
		}
	case kind == kindForm:
		form = formExprValues(m.body)
		for _, f := range form {
			texts = append(texts, f.text)
		}
	default: // text, or JSON that does not parse: detokenized as text
		wholeBody = true
		texts = append(texts, string(m.body))
	}
	if len(texts) == 0 {
		return nil
	}
	if tokens == nil {
		return Errorf(400, "the expression in %q cannot be evaluated: tokens are not available in this deployment", texts[0])
	}
	tokens.Prefetch(ctx, texts)
	for i, h := range headers {
		out, err := tokens.Evaluate(ctx, texts[i], nil)
		if err != nil {
			return err
		}
		m.header[h.key][h.i] = text(out)
	}
	texts = texts[len(headers):]
	switch {
	case len(strs) > 0:
		out := make([]byte, 0, len(m.body)+len(m.body)/2)
		last := 0
		for _, s := range strs {
			v, err := tokens.Evaluate(ctx, s.text, nil)
			if err != nil {
				return err
			}
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			out = append(append(out, m.body[last:s.start]...), b...)
			last = s.end
		}
		m.body = append(out, m.body[last:]...)
	case len(form) > 0:
		pairs := strings.Split(string(m.body), "&")
		for _, f := range form {
			out, err := tokens.Evaluate(ctx, f.text, nil)
			if err != nil {
				return err
			}
			pairs[f.pair] = f.key + "=" + url.QueryEscape(text(out))
		}
		m.body = []byte(strings.Join(pairs, "&"))
	case wholeBody:
		v, err := tokens.Evaluate(ctx, texts[0], nil)
		if err != nil {
			return err
		}
		m.body = []byte(text(v))
	}
	return nil
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

// jsonString is a string value of a JSON document: its place, quotes included, and
// its text.
type jsonString struct {
	start, end int
	text       string
}

// jsonExprStrings returns the string values (not object keys) of a valid JSON
// document that hold an expression, in document order.
func jsonExprStrings(doc []byte) ([]jsonString, error) {
	var out []jsonString
	for i := 0; i < len(doc); i++ {
		if doc[i] != '"' {
			continue
		}
		start, end := i, stringEnd(doc, i)
		i = end - 1
		k := end
		for k < len(doc) && (doc[k] == ' ' || doc[k] == '\t' || doc[k] == '\n' || doc[k] == '\r') {
			k++
		}
		if k < len(doc) && doc[k] == ':' { // an object key
			continue
		}
		lit := doc[start:end]
		// Escapes can spell the braces; anything else without "{{" has no expression.
		if !bytes.Contains(lit, []byte("{{")) && !bytes.Contains(lit, []byte(`\u`)) {
			continue
		}
		s := string(lit[1 : len(lit)-1]) // no escapes: the text is the bytes between the quotes
		if bytes.IndexByte(lit, '\\') >= 0 {
			if err := json.Unmarshal(lit, &s); err != nil {
				return nil, err
			}
		}
		if hasExpr(s) {
			out = append(out, jsonString{start, end, s})
		}
	}
	return out, nil
}

// stringEnd returns the index just past the closing quote of the JSON string that
// starts at doc[i], in a document known to be valid.
func stringEnd(doc []byte, i int) int {
	for j := i + 1; j < len(doc); j++ {
		switch doc[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(doc)
}

// formValue is a form value holding an expression: the index of its key=value
// pair, its key as sent and its decoded text.
type formValue struct {
	pair      int
	key, text string
}

// formExprValues returns the values of a form body that hold an expression.
func formExprValues(body []byte) []formValue {
	var out []formValue
	for i, pair := range strings.Split(string(body), "&") {
		k, v, found := strings.Cut(pair, "=")
		if !found {
			continue
		}
		if plain, err := url.QueryUnescape(v); err == nil && hasExpr(plain) {
			out = append(out, formValue{i, k, plain})
		}
	}
	return out
}
