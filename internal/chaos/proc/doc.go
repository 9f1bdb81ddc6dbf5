// Package proc starts and controls the child processes of the chaos
// suite: one Warp node each.
//
// A [Process] is started in its own process group (so a terminal's
// Ctrl-C reaches the controller only, which stops the nodes in order) and
// with the parent-death signal set to SIGKILL (so a controller that dies
// leaves no node behind). It can be paused and continued (SIGSTOP,
// SIGCONT), stopped (SIGTERM, then SIGKILL after a grace period) or killed
// (SIGKILL). One goroutine per process waits for its exit; every call that
// ends a process returns only once that goroutine has reaped it.
package proc
