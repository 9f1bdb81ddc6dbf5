// Package workload is the chaos suite's load: a bounded number of client
// goroutines in the controller, each bound to one node, issuing reads,
// writes and small transactions on a bounded key set and recording each
// operation (package history) with its times on the controller's clock.
//
// Every value written is unique per key ("c<client>-<n>"), so a read
// names the write it observed. A client's loop is bounded in count
// ([Config].MaxOps) and stops when asked; an operation is bounded by the
// node's timeout plus a margin on the controller's side.
package workload
