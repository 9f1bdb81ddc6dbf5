package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// coord lets several warp-bench processes act as one run over the NATS
// server they share: barriers between phases, and the probe writer's
// return times relayed to the readers in the other processes. One
// subscription receives everything, so a barrier message arrives after
// every return time its sender published before it.
type coord struct {
	nc     *nats.Conn
	sub    *nats.Subscription
	id     string
	n      int
	prefix string

	mu       sync.Mutex // guards barriers
	barriers map[string]map[string]bool
	probe    atomic.Pointer[probe] // the current phase's, for relayed returns
}

func newCoord(url string, auth natsAuth, cluster, id string, n int) (*coord, error) {
	nc, err := dialNATS(url, "warp-bench-coord-"+id, auth, nil)
	if err != nil {
		return nil, err
	}
	c := &coord{nc: nc, id: id, n: n, prefix: "warpbench." + cluster + ".coord.", barriers: map[string]map[string]bool{}}
	if c.sub, err = nc.Subscribe(c.prefix+">", c.handle); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func (c *coord) handle(m *nats.Msg) {
	kind := strings.TrimPrefix(m.Subject, c.prefix)
	switch {
	case strings.HasPrefix(kind, "barrier."):
		name := strings.TrimPrefix(kind, "barrier.")
		c.mu.Lock()
		if c.barriers[name] == nil {
			c.barriers[name] = map[string]bool{}
		}
		c.barriers[name][string(m.Data)] = true
		c.mu.Unlock()
	case kind == "ret" && len(m.Data) == 16:
		if p := c.probe.Load(); p != nil {
			p.returned(int64(binary.BigEndian.Uint64(m.Data)), int64(binary.BigEndian.Uint64(m.Data[8:])))
		}
	}
}

// publishReturn relays the probe writer's return of write s at t.
func (c *coord) publishReturn(s, t int64) {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:], uint64(s))
	binary.BigEndian.PutUint64(b[8:], uint64(t))
	_ = c.nc.Publish(c.prefix+"ret", b[:])
}

// barrier announces this process at name until all n processes have, and
// returns their ids, sorted. It announces once more at the end, so a
// process that subscribed late still hears it.
func (c *coord) barrier(ctx context.Context, name string, bound time.Duration) ([]string, error) {
	deadline := time.Now().Add(bound)
	tk := time.NewTicker(10 * time.Millisecond)
	defer tk.Stop()
	for i := 0; ; i++ {
		if i%20 == 0 {
			_ = c.nc.Publish(c.prefix+"barrier."+name, []byte(c.id))
		}
		c.mu.Lock()
		ids := make([]string, 0, c.n)
		for id := range c.barriers[name] {
			ids = append(ids, id)
		}
		c.mu.Unlock()
		if len(ids) >= c.n {
			_ = c.nc.Publish(c.prefix+"barrier."+name, []byte(c.id))
			slices.Sort(ids)
			return ids, c.nc.Flush()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("barrier %q: %d of %d processes within %v", name, len(ids), c.n, bound)
		}
		select {
		case <-ctx.Done():
			return nil, errInterrupted
		case <-tk.C:
		}
	}
}

func (c *coord) close() {
	_ = c.sub.Unsubscribe()
	c.nc.Close()
}
