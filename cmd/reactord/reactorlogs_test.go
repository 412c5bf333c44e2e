package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestReactorLogsFlag: a worker refuses to start (usage error) on an unknown --reactor-logs mode,
// --reactor-log-level (flag or environment) or --log-level instead of logging in
// some other form than the operator asked for.
func TestReactorLogsFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"mode", []string{"--reactor-logs", "verbose"}, "", `invalid value "verbose" for flag -reactor-logs: unknown mode "verbose"; want off, redacted or full`},
		{"mode from env", nil, "plain", `REACTORD_REACTOR_LOGS (--reactor-logs): "plain": unknown mode "plain"`},
		{"level", []string{"--reactor-log-level", "loud"}, "", `invalid value "loud" for flag -reactor-log-level: slog: level string "loud"`},
		{"the process's own level", []string{"--log-level", "chatty"}, "", `invalid value "chatty" for flag -log-level: slog: level string "chatty"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("REACTORD_REACTOR_LOGS", tc.env)
			}
			var stdout, stderr bytes.Buffer
			args := append([]string{"worker", "--data-dir", t.TempDir(), "--nats", "nats://127.0.0.1:1"}, tc.args...)
			if got := run(context.Background(), args, &stdout, &stderr); got != exitUsage {
				t.Fatalf("exit %d, want %d\n%s", got, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %s\nwant %s", stderr.String(), tc.want)
			}
		})
	}
}
