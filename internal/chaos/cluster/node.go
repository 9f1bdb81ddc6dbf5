package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/warpcache/warp/internal/chaos/control"
	"github.com/warpcache/warp/internal/chaos/node"
	"github.com/warpcache/warp/internal/chaos/proc"
	"github.com/warpcache/warp/internal/chaos/proxy"
)

// ErrDown is returned for a node that is not running.
var ErrDown = errors.New("cluster: node is down")

// readyTimeout bounds a node's start.
const readyTimeout = 30 * time.Second

// stopGrace is how long a stopped node gets to close Warp before SIGKILL.
const stopGrace = 5 * time.Second

// Node is one node of the cluster, across its restarts.
type Node struct {
	// ID is n1..nN; Proxy the node's fault proxy to NATS.
	ID    string
	Proxy *proxy.Proxy

	c *Cluster
	// mu guards the fields below: the current process and its control
	// client.
	mu     sync.Mutex
	proc   *proc.Process
	client *control.Client
}

// Client returns the control client of the node's current process, nil
// while it is down.
func (n *Node) Client() *control.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.client
}

// start starts a process of the node with clock offset, and waits for its
// ready line.
// Only the runner starts and stops nodes, one call at a time.
func (n *Node) start(offset time.Duration) error {
	n.mu.Lock()
	running := n.proc != nil
	n.mu.Unlock()
	if running {
		return fmt.Errorf("cluster: %s is running already", n.ID)
	}
	c := n.c
	ready := &readyWriter{log: c.logFor(n.ID), addr: make(chan string, 1)}
	args := []string{"node", "-id", n.ID, "-cluster", c.name, "-nats", n.Proxy.URL(),
		"-dsn", c.cfg.DSN, "-table", c.table, "-clock-offset", offset.String()}
	if c.cfg.Canary {
		args = append(args, "-canary")
	}
	p, err := proc.Start(proc.Spec{
		Path: c.cfg.Exe, Args: args,
		Env:    []string{node.EnvClusterKey + "=" + c.key},
		Stdout: ready, Stderr: ready.log,
	})
	if err != nil {
		return err
	}
	t := time.NewTimer(readyTimeout)
	defer t.Stop()
	select {
	case addr := <-ready.addr:
		n.mu.Lock()
		n.proc = p
		n.client = control.NewClient(addr, c.cfg.ConnsPerNode)
		n.mu.Unlock()
		return nil
	case <-p.Done():
		return fmt.Errorf("cluster: %s exited before it was ready: %v (log: %s)", n.ID, p.Err(), c.logPath(n.ID))
	case <-t.C:
		_ = p.Kill()
		return fmt.Errorf("cluster: %s not ready within %v (log: %s)", n.ID, readyTimeout, c.logPath(n.ID))
	}
}

// down takes the node's process out (under mu) and ends it with end.
func (n *Node) down(end func(*proc.Process) error) error {
	n.mu.Lock()
	p, cl := n.proc, n.client
	n.proc, n.client = nil, nil
	n.mu.Unlock()
	if p == nil {
		return fmt.Errorf("%w: %s", ErrDown, n.ID)
	}
	cl.Close()
	return end(p)
}

// Kill kills the node's process with SIGKILL.
func (n *Node) Kill() error { return n.down((*proc.Process).Kill) }

// Stop stops the node's process with SIGTERM (SIGKILL after a grace).
func (n *Node) Stop() error {
	return n.down(func(p *proc.Process) error { return p.Stop(stopGrace) })
}

// Restart starts the node again, with clock offset, after Kill or Stop.
func (n *Node) Restart(offset time.Duration) error { return n.start(offset) }

// Pause stops the node's process with SIGSTOP.
func (n *Node) Pause() error { return n.signal((*proc.Process).Pause) }

// Continue resumes a paused node with SIGCONT.
func (n *Node) Continue() error { return n.signal((*proc.Process).Continue) }

func (n *Node) signal(fn func(*proc.Process) error) error {
	n.mu.Lock()
	p := n.proc
	n.mu.Unlock()
	if p == nil {
		return fmt.Errorf("%w: %s", ErrDown, n.ID)
	}
	return fn(p)
}

// readyWriter copies a node's stdout to its log and hands over the
// address of its ready line.
type readyWriter struct {
	log  io.Writer
	addr chan string // receives the address once
	mu   sync.Mutex  // guards buf and sent
	buf  []byte
	sent bool
}

func (r *readyWriter) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.sent {
		r.buf = append(r.buf, b...)
		for {
			i := bytes.IndexByte(r.buf, '\n')
			if i < 0 {
				break
			}
			line := string(r.buf[:i])
			r.buf = r.buf[i+1:]
			if addr, ok := strings.CutPrefix(line, node.ReadyPrefix); ok {
				r.sent = true
				r.addr <- addr
				r.buf = nil
				break
			}
		}
	}
	return r.log.Write(b)
}
