package runtime

import "context"

// Permit decides whether an invocation may start a host operation (fetch, the Basis
// Theory client: anything that reaches outside the sandbox). It may block, for
// instance until the invocation is known to be the only run of its request; an
// error refuses the operation, which then fails with that error and never starts.
type Permit func(ctx context.Context) error

type permitKey struct{}

// WithPermit returns ctx carrying permit, which Instance.Invoke asks before each host
// operation of the invocation it runs under ctx.
func WithPermit(ctx context.Context, permit Permit) context.Context {
	return context.WithValue(ctx, permitKey{}, permit)
}
