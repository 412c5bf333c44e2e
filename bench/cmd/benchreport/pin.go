package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// launcher starts the peer servers. When it pins, the servers share one set of CPUs
// and the load generator (this process) keeps the rest: every server then has the
// same cores to itself, as it would on a machine of its own, instead of competing
// with the load generator for them. Without pinning a server with more threads
// (reactord's Go runtime) takes CPU from the load generator that a one-thread server
// (workerd, node) leaves to it, which measures the sharing more than the server.
type launcher struct {
	servers []int // CPUs the servers run on; empty: not pinned
}

// pinnedLauncher pins this process to the first half of the CPUs it may use and
// returns a launcher that starts servers on the second half. On a machine with one
// CPU, or without taskset, nothing is pinned and the reason is returned.
func pinnedLauncher() (launcher, string) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return launcher{}, "not pinned: " + err.Error()
	}
	var cpus []int
	for c := range 1024 {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return launcher{}, "not pinned: one CPU"
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return launcher{}, "not pinned: no taskset"
	}
	load, servers := cpus[:len(cpus)/2], cpus[len(cpus)/2:]
	if err := pinSelf(load); err != nil {
		return launcher{}, "not pinned: " + err.Error()
	}
	return launcher{servers: servers}, fmt.Sprintf("servers on CPU %s, load generator on CPU %s", cpuList(servers), cpuList(load))
}

// pinSelf sets the affinity of every thread of this process; threads the Go runtime
// starts later inherit it from the thread that starts them.
func pinSelf(cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			return fmt.Errorf("pinning thread %d: %w", tid, err)
		}
	}
	return nil
}

// command is exec.CommandContext, run on the servers' CPUs when pinning. taskset
// execs the server, so the process id is the server's.
func (l launcher) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if len(l.servers) == 0 {
		return exec.CommandContext(ctx, name, args...)
	}
	return exec.CommandContext(ctx, "taskset", append([]string{"-c", cpuList(l.servers), name}, args...)...)
}

func cpuList(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}
