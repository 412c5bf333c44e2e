package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/reactord/reactord/internal/apierror"
)

// Outcome classifies how an invocation ended.
type Outcome string

// Outcomes of an invocation.
const (
	// OK: the code returned a result.
	OK Outcome = "ok"
	// Thrown: the code threw (or rejected); Status says how the caller sees it.
	Thrown Outcome = "thrown"
	// Timeout: the invocation passed its timeout and was stopped.
	Timeout Outcome = "timeout"
	// OutOfMemory: the invocation hit the memory limit.
	OutOfMemory Outcome = "out_of_memory"
	// Rejected: the request was refused before running (args too large).
	Rejected Outcome = "rejected"
	// Crashed: the engine failed (a trap); the instance is discarded.
	Crashed Outcome = "crashed"
)

// Response is what a caller of the reactor gets, plus what the host needs to finish
// the request (tokenize) and to account for it.
type Response struct {
	// Status is the HTTP status to answer with.
	Status int
	// Headers are extra response headers (CustomHttpResponseError only).
	Headers map[string]string
	// Body is the response body: JSON, or text when ContentType says so.
	Body json.RawMessage
	// ContentType is the body's media type.
	ContentType string
	// Raw is the result's raw block (node-bt contract, node22 without res).
	Raw json.RawMessage
	// Tokenize is the result's tokenize block; the service creates the tokens and
	// renders Body again with WithTokens.
	Tokenize json.RawMessage
	// Result is the handler's whole returned value as JSON (successful invocations
	// only); proxy transforms return { body, headers } rather than { raw }.
	Result json.RawMessage
	// Outcome classifies the end of the invocation.
	Outcome Outcome
	// Logs is the captured console output, in order.
	Logs []LogLine
	// LogsTruncated reports console output dropped past the cap.
	LogsTruncated bool
	// Duration is the wall time of the invocation.
	Duration time.Duration
}

// LogLine is one console call.
type LogLine struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

// ResultBody is the body of a successful node-bt style answer, {"tokens", "raw"}:
// the runtime answers with tokens null, and the service again once it created the
// tokens the result asked for.
// Both are JSON the host already holds as valid values (decoded or encoded by it); empty
// is null. The body is spliced from them rather than re-encoded: it is built on every
// invocation, and the values are copied as they are, HTML characters included.
func ResultBody(tokens, raw json.RawMessage) json.RawMessage {
	tokens, raw = orNull(tokens), orNull(raw)
	b := make([]byte, 0, len(`{"tokens":,"raw":}`)+len(tokens)+len(raw))
	b = append(b, `{"tokens":`...)
	b = append(b, tokens...)
	b = append(b, `,"raw":`...)
	b = append(b, raw...)
	return append(b, '}')
}

// reactorStatuses are the statuses a thrown error may choose, with their titles and types.
var reactorStatuses = map[int][2]string{
	400: {"Bad Request", "bad_request"},
	401: {"Authentication Error", "authentication_error"},
	402: {"Invalid Payment Method", "invalid_payment_method"},
	403: {"Authorization Error", "authorization_error"},
	422: {"Unprocessable Entity", "unprocessable_entity"},
	429: {"Rate Limit Error", "rate_limit_error"},
	500: {"Reactor Runtime Error", "reactor_runtime_error"},
	503: {"Service Unavailable", "service_unavailable"},
}

func errorResponse(outcome Outcome, e apierror.Error) Response {
	return Response{Status: e.Status, Body: e.JSON(), ContentType: "application/json", Outcome: outcome}
}

func runtimeError(detail string) Response {
	return errorResponse(Thrown, apierror.Error{Type: "reactor_runtime_error", Title: "Reactor Runtime Error", Status: 500, Detail: detail})
}

func timeoutResponse(limit time.Duration) Response {
	return errorResponse(Timeout, apierror.Error{Type: "reactor_timeout", Title: "Reactor Timeout", Status: 500,
		Detail: fmt.Sprintf("reactor did not finish within its timeout of %s", limit)})
}

func oomResponse(limit uint64) Response {
	return errorResponse(OutOfMemory, apierror.Error{Type: "reactor_out_of_memory", Title: "Reactor Out Of Memory", Status: 500,
		Detail: fmt.Sprintf("reactor exceeded its memory limit of %d MiB", limit>>20)})
}

