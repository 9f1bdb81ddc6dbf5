// Package control is the chaos node's control API: the requests the
// controller sends a node over HTTP/1.1 (keep-alive, JSON bodies) on a
// loopback port, their answers, and the controller's [Client].
//
// # Endpoints
//
//	POST /get    GetRequest   → Result        Warp.Get
//	POST /set    SetRequest   → Result        Warp.Set
//	POST /txn    TxnRequest   → Result        Warp.Txn with several Sets
//	POST /clock  ClockRequest → Stats         sets the node's clock offset
//	GET  /stats               → Stats         bus counters, lease, members
//
// The node runs each operation under a context bounded by the request's
// Timeout and reports its outcome as an [Outcome]: in particular
// [OutcomeQuorum] when errors.Is(err, api.ErrQuorum) held on the node, the
// one failure after which a write must have changed nothing. A request
// the node did not answer in time (paused, killed) is an error of the
// [Client], whose caller must treat the operation's effect as unknown.
package control
