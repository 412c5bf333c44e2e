package invoke_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/reactord/reactord/auth"
	"github.com/reactord/reactord/invoke"
	"github.com/reactord/reactord/scheduler"
	"github.com/reactord/reactord/store"
)

// dispatcher answers every invocation with reply and err, keeping the request.
type dispatcher struct {
	reply scheduler.Reply
	err   error
	got   scheduler.Request
}

func (d *dispatcher) Invoke(_ context.Context, req scheduler.Request) (scheduler.Reply, error) {
	d.got = req
	return d.reply, d.err
}

var active = &store.Reactor{ID: "r1", Bundle: "b", Runtime: &store.Runtime{Image: "node-bt", Timeout: 3, Resources: "large"}}

func TestDispatchFailures(t *testing.T) {
	cases := []struct {
		err          error
		status       int
		title, typ   string
		detailPrefix string
	}{
		{scheduler.ErrNoWorkers, 503, "Service Unavailable", "", "no worker is serving the large tier"},
		{fmt.Errorf("wrapped: %w", scheduler.ErrWorkerLost), 502, "Reactor Interrupted", "reactor_interrupted", "the worker running the reactor stopped"},
		{scheduler.ErrNotStarted, 503, "Service Unavailable", "", "no worker took the invocation"},
		{fmt.Errorf("no reply: %w", context.DeadlineExceeded), 500, "Reactor Timeout", "reactor_timeout", "no answer before"},
		{errors.New("nats: connection closed"), 500, "Internal Server Error", "", "something went wrong"},
	}
	for _, tc := range cases {
		t.Run(tc.err.Error(), func(t *testing.T) {
			iv := invoke.New(invoke.Config{Dispatcher: &dispatcher{err: tc.err}})
			out := iv.React(context.Background(), active, json.RawMessage(`{}`), auth.Principal{})
			var body struct {
				Title, Type, Detail string
				Status              int
			}
			if err := json.Unmarshal(out.Body, &body); err != nil {
				t.Fatal(err)
			}
			if out.Status != tc.status || body.Status != tc.status || body.Title != tc.title || body.Type != tc.typ ||
				len(body.Detail) < len(tc.detailPrefix) || body.Detail[:len(tc.detailPrefix)] != tc.detailPrefix {
				t.Errorf("got %d %+v", out.Status, body)
			}
		})
	}
}

// TestRequestDeadline: the request carries the reactor's fields and a deadline of
// its timeout plus the dispatch slack.
func TestRequestDeadline(t *testing.T) {
	d := &dispatcher{reply: scheduler.Reply{Status: 200, ContentType: "application/json", Body: []byte(`{"raw":1}`)}}
	iv := invoke.New(invoke.Config{Dispatcher: d})
	before := time.Now()
	out := iv.React(context.Background(), active, json.RawMessage(`{"a":1}`), auth.Principal{})
	if out.Status != 200 || string(out.Body) != `{"raw":1}` {
		t.Fatalf("outcome %d %s", out.Status, out.Body)
	}
	want := before.Add(3*time.Second + scheduler.DispatchSlack)
	if dl := d.got.DeadlineTime(); dl.Before(want.Add(-time.Millisecond)) || dl.After(want.Add(time.Second)) {
		t.Errorf("deadline %v, want about %v", dl, want)
	}
	if d.got.Tier != "large" || d.got.TimeoutMS != 3000 || string(d.got.Args) != `{"a":1}` {
		t.Errorf("request %+v", d.got)
	}
}

func TestNotInvocable(t *testing.T) {
	for _, rec := range []*store.Reactor{
		{ID: "creating", State: store.StateCreating},
		{ID: "failed", State: store.StateFailed},
	} {
		d := &dispatcher{}
		out := invoke.New(invoke.Config{Dispatcher: d}).React(context.Background(), rec, nil, auth.Principal{})
		if out.Status != http.StatusConflict || d.got.ReactorID != "" {
			t.Errorf("%s: %d %s (dispatched %q)", rec.ID, out.Status, out.Body, d.got.ReactorID)
		}
	}
}

// TestTransformGrant: a proxy code transform gets its Basis Theory client as a
// reactor does (here a node22 transform's runtime.permissions, acting for the
// caller), and the key stops working once the transform answered; without
// permissions or an application it gets none.
func TestTransformGrant(t *testing.T) {
	ctx := context.Background()
	authn := auth.New(nil)
	caller := auth.WithPermissions("app-1", "tenant-1", auth.Private, []string{"token:use"})
	for _, tc := range []struct {
		name  string
		rt    *store.Runtime
		perms []string // nil: no grant expected
	}{
		{"node22 runtime permissions", &store.Runtime{Image: "node22", Permissions: []string{"token:create"}}, []string{"token:create"}},
		{"node22 without permissions", &store.Runtime{Image: "node22"}, nil},
		{"node-bt without an application", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var during auth.Principal
			var duringErr error
			d := &dispatcher{reply: scheduler.Reply{Status: 200}}
			iv := invoke.New(invoke.Config{Dispatcher: dispatchFunc(func(c context.Context, req scheduler.Request) (scheduler.Reply, error) {
				if req.BT != nil {
					during, duringErr = authn.Authenticate(c, req.BT.Key)
				}
				return d.Invoke(c, req)
			}), Auth: authn, BTSubject: "reactord.bt.test"})
			req := scheduler.NewRequest("proxy:p1:request:0", "b", tc.rt, nil)
			if _, failure := iv.Transform(ctx, req, tc.rt, nil, caller); failure != nil {
				t.Fatalf("transform: %+v", failure)
			}
			if tc.perms == nil {
				if d.got.BT != nil {
					t.Errorf("granted %+v", d.got.BT)
				}
				return
			}
			if d.got.BT == nil || duringErr != nil || !during.Can(tc.perms[0]) || during.Can("token:use") || during.ApplicationID != "app-1" {
				t.Fatalf("grant %+v: %+v %v", d.got.BT, during, duringErr)
			}
			if _, err := authn.Authenticate(ctx, d.got.BT.Key); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("the key outlived the transform: %v", err)
			}
		})
	}
}

type dispatchFunc func(context.Context, scheduler.Request) (scheduler.Reply, error)

func (f dispatchFunc) Invoke(ctx context.Context, req scheduler.Request) (scheduler.Reply, error) {
	return f(ctx, req)
}

// TestNotRun: only answers that say the reactor did not run may be retried; a
// reactor that itself threw a 429 ran.
func TestNotRun(t *testing.T) {
	cases := []struct {
		name   string
		d      *dispatcher
		notRun bool
	}{
		{"no worker took it", &dispatcher{err: scheduler.ErrNotStarted}, true},
		{"no worker serves the tier", &dispatcher{err: scheduler.ErrNoWorkers}, true},
		{"every instance busy", &dispatcher{reply: scheduler.Reply{Status: 429, Outcome: "rejected"}}, true},
		{"the reactor threw a 429", &dispatcher{reply: scheduler.Reply{Status: 429, Outcome: "thrown"}}, false},
		{"the worker was lost", &dispatcher{err: scheduler.ErrWorkerLost}, false},
		{"it answered", &dispatcher{reply: scheduler.Reply{Status: 200, Outcome: "ok"}}, false},
	}
	for _, tc := range cases {
		out := invoke.New(invoke.Config{Dispatcher: tc.d}).React(context.Background(), active, nil, auth.Principal{})
		if out.NotRun != tc.notRun {
			t.Errorf("%s: NotRun %v", tc.name, out.NotRun)
		}
	}
}