// thrownError is the serialized error the Node layer reports with "fail".
type thrownError struct {
	Name    string          `json:"name"`
	Message string          `json:"message"`
	Stack   string          `json:"stack"`
	Status  *float64        `json:"status"`
	Errors  json.RawMessage `json:"errors"`
	Custom  *struct {
		Status  float64         `json:"status"`
		Headers json.RawMessage `json:"headers"`
		Body    json.RawMessage `json:"body"`
	} `json:"custom"`
}

func (t thrownError) isOutOfMemory() bool {
	return t.Name == "InternalError" && t.Message == "out of memory"
}

// thrownResponse maps an error thrown by reactor code to the contract's response.
func thrownResponse(t thrownError) Response {
	if c := t.Custom; c != nil {
		status := int(c.Status)
		if float64(status) != c.Status || status < 200 || status > 599 {
			return runtimeError(fmt.Sprintf("CustomHttpResponseError has an invalid status %v", c.Status))
		}
		r := Response{Status: status, Outcome: Thrown, ContentType: "application/json", Headers: map[string]string{}}
		var hdrs map[string]any
		if len(c.Headers) > 0 && json.Unmarshal(c.Headers, &hdrs) == nil {
			for k, v := range hdrs {
				r.Headers[k] = fmt.Sprint(v)
			}
		}
		var text string
		switch {
		case len(c.Body) == 0:
			r.Body = nil
		case json.Unmarshal(c.Body, &text) == nil:
			r.Body, r.ContentType = []byte(text), "text/plain; charset=utf-8"
		default:
			r.Body = c.Body
		}
		for k, v := range r.Headers {
			if http.CanonicalHeaderKey(k) == "Content-Type" {
				r.ContentType = v
				delete(r.Headers, k)
			}
		}
		return r
	}
	detail := t.Message
	if detail == "" {
		detail = t.Name
	}
	if t.Status != nil {
		if meta, ok := reactorStatuses[int(*t.Status)]; ok && float64(int(*t.Status)) == *t.Status {
			e := apierror.Error{Type: meta[1], Title: meta[0], Status: int(*t.Status), Detail: detail}
			if len(t.Errors) > 0 {
				var errs map[string]any
				if json.Unmarshal(t.Errors, &errs) == nil {
					e.Errors = map[string][]string{}
					for k, v := range errs {
						e.Errors[k] = messages(v)
					}
				}
			}
			return errorResponse(Thrown, e)
		}
	}
	return runtimeError(detail)
}

func messages(v any) []string {
	switch v := v.(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, m := range v {
			out = append(out, fmt.Sprint(m))
		}
		return out
	case string:
		return []string{v}
	default:
		return []string{string(mustJSON(v))}
	}
}

// resultResponse maps a returned value to the contract's response.
func resultResponse(contractNode22 bool, result []byte) Response {
	var obj map[string]json.RawMessage
	if err := gojson.Unmarshal(result, &obj); err != nil {
		obj = nil // a non-object result: nothing raw, nothing to tokenize
	}
	if res, ok := obj["res"]; ok && contractNode22 {
		var out struct {
			StatusCode *float64        `json:"statusCode"`
			Headers    json.RawMessage `json:"headers"`
			Body       json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(res, &out); err != nil {
			return runtimeError("res must be an object { statusCode, headers, body }")
		}
		status := 200
		if out.StatusCode != nil {
			status = int(*out.StatusCode)
			if float64(status) != *out.StatusCode || status < 200 || status > 599 {
				return runtimeError(fmt.Sprintf("res.statusCode %v is not a valid HTTP status", *out.StatusCode))
			}
		}
		body := mustJSON(struct {
			Body    json.RawMessage `json:"body"`
			Headers json.RawMessage `json:"headers"`
		}{orNull(out.Body), orNull(out.Headers)})
		return Response{Status: status, Body: body, ContentType: "application/json", Outcome: OK, Result: result}
	}
	r := Response{Status: 200, ContentType: "application/json", Outcome: OK, Raw: obj["raw"], Result: result}
	if t := obj["tokenize"]; len(t) > 0 && !bytes.Equal(t, []byte("null")) {
		r.Tokenize = t
	}
	r.Body = ResultBody(nil, r.Raw)
	return r
}

func orNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("runtime: marshal %T: %v", v, err)) // only called with marshalable types
	}
	return b
}
