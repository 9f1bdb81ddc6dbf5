package storetest

import (
	"strconv"
	"testing"

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

func benchPrepare(b *testing.B, s store.Store[[]byte]) []string {
	b.Helper()
	keys := make([]string, benchKeys)
	val := make([]byte, 128)
	for i := range keys {
		keys[i] = "bench/" + strconv.Itoa(i)
		if _, err := s.Set(b.Context(), keys[i], val, store.Write{}); err != nil {
			b.Fatal(err)
		}
	}
	return keys
}
