// Package trace carries a request's trace id (BT-TRACE-ID) through its context, from
// the HTTP layer to the invocation and the logs.
package trace

import "context"

type key struct{}

// With returns ctx carrying trace id id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// ID returns the trace id ctx carries, or "".
func ID(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}
