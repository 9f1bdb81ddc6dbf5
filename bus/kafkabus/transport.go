package kafkabus

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/warpcache/warp/bus"
)

// Transport is the Kafka [bus.Transport]. Build one with [New].
type Transport struct {
	cl    *kgo.Client
	opts  Options
	hooks *hooks

	// Set by Open, read-only afterwards.
	opened              atomic.Bool // Open was called
	ready               atomic.Bool // Open succeeded; the fields below are set
	node                string
	h                   bus.Handler
	bcast, inbox        string
	bcastPart, inboxLen int32

	promise func(*kgo.Record, error) // t.produced, bound once
	stats   counters

	closed atomic.Bool
	// calls is read-held by every handler call and write-held by Close
	// while it sets closed, so no call starts after Close returns.
	calls     sync.RWMutex
	stop      context.CancelFunc // ends the poll and state goroutines
	done      chan struct{}      // closed by Close
	wg        sync.WaitGroup     // the poll and state goroutines
	closeOnce sync.Once
}

var _ bus.Transport = (*Transport)(nil)

// New makes a client for the brokers in opts.Seeds and checks that one of
// them answers within opts.Timeout. The transport owns the client and
// closes it on [Transport.Close].
func New(opts Options) (*Transport, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	t := &Transport{opts: opts, hooks: newHooks(), done: make(chan struct{})}
	t.promise = t.produced
	cl, err := kgo.NewClient(opts.kgoOptions(t.hooks)...)
	if err != nil {
		return nil, fmt.Errorf("%w: kafkabus: client: %w", bus.ErrInvalid, err)
	}
	if g, _ := cl.OptValue(kgo.ConsumerGroup).(string); g != "" {
		cl.Close()
		return nil, fmt.Errorf("%w: kafkabus: ClientOptions configure consumer group %q", bus.ErrInvalid, g)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("%w: kafkabus: no broker of %v answers: %w", bus.ErrTransport, opts.Seeds, err)
	}
	t.cl = cl
	return t, nil
}

// Client returns the underlying franz-go client, for metrics and admin
// requests; producing or consuming on it interferes with the transport.
func (t *Transport) Client() *kgo.Client { return t.cl }

// Open implements [bus.Transport]: it creates the cluster's broadcast and
// inbox topics if they are missing and starts consuming every broadcast
// partition and node's inbox partition from their current end, so
// whatever is produced after Open returns is delivered.
func (t *Transport) Open(cluster, node string, h bus.Handler) error {
	switch {
	case !validTopicPart(cluster, false):
		return fmt.Errorf("%w: kafkabus: cluster %q: want letters, digits, '_' or '-'", bus.ErrInvalid, cluster)
	case len(t.opts.TopicPrefix)+len(cluster)+len(".inbox")+1 > maxTopicLen:
		return fmt.Errorf("%w: kafkabus: cluster %q makes topic names over %d bytes", bus.ErrInvalid, cluster, maxTopicLen)
	case node == "":
		return fmt.Errorf("%w: kafkabus: empty node id", bus.ErrInvalid)
	case h == nil:
		return fmt.Errorf("%w: kafkabus: nil handler", bus.ErrInvalid)
	case t.closed.Load():
		return fmt.Errorf("%w: kafkabus: transport closed", bus.ErrClosed)
	case !t.opened.CompareAndSwap(false, true):
		return fmt.Errorf("%w: kafkabus: opened twice", bus.ErrInvalid)
	}
	base := t.opts.TopicPrefix + "." + cluster
	t.node, t.h, t.bcast, t.inbox = node, h, base+".bcast", base+".inbox"
	offsets, err := t.join()
	if err != nil {
		t.opened.Store(false)
		return err
	}
	t.ready.Store(true)
	ctx, stop := context.WithCancel(context.Background())
	t.stop = stop
	t.cl.AddConsumePartitions(offsets)
	t.wg.Add(2)
	go t.poll(ctx)
	go func() {
		defer t.wg.Done()
		t.hooks.run(t.done, t.state)
	}()
	return nil
}

