// Package osvtest writes small OSV databases of real npm advisories for tests, in
// osv-scanner's offline layout (DIR/osv-scanner/npm/all.zip).
package osvtest

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
)

// Advisories are real GitHub advisories as OSV publishes them (ids, aliases, ranges and
// CVSS vectors copied from the records; details shortened).
var Advisories = map[string]string{
	"GHSA-35jh-r3h4-6jhm": `{
  "schema_version": "1.6.0", "id": "GHSA-35jh-r3h4-6jhm", "modified": "2024-02-20T00:00:00Z", "published": "2021-05-06T16:05:51Z",
  "aliases": ["CVE-2021-23337"], "summary": "Command Injection in lodash",
  "details": "lodash versions prior to 4.17.21 are vulnerable to Command Injection via the template function.",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],
  "affected": [{"package": {"ecosystem": "npm", "name": "lodash", "purl": "pkg:npm/lodash"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]}],
  "database_specific": {"cwe_ids": ["CWE-77", "CWE-94"], "severity": "HIGH", "github_reviewed": true}
}`,
	"GHSA-xvch-5gv4-984h": `{
  "schema_version": "1.6.0", "id": "GHSA-xvch-5gv4-984h", "modified": "2024-03-01T00:00:00Z", "published": "2022-03-18T00:01:09Z",
  "aliases": ["CVE-2021-44906"], "summary": "Prototype Pollution in minimist",
  "details": "Minimist <=1.2.5 is vulnerable to Prototype Pollution via file index.js, function setKey() (lines 69-95).",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
  "affected": [
    {"package": {"ecosystem": "npm", "name": "minimist", "purl": "pkg:npm/minimist"},
     "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.2.4"}]}]},
    {"package": {"ecosystem": "npm", "name": "minimist", "purl": "pkg:npm/minimist"},
     "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.2.6"}]}]}],
  "database_specific": {"cwe_ids": ["CWE-1321"], "severity": "CRITICAL", "github_reviewed": true}
}`,
	"GHSA-cph5-m8f7-6c5x": `{
  "schema_version": "1.6.0", "id": "GHSA-cph5-m8f7-6c5x", "modified": "2024-01-01T00:00:00Z", "published": "2021-08-31T16:05:27Z",
  "aliases": ["CVE-2021-3749"], "summary": "axios Inefficient Regular Expression Complexity vulnerability",
  "details": "axios is vulnerable to Inefficient Regular Expression Complexity (trim).",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
  "affected": [{"package": {"ecosystem": "npm", "name": "axios", "purl": "pkg:npm/axios"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.21.2"}]}]}],
  "database_specific": {"cwe_ids": ["CWE-1333", "CWE-400"], "severity": "HIGH", "github_reviewed": true}
}`,
	"GHSA-pw2r-vq6v-hr8c": `{
  "schema_version": "1.6.0", "id": "GHSA-pw2r-vq6v-hr8c", "modified": "2023-08-01T00:00:00Z", "published": "2022-02-11T21:18:20Z",
  "aliases": ["CVE-2022-0536"], "summary": "Exposure of Sensitive Information to an Unauthorized Actor in follow-redirects",
  "details": "Exposure of Sensitive Information to an Unauthorized Actor in NPM follow-redirects prior to 1.14.8.",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
  "affected": [{"package": {"ecosystem": "npm", "name": "follow-redirects", "purl": "pkg:npm/follow-redirects"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.14.8"}]}]}],
  "database_specific": {"cwe_ids": ["CWE-200"], "severity": "MODERATE", "github_reviewed": true}
}`,
	"GHSA-74fj-2j2h-c42q": `{
  "schema_version": "1.6.0", "id": "GHSA-74fj-2j2h-c42q", "modified": "2023-08-01T00:00:00Z", "published": "2022-01-12T22:56:20Z",
  "aliases": ["CVE-2022-0155"], "summary": "Exposure of Private Personal Information to an Unauthorized Actor in follow-redirects",
  "details": "follow-redirects is vulnerable to Exposure of Private Personal Information to an Unauthorized Actor.",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N"}],
  "affected": [{"package": {"ecosystem": "npm", "name": "follow-redirects", "purl": "pkg:npm/follow-redirects"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.14.7"}]}]}],
  "database_specific": {"cwe_ids": ["CWE-359"], "severity": "MODERATE", "github_reviewed": true}
}`,
}

// WriteDB writes the advisories (all when ids is empty) as dir/osv-scanner/npm/all.zip
// and returns dir.
func WriteDB(dir string, ids ...string) (string, error) {
	if len(ids) == 0 {
		for id := range Advisories {
			ids = append(ids, id)
		}
	}
	p := filepath.Join(dir, "osv-scanner", "npm", "all.zip")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	zw := zip.NewWriter(f)
	for _, id := range ids {
		rec, ok := Advisories[id]
		if !ok {
			f.Close()
			return "", fmt.Errorf("osvtest: no advisory %s", id)
		}
		w, err := zw.Create(id + ".json")
		if err != nil {
			f.Close()
			return "", err
		}
		if _, err := w.Write([]byte(rec)); err != nil {
			f.Close()
			return "", err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return "", err
	}
	return dir, f.Close()
}
