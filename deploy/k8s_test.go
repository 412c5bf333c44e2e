package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/conf"
	"gopkg.in/yaml.v3"

	"github.com/reactord/reactord/runtime"
)

// object is one rendered Kubernetes object, decoded generically.
type object = map[string]any

func kindOf(o object) string { return str(o, "kind") }
func nameOf(o object) string { return str(o, "metadata", "name") }

// get walks maps by key and lists by index.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any, path ...any) string { s, _ := get(v, path...).(string); return s }
func list(v any, path ...any) []any { l, _ := get(v, path...).([]any); return l }

// renderK8s renders deploy/k8s with kubectl kustomize, after gen-certs.sh has written
// the secrets its generators read (into a copy: nothing is written under deploy/).
func renderK8s(t *testing.T) []object {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed")
	}
	dir := filepath.Join(t.TempDir(), "k8s")
	if err := os.CopyFS(dir, os.DirFS("k8s")); err != nil {
		t.Fatal(err)
	}
	secrets := filepath.Join(dir, "secrets")
	os.RemoveAll(secrets)
	if err := os.CopyFS(secrets, os.DirFS(sharedCerts(t))); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(kubectl, "kustomize", dir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize deploy/k8s: %v\n%s", err, stderr.String())
	}
	var objs []object
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var o object
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
	return objs
}

func TestKustomizeRenders(t *testing.T) {
	objs := renderK8s(t)
	byKind := map[string]map[string]object{}
	for _, o := range objs {
		if byKind[kindOf(o)] == nil {
			byKind[kindOf(o)] = map[string]object{}
		}
		byKind[kindOf(o)][nameOf(o)] = o
		if ns := str(o, "metadata", "namespace"); kindOf(o) != "Namespace" && ns != "reactord" {
			t.Errorf("%s %s is in namespace %q", kindOf(o), nameOf(o), ns)
		}
	}
	want := map[string][]string{
		"Deployment":              {"reactord-gateway", "reactord-worker-standard", "reactord-worker-large", "reactord-worker-xlarge"},
		"Service":                 {"reactord-gateway"},
		"PodDisruptionBudget":     {"reactord-gateway"},
		"HorizontalPodAutoscaler": {"reactord-gateway"},
		"NetworkPolicy":           {"reactord-worker", "reactord-gateway", "nats"},
		"Namespace":               {"reactord"},
	}
	for kind, names := range want {
		for _, n := range names {
			if byKind[kind][n] == nil {
				t.Errorf("no %s %s", kind, n)
			}
		}
	}

	gw := byKind["Deployment"]["reactord-gateway"]
	gwLabels := get(gw, "spec", "template", "metadata", "labels")
	matches := func(selector any) bool {
		m, _ := selector.(map[string]any)
		if len(m) == 0 {
			return false
		}
		for k, v := range m {
			if get(gwLabels, k) != v {
				return false
			}
		}
		return true
	}
	if !matches(get(byKind["Service"]["reactord-gateway"], "spec", "selector")) {
		t.Error("the gateway Service does not select the gateway pods")
	}
	if !matches(get(byKind["PodDisruptionBudget"]["reactord-gateway"], "spec", "selector", "matchLabels")) {
		t.Error("the gateway PodDisruptionBudget does not select the gateway pods")
	}
	hpa := byKind["HorizontalPodAutoscaler"]["reactord-gateway"]
	if str(hpa, "spec", "scaleTargetRef", "kind") != "Deployment" || str(hpa, "spec", "scaleTargetRef", "name") != "reactord-gateway" {
		t.Error("the HorizontalPodAutoscaler does not scale the gateway Deployment")
	}
	if minR, _ := get(hpa, "spec", "minReplicas").(int); minR < 2 {
		t.Errorf("the gateway autoscaler allows %d replicas; the PodDisruptionBudget needs 2", minR)
	}

	for name, d := range byKind["Deployment"] {
		t.Run(name, func(t *testing.T) { checkDeployment(t, d, byKind) })
	}
	checkNetworkPolicies(t, byKind["NetworkPolicy"])
}

