// Package bustest is the contract suite for [bus.Transport]
// implementations: [Run] checks routing, ordering, isolation of clusters
// and the close semantics every transport promises. The inproc and NATS
// transports pass it; a new transport (Kafka, say) should too.
package bustest
