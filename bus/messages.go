package bus

import (
	"time"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/messages/wire"
)

// The bus actor's own messages; nothing outside the package sends them.
type (
	// publishBatch carries queued publishes from the pump.
	publishBatch struct{ items []pubItem }
	// inbound carries decoded envelopes from the transport handler.
	inbound struct {
		envs []wire.Envelope
		size int64 // the message's bytes, counted in Bus.inbound
	}
	// stateChange carries a transport state event.
	stateChange struct{ state State }
	// tick drives heartbeats, gap repair, lapses and deadlines.
	tick struct{}
	// strongReq asks for a strong invalidation; the answer goes to reply.
	strongReq struct {
		id       uint64
		key      string
		version  merge.Version
		fence    bool
		quorum   int
		deadline time.Time
		reply    chan strongResult
	}
	// strongCancel ends strongReq id early (context done, caller timer).
	strongCancel struct {
		id    uint64
		cause error
	}
	// leave broadcasts Leave and fails pending strong writes; done is
	// closed after.
	leave struct{ done chan struct{} }
	// resign asks the actor to give up the record under epoch
	// (Bus.Resign).
	resign struct{ epoch uint64 }
	// barrier is closed once every message sent before it is processed.
	barrier struct{ done chan struct{} }
	// inspect runs fn inside the actor; a test seam.
	inspect struct{ fn func(*busActor) }
)

// pubItem is one queued publish.
type pubItem struct {
	op      wire.Op
	key     string
	version merge.Version
	release bool
}

// strongResult answers a strongReq.
type strongResult struct {
	acked int
	err   error
}
