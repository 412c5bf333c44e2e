package store

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NotAnswering reports whether err is NATS or JetStream not answering for now (no
// responders, a timeout, a connection being re-established), a passing condition
// worth waiting out or retrying, rather than a refusal or a fault.
func NotAnswering(err error) bool {
	for _, e := range []error{nats.ErrNoResponders, nats.ErrTimeout, jetstream.ErrNoStreamResponse,
		nats.ErrConnectionReconnecting, nats.ErrDisconnected, context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
