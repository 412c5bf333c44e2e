// Command reactord is the reactor runtime: one binary with a subcommand per role.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `reactord runs reactors: JavaScript functions in WebAssembly sandboxes.

Usage:
  reactord serve    [--addr ADDR] [--data-dir DIR] [--nats URL] [--management-key KEY]
                    all in one: embedded NATS (unless --nats), HTTP gateway and a worker
  reactord gateway  --nats URL [--addr ADDR] [--data-dir DIR] [--management-key KEY]
  reactord worker   --nats URL [--tiers standard,large,xlarge] [--addr ADDR]
  reactord run FILE.js [--args JSON] [--config JSON] [--image node-bt|node22]
                       [--timeout SECONDS] [--resources standard|large|xlarge]
  reactord build   DIR|FILE [--image I] [--dependency N@V]... [--resolution N@V]...
                   [--osv-db DIR | --osv-api URL]    prints the bundle manifest (exit 3: vulnerable)
  reactord scan    DIR|LOCKFILE [--osv-db DIR | --osv-api URL]   prints the findings of a package-lock.json (exit 3: vulnerable)
  reactord osv sync [--osv-db DIR] [--source URL]   downloads OSV's npm database for offline scans
  reactord publish DIR|FILE --store file:DIR|s3://bucket/prefix [build flags]   prints the sha256
  reactord version

Run "reactord COMMAND --help" for a command's flags.
`

// exitUsage is the exit status for usage errors.
const exitUsage = 2

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return runCommand(ctx, args[1:], stdout, stderr)
	case "build", "publish":
		return buildCommand(ctx, args[0], args[1:], stdout, stderr)
	case "serve", "gateway", "worker":
		return serviceCommand(ctx, args[0], args[1:], stdout, stderr)
	case "scan":
		return scanCommand(ctx, args[1:], stdout, stderr)
	case "osv":
		return osvCommand(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, version())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "reactord: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}
