package proxy

import (
	"encoding/json"
	"fmt"

	"github.com/reactord/reactord/internal/apierror"
)

// Error is a failure inside the proxy (never the destination's answer). The API
// answers it as {"proxy_error": <Body or the error in the standard format>}.
type Error struct {
	Status int
	Title  string
	Type   string
	Detail string
	// Fields are field-level messages, as in the standard error format.
	Fields map[string][]string
	// Body, when set, is an error already in the standard format (a transform's
	// timeout or memory-limit answer) and is used as is.
	Body json.RawMessage
}

func (e *Error) Error() string {
	return fmt.Sprintf("proxy: %d %s: %s", e.Status, e.Title, e.Detail)
}

// JSON returns the {"proxy_error": ...} body.
func (e *Error) JSON() []byte {
	inner := e.Body
	if len(inner) == 0 {
		re := apierror.Error{Errors: e.Fields, Type: e.Type, Title: e.Title, Status: e.Status, Detail: e.Detail}
		inner = re.JSON()
	}
	b, _ := json.Marshal(struct {
		ProxyError json.RawMessage `json:"proxy_error"`
	}{inner})
	return b
}

// Errorf returns an *Error with the status's standard title.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Title: apierror.Title(status), Detail: fmt.Sprintf(format, args...)}
}
