package bus

// Transport moves opaque bus messages between the nodes of one cluster. It
// knows nothing of envelopes, sequence numbers or acks: [Bus] does all of
// that on top. Implementations: [github.com/warpcache/warp/bus/natsbus]
// (NATS), [github.com/warpcache/warp/bus/inproc] (one process, for tests)
// and [github.com/warpcache/warp/bus/faultbus] (a fault-injecting wrapper).
// The contract suite in [github.com/warpcache/warp/bus/bustest] states the
// rules every implementation follows.
//
// Delivery is at most once and unordered across senders; messages from one
// sender on one route (broadcast, or inbox) arrive in the order they were
// sent, unless a fault injector says otherwise. A broadcast may or may not be
// echoed back to its sender.
type Transport interface {
	// Open joins node to cluster: from now on h receives the cluster's
	// broadcasts and the node's inbox. Open is called once, before any
	// other method.
	Open(cluster, node string, h Handler) error
	// Broadcast sends msg to every node of the cluster. It does not wait
	// for delivery and must not block for long; it does not keep msg.
	Broadcast(msg []byte) error
	// Send sends msg to the inbox of node. Sending to a node nobody serves
	// is not an error: the message is lost.
	Send(node string, msg []byte) error
	// Close leaves the cluster and releases the transport's resources; no
	// handler call starts after it returns. Close is idempotent.
	Close() error
}

// Handler receives what a [Transport] delivers. Its methods may be called
// from several goroutines at once and must not block for long.
type Handler interface {
	// HandleMessage receives one inbound message; msg is only valid for
	// the call.
	HandleMessage(msg []byte)
	// HandleState receives a change of the connection state.
	HandleState(s State)
}

// HandlerFuncs adapts two functions to [Handler]; a nil field ignores its
// calls.
type HandlerFuncs struct {
	Message func(msg []byte)
	State   func(s State)
}

// HandleMessage implements [Handler].
func (h HandlerFuncs) HandleMessage(msg []byte) {
	if h.Message != nil {
		h.Message(msg)
	}
}

// HandleState implements [Handler].
func (h HandlerFuncs) HandleState(s State) {
	if h.State != nil {
		h.State(s)
	}
}

// State is a transport's connection state.
type State uint8

// Connection states reported to [Handler.HandleState].
const (
	// Disconnected: messages may be lost until Reconnected.
	Disconnected State = iota + 1
	// Reconnected: the transport is back; what was sent in between may be
	// lost, so the bus repairs.
	Reconnected
	// Dropped: the transport, still connected, dropped received messages
	// (a subscription over its pending limits), so the bus repairs.
	Dropped
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case Disconnected:
		return "disconnected"
	case Reconnected:
		return "reconnected"
	case Dropped:
		return "dropped messages"
	}
	return "unknown"
}
