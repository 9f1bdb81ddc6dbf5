package prommetrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/bus"
)

// stateCollector reads the instance's cache and bus counters at scrape
// time, so they cost nothing between scrapes.
type stateCollector struct {
	src   api.Source
	descs map[string]*prometheus.Desc
}

type stateMetric struct {
	name, help string
	kind       prometheus.ValueType
	cache      func(api.CacheStats) uint64
	bus        func(s bus.Stats) uint64
	coord      func(s api.CoordinationStats) uint64
}

var stateMetrics = []stateMetric{
	{name: "warp_l1_entries", help: "Entries in the L1 cache, expired ones not yet swept included.", kind: prometheus.GaugeValue, cache: func(s api.CacheStats) uint64 { return s.Entries }},
	{name: "warp_l1_bytes", help: "Bytes the L1 cache has allocated.", kind: prometheus.GaugeValue, cache: func(s api.CacheStats) uint64 { return s.Bytes }},
	{name: "warp_l1_installs_total", help: "Entries installed by writes on this node.", kind: prometheus.CounterValue, cache: func(s api.CacheStats) uint64 { return s.Installs }},
	{name: "warp_l1_fills_total", help: "Entries installed after a store load.", kind: prometheus.CounterValue, cache: func(s api.CacheStats) uint64 { return s.Fills }},
	{name: "warp_l1_stale_fills_total", help: "Loads not installed because a write, invalidation or fence raced them.", kind: prometheus.CounterValue, cache: func(s api.CacheStats) uint64 { return s.StaleFills }},
	{name: "warp_l1_invalidations_total", help: "Entries dropped by invalidations and fences.", kind: prometheus.CounterValue, cache: func(s api.CacheStats) uint64 { return s.Invalidations }},
	{name: "warp_l1_expired_total", help: "Entries dropped by the expiry sweep.", kind: prometheus.CounterValue, cache: func(s api.CacheStats) uint64 { return s.Expired }},
	{name: "warp_l1_evictions_total", help: "Entries evicted by the memory bound or bigcache's life window.", kind: prometheus.CounterValue, cache: func(s api.CacheStats) uint64 { return s.Evicted }},
	{name: "warp_shard_restarts_total", help: "Shard actors restarted after a panic.", kind: prometheus.CounterValue, cache: func(s api.CacheStats) uint64 { return s.Restarts }},
	{name: "warp_bus_published_total", help: "Envelopes this node broadcast.", kind: prometheus.CounterValue, bus: func(s bus.Stats) uint64 { return s.Published }},
	{name: "warp_bus_applied_total", help: "Remote events applied.", kind: prometheus.CounterValue, bus: func(s bus.Stats) uint64 { return s.Applied }},
	{name: "warp_bus_dropped_malformed_total", help: "Inbound messages dropped on arrival: not sealed under the cluster key, or not decoding.", kind: prometheus.CounterValue, bus: func(s bus.Stats) uint64 { return s.Malformed }},
	{name: "warp_bus_duplicates_total", help: "Remote envelopes received twice and not applied again.", kind: prometheus.CounterValue, bus: func(s bus.Stats) uint64 { return s.Duplicates }},
	{name: "warp_bus_overflows_total", help: "Publishes turned into a flush broadcast because the queue was full.", kind: prometheus.CounterValue, bus: func(s bus.Stats) uint64 { return s.Overflows }},
	{name: "warp_bus_gaps_total", help: "Holes detected in a peer's sequence.", kind: prometheus.CounterValue, bus: func(s bus.Stats) uint64 { return s.Gaps }},
	{name: "warp_bus_retransmits_total", help: "Envelopes sent again on a peer's request.", kind: prometheus.CounterValue, bus: func(s bus.Stats) uint64 { return s.Retransmits }},
	{name: "warp_bus_repairs_total", help: "Repair flushes (a gap the ring cannot cover, a member gone without a clean Leave, a failed apply, a flush storm).", kind: prometheus.CounterValue, bus: func(s bus.Stats) uint64 { return s.Repairs }},
	{name: "warp_bus_acks_total", help: "Strong acks received.", kind: prometheus.CounterValue, bus: func(s bus.Stats) uint64 { return s.Acks }},
	{name: "warp_bus_errors_dropped_total", help: "Asynchronous bus errors nobody read.", kind: prometheus.CounterValue, bus: func(s bus.Stats) uint64 { return s.ErrorsDropped }},
	{name: "warp_leases_granted_total", help: "Leases granted by this instance.", kind: prometheus.CounterValue, coord: func(s api.CoordinationStats) uint64 { return s.LeasesGranted }},
	{name: "warp_leases_revoked_total", help: "Revocations this node applied: one per lease that ended (revoked or expired), plus one per key seen after its lease ended, plus one per flush after the lease watcher was cut off or paused for half the markers' life.", kind: prometheus.CounterValue, coord: func(s api.CoordinationStats) uint64 { return s.LeasesRevoked }},
	{name: "warp_lease_keys_dropped_total", help: "Cached keys dropped because their lease ended.", kind: prometheus.CounterValue, coord: func(s api.CoordinationStats) uint64 { return s.LeaseKeysDropped }},
	{name: "warp_locks_acquired_total", help: "Distributed locks acquired by this instance.", kind: prometheus.CounterValue, coord: func(s api.CoordinationStats) uint64 { return s.LocksAcquired }},
	{name: "warp_locks_contended_total", help: "TryLock calls that found the lock held.", kind: prometheus.CounterValue, coord: func(s api.CoordinationStats) uint64 { return s.LocksContended }},
	{name: "warp_validator_checked_total", help: "Cached entries the validator compared with the store.", kind: prometheus.CounterValue, coord: func(s api.CoordinationStats) uint64 { return s.Validator.Checked }},
	{name: "warp_validator_drift_stale_total", help: "Cached entries older than the store's version found by the validator.", kind: prometheus.CounterValue, coord: func(s api.CoordinationStats) uint64 { return s.Validator.Stale }},
	{name: "warp_validator_drift_ahead_total", help: "Cached entries newer than the store's version found by the validator.", kind: prometheus.CounterValue, coord: func(s api.CoordinationStats) uint64 { return s.Validator.Ahead }},
	{name: "warp_validator_healed_total", help: "Stale entries the validator dropped and reloaded.", kind: prometheus.CounterValue, coord: func(s api.CoordinationStats) uint64 { return s.Validator.Healed }},
	{name: "warp_bus_lag_envelopes", help: "Envelopes a peer is known to have sent that this node has not received yet.", kind: prometheus.GaugeValue, bus: func(s bus.Stats) uint64 { return s.Lag }},
}

