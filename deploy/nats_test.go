package deploy_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/reactord/reactord/internal/natsd"
	"github.com/reactord/reactord/scheduler"
)

// Identities of nats/accounts.conf, as gen-certs.sh issues them.
const (
	gatewayUser = "CN=reactord-gateway,O=reactord"
	workerUser  = "CN=reactord-worker,O=reactord"
	adminUser   = "CN=nats-admin,O=reactord"
	routeUser   = "CN=nats-route,O=reactord"
)

// genCerts runs gen-certs.sh into a new temporary directory: the tests use the
// certificates, subjects and secrets a deployment gets.
func genCerts(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"bash", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
	dir := filepath.Join(t.TempDir(), "certs")
	if err := runGenCerts(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runGenCerts(dir string) error {
	cmd := exec.Command("bash", "gen-certs.sh", dir)
	cmd.Env = append(os.Environ(), "DAYS=2")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gen-certs.sh: %w\n%s", err, out)
	}
	return nil
}

// shared holds one gen-certs.sh run for the package's tests, which only read it
// (openssl takes seconds on a busy machine); TestMain removes it.
var shared struct {
	once sync.Once
	root string
	err  error
}

func sharedCerts(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"bash", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
	shared.once.Do(func() {
		if shared.root, shared.err = os.MkdirTemp("", "reactord-deploy-"); shared.err == nil {
			shared.err = runGenCerts(filepath.Join(shared.root, "certs"))
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return filepath.Join(shared.root, "certs")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.root != "" {
		os.RemoveAll(shared.root)
	}
	os.Exit(code)
}

// natsConf copies nats/*.conf into a temporary directory with the compose paths
// (/etc/nats/certs, /data) pointed at certs and a scratch directory, and returns the
// path of the copied nats.conf. Nothing else in the files changes.
func natsConf(t *testing.T, certs string) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob("nats/*.conf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no nats/*.conf: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), "/etc/nats/certs/", certs+"/")
		s = strings.ReplaceAll(s, "/data/", dir+"/data/")
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "nats.conf")
}

func TestNATSConfigParses(t *testing.T) {
	opts, err := server.ProcessConfigFile(natsConf(t, sharedCerts(t)))
	if err != nil {
		t.Fatalf("nats-server rejects nats/nats.conf: %v", err)
	}
	if !opts.JetStream {
		t.Error("JetStream is not enabled")
	}
	if opts.TLSConfig == nil || !opts.TLSMap || opts.TLSConfig.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Errorf("client connections must require TLS with verified, mapped certificates: tls=%v map=%v",
			opts.TLSConfig != nil, opts.TLSMap)
	}
	if opts.Cluster.TLSConfig != nil && opts.Cluster.TLSConfig.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Error("routes must verify the peer's certificate")
	}
	if opts.Cluster.TLSConfig == nil || !opts.Cluster.TLSMap || opts.Cluster.Username != routeUser {
		t.Errorf("routes must require TLS mapped to %q: tls=%v map=%v user=%q", routeUser,
			opts.Cluster.TLSConfig != nil, opts.Cluster.TLSMap, opts.Cluster.Username)
	}
	if len(opts.Routes) != 3 {
		t.Errorf("routes: %v, want the three nodes", opts.Routes)
	}
	if opts.MaxPayload < natsd.MaxPayload {
		t.Errorf("max_payload %d is below the %d reactord checks for at start", opts.MaxPayload, natsd.MaxPayload)
	}
	if opts.SystemAccount != "SYS" {
		t.Errorf("system account %q", opts.SystemAccount)
	}
	users := map[string]*server.User{}
	for _, u := range opts.Users {
		users[u.Username] = u
	}
	for name, account := range map[string]string{gatewayUser: "REACTORD", workerUser: "WORKERS", adminUser: "SYS"} {
		u := users[name]
		if u == nil {
			t.Errorf("user %q is missing", name)
			continue
		}
		if u.Account == nil || u.Account.Name != account {
			t.Errorf("user %q is not in account %s", name, account)
		}
		if u.Password != "" {
			t.Errorf("user %q has a password; identities come from certificates", name)
		}
	}
	if u := users[workerUser]; u != nil && (u.Permissions == nil || u.Permissions.Publish == nil || u.Permissions.Subscribe == nil) {
		t.Errorf("the worker has no publish or subscribe permissions: it could do anything")
	}
}

// cluster is three nats-server nodes started in this process from nats/nats.conf,
// moved to free loopback ports.
type cluster struct {
	servers []*server.Server
	certs   string
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	certs := sharedCerts(t)
	conf := natsConf(t, certs)
	const n = 3
	clientPorts, routePorts := freePorts(t, n), freePorts(t, n)
	var routes []string
	for _, p := range routePorts {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	c := &cluster{certs: certs}
	for i := range n {
		opts, err := server.ProcessConfigFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		opts.ServerName = fmt.Sprintf("nats-%d", i+1)
		opts.Host, opts.Port = "127.0.0.1", clientPorts[i]
		opts.HTTPPort = 0
		opts.Cluster.Host, opts.Cluster.Port = "127.0.0.1", routePorts[i]
		opts.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		opts.StoreDir = filepath.Join(t.TempDir(), "jetstream")
		opts.NoSigs = true
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		t.Cleanup(s.Shutdown)
		c.servers = append(c.servers, s)
	}
	for _, s := range c.servers {
		if !s.ReadyForConnections(30 * time.Second) {
			t.Fatalf("%s did not start", s.Name())
		}
	}
	return c
}

// extraNode starts a server from the same nats.conf that routes to the cluster with
// the certificate NAME as its route certificate, without JetStream.
func (c *cluster) extraNode(t *testing.T, name string) *server.Server {
	t.Helper()
	opts, err := server.ProcessConfigFile(natsConf(t, c.certs))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(c.certs, name+".pem"), filepath.Join(c.certs, name+"-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Cluster.TLSConfig.Certificates = []tls.Certificate{cert}
	opts.ServerName = "extra-" + name
	opts.Host, opts.Port, opts.HTTPPort = "127.0.0.1", -1, 0
	opts.Cluster.Host, opts.Cluster.Port = "127.0.0.1", -1
	var routes []string
	for _, s := range c.servers {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", s.ClusterAddr().Port))
	}
	opts.Routes = server.RoutesFromStr(strings.Join(routes, ","))
	opts.JetStream = false
	opts.NoSigs = true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(30 * time.Second) {
		t.Fatal("the extra server did not start")
	}
	return s
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// violations collects the permission violations the server reports to a client.
type violations struct {
	mu   sync.Mutex
	errs []string
	seen chan struct{}
}

func (v *violations) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	if !errors.Is(err, nats.ErrPermissionViolation) {
		return
	}
	v.mu.Lock()
	v.errs = append(v.errs, err.Error())
	v.mu.Unlock()
	select {
	case v.seen <- struct{}{}:
	default:
	}
}

// waitFor waits until a violation naming subject arrives.
func (v *violations) waitFor(t *testing.T, subject string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		v.mu.Lock()
		for _, e := range v.errs {
			if strings.Contains(e, `"`+subject+`"`) {
				v.mu.Unlock()
				return
			}
		}
		got := append([]string(nil), v.errs...)
		v.mu.Unlock()
		select {
		case <-v.seen:
		case <-deadline:
			t.Fatalf("no permissions violation for %q; violations seen: %q", subject, got)
		}
	}
}

// connect connects to node i with the client certificate NAME from gen-certs.sh.
func (c *cluster) connect(t *testing.T, i int, name string, extra ...nats.Option) (*nats.Conn, *violations) {
	t.Helper()
	v := &violations{seen: make(chan struct{}, 1)}
	opts := append([]nats.Option{nats.Name(name), nats.ErrorHandler(v.handler), nats.MaxReconnects(-1),
		nats.RootCAs(filepath.Join(c.certs, "ca.pem"))}, extra...)
	if name != "" {
		opts = append(opts, nats.ClientCert(filepath.Join(c.certs, name+".pem"), filepath.Join(c.certs, name+"-key.pem")))
	}
	nc, err := nats.Connect(c.servers[i].ClientURL(), opts...)
	if err != nil {
		t.Fatalf("connect as %s: %v", name, err)
	}
	t.Cleanup(nc.Close)
	return nc, v
}

// waitJetStream waits until the cluster's JetStream has a meta leader.
func waitJetStream(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("JetStream not ready: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestNATSWorkerCredentialsRefused runs the three-node cluster from nats/nats.conf
// (TLS on client and route connections, certificates from gen-certs.sh) and performs
// with a worker's certificate what a compromised worker would try: read the
// applications and tokens buckets (direct get, message get, consumers, the $KV
// subjects, the gateways' replies), write an API key hash or a reactor record, make
// the server or a gateway write for it (a reply subject in the applications bucket),
// take every invocation with a plain subscription, serve the Basis Theory bridge,
// change the reactors stream. Each is refused. What a worker needs works through the
// real dispatcher (an invocation with heartbeats and a result, and no workers), the
// bridge, reactor records and bundles by direct get; and the gateway's certificate
// cannot take invocations.
func TestNATSWorkerCredentialsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node NATS cluster")
	}
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	gw, gwv := c.connect(t, 0, "reactord-gateway")
	gjs, err := jetstream.New(gw)
	if err != nil {
		t.Fatal(err)
	}
	waitJetStream(t, gjs)
	kv := func(bucket string) jetstream.KeyValue {
		b, err := gjs.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, Replicas: 3, Storage: jetstream.FileStorage})
		if err != nil {
			t.Fatalf("gateway creates %s: %v", bucket, err)
		}
		return b
	}
	apps, toks, reactors := kv("reactord_applications"), kv("reactord_tokens"), kv("reactord_reactors")
	if _, err := apps.Put(ctx, "app1", []byte(`{"key_hash":"secret-hash","permissions":["token:use"]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := toks.Put(ctx, "tok1", []byte(`{"data":"sealed"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := reactors.Put(ctx, "r1", []byte(`{"id":"r1","bundle":"abc"}`)); err != nil {
		t.Fatal(err)
	}
	obj, err := gjs.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: "reactord_bundles", Replicas: 3, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	// A just-created R3 stream may not have elected its leader yet.
	for i := 0; ; i++ {
		if _, err = obj.PutBytes(ctx, "abc", []byte("bundle bytes")); err == nil || !errors.Is(err, nats.ErrNoResponders) || i == 100 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	// A gateway serving the Basis Theory bridge.
	bt, err := gw.QueueSubscribe("reactord.bt.gw1", "reactord-bt", func(m *nats.Msg) { m.Respond([]byte(`{"status":200,"body":"api answer"}`)) })
	if err != nil {
		t.Fatal(err)
	}
	defer bt.Unsubscribe()
	gw.Flush()

	// The worker connects to another node: permissions hold across the cluster.
	wk, wv := c.connect(t, 1, "reactord-worker")
	// sync waits until the server has handled what the worker sent before.
	sync := func() {
		t.Helper()
		if _, err := wk.RequestWithContext(ctx, "$JS.reactord.API.DIRECT.GET.KV_reactord_reactors.$KV.reactord_reactors.r1", nil); err != nil {
			t.Fatalf("sync: %v", err)
		}
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		sync()
		keys, err := apps.ListKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for k := range keys.Keys() {
			got = append(got, k)
		}
		if len(got) != 1 || got[0] != "app1" {
			t.Errorf("the applications bucket now holds %v", got)
		}
		if e, err := reactors.Get(ctx, "r1"); err != nil || string(e.Value()) != `{"id":"r1","bundle":"abc"}` {
			t.Errorf("the reactor record changed: %v", err)
		}
	}

	t.Run("refused", func(t *testing.T) {
		attacks := []struct {
			name    string
			subject string // the violation the server reports
			do      func() error
		}{
			{"direct get of an application", "$JS.API.DIRECT.GET.KV_reactord_applications.$KV.reactord_applications.app1",
				func() error {
					return wk.Publish("$JS.API.DIRECT.GET.KV_reactord_applications.$KV.reactord_applications.app1", nil)
				}},
			{"direct get of an application under the imported API prefix", "$JS.reactord.API.DIRECT.GET.KV_reactord_applications.$KV.reactord_applications.app1",
				func() error {
					return wk.Publish("$JS.reactord.API.DIRECT.GET.KV_reactord_applications.$KV.reactord_applications.app1", nil)
				}},
			{"message get of an application", "$JS.API.STREAM.MSG.GET.KV_reactord_applications",
				func() error {
					return wk.PublishRequest("$JS.API.STREAM.MSG.GET.KV_reactord_applications", wk.NewInbox(), []byte(`{"last_by_subj":"$KV.reactord_applications.app1"}`))
				}},
			{"consumer on the applications stream", "$JS.API.CONSUMER.CREATE.KV_reactord_applications.x.$KV.reactord_applications.>",
				func() error {
					return wk.Publish("$JS.API.CONSUMER.CREATE.KV_reactord_applications.x.$KV.reactord_applications.>", []byte(`{}`))
				}},
			{"consumer on the tokens stream", "$JS.API.CONSUMER.CREATE.KV_reactord_tokens",
				func() error { return wk.Publish("$JS.API.CONSUMER.CREATE.KV_reactord_tokens", []byte(`{}`)) }},
			{"push consumer on the reactors stream", "$JS.API.CONSUMER.CREATE.KV_reactord_reactors.x.$KV.reactord_reactors.>",
				func() error {
					return wk.Publish("$JS.API.CONSUMER.CREATE.KV_reactord_reactors.x.$KV.reactord_reactors.>",
						[]byte(`{"stream_name":"KV_reactord_reactors","config":{"name":"x","deliver_subject":"$KV.reactord_applications.pushed"}}`))
				}},
			{"subscribe to the applications bucket", "$KV.reactord_applications.>",
				func() error { _, err := wk.SubscribeSync("$KV.reactord_applications.>"); return err }},
			{"subscribe to the tokens bucket", "$KV.reactord_tokens.>",
				func() error { _, err := wk.SubscribeSync("$KV.reactord_tokens.>"); return err }},
			{"write a key hash into the applications bucket", "$KV.reactord_applications.evil",
				func() error {
					return wk.Publish("$KV.reactord_applications.evil", []byte(`{"key_hash":"attacker","permissions":["token:reveal"]}`))
				}},
			{"write a reactor record", "$KV.reactord_reactors.r1",
				func() error { return wk.Publish("$KV.reactord_reactors.r1", []byte(`{"id":"r1","bundle":"evil"}`)) }},
			{"change the reactors stream", "$JS.API.STREAM.UPDATE.KV_reactord_reactors",
				func() error { return wk.Publish("$JS.API.STREAM.UPDATE.KV_reactord_reactors", []byte(`{}`)) }},
			{"take every invocation", "reactord.invoke.standard",
				func() error { _, err := wk.SubscribeSync("reactord.invoke.standard"); return err }},
			{"take invocations outside the workers' group", "reactord.invoke.standard",
				func() error { _, err := wk.QueueSubscribeSync("reactord.invoke.standard", "mine"); return err }},
			{"serve the Basis Theory bridge", "reactord.bt.>",
				func() error { _, err := wk.QueueSubscribeSync("reactord.bt.>", "reactord-bt"); return err }},
			{"dispatch invocations", "reactord.invoke.large",
				func() error { return wk.Publish("reactord.invoke.large", []byte(`{}`)) }},
		}
		for _, a := range attacks {
			t.Run(a.name, func(t *testing.T) {
				if err := a.do(); err != nil {
					return // refused on the client side is refused too
				}
				wk.Flush()
				wv.waitFor(t, a.subject)
			})
		}
		// The library call a worker would make is refused as well.
		wjs, _ := jetstream.New(wk)
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		defer rcancel()
		if b, err := wjs.KeyValue(rctx, "reactord_applications"); err == nil {
			if e, err := b.Get(rctx, "app1"); err == nil {
				t.Errorf("the worker read an application record: %s", e.Value())
			}
		}
		wv.waitFor(t, "$JS.API.STREAM.INFO.KV_reactord_applications")
		unchanged(t)
	})

	t.Run("refused through what the worker may use", func(t *testing.T) {
		// The reactors stream's API does not reach another stream's messages.
		for _, subj := range []string{"$JS.reactord.API.DIRECT.GET.KV_reactord_reactors", "$JS.reactord.API.DIRECT.GET.OBJ_reactord_bundles"} {
			reply, err := wk.RequestWithContext(ctx, subj, []byte(`{"last_by_subj":"$KV.reactord_applications.app1"}`))
			if err == nil && strings.Contains(string(reply.Data), "secret-hash") {
				t.Errorf("%s returned the application record: %s", subj, reply.Data)
			}
		}
		// Reply subjects in the applications bucket: the server's and a gateway's
		// answers stay in the workers' account.
		for subj, data := range map[string]string{
			"$JS.reactord.API.DIRECT.GET.KV_reactord_reactors.$KV.reactord_reactors.r1": "",
			"$JS.reactord.API.STREAM.INFO.KV_reactord_reactors":                         "",
			"$JS.reactord.API.DIRECT.GET.OBJ_reactord_bundles":                          `{"last_by_subj":"$O.reactord_bundles.M.>"}`,
			"reactord.bt.gw1": `{"method":"GET","path":"/tokens/x"}`,
		} {
			if err := wk.PublishRequest(subj, "$KV.reactord_applications.reply", []byte(data)); err != nil {
				t.Fatal(err)
			}
		}
		// Sniffing replies: the gateways' inboxes are in another account.
		sniff, err := wk.SubscribeSync("_INBOX.>")
		if err != nil {
			t.Fatal(err)
		}
		wk.Flush()
		if _, err := apps.Get(ctx, "app1"); err != nil {
			t.Fatal(err)
		}
		if _, err := gw.RequestWithContext(ctx, "$JS.API.STREAM.INFO.KV_reactord_tokens", nil); err != nil {
			t.Fatal(err)
		}
		sync()
		for {
			m, err := sniff.NextMsg(500 * time.Millisecond)
			if err != nil {
				break
			}
			if strings.Contains(string(m.Data), "secret-hash") || strings.Contains(string(m.Data), "KV_reactord_tokens") {
				t.Errorf("the worker read a gateway's reply on %s: %s", m.Subject, m.Data)
			}
		}
		sniff.Unsubscribe()
		unchanged(t)
	})

	t.Run("allowed", func(t *testing.T) {
		wv.mu.Lock()
		before := len(wv.errs)
		wv.mu.Unlock()
		// A reactor record by direct get.
		reply, err := wk.RequestWithContext(ctx, "$JS.reactord.API.DIRECT.GET.KV_reactord_reactors.$KV.reactord_reactors.r1", nil)
		if err != nil || string(reply.Data) != `{"id":"r1","bundle":"abc"}` {
			t.Fatalf("worker reads a reactor record: %v %v", reply, err)
		}
		// nats.go's key-value and object store handles work for binding and gets
		// (not for watches or object reads, which create consumers).
		wjs, err := jetstream.NewWithAPIPrefix(wk, "$JS.reactord.API")
		if err != nil {
			t.Fatal(err)
		}
		rb, err := wjs.KeyValue(ctx, "reactord_reactors")
		if err != nil {
			t.Fatalf("worker binds the reactors bucket: %v", err)
		}
		if e, err := rb.Get(ctx, "r1"); err != nil || string(e.Value()) != `{"id":"r1","bundle":"abc"}` {
			t.Fatalf("worker gets a reactor record: %v", err)
		}
		ob, err := wjs.ObjectStore(ctx, "reactord_bundles")
		if err != nil {
			t.Fatalf("worker binds the bundle store: %v", err)
		}
		info, err := ob.GetInfo(ctx, "abc")
		if err != nil {
			t.Fatalf("worker reads a bundle's metadata: %v", err)
		}
		// A bundle's bytes by direct get: its metadata, then its chunk.
		reply, err = wk.RequestWithContext(ctx, "$JS.reactord.API.DIRECT.GET.OBJ_reactord_bundles",
			[]byte(fmt.Sprintf(`{"last_by_subj":"$O.reactord_bundles.M.%s"}`, base64.URLEncoding.EncodeToString([]byte("abc")))))
		if err != nil || !strings.Contains(string(reply.Data), info.NUID) {
			t.Fatalf("worker reads a bundle's metadata: %v %v", reply, err)
		}
		reply, err = wk.RequestWithContext(ctx, "$JS.reactord.API.DIRECT.GET.OBJ_reactord_bundles",
			[]byte(fmt.Sprintf(`{"seq":1,"next_by_subj":"$O.reactord_bundles.C.%s"}`, info.NUID)))
		if err != nil || string(reply.Data) != "bundle bytes" {
			t.Fatalf("worker reads a bundle's chunk: %v %v", reply, err)
		}

		// An invocation through the real dispatcher: the worker (a queue member in
		// its own account) claims it, the gateway grants the claim, the worker answers
		// the gateway's presence checks and sends the result.
		d := scheduler.NewDispatcher(gw)
		req := scheduler.Request{ReactorID: "r1", Bundle: "abc", Image: "node-bt", Tier: "standard", TimeoutMS: 10000,
			Deadline: time.Now().Add(10 * time.Second).UnixMilli(), Args: json.RawMessage(`{}`)}
		if _, err := d.Invoke(ctx, req); !errors.Is(err, scheduler.ErrNoWorkers) {
			t.Errorf("no worker subscribed: %v, want %v", err, scheduler.ErrNoWorkers)
		}
		const presence = "reactord.worker.w1"
		here, err := wk.Subscribe(presence, func(m *nats.Msg) { m.Respond(nil) })
		if err != nil {
			t.Fatal(err)
		}
		defer here.Unsubscribe()
		granted := make(chan string, 10)
		sub, err := wk.QueueSubscribe("reactord.invoke.standard", scheduler.QueueGroup, func(m *nats.Msg) {
			grant, err := wk.Request(m.Reply, []byte(presence), 10*time.Second)
			if err != nil {
				granted <- err.Error()
				return
			}
			granted <- string(grant.Data)
			if string(grant.Data) != "go" {
				return
			}
			res, _ := json.Marshal(scheduler.Reply{Status: 200, Raw: json.RawMessage(`{"ran":true}`), Outcome: "success"})
			wk.Publish(m.Reply, res)
		})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		wk.Flush()
		// The subscription reaches the gateway's node over the route shortly after.
		var r scheduler.Reply
		for range 100 {
			if r, err = d.Invoke(ctx, req); !errors.Is(err, scheduler.ErrNoWorkers) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil || r.Status != 200 || string(r.Raw) != `{"ran":true}` {
			var claims []string
			for len(granted) > 0 {
				claims = append(claims, <-granted)
			}
			t.Fatalf("invocation round trip: %+v %v (claims answered: %q)", r, err, claims)
		}
		// The gateway's presence check reaches the worker.
		if _, err := gw.Request(presence, nil, 10*time.Second); err != nil {
			t.Errorf("presence check: %v", err)
		}
		here.Unsubscribe()
		wk.Flush()
		for i := 0; ; i++ { // gone: the server answers that nobody listens
			_, err := gw.Request(presence, nil, 10*time.Second)
			if errors.Is(err, nats.ErrNoResponders) {
				break
			}
			if i == 100 {
				t.Fatalf("presence check of a gone worker: %v, want no responders", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The Basis Theory bridge: the worker asks, a gateway answers.
		reply, err = wk.Request("reactord.bt.gw1", []byte(`{"method":"GET","path":"/tokens/x"}`), 10*time.Second)
		if err != nil || !strings.Contains(string(reply.Data), "api answer") {
			t.Fatalf("bridge round trip: %v %v", reply, err)
		}
		wk.Flush()
		wv.mu.Lock()
		defer wv.mu.Unlock()
		if extra := wv.errs[before:]; len(extra) > 0 {
			t.Errorf("the worker's ordinary work hit permission violations: %q", extra)
		}
	})

	t.Run("gateway cannot act as a worker", func(t *testing.T) {
		if _, err := gw.QueueSubscribeSync("reactord.invoke.standard", scheduler.QueueGroup); err == nil {
			gw.Flush()
			gwv.waitFor(t, "reactord.invoke.standard")
		}
	})

	t.Run("certificates", func(t *testing.T) {
		// No client certificate, a route certificate, a certificate from another CA:
		// none gets a connection.
		url := c.servers[2].ClientURL()
		ca := nats.RootCAs(filepath.Join(c.certs, "ca.pem"))
		if nc, err := nats.Connect(url, ca); err == nil {
			nc.Close()
			t.Error("connected without a client certificate")
		}
		if nc, err := nats.Connect(url, ca, nats.ClientCert(filepath.Join(c.certs, "nats-route.pem"), filepath.Join(c.certs, "nats-route-key.pem"))); err == nil {
			nc.Close()
			t.Error("the route certificate is accepted as a client")
		}
		other := genCerts(t)
		cert, err := tls.LoadX509KeyPair(filepath.Join(other, "reactord-gateway.pem"), filepath.Join(other, "reactord-gateway-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pem, _ := os.ReadFile(filepath.Join(c.certs, "ca.pem"))
		pool.AppendCertsFromPEM(pem)
		if nc, err := nats.Connect(url, nats.Secure(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})); err == nil {
			nc.Close()
			t.Error("a gateway certificate from another CA is accepted")
		}
	})

	t.Run("routes", func(t *testing.T) {
		// A fourth server joins with the route certificate, and does not with a
		// worker's certificate from the same CA (it would see every message).
		for _, tc := range []struct {
			cert string
			join bool
		}{{"nats-route", true}, {"reactord-worker", false}} {
			t.Run(tc.cert, func(t *testing.T) {
				s := c.extraNode(t, tc.cert)
				// Joined: a cluster node lists a route from it. A refused server keeps
				// retrying; the window covers several of its attempts.
				joined := func() bool {
					for _, n := range c.servers {
						rz, err := n.Routez(nil)
						if err != nil {
							t.Fatal(err)
						}
						for _, r := range rz.Routes {
							if r.RemoteName == s.Name() {
								return true
							}
						}
					}
					return false
				}
				seen := false
				for deadline := time.Now().Add(5 * time.Second); !seen && time.Now().Before(deadline); {
					seen = joined()
					time.Sleep(50 * time.Millisecond)
				}
				if seen != tc.join {
					t.Errorf("a server with the %s certificate joined the cluster: %v, want %v", tc.cert, seen, tc.join)
				}
			})
		}
	})
}
