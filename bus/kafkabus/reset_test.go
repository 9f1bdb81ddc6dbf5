package kafkabus_test

import (
	"testing"
	"time"

	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/kafkabus"
)

// Records a node had not read yet vanish (retention deleted them, or the
// broker lost them): its reader finds its offset out of range and resets
// to the end, skipping them without a word. The bus's gap detection gets
// them back: the next heartbeat of their origin shows the hole, the node
// asks for it, and the origin's ring retransmits it.
func TestSkippedRecordsAreRepaired(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	trs := []*kafkabus.Transport{newTransport(t, c, kafkabus.Options{}), newTransport(t, c, kafkabus.Options{})}
	nodes := startNodes(t, []bus.Transport{trs[0], trs[1]})
	converged(t, nodes)
	bcast := "warp." + clusterName(t) + ".bcast"
	from := c.PartitionInfo(bcast, 0)
	if from == nil {
		t.Fatalf("no partition 0 of %s", bcast)
	}
	// Node 1 stops reading; node 0 publishes, and the records are deleted
	// before node 1 reads on. Short: node 1 must not be expelled meanwhile.
	trs[1].Client().PauseFetchTopics(bcast)
	before := nodes[1].bus.Stats()
	keys := publishKeys(nodes[0].bus, "k", 50)
	deadline := time.Now().Add(5 * time.Second)
	for c.PartitionInfo(bcast, 0).HighWatermark < from.HighWatermark+int64(len(keys)) {
		if time.Now().After(deadline) {
			t.Fatal("node 0's records never reached the broker")
		}
		<-time.After(time.Millisecond)
	}
	end := c.PartitionInfo(bcast, 0).HighWatermark
	if err := c.DeleteRecords(bcast, 0, end); err != nil {
		t.Fatalf("DeleteRecords: %v", err)
	}
	if got := c.PartitionInfo(bcast, 0).LogStartOffset; got != end {
		t.Fatalf("log start %d after DeleteRecords; want %d", got, end)
	}
	trs[1].Client().ResumeFetchTopics(bcast)
	nodes[1].app.Wait(t, "the skipped keys, repaired", func() bool {
		for k, v := range keys {
			if nodes[1].app.Versions[k] < v {
				return false
			}
		}
		return true
	})
	after := nodes[1].bus.Stats()
	if after.Gaps == before.Gaps && after.Repairs == before.Repairs {
		t.Fatalf("node 1 holds every key, but noticed no gap and made no repair (%+v → %+v): it read the records, the test proves nothing", before, after)
	}
	t.Logf("node 1: gaps %d → %d, repairs %d → %d; node 0 retransmitted %d", before.Gaps, after.Gaps, before.Repairs, after.Repairs, nodes[0].bus.Stats().Retransmits)
}
