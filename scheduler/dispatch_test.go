package scheduler_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/reactord/reactord/internal/natsd"
	"github.com/reactord/reactord/scheduler"
)

// fakeWorker speaks the worker's side of the protocol by hand, to misbehave: it
// claims invocations of the standard tier and then does what act says.
type fakeWorker struct {
	nc      *nats.Conn
	claims  atomic.Int32
	granted atomic.Int32
}

func startServer(t *testing.T) string {
	t.Helper()
	ns, err := natsd.Start(context.Background(), natsd.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	return ns.URL()
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// newFakeWorker subscribes to the tier; act runs after a granted claim with the
// invocation's inbox.
func newFakeWorker(t *testing.T, url, id string, answerPresence bool, act func(w *fakeWorker, inbox string)) *fakeWorker {
	t.Helper()
	w := &fakeWorker{nc: connect(t, url)}
	presence := "reactord.worker." + id
	if answerPresence {
		if _, err := w.nc.Subscribe(presence, func(m *nats.Msg) { m.Respond(nil) }); err != nil {
			t.Fatal(err)
		}
	} else {
		// Present but stalled: subscribed, never answering in time.
		if _, err := w.nc.Subscribe(presence, func(m *nats.Msg) {}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := w.nc.QueueSubscribe("reactord.invoke.standard", scheduler.QueueGroup, func(m *nats.Msg) {
		go func() {
			w.claims.Add(1)
			resp, err := w.nc.Request(m.Reply, []byte(presence), 5*time.Second)
			if err != nil || string(resp.Data) != "go" {
				return
			}
			w.granted.Add(1)
			act(w, m.Reply)
		}()
	})
	if err != nil {
		t.Fatal(err)
	}
	w.nc.Flush()
	return w
}

func answer(w *fakeWorker, inbox string, body string) {
	b, _ := json.Marshal(scheduler.Reply{Status: 200, ContentType: "application/json", Body: []byte(body), Outcome: "ok"})
	w.nc.Publish(inbox, b)
}

func request(timeout time.Duration) scheduler.Request {
	req := scheduler.NewRequest("r1", "b", nil, nil)
	req.Deadline = time.Now().Add(timeout).UnixMilli()
	return req
}

// TestStalledWorkerIsWaitedFor: a worker that claimed an invocation and then stops
// answering (a long GC pause, a native call) but is still connected is waited for,
// not replaced: the invocation is never sent to another worker.
func TestStalledWorkerIsWaitedFor(t *testing.T) {
	url := startServer(t)
	stalled := newFakeWorker(t, url, "stalled", false, func(w *fakeWorker, inbox string) {
		time.Sleep(2500 * time.Millisecond)
		answer(w, inbox, `"late but once"`)
	})
	d := scheduler.NewDispatcher(connect(t, url))
	d.AckWait, d.LostAfter = 300*time.Millisecond, 200*time.Millisecond
	// The second worker subscribes after the invocation was taken by the first.
	done := make(chan struct{})
	var reply scheduler.Reply
	var err error
	go func() { reply, err = d.Invoke(context.Background(), request(6*time.Second)); close(done) }()
	for stalled.granted.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	other := newFakeWorker(t, url, "other", true, func(w *fakeWorker, inbox string) { answer(w, inbox, `"twice"`) })
	<-done
	if err != nil || string(reply.Body) != `"late but once"` {
		t.Fatalf("reply %s, %v", reply.Body, err)
	}
	if other.claims.Load() != 0 {
		t.Fatalf("the invocation was sent again while its worker was stalled: %d claims elsewhere", other.claims.Load())
	}
}

// TestLostWorkerIsNotRetried: a worker that claimed an invocation and disconnected
// may have run it, so the dispatcher answers ErrWorkerLost instead of running it
// again elsewhere.
func TestLostWorkerIsNotRetried(t *testing.T) {
	url := startServer(t)
	dying := newFakeWorker(t, url, "dying", true, func(w *fakeWorker, inbox string) { w.nc.Close() })
	d := scheduler.NewDispatcher(connect(t, url))
	d.AckWait, d.LostAfter = 300*time.Millisecond, 200*time.Millisecond
	done := make(chan error, 1)
	go func() { _, err := d.Invoke(context.Background(), request(5*time.Second)); done <- err }()
	for dying.granted.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	other := newFakeWorker(t, url, "other", true, func(w *fakeWorker, inbox string) { answer(w, inbox, `"twice"`) })
	if err := <-done; !errors.Is(err, scheduler.ErrWorkerLost) {
		t.Fatalf("err %v, want ErrWorkerLost", err)
	}
	if other.claims.Load() != 0 {
		t.Fatalf("a lost invocation was run again: %d claims elsewhere", other.claims.Load())
	}
}

// TestUnclaimedIsResent: an invocation no worker claimed in time is sent again, and
// a claim arriving after the dispatcher gave up on the first send is refused.
func TestUnclaimedIsResent(t *testing.T) {
	url := startServer(t)
	// The black hole takes the first message and never claims it.
	hole := connect(t, url)
	var swallowed atomic.Int32
	sub, err := hole.QueueSubscribe("reactord.invoke.standard", scheduler.QueueGroup, func(m *nats.Msg) {
		if swallowed.Add(1) == 1 {
			go func() {
				time.Sleep(600 * time.Millisecond) // past AckWait: the claim comes late
				resp, err := hole.Request(m.Reply, []byte("reactord.worker.hole"), 2*time.Second)
				if err == nil && string(resp.Data) == "go" {
					t.Error("a late claim was granted")
				}
			}()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	hole.Flush()
	d := scheduler.NewDispatcher(connect(t, url))
	d.AckWait = 300 * time.Millisecond
	done := make(chan scheduler.Reply, 1)
	go func() { r, _ := d.Invoke(context.Background(), request(5*time.Second)); done <- r }()
	for swallowed.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	sub.Unsubscribe()
	hole.Flush()
	good := newFakeWorker(t, url, "good", true, func(w *fakeWorker, inbox string) { answer(w, inbox, `"ran once"`) })
	if r := <-done; string(r.Body) != `"ran once"` || good.granted.Load() != 1 {
		t.Fatalf("reply %s, granted %d", r.Body, good.granted.Load())
	}
	time.Sleep(700 * time.Millisecond) // let the late claim be refused
}

// TestUnclaimedAnswers: a worker's answer that comes without a claim is the claim.
// The dispatcher returns it when it comes in time, refuses any claim made after it,
// and drops it when it comes after the dispatcher gave up on that send (the
// invocation then runs once, elsewhere).
func TestUnclaimedAnswers(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration // before the unclaimed answer
		want  string
	}{
		{name: "in time: the answer is taken", delay: 0, want: `"unclaimed"`},
		{name: "after the dispatcher gave up: dropped, sent again", delay: 600 * time.Millisecond, want: `"ran once"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := startServer(t)
			nc := connect(t, url)
			lateClaim := make(chan string, 1)
			var taken atomic.Int32
			sub, err := nc.QueueSubscribe("reactord.invoke.standard", scheduler.QueueGroup, func(m *nats.Msg) {
				if taken.Add(1) != 1 {
					return
				}
				go func() {
					time.Sleep(tc.delay)
					b, _ := json.Marshal(scheduler.Reply{Status: 200, ContentType: "application/json", Body: []byte(`"unclaimed"`), Outcome: "ok"})
					nc.Publish(m.Reply, b)
					nc.Flush()
					resp, err := nc.Request(m.Reply, []byte("reactord.worker.unclaimed"), 2*time.Second)
					if err != nil {
						lateClaim <- err.Error()
						return
					}
					lateClaim <- string(resp.Data)
				}()
			})
			if err != nil {
				t.Fatal(err)
			}
			nc.Flush()
			d := scheduler.NewDispatcher(connect(t, url))
			d.AckWait = 300 * time.Millisecond
			done := make(chan scheduler.Reply, 1)
			go func() { r, _ := d.Invoke(context.Background(), request(5*time.Second)); done <- r }()
			for taken.Load() == 0 {
				time.Sleep(5 * time.Millisecond)
			}
			sub.Unsubscribe()
			nc.Flush()
			good := newFakeWorker(t, url, "good", true, func(w *fakeWorker, inbox string) { answer(w, inbox, `"ran once"`) })
			if r := <-done; string(r.Body) != tc.want {
				t.Fatalf("reply %s, want %s", r.Body, tc.want)
			}
			if got := <-lateClaim; got == "go" {
				t.Fatal("a claim after an unclaimed answer was granted")
			}
			if tc.want == `"unclaimed"` && good.claims.Load() != 0 {
				t.Fatalf("an answered invocation was sent again: %d claims", good.claims.Load())
			}
		})
	}
}
