package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/reactord/reactord/store"
)

// jetStreamWait bounds how long a gateway starting up waits for JetStream to answer.
// A cluster that has just formed, or whose node has just restarted, answers "no
// responders" until its streams have leaders; a process started alongside it waits
// for that instead of exiting.
const jetStreamWait = time.Minute

// untilAnswering runs try until it succeeds, fails otherwise than by JetStream not
// answering, wait has passed, or ctx ends, pausing every between tries. Each try gets
// a context of its own, ended when the try fails, so that whatever a failed try
// started (watchers) stops; the successful try's is ended by the returned function.
func untilAnswering(ctx context.Context, log *slog.Logger, wait, every time.Duration, try func(context.Context) error) (context.CancelFunc, error) {
	deadline := time.Now().Add(wait)
	for {
		tctx, stop := context.WithCancel(ctx)
		err := try(tctx)
		if err == nil {
			return stop, nil
		}
		stop()
		if !store.NotAnswering(err) || time.Now().Add(every).After(deadline) {
			return nil, err
		}
		log.Warn("JetStream is not answering yet; trying again", "error", err)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(every):
		}
	}
}
