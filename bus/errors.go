package bus

import "errors"

// Errors returned by the bus and its transports, wrapped with context; test
// with errors.Is.
var (
	// ErrQuorum: a strong publish did not get enough acks, or not every
	// peer acked or lost its lease, before its deadline.
	ErrQuorum = errors.New("bus: quorum not reached")
	// ErrClosed: the bus or transport is closed.
	ErrClosed = errors.New("bus: closed")
	// ErrInvalid: bad configuration or argument, such as an empty node id
	// or a cluster name that is not a valid subject token.
	ErrInvalid = errors.New("bus: invalid argument")
	// ErrApply: the Applier failed or panicked while applying a remote
	// event; the bus repairs with a flush.
	ErrApply = errors.New("bus: apply failed")
	// ErrTransport: the transport failed to send.
	ErrTransport = errors.New("bus: transport failed")
	// ErrNotMember: this node holds no membership record under its epoch
	// (it was expelled, or a newer process of its id joined); a
	// [Membership] returns it from Renew.
	ErrNotMember = errors.New("bus: not a member")
	// ErrAhead: an Applier refused the version of a remote event because
	// it is further ahead of this node's clock than the node accepts; the
	// Applier still dropped the key's cached copy. The bus counts it
	// (reason "clock"), does not ack the event, and does not repair.
	ErrAhead = errors.New("bus: version ahead of this node's clock")
)
