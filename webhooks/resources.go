package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/reactord/reactord/store"
)

// resource is what lifecycle events need of a reactor or proxy record: the fields
// stored in the clear (configuration is sealed and never sent).
type resource struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	State      string     `json:"state,omitempty"`
	CreatedBy  string     `json:"created_by,omitempty"`
	ModifiedBy string     `json:"modified_by,omitempty"`
	ModifiedAt *time.Time `json:"modified_at,omitempty"`
	Requested  *struct {
		ErrorCode    string          `json:"error_code,omitempty"`
		ErrorMessage string          `json:"error_message,omitempty"`
		ErrorDetails json.RawMessage `json:"error_details,omitempty"`
	} `json:"requested,omitempty"`
}

func (r *resource) failed() bool {
	return (r.State == store.StateFailed || r.State == store.StateOutdated) && r.Requested != nil && r.Requested.ErrorCode != ""
}

// eventNamespace derives event ids from bucket revisions.
var eventNamespace = uuid.MustParse("5b0f5d1e-8c4f-4f7e-9a55-0d6c2f3b7e21")

// FollowResources turns changes of the reactor and proxy buckets into
// reactor.created, reactor.updated, reactor.deleted and reactor.build_failed events
// (proxy.* likewise). Every gateway may run it: an event's id derives from the
// bucket revision that caused it, and the stream drops a publish it has seen.
func (d *Dispatcher) FollowResources(ctx context.Context, js jetstream.JetStream, tenantID string) error {
	for _, kind := range []struct{ noun, bucket string }{{"reactor", store.ReactorsBucket}, {"proxy", store.ProxiesBucket}} {
		kv, err := js.KeyValue(ctx, kind.bucket)
		if err != nil {
			return fmt.Errorf("webhooks: %s: %w", kind.bucket, err)
		}
		w, err := kv.WatchAll(ctx)
		if err != nil {
			return fmt.Errorf("webhooks: watch %s: %w", kind.bucket, err)
		}
		go d.follow(ctx, w, kind.noun, tenantID)
	}
	return nil
}

func (d *Dispatcher) follow(ctx context.Context, w jetstream.KeyWatcher, noun, tenantID string) {
	defer w.Stop()
	known := map[string]*resource{}
	live := false // past the initial values: changes from here on are events
	for {
		var e jetstream.KeyValueEntry
		select {
		case <-ctx.Done():
			return
		case e0, ok := <-w.Updates():
			if !ok {
				return
			}
			e = e0
		}
		if e == nil {
			live = true
			continue
		}
		prev := known[e.Key()]
		if e.Operation() != jetstream.KeyValuePut {
			delete(known, e.Key())
			if live && prev != nil {
				d.emit(ctx, noun+".deleted", noun, tenantID, e, map[string]any{"id": prev.ID, "name": prev.Name}, "")
			}
			continue
		}
		var r resource
		if json.Unmarshal(e.Value(), &r) != nil {
			continue
		}
		known[e.Key()] = &r
		if !live {
			continue
		}
		obj := map[string]any{"id": r.ID, "name": r.Name}
		if r.State != "" {
			obj["state"] = r.State
		}
		switch {
		case prev == nil:
			d.emit(ctx, noun+".created", noun, tenantID, e, obj, r.CreatedBy)
		case r.failed() && !prev.failed():
			obj["error_code"], obj["error_message"] = r.Requested.ErrorCode, r.Requested.ErrorMessage
			if len(r.Requested.ErrorDetails) > 0 {
				obj["error_details"] = r.Requested.ErrorDetails
			}
			d.emit(ctx, noun+".build_failed", noun, tenantID, e, obj, "")
		case r.ModifiedAt != nil && (prev.ModifiedAt == nil || !r.ModifiedAt.Equal(*prev.ModifiedAt)):
			d.emit(ctx, noun+".updated", noun, tenantID, e, obj, r.ModifiedBy)
		}
	}
}

func (d *Dispatcher) emit(ctx context.Context, typ, noun, tenantID string, e jetstream.KeyValueEntry, obj map[string]any, actor string) {
	ev := NewEvent(typ, tenantID, map[string]any{noun: obj})
	ev.ID = uuid.NewSHA1(eventNamespace, []byte(typ+"/"+e.Key()+"/"+strconv.FormatUint(e.Revision(), 10))).String()
	if actor != "" {
		ev.Data["actor"] = map[string]string{"id": actor, "type": "application"}
	}
	if err := d.Publish(ctx, ev); err != nil {
		d.log.Error("queueing a webhook event failed", "event_type", typ, noun+"_id", obj["id"], "error", err)
	}
}