func checkDeployment(t *testing.T, d object, byKind map[string]map[string]object) {
	pod := get(d, "spec", "template", "spec")
	if get(pod, "automountServiceAccountToken") != false {
		t.Error("the pod mounts a Kubernetes API token")
	}
	if get(pod, "securityContext", "runAsNonRoot") != true {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	if uid, _ := get(pod, "securityContext", "runAsUser").(int); uid == 0 {
		t.Error("pod runs as root (runAsUser unset or 0)")
	}
	if str(pod, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
		t.Error("no RuntimeDefault seccomp profile")
	}
	defined := func(kind, name string) bool { return byKind[kind][name] != nil }
	var refs [][2]string
	for _, v := range list(pod, "volumes") {
		if s := str(v, "secret", "secretName"); s != "" {
			refs = append(refs, [2]string{"Secret", s})
		}
		if c := str(v, "configMap", "name"); c != "" {
			refs = append(refs, [2]string{"ConfigMap", c})
		}
	}
	containers := list(pod, "containers")
	if len(containers) == 0 {
		t.Fatal("no containers")
	}
	isWorker := strings.HasPrefix(nameOf(d), "reactord-worker-")
	for _, c := range containers {
		cname := str(c, "name")
		img := str(c, "image")
		if !strings.Contains(img, "/") || !strings.Contains(img[strings.LastIndex(img, "/"):], ":") || strings.HasSuffix(img, ":latest") {
			t.Errorf("container %s: image %q is not a registry image with a pinned tag", cname, img)
		}
		for _, res := range []string{"requests", "limits"} {
			for _, r := range []string{"cpu", "memory"} {
				if get(c, "resources", res, r) == nil {
					t.Errorf("container %s: no resources.%s.%s", cname, res, r)
				}
			}
		}
		sc := get(c, "securityContext")
		if get(sc, "readOnlyRootFilesystem") != true || get(sc, "allowPrivilegeEscalation") != false ||
			!slices.Contains(list(sc, "capabilities", "drop"), any("ALL")) {
			t.Errorf("container %s: securityContext %v is not read-only, no-escalation, drop ALL", cname, sc)
		}
		if p := str(c, "livenessProbe", "httpGet", "path"); p != "/healthz" {
			t.Errorf("container %s: liveness probe %q, want /healthz", cname, p)
		}
		if p := str(c, "readinessProbe", "httpGet", "path"); p != "/readyz" {
			t.Errorf("container %s: readiness probe %q, want /readyz", cname, p)
		}
		mounts := map[string]bool{}
		for _, m := range list(c, "volumeMounts") {
			mounts[str(m, "mountPath")] = true
		}
		for _, dir := range []string{"/tmp", "/var/lib/reactord", "/var/cache/reactord"} {
			if !mounts[dir] {
				t.Errorf("container %s: %s is not a writable volume (the root file system is read-only)", cname, dir)
			}
		}
		for _, e := range list(c, "envFrom") {
			if s := str(e, "secretRef", "name"); s != "" {
				refs = append(refs, [2]string{"Secret", s})
			}
			if cm := str(e, "configMapRef", "name"); cm != "" {
				refs = append(refs, [2]string{"ConfigMap", cm})
			}
		}
		env := map[string]string{}
		for _, e := range list(c, "env") {
			env[str(e, "name")] = str(e, "value")
			if s := str(e, "valueFrom", "secretKeyRef", "name"); s != "" {
				refs = append(refs, [2]string{"Secret", s})
			}
			if cm := str(e, "valueFrom", "configMapKeyRef", "name"); cm != "" {
				refs = append(refs, [2]string{"ConfigMap", cm})
			}
		}
		if isWorker {
			checkWorkerSizing(t, d, c, env)
		}
	}
	for _, r := range refs {
		if !defined(r[0], r[1]) {
			t.Errorf("%s %s is referenced but not defined", r[0], r[1])
		}
		if isWorker && r[0] == "Secret" && strings.HasPrefix(r[1], "reactord-keys") {
			t.Errorf("workers get the encryption and management keys (%s)", r[1])
		}
	}
	if !isWorker && !slices.ContainsFunc(refs, func(r [2]string) bool { return strings.HasPrefix(r[1], "reactord-keys") }) {
		t.Error("the gateway does not get the encryption and management keys")
	}
}

// checkWorkerSizing checks a tier's worker against the tier table: every concurrent
// invocation may use the tier's whole wasm memory (concurrency: standard 2 x CPUs,
// large 1 x CPUs, xlarge 1), plus 1 GiB for the process.
func checkWorkerSizing(t *testing.T, d object, c any, env map[string]string) {
	tier := strings.TrimPrefix(nameOf(d), "reactord-worker-")
	if env["REACTORD_TIERS"] != tier {
		t.Errorf("REACTORD_TIERS=%q in the %s Deployment", env["REACTORD_TIERS"], tier)
	}
	lim, err := runtime.TierLimits(runtime.Tier(tier))
	if err != nil {
		t.Fatal(err)
	}
	cpu := quantity(t, get(c, "resources", "limits", "cpu"))
	concurrency := map[string]float64{"standard": 2 * cpu, "large": cpu, "xlarge": 1}[tier]
	need := concurrency*float64(lim.Memory) + float64(1<<30)
	for _, res := range []string{"requests", "limits"} {
		if got := quantity(t, get(c, "resources", res, "memory")); got < need {
			t.Errorf("%s memory %v < %.0f concurrent x %d MiB + 1 GiB", res, get(c, "resources", res, "memory"), concurrency, lim.Memory>>20)
		}
	}
}

// quantity parses the Kubernetes quantities the manifests use (2, 500m, 1536Mi, 2Gi).
func quantity(t *testing.T, v any) float64 {
	t.Helper()
	s := fmt.Sprint(v)
	mult := 1.0
	for suffix, m := range map[string]float64{"m": 1e-3, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSuffix(s, suffix), m
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("quantity %v: %v", v, err)
	}
	return f * mult
}

func checkNetworkPolicies(t *testing.T, nps map[string]object) {
	for _, name := range []string{"reactord-worker", "reactord-gateway"} {
		np := nps[name]
		if np == nil {
			continue
		}
		types := list(np, "spec", "policyTypes")
		if !slices.Contains(types, any("Egress")) || !slices.Contains(types, any("Ingress")) {
			t.Errorf("%s: policyTypes %v must restrict ingress and egress", name, types)
		}
		var toNATS, toInternet bool
		for _, rule := range list(np, "spec", "egress") {
			for _, to := range list(rule, "to") {
				if str(to, "podSelector", "matchLabels", "app.kubernetes.io/name") == "nats" {
					toNATS = slices.ContainsFunc(list(rule, "ports"), func(p any) bool { return get(p, "port") == 4222 })
				}
				if str(to, "ipBlock", "cidr") == "0.0.0.0/0" {
					toInternet = true
					except := list(to, "ipBlock", "except")
					for _, private := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} {
						if !slices.Contains(except, any(private)) {
							t.Errorf("%s: egress to 0.0.0.0/0 does not exclude %s", name, private)
						}
					}
				}
				if c := str(to, "ipBlock", "cidr"); c != "" && c != "0.0.0.0/0" && c != "::/0" {
					t.Errorf("%s: unexpected egress block %s", name, c)
				}
			}
		}
		if !toNATS || !toInternet {
			t.Errorf("%s: egress to NATS on 4222 (%v) and to the internet (%v) expected", name, toNATS, toInternet)
		}
	}
}

