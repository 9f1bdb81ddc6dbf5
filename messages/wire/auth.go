package wire

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"slices"
	"sync"
)

// Layout of a sealed message; see [Keyring].
const (
	// SealFormat is the first byte of every sealed message. It differs
	// from [FormatVersion], so an unsealed message is told apart at once
	// ([ErrSealFormat]).
	SealFormat = 0xA1
	// SealHeaderLen is the length of the header in front of the message:
	// SealFormat and the key id.
	SealHeaderLen = 2
	// TagLen is the length of the MAC at the end of a sealed message:
	// HMAC-SHA-256 truncated to 128 bits.
	TagLen = 16
	// SealOverhead is what sealing adds to a message.
	SealOverhead = SealHeaderLen + TagLen
	// MaxClusterLen bounds the cluster name a [Keyring] is bound to.
	MaxClusterLen = 255
)

// keyLabel separates the MAC keys derived for the bus from any other use
// of the same secret; the cluster name is appended to it.
const keyLabel = "warp bus message MAC v1; cluster "

// Keyring seals and opens bus messages under a cluster key. It holds one
// or two keys ([NewKeyring]); the first seals, and a message sealed under
// either opens, so a key can be rotated without stopping the cluster. A
// Keyring is safe for concurrent use.
//
// A sealed message is
//
//	sealed = SealFormat(1 byte) keyID(1 byte) message tag(TagLen bytes)
//
// where message is the input of [Keyring.Seal] (a batch made by [Append])
// and tag is HMAC-SHA-256, truncated to [TagLen] bytes, of everything
// before it. The MAC key is derived from the key's secret and the
// cluster's name with HKDF-SHA-256, so a secret shared by two clusters
// still gives each its own MAC key: what one cluster sealed does not open
// in the other.
//
// Sealing authenticates a message; it does not hide it (no encryption;
// use TLS for that) and does not make it fresh: a captured message opens
// again when it is replayed, so receivers must discard replays by their
// content (origin, epoch and sequence).
//
// Build one with [NewKeyring]; the zero value holds no key.
type Keyring struct {
	cluster string
	keys    []ringKey // the first seals
}

// ringKey is one key of a Keyring: its id and a pool of MAC states keyed
// with the derived key (a hash.Hash is not safe for concurrent use).
type ringKey struct {
	id   byte
	pool *sync.Pool // of *macState
}

// macState is a keyed MAC and room for its output, pooled so that Seal and
// Open allocate nothing.
type macState struct {
	h   hash.Hash
	sum [64]byte
}

// NewKeyring returns a keyring for cluster (1 to [MaxClusterLen] bytes)
// holding one or two keys with distinct ids and secrets of [MinSecretLen]
// to [MaxSecretLen] bytes; keys[0] seals. It keeps only keys derived from
// the secrets, so the caller may zero them afterwards. Bad arguments
// return an error wrapping [ErrBadKey] that never includes a secret.
func NewKeyring(cluster string, keys ...Key) (*Keyring, error) {
	return newKeyring(cluster, hmacSHA256, keys)
}

// hmacSHA256 is the MAC of sealed messages.
func hmacSHA256(key []byte) hash.Hash { return hmac.New(sha256.New, key) }

// newKeyring builds a keyring whose MAC is newMAC; the benchmarks compare
// MACs through it.
func newKeyring(cluster string, newMAC func(key []byte) hash.Hash, keys []Key) (*Keyring, error) {
	if err := checkKeys(cluster, keys); err != nil {
		return nil, err
	}
	kr := &Keyring{cluster: cluster}
	for _, k := range keys {
		mk, err := hkdf.Key(sha256.New, k.Secret, nil, keyLabel+cluster, sha256.Size)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: derive: %v", ErrBadKey, k.ID, err)
		}
		kr.keys = append(kr.keys, ringKey{id: k.ID, pool: &sync.Pool{
			New: func() any { return &macState{h: newMAC(mk)} },
		}})
	}
	return kr, nil
}

func checkKeys(cluster string, keys []Key) error {
	switch {
	case cluster == "" || len(cluster) > MaxClusterLen:
		return fmt.Errorf("%w: cluster name of %d bytes (want 1 to %d)", ErrBadKey, len(cluster), MaxClusterLen)
	case len(keys) == 0 || len(keys) > 2:
		return fmt.Errorf("%w: %d keys (want 1 or 2)", ErrBadKey, len(keys))
	case len(keys) == 2 && keys[0].ID == keys[1].ID:
		return fmt.Errorf("%w: two keys with id %d", ErrBadKey, keys[0].ID)
	}
	for _, k := range keys {
		if err := k.check(); err != nil {
			return err
		}
	}
	return nil
}

// Cluster returns the cluster name the keyring is bound to.
func (kr *Keyring) Cluster() string { return kr.cluster }

// KeyIDs returns the ids of the keyring's keys; the first seals.
func (kr *Keyring) KeyIDs() []byte {
	ids := make([]byte, len(kr.keys))
	for i, k := range kr.keys {
		ids[i] = k.id
	}
	return ids
}

// Seal appends the sealed form of msg to dst and returns the extended
// slice: [SealOverhead] bytes longer than msg. msg may lie in dst's spare
// capacity, so a message built at dst[len(dst)+SealHeaderLen:] is sealed
// in place without a copy; any other overlap is undefined.
func (kr *Keyring) Seal(dst, msg []byte) []byte {
	k := &kr.keys[0]
	n := len(dst)
	dst = slices.Grow(dst, SealOverhead+len(msg))
	dst = dst[:n+SealHeaderLen+len(msg)]
	copy(dst[n+SealHeaderLen:], msg) // a memmove: first, as the header may overlap msg
	dst[n], dst[n+1] = SealFormat, k.id
	st := k.get()
	st.h.Write(dst[n:])
	dst = append(dst, st.h.Sum(st.sum[:0])[:TagLen]...)
	k.pool.Put(st)
	return dst
}

// Open checks sealed's MAC and returns the message it holds, a subslice of
// sealed. Nothing of the message is decoded before the MAC is checked
// (in constant time). Errors wrap [ErrSealTruncated], [ErrSealFormat],
// [ErrUnknownKey] or [ErrBadMAC]; they are the sentinels themselves, so a
// flood of forged messages costs no allocation.
func (kr *Keyring) Open(sealed []byte) ([]byte, error) {
	switch {
	case len(sealed) == 0:
		return nil, ErrSealTruncated
	case sealed[0] != SealFormat:
		return nil, ErrSealFormat
	case len(sealed) < SealOverhead:
		return nil, ErrSealTruncated
	}
	k := kr.key(sealed[1])
	if k == nil {
		return nil, ErrUnknownKey
	}
	body, tag := sealed[:len(sealed)-TagLen], sealed[len(sealed)-TagLen:]
	st := k.get()
	st.h.Write(body)
	ok := hmac.Equal(st.h.Sum(st.sum[:0])[:TagLen], tag)
	k.pool.Put(st)
	if !ok {
		return nil, ErrBadMAC
	}
	return body[SealHeaderLen:], nil
}

// key returns the key with id, or nil.
func (kr *Keyring) key(id byte) *ringKey {
	for i := range kr.keys {
		if kr.keys[i].id == id {
			return &kr.keys[i]
		}
	}
	return nil
}

// get returns a MAC state in its keyed initial state.
func (k *ringKey) get() *macState {
	st := k.pool.Get().(*macState)
	st.h.Reset()
	return st
}
