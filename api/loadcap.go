package api

import "sync"

// maxLoadsPerKey bounds the shared loads of one key in flight at once.
// Misses share a load only within one stripe generation (read-your-writes:
// see miss), so a key invalidated again and again while the store hangs
// would start a load per generation, each holding a goroutine and a store
// call for up to loadTimeout. Past the bound, a miss waits for one of the
// key's loads to end (or for its context), then looks again.
const maxLoadsPerKey = 4

// loadCounts counts the shared loads in flight per key.
type loadCounts struct {
	mu sync.Mutex
	m  map[string]*keyLoads
}

type keyLoads struct {
	n    int
	done chan struct{} // closed when one of the key's loads ends; nil until a miss waits
}

// begin counts a load of key that starts.
func (c *loadCounts) begin(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*keyLoads{}
	}
	kl := c.m[key]
	if kl == nil {
		kl = &keyLoads{}
		c.m[key] = kl
	}
	kl.n++
}

// end counts a load of key that ended, and wakes the misses waiting.
func (c *loadCounts) end(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kl := c.m[key]
	kl.n--
	if kl.done != nil {
		close(kl.done)
		kl.done = nil
	}
	if kl.n == 0 {
		delete(c.m, key)
	}
}

// full returns, if max loads of key are in flight, a channel closed when
// one of them ends; nil otherwise.
func (c *loadCounts) full(key string, max int) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	kl := c.m[key]
	if kl == nil || kl.n < max {
		return nil
	}
	if kl.done == nil {
		kl.done = make(chan struct{})
	}
	return kl.done
}
