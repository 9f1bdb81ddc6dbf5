package bus

import (
	"time"

	"github.com/warpcache/warp/messages/wire"
)

// pump drains the publish queue into batches for the actor, at most two
// in its mailbox at a time, so that the queue, not the mailbox, absorbs
// bursts. After an overflow it sends a flush instead of what it drained:
// the flush covers every write made before it.
func (b *Bus) pump() {
	defer b.wg.Done()
	batch := make([]pubItem, 0, b.cfg.MaxBatch)
	for {
		select {
		case <-b.stop:
			return
		case it := <-b.queue:
			batch = append(batch[:0], it)
		case <-b.kick:
			batch = batch[:0]
		}
	drain:
		for len(batch) < b.cfg.MaxBatch {
			select {
			case it := <-b.queue:
				batch = append(batch, it)
			default:
				break drain
			}
		}
		if b.overflow.Swap(false) {
			batch = append(batch[:0], pubItem{op: wire.OpFlush})
		}
		if len(batch) == 0 {
			continue
		}
		select {
		case <-b.stop:
			return
		case b.credits <- struct{}{}:
		}
		b.root.Send(b.pid, publishBatch{items: append([]pubItem(nil), batch...)})
	}
}

// ticker drives the actor's timed duties every tick.
func (b *Bus) ticker() {
	defer b.wg.Done()
	t := time.NewTicker(b.cfg.tick())
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.root.Send(b.pid, tick{})
		}
	}
}
