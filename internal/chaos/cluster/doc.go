// Package cluster is the controller's side of a chaos run: the NATS
// servers (in-process, on random loopback ports: one, or three joined by
// routes), one fault proxy per node in front of them, the node processes
// (re-executions of the warp-chaos binary in its node role) and the run's
// PostgreSQL table.
//
// Each node reaches NATS only through its own proxy (package proxy),
// whose targets are every server's client address, the node's "home"
// server first: when a server dies, the node's client reconnects to the
// proxy, which dials the next server that answers. Servers run with
// NoAdvertise, so clients never learn an address that would bypass the
// proxy. PostgreSQL is reached directly.
//
// A [Cluster] owns all of it; Close stops the nodes (SIGTERM, then
// SIGKILL), the proxies and the servers, and drops the table. The table
// is named warp_chaos_<random>, one per run.
package cluster
