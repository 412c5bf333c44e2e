//go:build faults

// The fault test runs a whole cluster as separate processes on 127.0.0.1 (three
// nats-server nodes with JetStream R3, user/password and TLS on client and route
// connections, two gateways, two workers), puts it under mixed load and kills and
// restarts its parts. It is behind the faults build tag (`make faults`) because it
// builds nats-server and takes minutes.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// member is one process of the cluster, restartable with the same arguments.
type member struct {
	name    string
	bin     string
	args    []string
	env     []string
	logPath string
	probe   string // URL answering 200 when the process is ready
	addr    string // HTTP address of a gateway

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}

	// disturbed is set from just before a signal until the process is ready again;
	// gen counts kills and restarts. A client error on a connection to a disturbed
	// member (or one whose gen changed while the call ran) is the fault's doing.
	disturbed atomic.Bool
	gen       atomic.Int64
	// rss is the largest resident set seen, in KiB.
	rss atomic.Int64
}

func (m *member) start(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "=== start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(m.bin, m.args...)
	cmd.Env = append(os.Environ(), m.env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", m.name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(done) }()
	m.mu.Lock()
	m.cmd, m.done = cmd, done
	m.mu.Unlock()
}

// stop sends sig and waits for the process to exit (SIGKILL after 45 s).
func (m *member) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	m.disturbed.Store(true)
	m.gen.Add(1)
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.mu.Unlock()
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(45 * time.Second):
		t.Errorf("%s did not exit within 45 s of %v; killed", m.name, sig)
		cmd.Process.Kill()
		<-done
	}
}

// waitReady polls the member's probe until it answers 200.
func (m *member) waitReady(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(m.probe)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				m.gen.Add(1)
				m.disturbed.Store(false)
				return
			}
		}
		m.mu.Lock()
		done := m.done
		m.mu.Unlock()
		select {
		case <-done:
			t.Fatalf("%s exited before it was ready; log %s:\n%s", m.name, m.logPath, tail(m.logPath, 40))
		default:
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready within %s; log %s:\n%s", m.name, within, m.logPath, tail(m.logPath, 40))
}

func (m *member) restart(t *testing.T, sig syscall.Signal) {
	t.Helper()
	m.stop(t, sig)
	m.start(t)
	m.waitReady(t, 90*time.Second)
}

