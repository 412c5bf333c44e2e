package builder_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reactord/reactord/builder"
)

// npmPackage is a package the test registry serves.
type npmPackage struct {
	name, version string
	files         map[string]string // path inside the package -> contents
}

// tarball packs p as npm does: gzipped tar, every entry under package/.
func (p npmPackage) tarball(t *testing.T) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range p.files {
		if err := tw.WriteHeader(&tar.Header{Name: "package/" + name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	return buf.Bytes()
}

// npmRegistry is an npm registry serving pkgs (packuments and tarballs), so that a
// dependency can be exactly the malicious package a test needs.
func npmRegistry(t *testing.T, pkgs ...npmPackage) *httptest.Server {
	t.Helper()
	tarballs := map[string][]byte{}
	packuments := map[string]map[string]any{}
	// The maps are filled before npm asks for anything.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, ok := strings.CutPrefix(r.URL.Path, "/-/"); ok {
			if b, ok := tarballs[f]; ok {
				w.Write(b)
				return
			}
		} else if doc, ok := packuments[strings.TrimPrefix(r.URL.Path, "/")]; ok {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(doc)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	for _, p := range pkgs {
		tgz := p.tarball(t)
		file := p.name + "-" + p.version + ".tgz"
		tarballs[file] = tgz
		s512 := sha512.Sum512(tgz)
		s1 := sha1.Sum(tgz)
		pj := map[string]any{}
		json.Unmarshal([]byte(p.files["package.json"]), &pj)
		pj["dist"] = map[string]string{
			"tarball":   srv.URL + "/-/" + file,
			"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]),
			"shasum":    hex.EncodeToString(s1[:]),
		}
		doc := packuments[p.name]
		if doc == nil {
			doc = map[string]any{"name": p.name, "versions": map[string]any{}, "dist-tags": map[string]string{}}
			packuments[p.name] = doc
		}
		doc["versions"].(map[string]any)[p.version] = pj
		doc["dist-tags"].(map[string]string)["latest"] = p.version
	}
	return srv
}

// up is enough "../" to climb from any build directory to the file system root.
var up = strings.Repeat("../", 40)

// TestBuildConfinement performs, through Build, each way reactor code or a dependency
// could copy a host file into its bundle, with a real secret file outside the build
// directory: every build fails with build_failed naming the refused path, and the
// secret's bytes appear in no error, log line, stored bundle or build record.
func TestBuildConfinement(t *testing.T) {
	secret := "reactord-host-secret-" + hex.EncodeToString([]byte(t.Name()))[:16]
	inTree := "reactord-packaged-text-b8c1f0"
	hostDir := t.TempDir()
	files := map[string]string{
		"encryption.key": secret,
		"secret.js":      `module.exports = "` + secret + `";`,
		"secret.json":    `{"key": "` + secret + `"}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(hostDir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	key, js, jsn := filepath.Join(hostDir, "encryption.key"), filepath.Join(hostDir, "secret.js"), filepath.Join(hostDir, "secret.json")

	reg := npmRegistry(t,
		npmPackage{name: "reactord-evil-main", version: "1.0.0", files: map[string]string{
			"package.json": `{"name": "reactord-evil-main", "version": "1.0.0", "main": "` + up + strings.TrimPrefix(js, "/") + `"}`,
		}},
		npmPackage{name: "reactord-evil-browser", version: "1.0.0", files: map[string]string{
			"package.json": `{"name": "reactord-evil-browser", "version": "1.0.0", "main": "index.js", "browser": {"./index.js": "` + up + strings.TrimPrefix(jsn, "/") + `"}}`,
			"index.js":     `module.exports = 1;`,
		}},
		npmPackage{name: "reactord-evil-dep", version: "1.0.0", files: map[string]string{
			"package.json": `{"name": "reactord-evil-dep", "version": "1.0.0", "main": "index.js"}`,
			"index.js":     `const k = require("` + key + `"); module.exports = k;`,
		}},
		npmPackage{name: "reactord-text", version: "1.0.0", files: map[string]string{
			"package.json": `{"name": "reactord-text", "version": "1.0.0", "main": "index.js"}`,
			"index.js":     `module.exports = require("./data.json");`,
			"data.json":    `{"ok": true}`,
			"notes.txt":    inTree,
		}},
	)
	cache := t.TempDir()
	var logs bytes.Buffer
	b := newBuilder(t, builder.Config{CacheDir: cache, Registry: reg.URL, Engine: engine, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()

	// The same dependency installs work: a dependency's own files, JSON included.
	ok, err := b.Build(ctx, builder.Input{Code: []byte(`import t from "reactord-text"; import d from "reactord-text/data.json" with { type: "json" };
export default async () => ({ raw: { ok: t.ok && d.ok } });`), Dependencies: map[string]string{"reactord-text": "1.0.0"}})
	if err != nil {
		t.Fatalf("a dependency reading its own JSON: %v", err)
	}
	if resp := run(t, ok.Bundle, `{}`); !strings.Contains(string(resp.Body), `"ok":true`) {
		t.Fatalf("body %s", resp.Body)
	}

	// Planted symlinks: npm extracts no symlinks from registry tarballs, so these stand
	// for a tree altered after install (a link inside node_modules to a host directory,
	// a package file linked to a host file).
	textDir := findPackage(t, cache, "reactord-text")
	if err := os.Symlink(hostDir, filepath.Join(filepath.Dir(textDir), "reactord-host-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(js, filepath.Join(textDir, "linked.js")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(filepath.Dir(textDir), "reactord-etc")); err != nil {
		t.Fatal(err)
	}
	text := map[string]string{"reactord-text": "1.0.0"}

	tests := []struct {
		name string
		code string
		deps map[string]string
		want string // the refused path the message names
	}{
		{"import with type text", `import k from "` + key + `" with { type: "text" }; export default async () => ({ raw: k });`, nil, key},
		{"import with type json", `import k from "` + jsn + `" with { type: "json" }; export default async () => ({ raw: k });`, nil, jsn},
		{"import with type bytes", `import k from "` + key + `" with { type: "bytes" }; export default async () => ({ raw: k.length });`, nil, key},
		{"import with type file", `import k from "` + key + `" with { type: "file" }; export default async () => ({ raw: k });`, nil, key},
		{"require absolute js", `const k = require("` + js + `"); module.exports = async () => ({ raw: k });`, nil, js},
		{"require absolute json", `const k = require("` + jsn + `"); module.exports = async () => ({ raw: k });`, nil, jsn},
		{"require absolute key", `const k = require("` + key + `"); module.exports = async () => ({ raw: k });`, nil, key},
		{"proc environ", `import e from "/proc/self/environ" with { type: "text" }; export default async () => ({ raw: e });`, nil, "/proc/self/environ"},
		{"proc environ plain", `const e = require("/proc/self/environ"); module.exports = async () => ({ raw: e });`, nil, "/proc/self/environ"},
		{"relative escape", `const k = require("` + up + strings.TrimPrefix(js, "/") + `"); module.exports = async () => ({ raw: k });`, nil, up + strings.TrimPrefix(js, "/")},
		{"parent directory", `const k = require("../../.."); module.exports = async () => ({ raw: k });`, nil, "../../.."},
		{"dynamic import", `module.exports = async () => ({ raw: await import("` + js + `") });`, nil, js},
		{"glob require", `module.exports = async (e) => ({ raw: require("` + up + strings.TrimPrefix(hostDir, "/") + `/" + e.args.f) });`, nil, hostDir},
		{"dependency imports a host file", `module.exports = async () => ({ raw: require("reactord-evil-dep") });`, map[string]string{"reactord-evil-dep": "1.0.0"}, key},
		{"dependency main outside", `module.exports = async () => ({ raw: require("reactord-evil-main") });`, map[string]string{"reactord-evil-main": "1.0.0"}, js},
		{"dependency browser field outside", `module.exports = async () => ({ raw: require("reactord-evil-browser") });`, map[string]string{"reactord-evil-browser": "1.0.0"}, jsn},
		{"symlinked file in a package", `module.exports = async () => ({ raw: require("reactord-text/linked.js") });`, text, js},
		{"symlink in node_modules to a host directory", `module.exports = async () => ({ raw: require("reactord-host-link/secret.js") });`, text, js},
		{"symlink in node_modules to /etc", `module.exports = async () => ({ raw: require("reactord-etc/passwd") });`, text, "/etc/passwd"},
		{"text file inside the tree", `module.exports = async () => ({ raw: require("reactord-text/notes.txt") });`, text, "notes.txt"},
		{"text attribute inside the tree", `import n from "reactord-text/index.js" with { type: "text" }; export default async () => ({ raw: n });`, text, "reactord-text/index.js"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			_, err := b.Build(ctx, builder.Input{Code: []byte(tc.code), Dependencies: tc.deps})
			var be *builder.Error
			if !errors.As(err, &be) {
				t.Fatalf("err = %v, want a *builder.Error", err)
			}
			if be.Code != builder.CodeBuildFailed || !strings.Contains(be.Message, tc.want) || !strings.Contains(be.Message, "refused") {
				t.Fatalf("got %s %q, want build_failed refusing %q", be.Code, be.Message, tc.want)
			}
			t.Logf("%s", be.Message)
			out, _ := json.Marshal(be)
			for what, s := range map[string]string{"error": string(out), "logs": logs.String()} {
				if strings.Contains(s, secret) || strings.Contains(s, inTree) {
					t.Errorf("the secret is in the %s: %s", what, s)
				}
			}
		})
	}
	// Nothing the builder stored (bundles, build records) carries the secret.
	for _, d := range []string{"bundles", "builds"} {
		filepath.WalkDir(filepath.Join(cache, d), func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if bytes.Contains(data, []byte(secret)) || bytes.Contains(data, []byte(inTree)) {
				t.Errorf("%s holds the secret", path)
			}
			return nil
		})
	}
}

// findPackage returns the installed directory of a package under the build cache.
func findPackage(t *testing.T, cache, name string) string {
	t.Helper()
	var found string
	filepath.WalkDir(filepath.Join(cache, "deps"), func(path string, e fs.DirEntry, err error) error {
		if err == nil && e.IsDir() && filepath.Base(path) == name && filepath.Base(filepath.Dir(path)) == "node_modules" {
			found = path
			return filepath.SkipAll
		}
		return nil
	})
	if found == "" {
		t.Fatalf("%s is not installed under %s", name, cache)
	}
	return found
}
