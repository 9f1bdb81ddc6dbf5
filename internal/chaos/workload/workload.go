package workload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/warpcache/warp/internal/chaos/control"
	"github.com/warpcache/warp/internal/chaos/history"
)

// Target is the cluster the clients call.
type Target interface {
	// Nodes is the node count; Client(i) node i's current control client
	// (nil while it is down), NodeID(i) its id.
	Nodes() int
	Client(i int) *control.Client
	NodeID(i int) string
}

// Config configures [Start].
type Config struct {
	// ClientsPerNode is how many clients call each node.
	ClientsPerNode int
	// Families are the key families (strong, eventual); each operation
	// picks one at random.
	Families []Family
	// Timeout bounds each operation on the node; the controller waits a
	// second more before it calls the outcome unknown.
	Timeout time.Duration
	// ThinkMin and ThinkMax bound the pause between a client's operations.
	ThinkMin, ThinkMax time.Duration
	// MaxOps bounds each client's operations.
	MaxOps int
	// Seed makes the choice of operations reproducible.
	Seed uint64
}

// Family is one family's keys. Every client reads any of them; a write
// goes to the client's node's Owned key or to a Shared key (even odds), a
// transaction writes both. An owned key is written by one node only, so a
// node that misses its writes keeps an old value until its cache is
// repaired, rather than until another node happens to write the key.
type Family struct {
	// Shared are written by every node; Owned[i] only by node i.
	Shared, Owned []string
}

func (f Family) all() []string { return append(append([]string(nil), f.Shared...), f.Owned...) }

// Workload is a running load. Stop it with Stop.
type Workload struct {
	stop chan struct{}
	wg   sync.WaitGroup
}

// Start starts the clients: client c calls node c mod Nodes.
func Start(t Target, rec *history.Recorder, cfg Config) *Workload {
	w := &Workload{stop: make(chan struct{})}
	for c := range cfg.ClientsPerNode * t.Nodes() {
		cl := &client{id: c, node: c % t.Nodes(), t: t, rec: rec, cfg: cfg, stop: w.stop,
			rng: rand.New(rand.NewPCG(cfg.Seed, uint64(c)))}
		w.wg.Go(cl.run)
	}
	return w
}

// Stop asks the clients to stop and waits for them (at most one
// operation's bound).
func (w *Workload) Stop() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
}

// client is one client goroutine's state.
type client struct {
	id, node int
	t        Target
	rec      *history.Recorder
	cfg      Config
	stop     chan struct{}
	rng      *rand.Rand
	n        int // values written so far
}

func (c *client) run() {
	for range c.cfg.MaxOps {
		if c.sleep(c.think()) {
			return
		}
		if !c.one() && c.sleep(100*time.Millisecond) { // the node is down: back off
			return
		}
	}
}

// sleep waits d; true if the workload stopped meanwhile.
func (c *client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.stop:
		return true
	case <-t.C:
		return false
	}
}

func (c *client) think() time.Duration {
	span := int64(c.cfg.ThinkMax - c.cfg.ThinkMin)
	if span <= 0 {
		return c.cfg.ThinkMin
	}
	return c.cfg.ThinkMin + time.Duration(c.rng.Int64N(span))
}

// one issues one operation and records it; false if it could not be sent.
func (c *client) one() bool {
	cl := c.t.Client(c.node)
	if cl == nil {
		return false
	}
	f := c.cfg.Families[c.rng.IntN(len(c.cfg.Families))]
	shared, owned := f.Shared[c.rng.IntN(len(f.Shared))], f.Owned[c.node]
	op := history.Op{Client: c.id, Node: c.t.NodeID(c.node)}
	switch p := c.rng.IntN(100); {
	case p < 50:
		all := f.all()
		op.Kind, op.Keys = history.Read, []string{all[c.rng.IntN(len(all))]}
	case p < 85:
		k := shared
		if c.rng.IntN(2) == 0 {
			k = owned
		}
		op.Kind, op.Keys = history.Write, []string{k}
	default:
		op.Kind, op.Keys = history.Txn, []string{owned, shared}
	}
	if op.Writes() {
		c.n++
		v := fmt.Sprintf("c%d-%d", c.id, c.n)
		for range op.Keys {
			op.Values = append(op.Values, v)
		}
	}
	_, sent := Do(cl, c.rec, op, c.cfg.Timeout)
	return sent
}

// Do performs op (whose Keys and, for a write, Values are set) through cl,
// stamps it on rec's clock and records it: a read with its value, a write
// with its outcome. It returns the op as recorded, and sent false,
// recording nothing, if the request certainly never reached the node; a
// read that got no answer is returned with status Unknown but not
// recorded.
func Do(cl *control.Client, rec *history.Recorder, op history.Op, timeout time.Duration) (_ history.Op, sent bool) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Second)
	defer cancel()
	var res control.Result
	var err error
	op.Call = rec.Now()
	switch op.Kind {
	case history.Read:
		res, err = cl.Get(ctx, op.Keys[0], timeout)
	case history.Write:
		res, err = cl.Set(ctx, op.Keys[0], op.Values[0], timeout)
	case history.Txn:
		sets := make([]control.KV, len(op.Keys))
		for i, k := range op.Keys {
			sets[i] = control.KV{Key: k, Value: op.Values[i]}
		}
		res, err = cl.Txn(ctx, sets, timeout)
	}
	op.Return = rec.Now()
	if errors.Is(err, control.ErrNotSent) {
		return op, false
	}
	op.Status, op.Err = status(res, err)
	if op.Kind == history.Read {
		if op.Status == history.Unknown {
			return op, true // a read without an answer tells nothing
		}
		op.Values = []string{res.Value}
	}
	rec.Add(op)
	return op, true
}

// status maps a node's answer (or the lack of one) to a history status.
func status(res control.Result, err error) (history.Status, string) {
	if err != nil {
		return history.Unknown, err.Error()
	}
	switch res.Outcome {
	case control.OutcomeOK:
		return history.OK, ""
	case control.OutcomeNotFound:
		return history.NotFound, res.Err
	case control.OutcomeQuorum:
		return history.Failed, res.Err
	}
	return history.Unknown, res.Err
}
