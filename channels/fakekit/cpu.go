//go:build unix

package fakekit

import (
	"syscall"
	"time"
)

// ProcessCPU is the CPU time (user + system) this process has used.
// Benchmarks divide it by the messages sent: on a shared machine, CPU per
// message says more about cost than wall-clock throughput does.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
