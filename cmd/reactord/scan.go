package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/reactord/reactord/builder"
	"github.com/reactord/reactord/vulns"
)

// scanCommand is `reactord scan DIR|LOCKFILE`: the build's vulnerability scan of a
// package-lock.json, without building, for CI. Exit 3 on HIGH or CRITICAL findings.
func scanCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	osvDB := fs.String("osv-db", os.Getenv("REACTORD_OSV_DB"), "local OSV database directory, osv-scanner's offline layout (REACTORD_OSV_DB)")
	osvAPI := fs.String("osv-api", envOr("REACTORD_OSV_API", vulns.DefaultAPI), "OSV API URL used without --osv-db (REACTORD_OSV_API)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: reactord scan DIR|LOCKFILE [flags]\n\nScans an npm package-lock.json (or DIR/package-lock.json) for vulnerabilities as a build would, and prints the report as JSON.\n"+
			"Exit status: 0 no HIGH or CRITICAL finding, 1 the scan could not run, 2 usage, 3 HIGH or CRITICAL findings.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	target, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	if target == "" {
		fs.Usage()
		return exitUsage
	}
	if st, err := os.Stat(target); err == nil && st.IsDir() {
		target = filepath.Join(target, "package-lock.json")
	}
	lock, err := os.ReadFile(target)
	if err != nil {
		fmt.Fprintf(stderr, "reactord scan: %v\n", err)
		return exitUsage
	}
	pkgs, err := builder.LockfilePackages(lock)
	if err != nil {
		fmt.Fprintf(stderr, "reactord scan: %s: %v\n", target, err)
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	report, blocking, err := builder.NewScanner(*osvDB, *osvAPI, true, log).Scan(ctx, pkgs)
	if err != nil {
		out, _ := json.Marshal(builder.AsError(err))
		fmt.Fprintln(stdout, string(out))
		return 1
	}
	out, _ := json.Marshal(report)
	fmt.Fprintln(stdout, string(out))
	if len(blocking) > 0 {
		return exitVulnerable
	}
	return 0
}

// osvCommand is `reactord osv sync`: download OSV's npm database for offline scans.
func osvCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "sync" {
		fmt.Fprint(stderr, "Usage: reactord osv sync [--osv-db DIR] [--source URL]\n")
		return exitUsage
	}
	fs := flag.NewFlagSet("osv sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("osv-db", envOr("REACTORD_OSV_DB", defaultOSVDB()), "database directory, written in osv-scanner's offline layout (REACTORD_OSV_DB)")
	source := fs.String("source", envOr("REACTORD_OSV_SOURCE", vulns.DefaultSource), "where OSV's exports are published: SOURCE/npm/all.zip (REACTORD_OSV_SOURCE)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	res, err := vulns.Sync(ctx, nil, *db, *source)
	if err != nil {
		fmt.Fprintf(stderr, "reactord osv sync: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d advisories, %d bytes (checksum: %s); use --osv-db %s\n", res.Path, res.Advisories, res.Bytes, orNone(res.Checksum), *db)
	return 0
}

func orNone(s string) string {
	if s == "" {
		return "none sent; archive CRCs verified"
	}
	return s
}

func defaultOSVDB() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "reactord-osv")
	}
	return filepath.Join(dir, "reactord", "osv")
}