// TestNATSHelmValuesMatchAccounts: the accounts the Helm chart installs are the ones
// nats/accounts.conf defines (and the attack test exercises), and the chart's TLS
// secrets are generated by the kustomization.
func TestNATSHelmValuesMatchAccounts(t *testing.T) {
	b, err := os.ReadFile("k8s/nats-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(b, &values); err != nil {
		t.Fatal(err)
	}
	fromConf, err := conf.ParseFile("nats/accounts.conf")
	if err != nil {
		t.Fatal(err)
	}
	normalize := func(v any) any {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var out any
		json.Unmarshal(b, &out)
		return out
	}
	merge := get(values, "config", "merge")
	for _, key := range []string{"accounts", "system_account"} {
		if got, want := normalize(get(merge, key)), normalize(fromConf[key]); !reflect.DeepEqual(got, want) {
			t.Errorf("nats-values.yaml config.merge.%s differs from nats/accounts.conf:\n got %v\nwant %v", key, got, want)
		}
	}
	for _, path := range [][]any{{"config", "cluster", "enabled"}, {"config", "cluster", "tls", "enabled"},
		{"config", "nats", "tls", "enabled"}, {"config", "jetstream", "enabled"},
		{"config", "nats", "tls", "merge", "verify_and_map"}, {"config", "cluster", "tls", "merge", "verify_and_map"}} {
		if get(values, path...) != true {
			t.Errorf("nats-values.yaml: %v is not true", path)
		}
	}
	if r, _ := get(values, "config", "cluster", "replicas").(int); r != 3 {
		t.Errorf("NATS replicas %d, want 3", r)
	}
	if u := str(values, "config", "cluster", "merge", "authorization", "user"); u != routeUser {
		t.Errorf("route user %q, want %q", u, routeUser)
	}
	secrets := map[string]bool{}
	for _, o := range renderK8s(t) {
		if kindOf(o) == "Secret" {
			secrets[nameOf(o)] = true
		}
	}
	for _, path := range [][]any{{"config", "cluster", "tls", "secretName"}, {"config", "nats", "tls", "secretName"},
		{"tlsCA", "secretName"}, {"natsBox", "contexts", "default", "tls", "secretName"}} {
		if name := str(values, path...); !secrets[name] {
			t.Errorf("nats-values.yaml %v names secret %q, which deploy/k8s does not generate", path, name)
		}
	}
}
