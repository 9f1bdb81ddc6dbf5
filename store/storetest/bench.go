package storetest

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warpcache/warp/store"
)

// benchKeys is how many distinct keys the benchmarks spread over.
const benchKeys = 1024

// BenchGet measures Get of existing keys with a 128-byte value, from
// b.RunParallel goroutines.
func BenchGet(b *testing.B, s store.Store[[]byte]) {
	keys := benchPrepare(b, s)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Get(b.Context(), keys[i%benchKeys]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchSet measures unconditional Set of a 128-byte value over existing
// keys, from b.RunParallel goroutines.
func BenchSet(b *testing.B, s store.Store[[]byte]) {
	keys := benchPrepare(b, s)
	val := make([]byte, 128)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Set(b.Context(), keys[i%benchKeys], val, store.Write{}); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// benchPrepare returns the benchmark keys, having written each with a
// 128-byte value unless an earlier run on s did (they are written in
// order, so the last one tells).
func benchPrepare(b *testing.B, s store.Store[[]byte]) []string {
	b.Helper()
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = "bench/" + strconv.Itoa(i)
	}
	if v, err := s.Version(b.Context(), keys[benchKeys-1]); err == nil && v != 0 {
		return keys
	}
	val := make([]byte, 128)
	for _, k := range keys {
		if _, err := s.Set(b.Context(), k, val, store.Write{}); err != nil {
			b.Fatal(err)
		}
	}
	return keys
}

// BenchGuardedSet measures Set of a 128-byte value over existing keys,
// with a guard of one member if guarded (the baseline is the same call
// unguarded), serially if parallelism is 0, else from b.RunParallel with
// that parallelism (goroutines per GOMAXPROCS), every goroutine writing
// under the same member, as the writers of one node do.
func BenchGuardedSet(b *testing.B, s store.Store[[]byte], guarded bool, parallelism int) {
	var w store.Write
	if guarded {
		w.Guard = benchGuard(b, s)
	}
	keys := benchPrepare(b, s)
	val := make([]byte, 128)
	b.ReportAllocs()
	b.ResetTimer()
	if parallelism == 0 {
		for i := range b.N {
			if _, err := s.Set(b.Context(), keys[i%benchKeys], val, w); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.SetParallelism(parallelism)
	var next atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) * 97 // goroutines start on different keys
		for pb.Next() {
			if _, err := s.Set(b.Context(), keys[i%benchKeys], val, w); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchGuardedRatio measures guarded against unguarded Set in one run:
// the writes alternate between the two in blocks of block writes (counted
// over all goroutines), each write is timed, and it reports the mean
// latency of each kind and their ratio (metric guarded/unguarded), so that
// load that comes and goes during the run weighs on both alike. Serial if
// parallelism is 0, else from b.RunParallel with that parallelism, every
// goroutine writing under the same member.
func BenchGuardedRatio(b *testing.B, s store.Store[[]byte], parallelism, block int) {
	writes := [2]store.Write{{}, {Guard: benchGuard(b, s)}}
	keys := benchPrepare(b, s)
	val := make([]byte, 128)
	var next atomic.Uint64
	var total, count [2]atomic.Int64 // nanoseconds and writes, unguarded then guarded
	write := func() error {
		i := next.Add(1)
		kind := int(i/uint64(block)) % 2
		start := time.Now()
		_, err := s.Set(b.Context(), keys[i%benchKeys], val, writes[kind])
		total[kind].Add(int64(time.Since(start)))
		count[kind].Add(1)
		return err
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallelism == 0 {
		for range b.N {
			if err := write(); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := write(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.StopTimer()
	if count[0].Load() == 0 || count[1].Load() == 0 {
		return // too few writes for both kinds
	}
	mean := [2]float64{}
	for k := range mean {
		mean[k] = float64(total[k].Load()) / float64(count[k].Load())
	}
	b.ReportMetric(mean[0], "unguarded-ns/op")
	b.ReportMetric(mean[1], "guarded-ns/op")
	b.ReportMetric(mean[1]/mean[0], "guarded/unguarded")
}

// benchGuard joins the member the guarded benchmarks write under, or
// skips the benchmark if s is no store.Membership.
func benchGuard(b *testing.B, s store.Store[[]byte]) store.Guard {
	m, ok := s.(store.Membership)
	if !ok {
		b.Skip("store is not a store.Membership")
	}
	inc, err := m.Join(b.Context(), "bench", "writer", 1)
	if err != nil {
		b.Fatal(err)
	}
	return store.Guard{Cluster: "bench", Node: "writer", Incarnation: inc}
}

// BenchRenew measures Renew of one member in a cluster of members.
func BenchRenew(b *testing.B, s store.Store[[]byte], members int) {
	m, ok := s.(store.Membership)
	if !ok {
		b.Skip("store is not a store.Membership")
	}
	cluster := "renew/" + strconv.Itoa(members)
	var inc uint64
	for i := range members {
		n, err := m.Join(b.Context(), cluster, "node/"+strconv.Itoa(i), 1)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			inc = n
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ms, err := m.Renew(b.Context(), cluster, "node/0", inc)
		if err != nil || len(ms) != members {
			b.Fatalf("Renew = %d members, %v; want %d", len(ms), err, members)
		}
	}
}

// BenchMembership runs, on s, BenchGuardedSet unguarded then guarded,
// serially and with a parallelism of 8, BenchGuardedRatio likewise (its
// ratios are those docs/stores.md quotes), and BenchRenew with 3 and 100
// members.
func BenchMembership(b *testing.B, s store.Store[[]byte]) {
	for _, mode := range []struct {
		name        string
		parallelism int
	}{{"serial", 0}, {"parallel", 8}} {
		for _, guarded := range []bool{false, true} {
			name := "Set/" + mode.name + "/unguarded"
			if guarded {
				name = "Set/" + mode.name + "/guarded"
			}
			b.Run(name, func(b *testing.B) { BenchGuardedSet(b, s, guarded, mode.parallelism) })
		}
	}
	b.Run("Set/serial/paired", func(b *testing.B) { BenchGuardedRatio(b, s, 0, 1) })
	b.Run("Set/parallel/paired", func(b *testing.B) { BenchGuardedRatio(b, s, 8, 256) })
	for _, n := range []int{3, 100} {
		b.Run("Renew/members="+strconv.Itoa(n), func(b *testing.B) { BenchRenew(b, s, n) })
	}
}
