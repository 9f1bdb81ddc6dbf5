package messages

import (
	"sync"

	"github.com/warpcache/warp/merge"
)

// Result is an actor's answer to a request.
type Result struct {
	// Version is the version the shard holds for the key after the request.
	Version merge.Version
	// Applied reports whether the request changed the shard.
	Applied bool
	// Gen is the shard generation that granted a key lock.
	Gen uint64
	Err error
}

// Reply is a one-shot reply slot. The zero value is not usable; get one
// from [NewReply].
type Reply struct{ ch chan Result }

var replies = sync.Pool{New: func() any { return &Reply{ch: make(chan Result, 1)} }}

// NewReply returns an empty reply slot from the pool.
func NewReply() *Reply { return replies.Get().(*Reply) }

// Send delivers the answer. It never blocks: each slot is answered once.
// A nil *Reply (a request nobody waits for) ignores the answer.
func (r *Reply) Send(res Result) {
	if r != nil {
		r.ch <- res
	}
}

// Wait blocks until the answer arrives.
func (r *Reply) Wait() Result { return <-r.ch }

// C returns the channel the answer arrives on, for a select.
func (r *Reply) C() <-chan Result { return r.ch }

// Release returns the slot to the pool. Call it only after the answer was
// received; a slot abandoned before its answer must not be released.
func (r *Reply) Release() { replies.Put(r) }
