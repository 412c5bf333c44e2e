package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/reactord/reactord/bundles"
	"github.com/reactord/reactord/internal/osvtest"
)

func TestBuildAndPublishCommands(t *testing.T) {
	ctx := context.Background()
	userCache, _ := os.UserCacheDir()
	buildCache := t.TempDir()
	db, err := osvtest.WriteDB(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// --osv-api= keeps the builds without --osv-db off the public OSV API.
	common := []string{"--build-cache", buildCache, "--cache-dir", filepath.Join(userCache, "reactord-test", "wazero"), "--osv-api="}

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.js"), []byte(`const _ = require('lodash'); module.exports = async (e) => ({ raw: _.kebabCase(e.req.s) })`), 0o644)
	os.WriteFile(filepath.Join(dir, "reactor.json"), []byte(`{"image": "node22", "code": "index.js", "dependencies": {"lodash": "4.17.21"}}`), 0o644)
	code := filepath.Join(dir, "index.js")

	// An S3-compatible server for publish.
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer srv.Close()
	raw := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", UsePathStyle: true, Credentials: aws.AnonymousCredentials{}})
	if _, err := raw.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("ci-bundles")}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	storeDir := t.TempDir()

	tests := []struct {
		name   string
		args   []string
		exit   int
		stdout string // substring
	}{
		{"dir", []string{"build", dir, "--osv-db", db}, 0, `"scanned":true`},
		{"file with flags", []string{"build", code, "--dependency", "lodash@4.17.21"}, 0, `"note":"not scanned`},
		{"vulnerable", []string{"build", code, "--dependency", "lodash@4.17.20", "--osv-db", db}, exitVulnerable,
			`{"error_code":"vulnerabilities_detected","error_message":"Please update the dependencies listed to resolve security vulnerabilities.","error_details":{"vulnerabilities":[{"name":"lodash","version":"4.17.20","severity":"HIGH","id":"CVE-2021-23337","dependency_path":["lodash"]}]}}`},
		{"resolution fixes it", []string{"build", code, "--dependency", "lodash@4.17.20", "--resolution", "lodash@4.17.21", "--osv-db", db}, 0, `"lodash":"4.17.21"`},
		{"missing version", []string{"build", code, "--dependency", "maskdata@1.3.2"}, 1, `"error_code":"dependency_not_found"`},
		{"no file", []string{"build"}, exitUsage, ""},
		{"bad pin flag", []string{"build", code, "--dependency", "lodash"}, exitUsage, ""},
		{"missing file", []string{"build", filepath.Join(dir, "nope.js")}, exitUsage, ""},
		{"publish without store", []string{"publish", dir}, exitUsage, ""},
		{"publish file", []string{"publish", dir, "--store", "file:" + storeDir}, 0, ""},
		{"publish s3", []string{"publish", dir, "--store", "s3://ci-bundles/bundles", "--s3-endpoint", srv.URL, "--s3-path-style", "--s3-region", "us-east-1"}, 0, ""},
	}
	var shas []string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := run(ctx, append(tc.args, common...), &stdout, &stderr)
			if got != tc.exit {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", got, tc.exit, stdout.String(), stderr.String())
			}
			out := strings.TrimSpace(stdout.String())
			if !strings.Contains(out, tc.stdout) {
				t.Fatalf("stdout %s\nwant it to contain %s", out, tc.stdout)
			}
			if tc.exit != exitUsage && !json.Valid([]byte(out)) && !strings.HasPrefix(tc.args[0], "publish") {
				t.Errorf("stdout is not one JSON object: %s", out)
			}
			if tc.args[0] == "publish" && tc.exit == 0 {
				if len(out) != 64 {
					t.Fatalf("publish printed %q, want a sha256", out)
				}
				shas = append(shas, out)
			}
		})
	}
	if len(shas) != 2 || shas[0] != shas[1] {
		t.Fatalf("published hashes %v, want the same bundle twice", shas)
	}
	fsStore, _ := bundles.NewFS(storeDir)
	s3Store, _ := bundles.NewS3(ctx, bundles.S3Config{Endpoint: srv.URL, Region: "us-east-1", Bucket: "ci-bundles", Prefix: "bundles", PathStyle: true})
	for _, st := range []bundles.Store{fsStore, s3Store} {
		if data, err := st.Get(ctx, shas[0]); err != nil || !bytes.Contains(data, []byte("kebabCase")) {
			t.Errorf("published bundle: %d bytes, %v", len(data), err)
		}
	}
}

// TestBuildCommandRefusesHostFiles runs `reactord build` on code reading a host file
// (as text, and as a plain require): exit 1, build_failed naming the file, and its
// bytes printed nowhere.
func TestBuildCommandRefusesHostFiles(t *testing.T) {
	userCache, _ := os.UserCacheDir()
	secret := "reactord-cli-secret-7f3a91"
	hostFile := filepath.Join(t.TempDir(), "secret.js")
	if err := os.WriteFile(hostFile, []byte(`module.exports = "`+secret+`"`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, code := range map[string]string{
		"text attribute": `import k from "` + hostFile + `" with { type: "text" }; export default async () => ({ raw: k });`,
		"require":        `const k = require("` + hostFile + `"); module.exports = async () => ({ raw: k });`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "index.js"), []byte(code), 0o644)
			var stdout, stderr bytes.Buffer
			got := run(context.Background(), []string{"build", filepath.Join(dir, "index.js"), "--build-cache", t.TempDir(),
				"--cache-dir", filepath.Join(userCache, "reactord-test", "wazero")}, &stdout, &stderr)
			if got != 1 {
				t.Fatalf("exit %d, want 1\nstdout %s\nstderr %s", got, stdout.String(), stderr.String())
			}
			var out struct {
				Code    string `json:"error_code"`
				Message string `json:"error_message"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatalf("stdout %s: %v", stdout.String(), err)
			}
			if out.Code != "build_failed" || !strings.Contains(out.Message, `refused "`+hostFile+`"`) {
				t.Fatalf("got %+v, want build_failed refusing %s", out, hostFile)
			}
			if strings.Contains(stdout.String()+stderr.String(), secret) {
				t.Fatalf("the secret was printed:\n%s\n%s", stdout.String(), stderr.String())
			}
			t.Logf("%s", stdout.String())
		})
	}
}
