// Package vulns keeps deployed node22 code scanned for vulnerabilities after it was
// built: it downloads OSV's npm database for offline scans (Sync), remembers the
// resolved package tree of every built bundle (Manifests), rescans every deployed
// reactor and proxy transform on a schedule and when the offline database changes, and
// records new HIGH and CRITICAL findings on the resource (Rescanner).
package vulns

import (
	"archive/zip"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// DefaultSource is where OSV publishes its per-ecosystem exports (ECOSYSTEM/all.zip).
const DefaultSource = "https://osv-vulnerabilities.storage.googleapis.com"

// DefaultAPI is the public OSV API.
const DefaultAPI = "https://api.osv.dev"

// SyncResult describes a finished download.
type SyncResult struct {
	// Path is the database file written: DB/osv-scanner/npm/all.zip.
	Path string
	// Bytes is its size; Advisories how many records it holds.
	Bytes      int64
	Advisories int
	// Checksum names the checksum verified ("md5", "crc32c" or "" when the source
	// sent none, in which case only the archive's own CRCs were checked).
	Checksum string
}

// Sync downloads OSV's npm export from source (DefaultSource when empty) into db in
// osv-scanner's offline layout. The file is replaced atomically, and only after its
// length, the source's checksum (GCS's x-goog-hash) and every archive entry were
// verified: a corrupt or interrupted download leaves the previous database in place.
func Sync(ctx context.Context, client *http.Client, db, source string) (*SyncResult, error) {
	if db == "" {
		return nil, errors.New("osv sync: no database directory (--osv-db)")
	}
	if source == "" {
		source = DefaultSource
	}
	if client == nil {
		client = http.DefaultClient
	}
	url := strings.TrimRight(source, "/") + "/npm/all.zip"
	dest := filepath.Join(db, "osv-scanner", "npm", "all.zip")
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return nil, fmt.Errorf("osv sync: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("osv sync: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("osv sync: download %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("osv sync: download %s: %s", url, resp.Status)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "all.zip.partial-*")
	if err != nil {
		return nil, fmt.Errorf("osv sync: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this is a no-op
	sumMD5, sumCRC := md5.New(), crc32.New(crc32.MakeTable(crc32.Castagnoli))
	n, err := io.Copy(io.MultiWriter(tmp, sumMD5, sumCRC), resp.Body)
	if err != nil {
		tmp.Close()
		return nil, fmt.Errorf("osv sync: download %s interrupted after %d bytes: %w", url, n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		tmp.Close()
		return nil, fmt.Errorf("osv sync: download %s interrupted: %d of %d bytes", url, n, resp.ContentLength)
	}
	res := &SyncResult{Path: dest, Bytes: n}
	want := googHash(resp.Header.Values("X-Goog-Hash"))
	switch {
	case want["md5"] != "":
		res.Checksum = "md5"
		if got := base64.StdEncoding.EncodeToString(sumMD5.Sum(nil)); got != want["md5"] {
			tmp.Close()
			return nil, fmt.Errorf("osv sync: %s is corrupt: md5 %s, the source says %s", url, got, want["md5"])
		}
	case want["crc32c"] != "":
		res.Checksum = "crc32c"
		if got := base64.StdEncoding.EncodeToString(sumCRC.Sum(nil)); got != want["crc32c"] {
			tmp.Close()
			return nil, fmt.Errorf("osv sync: %s is corrupt: crc32c %s, the source says %s", url, got, want["crc32c"])
		}
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("osv sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("osv sync: %w", err)
	}
	if res.Advisories, err = verifyZip(tmp.Name()); err != nil {
		return nil, fmt.Errorf("osv sync: %s is corrupt: %w", url, err)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return nil, fmt.Errorf("osv sync: %w", err)
	}
	return res, nil
}

// googHash parses x-goog-hash values ("crc32c=...,md5=...").
func googHash(values []string) map[string]string {
	out := map[string]string{}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok {
				out[strings.ToLower(k)] = val
			}
		}
	}
	return out
}

// verifyZip reads every entry, which checks each one's CRC-32, and counts the JSON
// records.
func verifyZip(path string) (int, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	n := 0
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", f.Name, err)
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", f.Name, err)
		}
		if strings.HasSuffix(f.Name, ".json") {
			n++
		}
	}
	return n, nil
}
