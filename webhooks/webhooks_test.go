package webhooks_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/reactord/reactord/egress"
	"github.com/reactord/reactord/internal/natsd"
	"github.com/reactord/reactord/internal/seal"
	"github.com/reactord/reactord/webhooks"
)

func jetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	ctx := context.Background()
	ns, err := natsd.Start(ctx, natsd.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

type received struct {
	body      []byte
	header    http.Header
	eventID   string
	eventType string
}

// TestDelivery: a receiver that fails the first attempt gets the event again, signed,
// with the same event id; a disabled webhook and one not subscribed get nothing.
func TestDelivery(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	js := jetStream(t)
	key, err := seal.Parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	if err != nil {
		t.Fatal(err)
	}
	st, err := webhooks.Open(ctx, js, key)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []received
	attempts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if attempts == 1 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		var b struct {
			Event struct{ ID, Type string } `json:"event"`
		}
		json.Unmarshal(body, &b)
		got = append(got, received{body: body, header: r.Header.Clone(), eventID: b.Event.ID, eventType: b.Event.Type})
	}))
	defer srv.Close()
	secret := webhooks.NewSecret()
	hooks := []*webhooks.Webhook{
		{ID: "w1", Name: "on", URL: srv.URL, Events: []string{webhooks.ReactorVulnerabilitiesFound}, Status: webhooks.Enabled, Secret: secret, CreatedAt: time.Now()},
		{ID: "w2", Name: "off", URL: srv.URL, Events: []string{webhooks.ReactorVulnerabilitiesFound}, Status: webhooks.Disabled, Secret: "x", CreatedAt: time.Now()},
		{ID: "w3", Name: "other events", URL: srv.URL, Events: []string{webhooks.ProxyCreated}, Status: webhooks.Enabled, Secret: "y", CreatedAt: time.Now()},
	}
	for _, h := range hooks {
		if err := st.Put(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	d, err := webhooks.NewDispatcher(ctx, webhooks.Config{JS: js, Store: st, Client: egress.New(egress.Policy{AllowPrivate: true}, egress.Options{}).Client(),
		Backoff: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(ctx); err != nil {
		t.Fatal(err)
	}
	ev := webhooks.NewEvent(webhooks.ReactorVulnerabilitiesFound, "tenant", map[string]any{"reactor": map[string]any{"id": "r1"}})
	if err := d.Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if err := d.Publish(ctx, ev); err != nil { // a duplicate publish is dropped by its message id
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // room for a wrong extra delivery to show
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || attempts != 2 {
		t.Fatalf("deliveries %d after %d attempts, want 1 after 2", len(got), attempts)
	}
	g := got[0]
	if g.eventID != ev.ID || g.eventType != webhooks.ReactorVulnerabilitiesFound || g.header.Get("BT-EVENT-ID") != ev.ID {
		t.Errorf("delivered %s %s (header %s), want %s", g.eventType, g.eventID, g.header.Get("BT-EVENT-ID"), ev.ID)
	}
	if !webhooks.Verify(secret, g.body, g.header.Get("BT-SIGNATURE")) || g.header.Get("BT-SIGNATURE-VERSION") != webhooks.SignatureVersion {
		t.Errorf("signature %q does not verify over %s", g.header.Get("BT-SIGNATURE"), g.body)
	}
	if webhooks.Verify(secret, append(g.body, ' '), g.header.Get("BT-SIGNATURE")) {
		t.Error("a changed body verifies")
	}
	if !strings.Contains(string(g.body), `"delivered_at"`) {
		t.Errorf("body %s", g.body)
	}
}

// TestPrivateReceiverRefused: a webhook whose URL names a loopback address is refused
// at registration, and one whose name resolves to loopback is never reached.
func TestPrivateReceiverRefused(t *testing.T) {
	policy := egress.Policy{}
	w := &webhooks.Webhook{Name: "x", URL: "http://127.0.0.1:9/hook", Events: []string{webhooks.ReactorCreated}, Status: webhooks.Enabled}
	if errs := webhooks.Validate(w, policy, true); len(errs["url"]) == 0 {
		t.Fatalf("loopback URL accepted: %v", errs)
	}
	var hit atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit.Store(true) }))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	js := jetStream(t)
	key, _ := seal.Parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	st, _ := webhooks.Open(ctx, js, key)
	named := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	st.Put(ctx, &webhooks.Webhook{ID: "w", Name: "n", URL: named, Events: []string{webhooks.ReactorCreated}, Status: webhooks.Enabled, Secret: "s", CreatedAt: time.Now()})
	if errs := webhooks.Validate(&webhooks.Webhook{Name: "n", URL: named, Events: []string{webhooks.ReactorCreated}, Status: webhooks.Enabled}, policy, true); errs != nil {
		t.Fatalf("a name is checked when it resolves, not at registration: %v", errs)
	}
	d, err := webhooks.NewDispatcher(ctx, webhooks.Config{JS: js, Store: st, Client: egress.New(policy, egress.Options{}).Client(),
		Backoff: []time.Duration{time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Publish(ctx, webhooks.NewEvent(webhooks.ReactorCreated, "t", nil)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if hit.Load() {
		t.Fatal("a webhook reached a loopback receiver")
	}
}
