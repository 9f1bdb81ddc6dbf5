// Package stripes is a counter for hot paths: its increments are spread
// over cache-line-padded cells, so that goroutines counting at once on
// several processors do not contend for one line; the total is summed
// when read.
package stripes

import (
	"math/rand/v2"
	"sync/atomic"
)

// Counter counts; its zero value is ready. It must not be copied after
// first use.
type Counter [16]struct {
	n atomic.Uint64
	_ [56]byte
}

// Inc adds one, to a cell picked at random.
func (c *Counter) Inc() { c[rand.Uint32()&15].n.Add(1) }

// Sum returns the count: every Inc that returned before Sum began, and
// possibly some concurrent ones.
func (c *Counter) Sum() uint64 {
	var t uint64
	for i := range c {
		t += c[i].n.Load()
	}
	return t
}
