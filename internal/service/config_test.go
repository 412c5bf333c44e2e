package service_test

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/reactord/reactord/internal/service"
	"github.com/reactord/reactord/runtime"
)

func TestConfigRegisterAndValidate(t *testing.T) {
	cases := []struct {
		name    string
		role    service.Role
		env     map[string]string
		args    []string
		wantErr string // "" means valid
		check   func(t *testing.T, c service.Config)
	}{
		{name: "defaults", role: service.Serve, check: func(t *testing.T, c service.Config) {
			if c.Addr != "127.0.0.1:8080" || c.NATSURL != "" || !c.Gateway || len(c.Tiers) != 3 || c.Pools.IdleTTL != 5*time.Minute {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{name: "worker defaults", role: service.Worker, check: func(t *testing.T, c service.Config) {
			if c.Addr != "127.0.0.1:9090" || c.Gateway || c.NATSURL == "" {
				t.Errorf("worker defaults: addr %q gateway %v nats %q", c.Addr, c.Gateway, c.NATSURL)
			}
		}},
		{name: "environment", role: service.Worker, env: map[string]string{"REACTORD_IDLE_TTL": "90s", "REACTORD_TIERS": "large", "REACTORD_PRISTINE": "true"},
			check: func(t *testing.T, c service.Config) {
				if c.Pools.IdleTTL != 90*time.Second || len(c.Tiers) != 1 || c.Tiers[0] != runtime.Large || !c.Pools.Pristine {
					t.Errorf("from the environment: %+v", c)
				}
			}},
		{name: "flags win", role: service.Worker, env: map[string]string{"REACTORD_IDLE_TTL": "90s"}, args: []string{"--idle-ttl", "2m"},
			check: func(t *testing.T, c service.Config) {
				if c.Pools.IdleTTL != 2*time.Minute {
					t.Errorf("idle ttl %s", c.Pools.IdleTTL)
				}
			}},
		{name: "malformed duration", role: service.Serve, env: map[string]string{"REACTORD_IDLE_TTL": "5min"}, wantErr: "REACTORD_IDLE_TTL (--idle-ttl)"},
		{name: "malformed int", role: service.Gateway, env: map[string]string{"REACTORD_ASYNC_CONCURRENCY": "eight"}, wantErr: "REACTORD_ASYNC_CONCURRENCY"},
		{name: "malformed bool", role: service.Serve, env: map[string]string{"REACTORD_EGRESS_ALLOW_PRIVATE": "yes please"}, wantErr: "REACTORD_EGRESS_ALLOW_PRIVATE"},
		{name: "malformed float", role: service.Serve, env: map[string]string{"REACTORD_RATE_LIMIT": "fast"}, wantErr: "REACTORD_RATE_LIMIT"},
		{name: "unknown tier in the environment", role: service.Worker, env: map[string]string{"REACTORD_TIERS": "standard,tiny"}, wantErr: `unknown tier "tiny"`},
		{name: "out of range", role: service.Serve, args: []string{"--async-concurrency", "-5"}, wantErr: "--async-concurrency"},
		{name: "negative duration", role: service.Serve, args: []string{"--queue-wait", "-1s"}, wantErr: "--queue-wait"},
		{name: "bad bundle store", role: service.Serve, args: []string{"--bundle-store", "ftp://x"}, wantErr: "--bundle-store"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"REACTORD_IDLE_TTL", "REACTORD_TIERS", "REACTORD_PRISTINE", "REACTORD_ASYNC_CONCURRENCY",
				"REACTORD_EGRESS_ALLOW_PRIVATE", "REACTORD_RATE_LIMIT", "REACTORD_NATS_URL", "REACTORD_ADDR"} {
				if v, set := tc.env[k]; set {
					t.Setenv(k, v)
				} else {
					unsetenv(t, k)
				}
			}
			fs := flag.NewFlagSet(string(tc.role), flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var c service.Config
			c.Register(fs, tc.role)
			err := fs.Parse(tc.args)
			if err == nil {
				err = c.Validate()
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				tc.check(t, c)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one naming %q", err, tc.wantErr)
			}
		})
	}
}

// TestBadTierFlag: a malformed flag value is refused when parsed, naming the flag.
func TestBadTierFlag(t *testing.T) {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c service.Config
	c.Register(fs, service.Worker)
	if err := fs.Parse([]string{"--tiers", "tiny"}); err == nil || !strings.Contains(err.Error(), "tiers") {
		t.Fatalf("parse: %v", err)
	}
}

// unsetenv removes k for the test (t.Setenv restores it afterwards).
func unsetenv(t *testing.T, k string) {
	t.Helper()
	t.Setenv(k, "")
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}
