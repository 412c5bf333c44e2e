package deploy_test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// service is the part of a compose service the tests read.
type service struct {
	Image       string            `yaml:"image"`
	Build       map[string]any    `yaml:"build"`
	Command     []string          `yaml:"command"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Environment map[string]string `yaml:"environment"`
	EnvFile     []string          `yaml:"env_file"`
	Volumes     []string          `yaml:"volumes"`
	Tmpfs       []string          `yaml:"tmpfs"`
	ReadOnly    bool              `yaml:"read_only"`
	CapDrop     []string          `yaml:"cap_drop"`
	SecurityOpt []string          `yaml:"security_opt"`
	User        string            `yaml:"user"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

func loadCompose(t *testing.T) map[string]service {
	t.Helper()
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]service `yaml:"services"`
		Volumes  map[string]any     `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src := strings.SplitN(v, ":", 2)[0]
			if !strings.HasPrefix(src, ".") {
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("%s mounts volume %q, which compose.yaml does not declare", name, src)
				}
			}
		}
	}
	return c.Services
}

func TestComposeCluster(t *testing.T) {
	services := loadCompose(t)
	certs := sharedCerts(t)
	byRole := map[string][]string{}
	for name := range services {
		role := strings.TrimRight(name, "-0123456789")
		byRole[role] = append(byRole[role], name)
	}
	for role, n := range map[string]int{"nats": 3, "gateway": 2, "worker": 2, "minio": 1} {
		if len(byRole[role]) != n {
			t.Errorf("%d %s services, want %d", len(byRole[role]), role, n)
		}
	}

	names := map[string]bool{}
	for name, s := range services {
		t.Run(name, func(t *testing.T) {
			if s.Image == "" || strings.HasSuffix(s.Image, ":latest") || !strings.Contains(s.Image, ":") {
				t.Errorf("image %q has no pinned tag", s.Image)
			}
			if name != "minio-setup" && (s.Healthcheck == nil || len(s.Healthcheck.Test) == 0) {
				t.Error("no healthcheck")
			}
			if !slices.Contains(s.CapDrop, "ALL") {
				t.Error("capabilities are not dropped")
			}
			// Every file it mounts is in deploy/ or written by gen-certs.sh.
			for _, v := range s.Volumes {
				src := strings.SplitN(v, ":", 2)[0]
				if rel, ok := strings.CutPrefix(src, "./certs/"); ok {
					if _, err := os.Stat(filepath.Join(certs, rel)); err != nil {
						t.Errorf("mounts %s, which gen-certs.sh does not write", src)
					}
				} else if strings.HasPrefix(src, "./") {
					if _, err := os.Stat(src); err != nil {
						t.Errorf("mounts %s: %v", src, err)
					}
				}
			}
			for _, f := range s.EnvFile {
				if rel, ok := strings.CutPrefix(f, "./certs/"); !ok {
					t.Errorf("env file %s is not from gen-certs.sh", f)
				} else if _, err := os.Stat(filepath.Join(certs, rel)); err != nil {
					t.Errorf("env file %s: gen-certs.sh does not write it", f)
				}
			}
		})
		if strings.HasPrefix(name, "nats-") {
			i := slices.Index(s.Command, "--name")
			if i < 0 || i+1 >= len(s.Command) || names[s.Command[i+1]] {
				t.Errorf("%s: no distinct --name in %v", name, s.Command)
			} else {
				names[s.Command[i+1]] = true
			}
			if !slices.Contains(s.Command, "/etc/nats/nats.conf") || !s.ReadOnly {
				t.Errorf("%s: must run nats/nats.conf with a read-only root", name)
			}
		}
	}

	serverCert := readCert(t, filepath.Join(certs, "nats-server.pem"))
	httpCert := readCert(t, filepath.Join(certs, "reactord-http.pem"))
	for _, role := range []string{"gateway", "worker"} {
		for _, name := range byRole[role] {
			s := services[name]
			t.Run(name+"/reactord", func(t *testing.T) {
				if len(s.Command) != 1 || s.Command[0] != role {
					t.Errorf("command %v, want [%s]", s.Command, role)
				}
				if !s.ReadOnly || !slices.Contains(s.Tmpfs, "/tmp:size=512m") {
					t.Errorf("read_only %v, tmpfs %v: want a read-only root with /tmp on tmpfs", s.ReadOnly, s.Tmpfs)
				}
				if !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
					t.Error("no-new-privileges is not set")
				}
				if s.User != "" && strings.HasPrefix(s.User, "0") {
					t.Errorf("runs as %q", s.User)
				}
				if target, _ := s.Build["target"].(string); (role == "gateway") != (target == "gateway") {
					t.Errorf("build target %q for a %s", target, role)
				}
				for _, n := range []string{"nats-1", "nats-2", "nats-3"} {
					if s.DependsOn[n].Condition != "service_healthy" {
						t.Errorf("does not wait for %s to be healthy", n)
					}
				}
				env := s.Environment
				if env["REACTORD_JETSTREAM_REPLICAS"] != "3" {
					t.Errorf("REACTORD_JETSTREAM_REPLICAS=%q", env["REACTORD_JETSTREAM_REPLICAS"])
				}
				// TLS to every NATS node, each name covered by the server certificate.
				urls := strings.Split(env["REACTORD_NATS_URL"], ",")
				if len(urls) != 3 {
					t.Errorf("REACTORD_NATS_URL %q does not list the three nodes", env["REACTORD_NATS_URL"])
				}
				for _, raw := range urls {
					u, err := url.Parse(raw)
					if err != nil || u.Scheme != "tls" {
						t.Errorf("NATS URL %q is not tls://", raw)
						continue
					}
					if err := serverCert.VerifyHostname(u.Hostname()); err != nil {
						t.Errorf("the NATS server certificate does not cover %s: %v", u.Hostname(), err)
					}
				}
				// The role's own client certificate, mounted where the settings say.
				mounted := map[string]string{}
				for _, v := range s.Volumes {
					parts := strings.Split(v, ":")
					if len(parts) >= 2 {
						mounted[parts[1]] = parts[0]
					}
				}
				for _, key := range []string{"REACTORD_NATS_TLS_CA", "REACTORD_NATS_TLS_CERT", "REACTORD_NATS_TLS_KEY"} {
					if mounted[env[key]] == "" {
						t.Errorf("%s=%q is not mounted", key, env[key])
					}
				}
				if want := "./certs/reactord-" + role + ".pem"; mounted[env["REACTORD_NATS_TLS_CERT"]] != want {
					t.Errorf("NATS client certificate %q, want %s", mounted[env["REACTORD_NATS_TLS_CERT"]], want)
				}
				other := map[string]string{"gateway": "worker", "worker": "gateway"}[role]
				for path, src := range mounted {
					if strings.Contains(src, "reactord-"+other) {
						t.Errorf("the %s's certificate is mounted at %s", other, path)
					}
				}
				hasKeys := slices.Contains(s.EnvFile, "./certs/keys.env")
				if role == "worker" && hasKeys {
					t.Error("a worker gets the encryption and management keys")
				}
				if role == "gateway" {
					if !hasKeys {
						t.Error("the gateway does not get the encryption and management keys")
					}
					if mounted[env["REACTORD_TLS_CERT"]] == "" || mounted[env["REACTORD_TLS_KEY"]] == "" {
						t.Error("the gateway's HTTPS certificate is not mounted")
					}
					if err := httpCert.VerifyHostname(name); err != nil {
						t.Errorf("the HTTPS certificate does not cover %s: %v", name, err)
					}
				}
				if !slices.ContainsFunc(s.Healthcheck.Test, func(a string) bool { return strings.HasSuffix(a, "/readyz") }) {
					t.Errorf("healthcheck %v does not ask /readyz", s.Healthcheck.Test)
				}
			})
		}
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDockerfile checks the properties the images promise: a static build, a
// gateway target with node and npm, an unprivileged numeric user in every runtime
// stage (so runAsNonRoot can verify it) and the volumes a read-only root needs.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	type stage struct {
		from, name string
		lines      []string
	}
	var stages []*stage
	// Join continuation lines, drop comments.
	text := regexp.MustCompile(`\\\n\s*`).ReplaceAllString(string(b), " ")
	fromRe := regexp.MustCompile(`(?i)^FROM\s+(\S+)(?:\s+AS\s+(\S+))?`)
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if m := fromRe.FindStringSubmatch(line); m != nil {
			stages = append(stages, &stage{from: m[1], name: m[2]})
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
		}
	}
	find := func(st *stage, prefix string) []string {
		var out []string
		for _, l := range st.lines {
			if strings.HasPrefix(strings.ToUpper(l), prefix) {
				out = append(out, l)
			}
		}
		return out
	}
	byName := map[string]*stage{}
	for _, st := range stages {
		byName[st.name] = st
	}
	build := byName["build"]
	if build == nil || !slices.ContainsFunc(find(build, "RUN"), func(l string) bool {
		return strings.Contains(l, "CGO_ENABLED=0") && strings.Contains(l, "go build") && strings.Contains(l, "./cmd/reactord")
	}) {
		t.Error("no static (CGO_ENABLED=0) build of ./cmd/reactord in the build stage")
	}
	gw := byName["gateway"]
	if gw == nil || !strings.HasPrefix(gw.from, "node:") {
		t.Error("no gateway target based on a node image")
	}
	final := stages[len(stages)-1]
	for _, st := range []*stage{gw, final} {
		if st == nil {
			continue
		}
		users := find(st, "USER ")
		if len(users) == 0 {
			t.Errorf("stage %s runs as root", st.name)
			continue
		}
		uid := strings.Fields(users[len(users)-1])[1]
		uid = strings.SplitN(uid, ":", 2)[0]
		if _, err := fmt.Sscanf(uid, "%d", new(int)); err != nil || uid == "0" {
			t.Errorf("stage %s: USER %s is not a numeric unprivileged uid", st.name, uid)
		}
		vols := strings.Join(find(st, "VOLUME"), " ")
		for _, dir := range []string{"/var/lib/reactord", "/var/cache/reactord"} {
			if !strings.Contains(vols, dir) {
				t.Errorf("stage %s: %s is not a volume", st.name, dir)
			}
		}
		if !slices.ContainsFunc(find(st, "ENTRYPOINT"), func(l string) bool { return strings.Contains(l, "/usr/local/bin/reactord") }) {
			t.Errorf("stage %s: entrypoint is not reactord", st.name)
		}
	}
}
