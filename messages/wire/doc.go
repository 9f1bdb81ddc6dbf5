// Package wire defines [Envelope], the unit of Warp's sync bus, and its
// compact, versioned binary codec.
//
// # Model
//
// Every node numbers the envelopes it broadcasts (invalidations and
// flushes) with a per-origin sequence number, [Envelope.Seq], inside an
// epoch, [Envelope.Epoch], that is new every time the process starts. A
// receiver that sees a hole in an origin's sequence asks for the missing
// envelopes again ([OpNack]). Point-to-point envelopes (acks, retransmit
// requests, heartbeat answers) carry Seq 0 and are not part of the stream.
//
// # Format
//
// One bus message holds a batch of envelopes from one origin:
//
//	message  = format(1 byte = 2) origin(string) epoch(uvarint) count(uvarint) envelope*
//	envelope = op(1 byte) flags(uvarint) [seq] [key] [version] [watermark] [ref]
//	string   = length(uvarint) bytes
//
// The flags say which of the optional fields follow (a zero field is left
// out; a field that is present is never 0) and carry the booleans Strong,
// Fence, Release and Member. Numbers are uvarints; a version above
// [merge.MaxVersion] is malformed.
// [Append] encodes a batch and [Decode] decodes one; Decode checks every
// bound and returns an error wrapping [ErrMalformed] or [ErrVersion] on bad
// input, never panicking. An op this version does not know decodes fine
// (the layout does not depend on the op), so that new ops such as
// [OpLeaseRevoke] can be added without a new format version; receivers
// ignore ops they do not know.
package wire
