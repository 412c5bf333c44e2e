// Package apierror is the API's error body, Basis Theory's error format:
// {"errors": {...}, "type": ..., "title": ..., "status": ..., "detail": ...}. The HTTP
// layer, the runtime's reactor errors, the workers' rejections, the invocation path
// and the proxy all answer with it, so it is defined once, here.
package apierror

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is one error body.
type Error struct {
	Errors map[string][]string `json:"errors,omitempty"`
	Type   string              `json:"type,omitempty"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail,omitempty"`
}

// New returns an error with the status's standard title and no field errors.
func New(status int, detail string) Error {
	return Error{Errors: map[string][]string{}, Title: Title(status), Status: status, Detail: detail}
}

// Newf is New with a formatted detail.
func Newf(status int, format string, args ...any) Error {
	return New(status, fmt.Sprintf(format, args...))
}

// Fields returns a 400-style error with field-level messages.
func Fields(status int, detail string, fields map[string][]string) Error {
	e := New(status, detail)
	if fields != nil {
		e.Errors = fields
	}
	return e
}

// Error implements error, so an Error can travel as one.
func (e Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Title, e.Detail) }

// JSON encodes the error. A nil Errors map lists the detail under "error" (as reactor
// errors show it); an empty one is omitted.
func (e Error) JSON() json.RawMessage {
	if e.Errors == nil && e.Detail != "" {
		e.Errors = map[string][]string{"error": {e.Detail}}
	}
	b, err := json.Marshal(e)
	if err != nil { // only strings, ints and string maps: cannot fail
		panic(err)
	}
	return b
}

// Title is the standard title of an HTTP status in the API's answers.
func Title(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "Unauthenticated"
	case http.StatusRequestEntityTooLarge:
		return "Payload Too Large"
	case http.StatusUnprocessableEntity:
		return "Unprocessable Entity"
	case 499:
		return "Client Closed Request"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Internal Server Error"
}
