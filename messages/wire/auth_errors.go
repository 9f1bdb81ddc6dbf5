package wire

import "errors"

// Errors of [Keyring.Open], one per reason a message is rejected, and of
// the key functions; test with errors.Is.
var (
	// ErrSealTruncated: the message is too short to hold a header and a
	// tag.
	ErrSealTruncated = errors.New("wire: sealed message truncated")
	// ErrSealFormat: the message does not start with [SealFormat] (for
	// example an unsealed message, which starts with [FormatVersion]).
	ErrSealFormat = errors.New("wire: message not sealed (unknown seal format)")
	// ErrUnknownKey: the message names a key id the keyring does not hold.
	ErrUnknownKey = errors.New("wire: sealed message under an unknown key id")
	// ErrBadMAC: the tag does not match: the message was forged, altered,
	// or sealed for another cluster or under another secret.
	ErrBadMAC = errors.New("wire: sealed message fails its MAC")
	// ErrBadKey: a key or key set that cannot be used (a short secret, a
	// text form that does not parse, two keys with one id, no cluster).
	ErrBadKey = errors.New("wire: bad cluster key")
)

// RejectReason returns a short label for the reason err gives for
// rejecting a received message, for a metric such as
// warp_bus_rejected_total{reason}: "truncated", "format", "unknown_key",
// "bad_mac" (from [Keyring.Open]), "malformed", "version" (from [Decode]),
// or "other".
func RejectReason(err error) string {
	switch {
	case errors.Is(err, ErrSealTruncated):
		return "truncated"
	case errors.Is(err, ErrSealFormat):
		return "format"
	case errors.Is(err, ErrUnknownKey):
		return "unknown_key"
	case errors.Is(err, ErrBadMAC):
		return "bad_mac"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrVersion):
		return "version"
	}
	return "other"
}
