// Package kafkabus is the Kafka [bus.Transport], on
// github.com/twmb/franz-go. It passes the same contract suite
// ([github.com/warpcache/warp/bus/bustest]) as the NATS transport, so the
// bus runs unchanged over either.
//
// # Topics
//
//	<prefix>.<cluster>.bcast   broadcasts; record key = sender node id
//	<prefix>.<cluster>.inbox   point-to-point; record key = target node id
//
// Two topics per cluster, whatever the number of nodes or keys. Every node
// reads every partition of the broadcast topic (one partition by default,
// [Options.BroadcastPartitions]) and skips its own records. The inbox is
// one topic shared by all nodes rather than a topic per node: a node reads
// only the partition its id hashes to ([Options.InboxPartitions], default
// 16) and skips records keyed for another node that shares it. So node ids
// need not be valid topic names, nodes that come and go (new ids after
// every deploy) leave no topics behind, and a Send to a node nobody serves
// creates nothing; the price is reading the inbox traffic of the few nodes
// that hash to the same partition ([Stats.Skipped] counts it).
//
// The prefix is "warp" unless [Options.TopicPrefix] says otherwise; the
// cluster name is letters, digits, '_' and '-' (no dot, so two clusters'
// topics never collide, not even under Kafka's rule that '.' and '_'
// collide in metric names).
//
// # Ordering and offsets
//
// Partitions are chosen by the transport (FNV-1a of the node id, modulo
// the partition count read at Open): a sender writes all its broadcasts
// to one partition and all its messages for one node to one partition, so
// per-sender order holds with franz-go's default idempotent producer (do
// not disable idempotence in [Options.ClientOptions]). Do not add
// partitions to a cluster's topics while nodes run: senders and readers
// would disagree on the mapping until they reopen.
//
// No consumer group is used: each node consumes its partitions directly,
// commits nothing, and starts at their end offsets, read synchronously in
// Open, so everything produced after Open returns is delivered and nothing
// older is. If records vanish before a node read them (retention deleted
// them while it lagged, or the broker lost them), its reader resets to the
// end, skipping them, and the bus's gap detection repairs what was
// skipped: the origin's next heartbeat shows the hole, and its ring
// retransmits it, or the node flushes (TestSkippedRecordsAreRepaired).
//
// # Topic creation
//
// Open creates both topics if they are missing (CreateTopics with
// [Options.ReplicationFactor] and max.message.bytes from
// [Options.MaxMessageBytes], default 1 MiB); an existing topic is used as
// it is. Automatic topic creation on the broker is not needed.
//
// # Connection state
//
// Broadcast and Send hand the message to the producer and return: they do
// not wait for the broker, and a message the broker never takes (buffer
// full, retries exhausted) is counted in [Stats.Failed] and logged; the
// bus detects the gap and repairs it. Kafka stores messages, so a broker
// that goes away and comes back loses nothing the producer still had: the
// producer retries, the reader resumes at its offset.
//
// The transport still reports [bus.Disconnected] when a broker connection
// fails (a connect, read or write error seen by franz-go's broker hooks)
// and [bus.Reconnected] when every broker that failed has answered again,
// so the bus stops serving strong keys at once instead of after its lease
// runs out, and flushes after the reconnect (more than Kafka strictly
// needs, but cheap and safe). Seed connections are not tracked, and a
// broker that fails and is then removed from the cluster for good keeps
// the state Disconnected until Close (the bus then serves strong keys from
// the store only).
//
// # Client
//
// [New] makes and owns a franz-go client ([Options.Seeds],
// [Options.ClientOptions] for TLS, SASL and tuning) and pings the brokers.
// There is no constructor from a caller's client: a client has a single
// consumer, and a shared one would have its fetches taken by whoever
// polls first. [Transport.Close] stops handler calls, waits up to
// [Options.CloseTimeout] for buffered messages (the bus's Leave), stops
// the poll goroutine and waits for it, and closes the client.
package kafkabus
