package shard

import (
	"encoding/binary"
	"fmt"

	"github.com/warpcache/warp/merge"
)

// headerFormat is the first byte of every entry; a different byte means the
// entry was written by an incompatible build and is treated as a miss.
const headerFormat = 1

// HeaderSize is the number of bytes the entry header takes in front of the
// encoded value.
const HeaderSize = 1 + 8 + 8 + 4 + 1

// Entry flags.
const (
	// FlagStrong marks an entry of a StrongDistributed key: readers serve it
	// only while the node's coherence lease is valid.
	FlagStrong uint8 = 1 << iota
	// FlagNegative marks a negative entry: the store had no such key.
	FlagNegative
	// FlagLeased marks an entry of an EventualDistributed key (with the
	// flush repair policy): readers serve it, too, only while the node's
	// coherence lease is valid. A node that stopped hearing the bus cannot
	// tell which of its copies are stale, nor which belong to a
	// transaction whose other keys it already reloads.
	FlagLeased
	// FlagServeStale marks an entry of an EventualDistributed key with the
	// serve-stale repair policy: readers serve it while the node's
	// coherence lease is valid and, without the lease, for at most the
	// registration's maxAge after the lease ended.
	FlagServeStale
)

// Header is the per-entry metadata the shard keeps in front of each value.
type Header struct {
	Version merge.Version
	// Expiry is the node-clock time, in nanoseconds, after which the entry
	// must not be served.
	Expiry int64
	// Epoch is the registration-table epoch the entry was resolved under;
	// an entry from another epoch is re-checked against the table.
	Epoch uint32
	Flags uint8
}

// AppendHeader appends the encoding of h to dst.
func AppendHeader(dst []byte, h Header) []byte {
	dst = append(dst, headerFormat)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(h.Version))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(h.Expiry))
	dst = binary.LittleEndian.AppendUint32(dst, h.Epoch)
	return append(dst, h.Flags)
}

// ParseHeader splits an entry into its header and value.
func ParseHeader(entry []byte) (Header, []byte, error) {
	if len(entry) < HeaderSize || entry[0] != headerFormat {
		return Header{}, nil, fmt.Errorf("%w: %d-byte entry", ErrCorrupt, len(entry))
	}
	h := Header{
		Version: merge.Version(binary.LittleEndian.Uint64(entry[1:])),
		Expiry:  int64(binary.LittleEndian.Uint64(entry[9:])),
		Epoch:   binary.LittleEndian.Uint32(entry[17:]),
		Flags:   entry[21],
	}
	return h, entry[HeaderSize:], nil
}

// Live reports whether an entry with this header may be served at now.
func (h Header) Live(now int64) bool { return now < h.Expiry }

// PatchVersion sets the version of an encoded entry in place, for writers
// that encode the entry before the store assigns its version.
func PatchVersion(entry []byte, v merge.Version) {
	binary.LittleEndian.PutUint64(entry[1:], uint64(v))
}
