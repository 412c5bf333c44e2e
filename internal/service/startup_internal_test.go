package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestUntilAnswering: a gateway starting while JetStream does not answer yet tries
// again, and ends what each failed try started; any other error, or JetStream
// silent for the whole wait, ends the start.
func TestUntilAnswering(t *testing.T) {
	refused := errors.New("permissions violation")
	tests := []struct {
		name    string
		results []error // what each try returns; past the end, the last again
		wait    time.Duration
		tries   int
		wantErr error
	}{
		{"answers at once", []error{nil}, time.Second, 1, nil},
		{"no responders, then answers", []error{nats.ErrNoResponders, fmt.Errorf("store: get application: %w", nats.ErrNoResponders), nil}, time.Second, 3, nil},
		{"a timeout, then answers", []error{context.DeadlineExceeded, nil}, time.Second, 2, nil},
		{"refused: no second try", []error{refused, nil}, time.Second, 1, refused},
		{"silent for the whole wait", []error{nats.ErrNoResponders}, 50 * time.Millisecond, 5, nats.ErrNoResponders},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ctxs []context.Context
			stop, err := untilAnswering(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), tc.wait, 10*time.Millisecond,
				func(ctx context.Context) error {
					ctxs = append(ctxs, ctx)
					return tc.results[min(len(ctxs), len(tc.results))-1]
				})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && len(ctxs) != tc.tries || tc.wantErr != nil && len(ctxs) > tc.tries {
				t.Fatalf("%d tries, want %d", len(ctxs), tc.tries)
			}
			last := len(ctxs) - 1
			for i, ctx := range ctxs {
				if ended := ctx.Err() != nil; ended != (i < last || err != nil) {
					t.Errorf("try %d's context ended: %v", i+1, ended)
				}
			}
			if err == nil {
				stop()
				if ctxs[last].Err() == nil {
					t.Error("the returned function does not end the successful try's context")
				}
			}
		})
	}
}
