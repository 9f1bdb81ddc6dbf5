package memory_test

import (
	"fmt"
	"testing"

	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
	"github.com/warpcache/warp/store/storetest"
)

func TestContract(t *testing.T) {
	for _, history := range []int{0, 4} {
		t.Run(fmt.Sprintf("History=%d", history), func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, storetest.Harness{
				New: func(*testing.T) store.Store[[]byte] {
					return memory.New[[]byte](memory.Options{History: history})
				},
				History: history,
			})
		})
	}
}

func BenchmarkGet(b *testing.B) { storetest.BenchGet(b, memory.New[[]byte](memory.Options{})) }
func BenchmarkSet(b *testing.B) { storetest.BenchSet(b, memory.New[[]byte](memory.Options{})) }