// sampleRSS records the process's resident set size.
func (m *member) sampleRSS() {
	m.mu.Lock()
	cmd := m.cmd
	m.mu.Unlock()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			for {
				old := m.rss.Load()
				if kb <= old || m.rss.CompareAndSwap(old, kb) {
					break
				}
			}
		}
	}
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// writeCerts writes a CA and one certificate for 127.0.0.1 valid for server and client
// authentication (NATS nodes use it on both ends of a route, reactord as its client
// certificate), returning the paths of the CA, certificate and key.
func writeCerts(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "reactord faults CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(leafKey)
	ca, cert, key = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for path, block := range map[string]*pem.Block{
		ca: {Type: "CERTIFICATE", Bytes: caDER}, cert: {Type: "CERTIFICATE", Bytes: leafDER}, key: {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ca, cert, key
}

func freePort(t *testing.T) int {
	_, p, _ := net.SplitHostPort(freeAddr(t))
	n, _ := strconv.Atoi(p)
	return n
}

// counter counts requests per id (the reactor's fetch, the proxy's destination).
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[id]++
	return c.n[id]
}

func (c *counter) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

// call is one client request and what came of it.
type call struct {
	kind      string // react, async, token, proxy
	id        string
	start     time.Time
	dur       time.Duration
	status    int
	errType   string // the API error's type, or its title
	body      string
	transport error
	excused   bool // a transport error on a gateway that was being killed or restarted
	asyncID   string
	phase     string // the fault phase when the call started (and when it ended)
}

type cluster struct {
	t        *testing.T
	nats     []*member
	gateways []*member
	workers  []*member
	client   *http.Client
	mgmtKey  string
	useKey   string

	phase atomic.Pointer[string] // what the cluster is going through

	mu    sync.Mutex
	calls []call
}

func (c *cluster) all() []*member {
	return append(append(append([]*member{}, c.nats...), c.workers...), c.gateways...)
}

func (c *cluster) base(i int) string { return "http://" + c.gateways[i].addr }

// do sends a request to gateway n%2, failing over to the other when the connection
// is refused (the request never reached a gateway, so it is safe to send again).
func (c *cluster) do(kind, id string, n int, method, path string, body []byte, hdr ...string) call {
	cl := call{kind: kind, id: id, start: time.Now(), phase: "before the faults"}
	if p := c.phase.Load(); p != nil {
		cl.phase = *p
	}
	defer func() {
		cl.dur = time.Since(cl.start)
		if p := c.phase.Load(); p != nil && *p != cl.phase {
			cl.phase += " -> " + *p // in flight while the phase changed
		}
		c.mu.Lock()
		c.calls = append(c.calls, cl)
		c.mu.Unlock()
	}()
	for attempt := 0; attempt < 4; attempt++ {
		g := c.gateways[(n+attempt)%2]
		gen0, dist0 := g.gen.Load(), g.disturbed.Load()
		req, _ := http.NewRequest(method, c.base((n+attempt)%2)+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.client.Do(req)
		if err != nil {
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			cl.transport = err
			cl.excused = dist0 || g.disturbed.Load() || g.gen.Load() != gen0
			return cl
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			cl.transport = err
			cl.excused = dist0 || g.disturbed.Load() || g.gen.Load() != gen0
			return cl
		}
		cl.status, cl.body = resp.StatusCode, string(b)
		if resp.StatusCode >= 400 {
			var e struct {
				Type, Title string
				Status      int
			}
			// The proxy wraps its own errors in proxy_error, as Basis Theory's does.
			eb := b
			if strings.HasPrefix(path, "/proxy") {
				var wrapped struct {
					ProxyError json.RawMessage `json:"proxy_error"`
				}
				json.Unmarshal(b, &wrapped)
				eb = wrapped.ProxyError
			}
			if json.Unmarshal(eb, &e) != nil || e.Status != resp.StatusCode || e.Title == "" {
				cl.errType = "NOT IN THE API FORMAT"
			} else if e.Type != "" {
				cl.errType = e.Type
			} else {
				cl.errType = e.Title
			}
		}
		return cl
	}
	cl.transport = errors.New("both gateways refused the connection")
	cl.excused = c.gateways[0].disturbed.Load() || c.gateways[1].disturbed.Load()
	return cl
}

// get is an API read for the snapshots, failing over like do.
func (c *cluster) get(path, key string) (int, []byte) {
	cl := c.do("read", "", 0, "GET", path, nil, "BT-API-KEY", key)
	if cl.transport != nil {
		c.t.Fatalf("GET %s: %v", path, cl.transport)
	}
	return cl.status, []byte(cl.body)
}

func (c *cluster) mustPost(path, key string, body any, want int) map[string]any {
	c.t.Helper()
	b, _ := json.Marshal(body)
	cl := c.do("setup", "", 0, "POST", path, b, "BT-API-KEY", key)
	var out map[string]any
	json.Unmarshal([]byte(cl.body), &out)
	if cl.transport != nil || cl.status != want {
		c.t.Fatalf("POST %s: %d %s %v", path, cl.status, cl.body, cl.transport)
	}
	return out
}

// snapshot reads everything the test created that must survive the faults.
func (c *cluster) snapshot(tokens map[string]string) map[string]any {
	snap := map[string]any{}
	for _, path := range []string{"/reactors?size=100", "/applications", "/proxies?size=100"} {
		status, body := c.get(path, c.mgmtKey)
		var v any
		if status != 200 || json.Unmarshal(body, &v) != nil {
			c.t.Fatalf("GET %s: %d %s", path, status, body)
		}
		snap[path] = v
	}
	ids := make([]string, 0, len(tokens))
	for id := range tokens {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		status, body := c.get("/tokens/"+id, c.useKey)
		var v map[string]any
		json.Unmarshal(body, &v)
		if status != 200 {
			snap["/tokens/"+id] = fmt.Sprintf("%d %s", status, body)
		} else {
			snap["/tokens/"+id] = v["data"]
		}
	}
	return snap
}

// TestFaults kills a worker, a NATS node and a gateway (SIGKILL) and then restarts
// every process (SIGTERM) while clients send sync reacts, react-async requests, token
// creates and proxy calls to both gateways, failing over when one refuses connections.
// It checks that no sync react ran its reactor twice (a local echo server counts each
// run), that a 200 ran exactly once and a 429 not at all, that every accepted
// react-async request ends with a result, that every error is in the API's format (a
// broken connection only from a gateway being killed or restarted), and that the
// reactors, applications, proxies and tokens read back unchanged; it logs the
// failures by fault phase, latency percentiles and each process's peak memory.
func TestFaults(t *testing.T) {
	testStart := time.Now()
	var soak time.Duration // REACTORD_FAULTS_SOAK: keep going with a fault every few minutes
	if v := os.Getenv("REACTORD_FAULTS_SOAK"); v != "" {
		var err error
		if soak, err = time.ParseDuration(v); err != nil {
			t.Fatalf("REACTORD_FAULTS_SOAK: %v", err)
		}
	}
	maxRSS := int64(512) // MiB per process; REACTORD_FAULTS_MAX_RSS_MIB
	if v := os.Getenv("REACTORD_FAULTS_MAX_RSS_MIB"); v != "" {
		maxRSS, _ = strconv.ParseInt(v, 10, 64)
	}
	dir := t.TempDir()
	if d := os.Getenv("REACTORD_FAULTS_LOGS"); d != "" {
		dir = d
		os.MkdirAll(dir, 0o700)
	}
	bin := buildBinary(t)
	natsBin := filepath.Join(dir, "nats-server")
	if out, err := exec.Command("go", "build", "-o", natsBin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		t.Fatalf("build nats-server: %v\n%s", err, out)
	}
	t.Logf("built reactord and nats-server in %s; logs in %s", time.Since(testStart).Round(time.Second), dir)
	ca, cert, key := writeCerts(t, dir)

	// Three NATS nodes: JetStream, user/password for clients, a route user, TLS with
	// verified certificates on client and route connections, 8 MiB messages.
	const natsPass, routePass = "nats-secret-pw", "route-secret-pw"
	type ports struct{ client, route, monitor int }
	np := make([]ports, 3)
	for i := range np {
		np[i] = ports{freePort(t), freePort(t), freePort(t)}
	}
	var routes, urls []string
	for _, p := range np {
		routes = append(routes, fmt.Sprintf("nats-route://route:%s@127.0.0.1:%d", routePass, p.route))
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", p.client))
	}
	tlsBlock := fmt.Sprintf(`{ cert_file: %q, key_file: %q, ca_file: %q, verify: true, timeout: 5 }`, cert, key, ca)
	c := &cluster{t: t, client: &http.Client{Timeout: 60 * time.Second}}
	for i, p := range np {
		conf := filepath.Join(dir, fmt.Sprintf("nats-%d.conf", i+1))
		os.WriteFile(conf, []byte(fmt.Sprintf(`server_name: n%d
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
max_payload: 8MB
jetstream { store_dir: %q }
authorization { users: [ { user: reactord, password: %q } ] }
tls %s
cluster {
  name: faults
  listen: 127.0.0.1:%d
  authorization { user: route, password: %q }
  tls %s
  routes: [ %s ]
}
`, i+1, p.client, p.monitor, filepath.Join(dir, fmt.Sprintf("js-%d", i+1)), natsPass, tlsBlock, p.route, routePass, tlsBlock, strings.Join(routes, ", "))), 0o600)
		c.nats = append(c.nats, &member{name: fmt.Sprintf("nats-%d", i+1), bin: natsBin, args: []string{"-c", conf},
			logPath: filepath.Join(dir, fmt.Sprintf("nats-%d.log", i+1)), probe: fmt.Sprintf("http://127.0.0.1:%d/healthz", p.monitor)})
	}

	// The echo server counts each reactor run; the destination counts proxy calls.
	runs := &counter{n: map[string]int{}}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, runs.add(r.URL.Query().Get("id")))
	}))
	defer echo.Close()
	proxied := &counter{n: map[string]int{}}
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ ID, Via string }
		json.NewDecoder(r.Body).Decode(&in)
		n := proxied.add(in.ID)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": in.ID, "via": in.Via, "n": n})
	}))
	defer dest.Close()

	encKey := make([]byte, 32)
	rand.Read(encKey)
	c.mgmtKey = "key_faults_management"
	natsFlags := []string{"--nats", strings.Join(urls, ","), "--nats-user", "reactord",
		"--nats-tls-ca", ca, "--nats-tls-cert", cert, "--nats-tls-key", key, "--jetstream-replicas", "3",
		"--egress-allow-private", "--drain-timeout", "15s"}
	env := []string{"REACTORD_NATS_PASSWORD=" + natsPass, "REACTORD_CACHE_DIR=" + filepath.Join(dir, "cache"),
		"REACTORD_ENCRYPTION_KEY=" + base64.StdEncoding.EncodeToString(encKey), "REACTORD_MANAGEMENT_KEY=" + c.mgmtKey}
	for i := 0; i < 2; i++ {
		addr := freeAddr(t)
		c.workers = append(c.workers, &member{name: fmt.Sprintf("worker-%d", i+1), bin: bin, env: env, probe: "http://" + addr + "/readyz",
			logPath: filepath.Join(dir, fmt.Sprintf("worker-%d.log", i+1)),
			args:    append([]string{"worker", "--addr", addr, "--tiers", "standard", "--data-dir", filepath.Join(dir, fmt.Sprintf("worker-%d", i+1))}, natsFlags...)})
	}
	for i := 0; i < 2; i++ {
		addr := freeAddr(t)
		c.gateways = append(c.gateways, &member{name: fmt.Sprintf("gateway-%d", i+1), bin: bin, env: env, probe: "http://" + addr + "/readyz", addr: addr,
			logPath: filepath.Join(dir, fmt.Sprintf("gateway-%d.log", i+1)),
			// Debug: each react-async request's taking and end, by id, for the report below.
			args: append([]string{"gateway", "--addr", addr, "--proxy-allow-http", "--log-level", "debug", "--data-dir", filepath.Join(dir, fmt.Sprintf("gateway-%d", i+1))}, natsFlags...)})
	}
	t.Cleanup(func() {
		for _, m := range c.all() {
			m.mu.Lock()
			cmd, done := m.cmd, m.done
			m.mu.Unlock()
			if cmd != nil {
				cmd.Process.Kill()
				<-done
			}
		}
		if t.Failed() {
			for _, m := range c.all() {
				t.Logf("--- %s (%s), last lines:\n%s", m.name, m.logPath, tail(m.logPath, 30))
			}
		}
	})
	for _, m := range c.nats {
		m.start(t)
	}
	for _, m := range c.nats {
		m.waitReady(t, 60*time.Second)
	}
	// The first gateway creates the replicated buckets; the rest join them.
	c.gateways[0].start(t)
	c.gateways[0].waitReady(t, 90*time.Second)
	for _, m := range append([]*member{c.gateways[1]}, c.workers...) {
		m.start(t)
	}
	for _, m := range append([]*member{c.gateways[1]}, c.workers...) {
		m.waitReady(t, 90*time.Second)
	}
	t.Logf("cluster up after %s", time.Since(testStart).Round(time.Second))

	// What the load uses, and what must survive unchanged.
	app := c.mustPost("/applications", c.mgmtKey, map[string]any{"name": "faults client", "type": "private",
		"permissions": []string{"token:use", "token:create", "token:read", "token:reveal"}}, 201)
	c.useKey = app["key"].(string)
	reactor := c.mustPost("/reactors", c.mgmtKey, map[string]any{
		"name":          "counted",
		"configuration": map[string]string{"ECHO": echo.URL},
		"code": `module.exports = async (req) => {
  const r = await fetch(req.configuration.ECHO + '/hit?id=' + encodeURIComponent(req.args.id));
  const n = await r.text();
  await new Promise(res => setTimeout(res, 10));
  return { raw: { id: req.args.id, n } };
};`}, 201)
	reactorID := reactor["id"].(string)
	proxy := c.mustPost("/proxies", c.mgmtKey, map[string]any{"name": "counted proxy", "destination_url": dest.URL, "require_auth": true,
		"request_transforms": []any{map[string]any{"code": `module.exports = async (req) => ({ body: { ...req.args.body, via: 'transform' }, headers: req.args.headers })`}}}, 201)
	proxyKey := proxy["key"].(string)
	tokens := map[string]string{} // id -> data
	var tokensMu sync.Mutex
	for i := 0; i < 20; i++ {
		data := fmt.Sprintf("before-%d", i)
		tok := c.mustPost("/tokens", c.useKey, map[string]any{"type": "token", "data": data}, 201)
		tokens[tok["id"].(string)] = data
	}
	// Every gateway and worker answers before the load starts (warm instances).
	for i := 0; i < 4; i++ {
		b, _ := json.Marshal(map[string]any{"args": map[string]string{"id": fmt.Sprintf("warm-%d", i)}})
		if cl := c.do("warm", "", i, "POST", "/reactors/"+reactorID+"/react", b, "BT-API-KEY", c.useKey); cl.status != 200 {
			t.Fatalf("warm-up react: %d %s %v", cl.status, cl.body, cl.transport)
		}
	}
	tokensMu.Lock()
	before := c.snapshot(tokens)
	tokensMu.Unlock()
	c.mu.Lock()
	c.calls = nil
	c.mu.Unlock()

	// Mixed load until the faults are over, bounded per client.
	maxPerClient := 20000
	if soak > 0 {
		maxPerClient = 1 << 30
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := func(one func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < maxPerClient; i++ {
				select {
				case <-stop:
					return
				default:
				}
				one(i)
			}
		}()
	}
	for w := 0; w < 4; w++ {
		client(func(i int) {
			id := fmt.Sprintf("r%d-%d", w, i)
			b, _ := json.Marshal(map[string]any{"args": map[string]string{"id": id}})
			c.do("react", id, w+i, "POST", "/reactors/"+reactorID+"/react", b, "BT-API-KEY", c.useKey)
		})
	}
	for w := 0; w < 2; w++ {
		client(func(i int) {
			id := fmt.Sprintf("a%d-%d", w, i)
			b, _ := json.Marshal(map[string]any{"args": map[string]string{"id": id}})
			c.do("async", id, w+i, "POST", "/reactors/"+reactorID+"/react-async", b, "BT-API-KEY", c.useKey)
			time.Sleep(50 * time.Millisecond)
		})
	}
	client(func(i int) {
		data := fmt.Sprintf("during-%d", i)
		b, _ := json.Marshal(map[string]any{"type": "token", "data": data})
		cl := c.do("token", data, i, "POST", "/tokens", b, "BT-API-KEY", c.useKey)
		if cl.status == 201 {
			var tok struct{ ID string }
			json.Unmarshal([]byte(cl.body), &tok)
			tokensMu.Lock()
			tokens[tok.ID] = data
			tokensMu.Unlock()
		}
		time.Sleep(20 * time.Millisecond)
	})
	for w := 0; w < 2; w++ {
		client(func(i int) {
			id := fmt.Sprintf("p%d-%d", w, i)
			b, _ := json.Marshal(map[string]any{"id": id})
			c.do("proxy", id, w+i, "POST", "/proxy", b, "BT-API-KEY", c.useKey, "BT-PROXY-KEY", proxyKey)
		})
	}
	rssStop := make(chan struct{})
	go func() {
		for {
			select {
			case <-rssStop:
				return
			case <-time.After(500 * time.Millisecond):
				for _, m := range c.all() {
					m.sampleRSS()
				}
			}
		}
	}()

	// The faults, with load running throughout.
	phase := func(name string) time.Time {
		c.phase.Store(&name)
		t.Logf("%6.1fs %s", time.Since(testStart).Seconds(), name)
		return time.Now()
	}
	kill := func(m *member, down time.Duration) {
		phase("SIGKILL " + m.name)
		m.stop(t, syscall.SIGKILL)
		time.Sleep(down)
		phase("restart " + m.name)
		m.start(t)
		m.waitReady(t, 90*time.Second)
		phase("after " + m.name + " restarted")
		time.Sleep(2 * time.Second)
	}
	rolling := func(m *member) {
		phase("rolling restart (SIGTERM): " + m.name)
		m.restart(t, syscall.SIGTERM)
		phase("after " + m.name + " restarted")
		time.Sleep(time.Second)
	}
	time.Sleep(4 * time.Second)
	faultsFrom := time.Now()
	kill(c.workers[0], 4*time.Second)
	kill(c.nats[1], 5*time.Second)
	kill(c.gateways[0], 4*time.Second)
	for _, m := range c.all() {
		rolling(m)
	}
	// Soak: one fault every REACTORD_FAULTS_EVERY, rotating over kinds and processes,
	// until REACTORD_FAULTS_SOAK has passed.
	if soak > 0 {
		every := 2 * time.Minute
		if v := os.Getenv("REACTORD_FAULTS_EVERY"); v != "" {
			var err error
			if every, err = time.ParseDuration(v); err != nil {
				t.Fatalf("REACTORD_FAULTS_EVERY: %v", err)
			}
		}
		for round := 0; time.Since(testStart) < soak; round++ {
			phase(fmt.Sprintf("soak: load, next fault in %s", every))
			time.Sleep(every)
			switch round % 4 {
			case 0:
				kill(c.workers[round/4%2], 4*time.Second)
			case 1:
				kill(c.nats[round/4%3], 5*time.Second)
			case 2:
				kill(c.gateways[round/4%2], 4*time.Second)
			case 3:
				all := c.all()
				rolling(all[round/4%len(all)])
			}
		}
	}
	faultsTo := phase("faults over; load continues 3 s")
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	close(rssStop)
	phase("load stopped")

	c.mu.Lock()
	calls := append([]call(nil), c.calls...)
	c.mu.Unlock()

	// Every accepted react-async request gets its result.
	asyncPending := map[string]string{} // request id -> arg id
	for i := range calls {
		if calls[i].kind == "async" && calls[i].status == 202 {
			var a struct {
				ID string `json:"async_reactor_request_id"`
			}
			json.Unmarshal([]byte(calls[i].body), &a)
			calls[i].asyncID = a.ID
			asyncPending[a.ID] = calls[i].id
		}
	}
	accepted := len(asyncPending)
	collectFrom := time.Now()
	asyncStatus := map[string]int{}
	asyncDeadline := time.Now().Add(120 * time.Second)
	for len(asyncPending) > 0 && time.Now().Before(asyncDeadline) {
		for rid, id := range asyncPending {
			status, body := c.get("/reactors/"+reactorID+"/results/"+rid, c.useKey)
			switch {
			case status == 202:
				continue
			case status == 200 && strings.Contains(string(body), `"id":"`+id+`"`):
				asyncStatus["200"]++
			default:
				asyncStatus[fmt.Sprintf("%d %.120s", status, body)]++
				if status == 404 {
					t.Errorf("react-async %s (%s): result lost: %s", rid, id, body)
				}
			}
			delete(asyncPending, rid)
		}
		if len(asyncPending) > 0 {
			time.Sleep(500 * time.Millisecond)
		}
	}
	for rid, id := range asyncPending {
		// What tells a request that never ran from one whose result a replica has not
		// caught up with: how often the reactor ran it, and what the other gateway
		// (connected to its own NATS node) reads.
		var accepted call
		for _, cl := range calls {
			if cl.asyncID == rid {
				accepted = cl
			}
		}
		other := c.do("read", "", 1, "GET", "/reactors/"+reactorID+"/results/"+rid, nil, "BT-API-KEY", c.useKey)
		t.Errorf("react-async %s (%s) accepted at %.1fs while %q but still pending %s after the load; the reactor ran it %d times; the other gateway reads %d %.200s %v",
			rid, id, accepted.start.Sub(testStart).Seconds(), accepted.phase, 120*time.Second, runs.get(id), other.status, other.body, other.transport)
		for _, m := range c.all() {
			if lines := grepFile(m.logPath, rid); lines != "" {
				t.Logf("--- %s lines naming %s:\n%s", m.name, rid, lines)
			}
		}
	}
	phase(fmt.Sprintf("%d react-async results collected in %s", accepted, time.Since(collectFrom).Round(time.Second)))

	// Sync reacts: at most once; exactly once when answered 200.
	kinds := map[string]map[string]int{}        // kind -> outcome -> count
	ranByOutcome := map[string]map[string]int{} // kind -> failed outcome -> reactor runs
	byPhase := map[string]map[string]int{}      // phase -> failed kind and outcome -> count
	shown, shownTransport := 0, 0
	var faultLat, calmLat []time.Duration
	asyncDup, asyncRuns := 0, 0
	proxyDup := 0
	for _, cl := range calls {
		outcome := strconv.Itoa(cl.status)
		if cl.errType != "" {
			outcome += " " + cl.errType
		}
		if cl.transport != nil {
			outcome = "transport error"
			if !cl.excused {
				outcome = "transport error (gateway not disturbed)"
				t.Errorf("%s %s: transport error on an undisturbed gateway: %v", cl.kind, cl.id, cl.transport)
			}
		}
		if kinds[cl.kind] == nil {
			kinds[cl.kind] = map[string]int{}
		}
		kinds[cl.kind][outcome]++
		if cl.transport != nil || cl.status >= 400 {
			if byPhase[cl.phase] == nil {
				byPhase[cl.phase] = map[string]int{}
			}
			byPhase[cl.phase][cl.kind+" "+outcome]++
		}
		if (cl.kind == "react" || cl.kind == "async") && cl.status != 200 && cl.status != 202 {
			if ranByOutcome[cl.kind] == nil {
				ranByOutcome[cl.kind] = map[string]int{}
			}
			ranByOutcome[cl.kind][outcome] += runs.get(cl.id)
		}
		if (cl.kind == "react" || cl.kind == "proxy") && (cl.status >= 500) && shown < 40 {
			shown++
			t.Logf("  %s %s: %d %s at %.1fs after %s (ran %d times) while %q", cl.kind, cl.id, cl.status, cl.errType,
				cl.start.Sub(testStart).Seconds(), cl.dur.Round(time.Millisecond), runs.get(cl.id)+proxied.get(cl.id), cl.phase)
		}
		if cl.transport != nil && shownTransport < 20 {
			shownTransport++
			t.Logf("  %s %s: %v at %.1fs after %s (ran %d times) while %q", cl.kind, cl.id, cl.transport,
				cl.start.Sub(testStart).Seconds(), cl.dur.Round(time.Millisecond), runs.get(cl.id)+proxied.get(cl.id), cl.phase)
		}
		if cl.errType == "NOT IN THE API FORMAT" {
			t.Errorf("%s %s: %d answer not in the API's error format: %.200s", cl.kind, cl.id, cl.status, cl.body)
		}
		if !cl.start.Before(faultsFrom) && cl.start.Before(faultsTo) {
			faultLat = append(faultLat, cl.dur)
		} else {
			calmLat = append(calmLat, cl.dur)
		}
		switch cl.kind {
		case "react":
			n := runs.get(cl.id)
			switch {
			case n > 1:
				t.Errorf("react %s ran %d times (answered %d %s)", cl.id, n, cl.status, cl.errType)
			case cl.status == 200 && (n != 1 || !strings.Contains(cl.body, `"id":"`+cl.id+`"`)):
				t.Errorf("react %s answered 200 (%.100s) but ran %d times", cl.id, cl.body, n)
			case cl.status == http.StatusTooManyRequests && n != 0:
				t.Errorf("react %s was refused with 429 (%.100s) but ran", cl.id, cl.body)
			}
		case "async":
			if n := runs.get(cl.id); cl.status == 202 {
				asyncRuns++
				if n > 1 {
					asyncDup++
				}
			}
		case "proxy":
			n := proxied.get(cl.id)
			if n > 1 {
				proxyDup++
				t.Errorf("proxy call %s reached the destination %d times", cl.id, n)
			}
			if cl.status == 200 && (n != 1 || !strings.Contains(cl.body, `"via":"transform"`)) {
				t.Errorf("proxy call %s answered 200 (%.100s) but reached the destination %d times", cl.id, cl.body, n)
			}
		}
	}

	// Nothing lost or changed.
	// A soak creates tens of thousands of tokens: read back the ones from before the
	// load and at most 3000 of the others, spread over the run.
	tokensMu.Lock()
	checked := map[string]string{}
	step := len(tokens)/3000 + 1
	i := 0
	for id, data := range tokens {
		if i++; strings.HasPrefix(data, "before-") || i%step == 0 {
			checked[id] = data
		}
	}
	tokensMu.Unlock()
	after := c.snapshot(checked)
	for k, v := range before {
		if !reflect.DeepEqual(after[k], v) {
			t.Errorf("%s changed:\nbefore %v\nafter  %v", k, v, after[k])
		}
	}
	for k, v := range after {
		if strings.HasPrefix(k, "/tokens/") {
			if _, ok := before[k]; !ok && v != tokens[strings.TrimPrefix(k, "/tokens/")] {
				t.Errorf("token created under load %s: want %q, read back %v", k, tokens[strings.TrimPrefix(k, "/tokens/")], v)
			}
		}
	}

	// Figures.
	t.Logf("run time %s (faults %s); %d calls", time.Since(testStart).Round(time.Second), faultsTo.Sub(faultsFrom).Round(time.Second), len(calls))
	for _, k := range []string{"react", "async", "token", "proxy"} {
		var outs []string
		for o, n := range kinds[k] {
			outs = append(outs, fmt.Sprintf("%s: %d", o, n))
		}
		sort.Strings(outs)
		t.Logf("  %-6s %s", k, strings.Join(outs, ", "))
		if len(ranByOutcome[k]) > 0 {
			t.Logf("  %-6s reactor runs of the calls that failed, by outcome: %v", k, ranByOutcome[k])
		}
	}
	var phases []string
	for p := range byPhase {
		phases = append(phases, p)
	}
	sort.Strings(phases)
	for _, p := range phases {
		t.Logf("  failures while %q: %v", p, byPhase[p])
	}
	t.Logf("  react-async: %d accepted, results %v, %d ran more than once (at least once allowed)", accepted, asyncStatus, asyncDup)
	t.Logf("  tokens read back after the faults: %d of %d created", len(checked), len(tokens))
	t.Logf("  latency p50/p99/max during faults: %s; outside: %s", pct(faultLat), pct(calmLat))
	for _, m := range c.all() {
		t.Logf("  %-9s max RSS %d MiB", m.name, m.rss.Load()/1024)
		if m.rss.Load()/1024 > maxRSS {
			t.Errorf("%s used %d MiB, more than %d MiB", m.name, m.rss.Load()/1024, maxRSS)
		}
	}
	if kinds["react"]["200"] == 0 || kinds["proxy"]["200"] == 0 || kinds["token"]["201"] == 0 || accepted == 0 {
		t.Errorf("a kind of load never succeeded: %v", kinds)
	}
}

func pct(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(p float64) time.Duration { return ds[int(p*float64(len(ds)-1))].Round(time.Millisecond) }
	return fmt.Sprintf("%s/%s/%s (n=%d)", at(0.5), at(0.99), ds[len(ds)-1].Round(time.Millisecond), len(ds))
}

// grepFile returns the lines of path that contain s.
func grepFile(path, s string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
