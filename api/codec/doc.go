// Package codec turns values of a Warp cache's type T into bytes and back.
//
// The L1 cache and the byte-oriented store adapters (store/redis,
// store/postgres) hold encoded values; a [Codec] says how they are encoded.
//
// # Choosing a codec
//
// [Default] picks one by type: [Bytes] for []byte and [String] for string,
// which copy nothing on decode, and [CBOR] for everything else. CBOR was
// chosen by measurement against encoding/json, encoding/gob and msgpack:
// docs/codecs.md has the figures and the command that produced them. [JSON]
// stays available for values that must be readable as text or shared with
// other programs; pass it to api.WithCodec or to a store's constructor.
//
// # Compatibility
//
// [CBOR] is set up to round-trip every value [JSON] round-trips, honouring
// `json` struct tags, MarshalText and MarshalJSON. Decoded values differ
// from JSON's in a few documented places (numbers inside `any` stay
// integers; strings that are not valid UTF-8 are kept as they are), and the
// two encodings cannot read each other: values a store holds in one must be
// read with the same codec.
//
// # Errors
//
// Every failure wraps [ErrCodec]. Decode never panics on malformed input
// (FuzzDecodeCBOR, FuzzDecodeJSON) and returns the zero T when it fails.
package codec
