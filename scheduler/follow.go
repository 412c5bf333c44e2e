package scheduler

import (
	"context"
	"slices"
	"time"

	"github.com/reactord/reactord/images"
	rt "github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/store"
)

// Follow keeps the worker's pools in step with the reactor records until ctx ends:
// a deleted reactor's instances and a replaced version's are released, and every
// reactor of this worker's tiers has its snapshot loaded ahead of its first
// invocation and its warm_concurrency instances kept ready.
func (w *Worker) Follow(ctx context.Context, reactors *store.Reactors) error {
	changes, err := reactors.Watch(ctx)
	if err != nil {
		return err
	}
	go func() {
		for c := range changes {
			if c.Reactor == nil {
				w.pools.Release(c.ID, "")
				continue
			}
			rec := c.Reactor
			if rec.Bundle == "" { // a node22 reactor whose first build is pending
				continue
			}
			w.pools.Release(rec.ID, rec.Bundle)
			req := RequestFor(rec)
			if slices.Contains(w.tiers, rt.Tier(req.Tier)) {
				deployed := rec.CreatedAt
				if rec.ModifiedAt != nil {
					deployed = *rec.ModifiedAt
				}
				if err := w.pools.Prepare(req, deployed); err != nil {
					w.log.Error("prepare reactor", "reactor_id", rec.ID, "error", err)
				}
			}
		}
	}()
	return nil
}

// RequestFor returns the invocation fields a reactor record determines.
func RequestFor(rec *store.Reactor) Request {
	return NewRequest(rec.ID, rec.Bundle, rec.Runtime, rec.Configuration)
}

// DispatchSlack is how much longer than the reactor's timeout its caller waits: time
// to queue, reach a worker and carry the reply back.
const DispatchSlack = 2 * time.Second

// NewRequest returns the invocation of a bundle run with a runtime object (nil: the
// default image's defaults), for reactors and proxy code transforms alike. Its
// deadline is the reactor's timeout plus DispatchSlack from now.
func NewRequest(id, bundle string, r *store.Runtime, configuration map[string]string) Request {
	req := Request{ReactorID: id, Bundle: bundle, Image: images.Default, Tier: string(rt.Standard),
		TimeoutMS: int(rt.DefaultTimeout / time.Millisecond), Configuration: configuration}
	if r != nil {
		if r.Image != "" {
			req.Image = r.Image
		}
		if r.Resources != "" {
			req.Tier = r.Resources
		}
		if r.Timeout > 0 {
			req.TimeoutMS = r.Timeout * 1000
		}
		req.WarmConcurrency = r.WarmConcurrency
	}
	req.Deadline = time.Now().Add(time.Duration(req.TimeoutMS)*time.Millisecond + DispatchSlack).UnixMilli()
	return req
}
