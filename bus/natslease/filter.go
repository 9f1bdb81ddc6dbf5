package natslease

import "hash/maphash"

// idFilter is a Bloom filter of lease ids, in a fixed number of bits, two
// per id: has never misses an id that add was given, and can report one
// that it was not (a false positive), the more often the more ids were
// added. The table notes in it the leases whose keys it revoked at once
// without recording them, whose ends must flush; a false positive costs
// a flush, never a key served past its lease's end.
type idFilter struct {
	seed maphash.Seed // random, so that no writer can choose ids that collide
	bits []uint64
	mask uint64 // the number of bits, a power of two, minus 1
}

// Bits of an idFilter per lease the table tracks, and the fewest bits.
// With two bits set per id, the share of false positives is about 0.4%
// after as many ids as the table tracks leases, 22% after ten times as
// many, and tends to 1 after that.
const (
	filterBitsPerLease = 32
	minFilterBits      = 1 << 16
)

// newIDFilter returns an empty filter sized for a table of maxLeases
// leases: 4 bytes each (4 MB for 1<<20), at least 8 KB.
func newIDFilter(maxLeases int) *idFilter {
	n := uint64(minFilterBits)
	for n < filterBitsPerLease*uint64(maxLeases) {
		n <<= 1
	}
	return &idFilter{seed: maphash.MakeSeed(), bits: make([]uint64, n/64), mask: n - 1}
}

// add notes id.
func (f *idFilter) add(id string) {
	i, j := f.index(id)
	f.bits[i/64] |= 1 << (i % 64)
	f.bits[j/64] |= 1 << (j % 64)
}

// has reports whether id may have been added: always if it was.
func (f *idFilter) has(id string) bool {
	i, j := f.index(id)
	return f.bits[i/64]&(1<<(i%64)) != 0 && f.bits[j/64]&(1<<(j%64)) != 0
}

// index returns the two bits of id, from the two halves of its hash (the
// filter has at most 1<<29 bits).
func (f *idFilter) index(id string) (uint64, uint64) {
	h := maphash.String(f.seed, id)
	return h & f.mask, h >> 32 & f.mask
}
