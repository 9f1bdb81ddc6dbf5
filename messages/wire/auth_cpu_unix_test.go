//go:build unix

package wire

import "syscall"

// cpuNanos returns the CPU time the process has used, user and system, so
// that benchmarks on a shared machine can report time on the CPU rather
// than wall time, which counts the time other processes held the cores.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
