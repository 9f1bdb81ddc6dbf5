package kafkabus

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/warpcache/warp/bus"
)

// maxTopicLen is Kafka's limit on a topic name.
const maxTopicLen = 249

// recordSlack is room for a record's key and the batch overhead on top of
// [Options.MaxMessageBytes].
const recordSlack = 4 << 10

// Options configures [New]. Seeds is required; the zero value of every
// other field gives the documented default.
type Options struct {
	// Seeds are the host:port addresses of one or more brokers.
	Seeds []string
	// ClientOptions are extra franz-go options (TLS, SASL, dialer, logger,
	// retry and metadata tuning). They apply after the transport's tuning
	// defaults (no linger, record size from MaxMessageBytes, reset to the
	// end on lost offsets), so they may override those; the seeds, the
	// partitioner and the state hooks are the transport's own and win.
	// They must not configure consumption (groups, topics): the transport
	// consumes its partitions directly, and [New] rejects a consumer group.
	ClientOptions []kgo.Opt
	// TopicPrefix is the first part of every topic name; default "warp".
	TopicPrefix string
	// BroadcastPartitions is the partition count of a cluster's broadcast
	// topic when this transport is the one to create it; default 1. A
	// sender always produces to the same partition.
	BroadcastPartitions int
	// InboxPartitions is the partition count of a cluster's inbox topic
	// when this transport creates it; default 16. A node reads one
	// partition, so with at least as many partitions as nodes a node
	// rarely reads messages meant for another.
	InboxPartitions int
	// ReplicationFactor of the topics this transport creates; default -1,
	// the broker's default.
	ReplicationFactor int
	// MaxMessageBytes bounds one message; default 1 MiB. It sets the
	// producer's batch limit and the max.message.bytes of the topics this
	// transport creates; a longer message fails Broadcast and Send with
	// [bus.ErrInvalid].
	MaxMessageBytes int
	// Timeout bounds New's first contact with the brokers and each admin
	// request of Open (create topics, read partition counts and end
	// offsets); default 10s.
	Timeout time.Duration
	// CloseTimeout bounds how long Close waits for buffered messages (the
	// bus's Leave, say) to be written; default 2s.
	CloseTimeout time.Duration
	// Logger receives failed produces and fetch errors; nil discards.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if o.TopicPrefix == "" {
		o.TopicPrefix = "warp"
	}
	def(&o.BroadcastPartitions, 1)
	def(&o.InboxPartitions, 16)
	def(&o.ReplicationFactor, -1)
	def(&o.MaxMessageBytes, 1<<20)
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.CloseTimeout == 0 {
		o.CloseTimeout = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o Options) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: kafkabus: "+format, append([]any{bus.ErrInvalid}, args...)...)
	}
	switch {
	case len(o.Seeds) == 0:
		return bad("no seed brokers")
	case !validTopicPart(o.TopicPrefix, true):
		return bad("topic prefix %q is not a valid topic name part", o.TopicPrefix)
	case o.BroadcastPartitions < 1 || o.InboxPartitions < 1:
		return bad("partition counts must be positive")
	case o.ReplicationFactor < -1 || o.ReplicationFactor == 0 || o.ReplicationFactor > 1<<15-1:
		return bad("replication factor %d", o.ReplicationFactor)
	case o.MaxMessageBytes < 1 || o.MaxMessageBytes > 1<<30:
		return bad("MaxMessageBytes %d", o.MaxMessageBytes)
	case o.Timeout < 0 || o.CloseTimeout < 0:
		return bad("negative timeout")
	}
	return nil
}

// kgoOptions returns the client options: tuning defaults, the caller's,
// then what the transport depends on.
func (o Options) kgoOptions(h *hooks) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.ProducerLinger(0),
		kgo.ProducerBatchMaxBytes(int32(o.MaxMessageBytes + recordSlack)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
		kgo.DialTimeout(o.Timeout),
	}
	opts = append(opts, o.ClientOptions...)
	return append(opts,
		kgo.SeedBrokers(o.Seeds...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.WithHooks(h),
	)
}

// validTopicPart reports whether s may be part of a topic name: letters,
// digits, '_' and '-', and '.' too if dots is set. Cluster names exclude
// the dot, so two clusters' topics never collide, not even under Kafka's
// rule that '.' and '_' collide in metric names.
func validTopicPart(s string, dots bool) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '-' || dots && c == '.'
		if !ok {
			return false
		}
	}
	return true
}