func newStateCollector(src api.Source, labels prometheus.Labels) *stateCollector {
	c := &stateCollector{src: src, descs: map[string]*prometheus.Desc{}}
	for _, m := range stateMetrics {
		c.descs[m.name] = prometheus.NewDesc(m.name, m.help, nil, labels)
	}
	c.descs["warp_coherence_lease_valid"] = prometheus.NewDesc("warp_coherence_lease_valid", "1 while this node may serve StrongDistributed keys from L1.", nil, labels)
	c.descs["warp_bus_peers"] = prometheus.NewDesc("warp_bus_peers", "Members of this node's view, itself excluded.", nil, labels)
	c.descs["warp_bus_rejected_total"] = prometheus.NewDesc("warp_bus_rejected_total",
		"What the bus refused, by reason: bad_mac, unknown_key, truncated, format, malformed, version (a message dropped on arrival), clock (a version too far ahead), peers (over MaxPeers), rate (over RetransmitRate), inbound (dropped while MaxInboundBytes waited), self (another process uses this node id).",
		[]string{"reason"}, labels)
	return c
}

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	cs := c.src.CacheStats()
	bs, hasBus := c.src.BusStats()
	co := c.src.Coordination()
	for _, m := range stateMetrics {
		var v uint64
		switch {
		case m.cache != nil:
			v = m.cache(cs)
		case m.coord != nil:
			v = m.coord(co)
		case hasBus:
			v = m.bus(bs)
		default:
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.descs[m.name], m.kind, float64(v))
	}
	lease := 0.0
	if c.src.LeaseValid() {
		lease = 1
	}
	ch <- prometheus.MustNewConstMetric(c.descs["warp_coherence_lease_valid"], prometheus.GaugeValue, lease)
	ch <- prometheus.MustNewConstMetric(c.descs["warp_bus_peers"], prometheus.GaugeValue, float64(c.src.Peers()))
	for reason, n := range bs.Rejected {
		ch <- prometheus.MustNewConstMetric(c.descs["warp_bus_rejected_total"], prometheus.CounterValue, float64(n), reason)
	}
}
