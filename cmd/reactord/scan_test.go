package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reactord/reactord/internal/osvtest"
)

// TestScanAndSyncCommands: `reactord osv sync` fills a database from a local source,
// and `reactord scan` reads lockfiles against it: exit 3 for a CRITICAL transitive
// finding, 0 for a clean tree.
func TestScanAndSyncCommands(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	if _, err := osvtest.WriteDB(src); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/", http.FileServer(http.Dir(filepath.Join(src, "osv-scanner")))))
	defer srv.Close()
	db := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"osv", "sync", "--osv-db", db, "--source", srv.URL}, &stdout, &stderr); code != 0 {
		t.Fatalf("osv sync: exit %d: %s %s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "5 advisories") {
		t.Errorf("osv sync printed %q", stdout.String())
	}

	dir := t.TempDir()
	vulnerable := filepath.Join(dir, "vulnerable")
	os.Mkdir(vulnerable, 0o755)
	os.WriteFile(filepath.Join(vulnerable, "package-lock.json"), []byte(`{"name": "x", "lockfileVersion": 3, "packages": {
  "": {"name": "x", "dependencies": {"mkdirp": "0.5.1"}},
  "node_modules/mkdirp": {"version": "0.5.1", "dependencies": {"minimist": "0.0.8"}},
  "node_modules/minimist": {"version": "0.0.8"}}}`), 0o644)
	clean := filepath.Join(dir, "clean.json")
	os.WriteFile(clean, []byte(`{"name": "x", "lockfileVersion": 3, "packages": {
  "": {"name": "x", "dependencies": {"lodash": "4.17.21"}},
  "node_modules/lodash": {"version": "4.17.21"}}}`), 0o644)
	notLock := filepath.Join(dir, "bad.json")
	os.WriteFile(notLock, []byte(`{"lockfileVersion": 1}`), 0o644)
	tests := []struct {
		name   string
		args   []string
		exit   int
		stdout string
	}{
		{"transitive critical", []string{"scan", vulnerable, "--osv-db", db}, exitVulnerable, `"id":"CVE-2021-44906","dependency_path":["mkdirp","minimist"]`},
		{"clean", []string{"scan", clean, "--osv-db", db}, 0, `"scanned":true`},
		{"not a v2+ lockfile", []string{"scan", notLock, "--osv-db", db}, exitUsage, ""},
		{"no database there", []string{"scan", clean, "--osv-db", dir}, 1, `"error_code":"vulnerability_scan_unavailable"`},
		{"no target", []string{"scan"}, exitUsage, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(ctx, tc.args, &stdout, &stderr); got != tc.exit {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", got, tc.exit, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout %s\nwant it to contain %s", stdout.String(), tc.stdout)
			}
		})
	}
}
