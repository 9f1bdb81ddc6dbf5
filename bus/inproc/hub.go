package inproc

import (
	"sync"

	"github.com/warpcache/warp/bus"
)

// Hub connects the transports made by [Hub.Transport]. The zero value is
// not usable; build one with [NewHub]. A Hub is safe for concurrent use.
type Hub struct {
	mu    sync.RWMutex // guards nodes
	nodes map[string]map[string]*Transport
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{nodes: make(map[string]map[string]*Transport)}
}

// Transport returns a new, unopened transport on h.
func (h *Hub) Transport() *Transport {
	return &Transport{hub: h, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (h *Hub) join(t *Transport) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.nodes[t.cluster]
	if c == nil {
		c = make(map[string]*Transport)
		h.nodes[t.cluster] = c
	}
	if _, ok := c[t.node]; ok {
		return bus.ErrInvalid
	}
	c[t.node] = t
	return nil
}

func (h *Hub) leave(t *Transport) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.nodes[t.cluster][t.node] == t {
		delete(h.nodes[t.cluster], t.node)
	}
}

// deliver queues a copy of msg on every open transport of cluster that
// match picks.
func (h *Hub) deliver(cluster string, msg []byte, match func(*Transport) bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, t := range h.nodes[cluster] {
		if match(t) {
			t.enqueue(append([]byte(nil), msg...))
		}
	}
}
