package api

import (
	"context"
	"testing"

	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

// BenchmarkSetSerial is BenchmarkSet with one caller: a StrongLocal Set
// against the raw bigcache Set and the memory store Set it protects, apart
// and in one operation, in the same run, without contention between cores.
func BenchmarkSetSerial(b *testing.B) {
	ctx := context.Background()
	val := make([]byte, 64)
	b.Run("bigcache", func(b *testing.B) {
		bc := rawBigcache(b, val)
		i := 0
		for b.Loop() {
			_ = bc.Set(benchKeyNames[i%benchKeys], val)
			i++
		}
	})
	b.Run("memstore", func(b *testing.B) {
		st := memory.New[[]byte](memory.Options{})
		i := 0
		for b.Loop() {
			_, _ = st.Set(ctx, benchKeyNames[i%benchKeys], val, store.Write{})
			i++
		}
	})
	b.Run("bigcache+memstore", func(b *testing.B) {
		both := bothWrites(b, val)
		i := 0
		for b.Loop() {
			both(benchKeyNames[i%benchKeys])
			i++
		}
	})
	b.Run("warp", func(b *testing.B) {
		w := benchWarp(b, val)
		i := 0
		for b.Loop() {
			_ = w.Set(ctx, benchKeyNames[i%benchKeys], val)
			i++
		}
	})
}