// join creates the topics, learns their partition counts and returns the
// partitions to consume, at their end offsets.
func (t *Transport) join() (map[string]map[int32]kgo.Offset, error) {
	ctx, cancel := context.WithTimeout(context.Background(), t.opts.Timeout)
	defer cancel()
	err := createTopics(ctx, t.cl, t.opts,
		topicSpec{t.bcast, t.opts.BroadcastPartitions}, topicSpec{t.inbox, t.opts.InboxPartitions})
	if err != nil {
		return nil, err
	}
	counts, err := partitionCounts(ctx, t.cl, t.bcast, t.inbox)
	if err != nil {
		return nil, err
	}
	t.bcastPart = partitionFor(t.node, counts[t.bcast])
	t.inboxLen = int32(counts[t.inbox])
	parts := map[string][]int32{t.inbox: {partitionFor(t.node, counts[t.inbox])}}
	for p := range int32(counts[t.bcast]) {
		parts[t.bcast] = append(parts[t.bcast], p)
	}
	return endOffsets(ctx, t.cl, parts)
}

// Broadcast implements [bus.Transport]. It does not wait for the broker: a
// message that cannot be written later is counted in [Stats.Failed]. The
// record's key is the sender's node id, and a sender always writes the
// same partition, so its broadcasts arrive in order; it does not receive
// its own.
func (t *Transport) Broadcast(msg []byte) error {
	return t.produce(t.bcast, t.bcastPart, t.node, msg)
}

// Send implements [bus.Transport]. The record's key is the target node
// id; the target reads the partition its id hashes to and skips records
// keyed for other nodes.
func (t *Transport) Send(node string, msg []byte) error {
	if !t.ready.Load() {
		return t.produce("", 0, "", msg)
	}
	return t.produce(t.inbox, partitionFor(node, int(t.inboxLen)), node, msg)
}

func (t *Transport) produce(topic string, part int32, key string, msg []byte) error {
	switch {
	case t.closed.Load():
		return fmt.Errorf("%w: kafkabus: transport closed", bus.ErrClosed)
	case !t.ready.Load():
		return fmt.Errorf("%w: kafkabus: transport not open", bus.ErrInvalid)
	case len(msg) > t.opts.MaxMessageBytes:
		return fmt.Errorf("%w: kafkabus: message of %d bytes over MaxMessageBytes %d", bus.ErrInvalid, len(msg), t.opts.MaxMessageBytes)
	}
	r := &kgo.Record{Topic: topic, Partition: part, Key: []byte(key), Value: bytes.Clone(msg)}
	t.stats.sent.Add(1)
	t.cl.TryProduce(context.Background(), r, t.promise)
	return nil
}

// produced is the promise of every record: a record that could not be
// written (the buffer was full, or retries ran out) is counted and
// logged; the bus detects the loss and repairs it.
func (t *Transport) produced(r *kgo.Record, err error) {
	if err != nil {
		t.stats.failed.Add(1)
		t.opts.Logger.Warn("kafkabus: message lost", "topic", r.Topic, "partition", r.Partition, "err", err)
	}
}

// poll fetches and delivers records until ctx is cancelled.
func (t *Transport) poll(ctx context.Context) {
	defer t.wg.Done()
	for {
		fs := t.cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.opts.Logger.Warn("kafkabus: fetch", "topic", topic, "partition", p, "err", err)
		})
		fs.EachRecord(t.deliver)
	}
}

// deliver hands one record to the handler unless it is this node's own
// broadcast or another node's inbox message.
func (t *Transport) deliver(r *kgo.Record) {
	if (r.Topic == t.bcast) == (string(r.Key) == t.node) {
		t.stats.skipped.Add(1)
		return
	}
	t.stats.received.Add(1)
	t.calls.RLock()
	defer t.calls.RUnlock()
	if !t.closed.Load() {
		t.h.HandleMessage(r.Value)
	}
}

// state hands a connection state to the handler.
func (t *Transport) state(s bus.State) {
	t.calls.RLock()
	defer t.calls.RUnlock()
	if !t.closed.Load() {
		t.h.HandleState(s)
	}
}

// Close implements [bus.Transport]: it stops handler calls, gives buffered
// messages up to [Options.CloseTimeout] to be written, stops the poll and
// state goroutines and waits for them, then closes the client.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.calls.Lock()
		t.closed.Store(true)
		t.calls.Unlock()
		t.hooks.close()
		ctx, cancel := context.WithTimeout(context.Background(), t.opts.CloseTimeout)
		defer cancel()
		if err := t.cl.Flush(ctx); err != nil {
			t.opts.Logger.Warn("kafkabus: close: unsent messages dropped", "err", err)
		}
		close(t.done)
		if t.stop != nil {
			t.stop()
		}
		t.wg.Wait()
		t.cl.Close()
	})
	return nil
}
