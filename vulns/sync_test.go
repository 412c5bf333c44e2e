package vulns_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/reactord/reactord/internal/osvtest"
	"github.com/reactord/reactord/vulns"
)

// TestSync downloads the npm export from a local server: a good download replaces the
// database, a corrupt one (checksum or archive) and an interrupted one leave the
// previous database in place.
func TestSync(t *testing.T) {
	src := t.TempDir()
	if _, err := osvtest.WriteDB(src, "GHSA-35jh-r3h4-6jhm", "GHSA-xvch-5gv4-984h"); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(src, "osv-scanner", "npm", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(good)
	goodMD5 := base64.StdEncoding.EncodeToString(sum[:])
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0xff
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr string
	}{
		{"good", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Goog-Hash", "crc32c=AAAAAA==,md5="+goodMD5)
			w.Write(good)
		}, ""},
		{"checksum mismatch", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Goog-Hash", "md5="+goodMD5)
			w.Write(flipped)
		}, "corrupt: md5"},
		{"corrupt archive without a checksum", func(w http.ResponseWriter, r *http.Request) {
			w.Write(flipped)
		}, "corrupt"},
		{"interrupted", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(good)))
			w.Write(good[:len(good)/3])
			// The handler returns short of Content-Length: the server closes the connection.
		}, "interrupted"},
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "404"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := t.TempDir()
			previous := []byte("the previous database")
			dest := filepath.Join(db, "osv-scanner", "npm", "all.zip")
			os.MkdirAll(filepath.Dir(dest), 0o755)
			if err := os.WriteFile(dest, previous, 0o644); err != nil {
				t.Fatal(err)
			}
			var path string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path = r.URL.Path
				tc.handler(w, r)
			}))
			defer srv.Close()
			res, err := vulns.Sync(context.Background(), srv.Client(), db, srv.URL)
			if path != "/npm/all.zip" {
				t.Errorf("requested %s, want /npm/all.zip", path)
			}
			got, _ := os.ReadFile(dest)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if !bytes.Equal(got, previous) {
					t.Error("a failed download replaced the database")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, good) || res.Advisories != 2 || res.Checksum != "md5" || res.Path != dest {
					t.Errorf("result %+v; database replaced: %v", res, bytes.Equal(got, good))
				}
			}
			left, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), "*partial*"))
			if len(left) > 0 {
				t.Errorf("partial files left behind: %v", left)
			}
		})
	}
}
