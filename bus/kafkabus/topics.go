package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/warpcache/warp/bus"
)

// topicSpec is a topic the transport creates if it is missing.
type topicSpec struct {
	name       string
	partitions int
}

// createTopics creates the topics that do not exist yet; a topic that
// exists (whatever its partition count) is fine.
func createTopics(ctx context.Context, cl *kgo.Client, o Options, specs ...topicSpec) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = int32(o.Timeout.Milliseconds())
	maxBytes := strconv.Itoa(o.MaxMessageBytes + recordSlack)
	for _, s := range specs {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic = s.name
		rt.NumPartitions = int32(s.partitions)
		rt.ReplicationFactor = int16(o.ReplicationFactor)
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = "max.message.bytes", &maxBytes
		rt.Configs = append(rt.Configs, c)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("%w: kafkabus: create topics: %w", bus.ErrTransport, err)
	}
	for _, rt := range resp.Topics {
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("%w: kafkabus: create topic %s: %w", bus.ErrTransport, rt.Topic, err)
		}
	}
	return nil
}

// partitionCounts returns each topic's partition count, retrying while a
// new topic's partitions have no leader yet (topic creation is
// asynchronous on a real cluster); ctx bounds the retries.
func partitionCounts(ctx context.Context, cl *kgo.Client, topics ...string) (map[string]int, error) {
	for {
		counts, err := tryPartitionCounts(ctx, cl, topics)
		if err == nil || !kerr.IsRetriable(err) {
			return counts, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: kafkabus: topics not ready: %w", bus.ErrTransport, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func tryPartitionCounts(ctx context.Context, cl *kgo.Client, topics []string) (map[string]int, error) {
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range topics {
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, mt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("%w: kafkabus: metadata: %w", bus.ErrTransport, err)
	}
	counts := make(map[string]int, len(topics))
	for _, mt := range resp.Topics {
		if mt.Topic == nil {
			continue
		}
		if err := kerr.ErrorForCode(mt.ErrorCode); err != nil {
			return nil, err
		}
		for _, p := range mt.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, err
			}
		}
		if len(mt.Partitions) == 0 {
			return nil, kerr.LeaderNotAvailable
		}
		counts[*mt.Topic] = len(mt.Partitions)
	}
	for _, t := range topics {
		if counts[t] == 0 {
			return nil, kerr.UnknownTopicOrPartition
		}
	}
	return counts, nil
}

// endOffsets returns the next offset of each listed partition: consuming
// from there delivers exactly what is produced after the call.
func endOffsets(ctx context.Context, cl *kgo.Client, parts map[string][]int32) (map[string]map[int32]kgo.Offset, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	for t, ps := range parts {
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = t
		for _, p := range ps {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = p, -1, -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("%w: kafkabus: list offsets: %w", bus.ErrTransport, err)
	}
	offsets := make(map[string]map[int32]kgo.Offset, len(parts))
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				return nil, fmt.Errorf("%w: kafkabus: end offset of %s/%d: %w", bus.ErrTransport, rt.Topic, rp.Partition, err)
			}
			if offsets[rt.Topic] == nil {
				offsets[rt.Topic] = map[int32]kgo.Offset{}
			}
			offsets[rt.Topic][rp.Partition] = kgo.NewOffset().At(rp.Offset)
		}
	}
	for t, ps := range parts {
		if len(offsets[t]) != len(ps) {
			return nil, fmt.Errorf("%w: kafkabus: end offsets of %s incomplete", bus.ErrTransport, t)
		}
	}
	return offsets, nil
}

// partitionFor maps a node id to one of n partitions (FNV-1a); every
// transport computes the same mapping.
func partitionFor(node string, n int) int32 {
	h := uint32(2166136261)
	for i := 0; i < len(node); i++ {
		h ^= uint32(node[i])
		h *= 16777619
	}
	return int32(h % uint32(n))
}
