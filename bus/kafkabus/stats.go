package kafkabus

import "sync/atomic"

// Stats counts a transport's traffic since [New].
type Stats struct {
	// Sent: messages handed to the producer by Broadcast and Send.
	Sent uint64
	// Failed: sent messages the brokers never took (buffer full, retries
	// exhausted, transport closed first); the bus repairs the loss.
	Failed uint64
	// Received: messages delivered to the handler.
	Received uint64
	// Skipped: records fetched but not delivered: this node's own
	// broadcasts and inbox messages for nodes sharing its partition.
	Skipped uint64
}

type counters struct {
	sent, failed, received, skipped atomic.Uint64
}

// Stats returns the transport's counters.
func (t *Transport) Stats() Stats {
	return Stats{
		Sent: t.stats.sent.Load(), Failed: t.stats.failed.Load(),
		Received: t.stats.received.Load(), Skipped: t.stats.skipped.Load(),
	}
}
