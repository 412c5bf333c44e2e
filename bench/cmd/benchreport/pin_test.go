package main

import (
	"context"
	"slices"
	"testing"
)

func TestLauncherCommand(t *testing.T) {
	for _, tc := range []struct {
		name    string
		servers []int
		want    []string
	}{
		{"not pinned", nil, []string{"node", "server.js"}},
		{"one CPU", []int{1}, []string{"taskset", "-c", "1", "node", "server.js"}},
		{"several CPUs", []int{2, 3}, []string{"taskset", "-c", "2,3", "node", "server.js"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := launcher{servers: tc.servers}.command(context.Background(), "node", "server.js")
			if !slices.Equal(cmd.Args, tc.want) {
				t.Fatalf("args %q, want %q", cmd.Args, tc.want)
			}
		})
	}
}
