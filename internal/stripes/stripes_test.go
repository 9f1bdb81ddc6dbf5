package stripes

import (
	"sync"
	"testing"
	"unsafe"
)

func TestCounterSumsEveryInc(t *testing.T) {
	t.Parallel()
	var c Counter
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				c.Inc()
			}
		})
	}
	wg.Wait()
	if got := c.Sum(); got != 8000 {
		t.Fatalf("Sum = %d after 8000 increments", got)
	}
}

// Each cell fills a 64-byte cache line, so that two cells never share one.
func TestCellIsALine(t *testing.T) {
	t.Parallel()
	var c Counter
	if got := unsafe.Sizeof(c[0]); got != 64 {
		t.Fatalf("cell size %d; want 64", got)
	}
}
