//go:build !unix

package wire

// cpuNanos is not measured on this platform: cpu-ns/op reports 0.
func cpuNanos() int64 { return 0 }
