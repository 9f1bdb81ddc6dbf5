package wire

import (
	"encoding/binary"
	"fmt"

	"github.com/warpcache/warp/merge"
)

// Flag bits of an envelope: either a boolean, or that the field follows.
const (
	flagStrong = 1 << iota
	flagSeq
	flagKey
	flagVersion
	flagWatermark
	flagRef
	flagFence
	flagRelease
	flagMember
	flagsKnown = 1<<iota - 1
)

// minEnvelopeLen is the smallest encoded envelope: op and flags.
const minEnvelopeLen = 2

// Append appends one message holding envs to dst and returns the extended
// slice. Every envelope must have the same Origin and Epoch, a non-zero Op,
// and fields within their bounds; otherwise Append returns dst unchanged
// and an error wrapping [ErrInvalid].
func Append(dst []byte, envs ...Envelope) ([]byte, error) {
	if err := check(envs); err != nil {
		return dst, err
	}
	dst = append(dst, FormatVersion)
	dst = appendString(dst, envs[0].Origin)
	dst = binary.AppendUvarint(dst, envs[0].Epoch)
	dst = binary.AppendUvarint(dst, uint64(len(envs)))
	for i := range envs {
		dst = appendEnvelope(dst, &envs[i])
	}
	return dst, nil
}

func check(envs []Envelope) error {
	if len(envs) == 0 || len(envs) > MaxBatch {
		return fmt.Errorf("%w: batch of %d envelopes (want 1 to %d)", ErrInvalid, len(envs), MaxBatch)
	}
	for i := range envs {
		e := &envs[i]
		switch {
		case e.Origin != envs[0].Origin || e.Epoch != envs[0].Epoch:
			return fmt.Errorf("%w: envelope %d has another origin than envelope 0", ErrInvalid, i)
		case e.Op == 0:
			return fmt.Errorf("%w: envelope %d has no op", ErrInvalid, i)
		case e.Origin == "" || len(e.Origin) > MaxNodeIDLen:
			return fmt.Errorf("%w: node id of %d bytes (want 1 to %d)", ErrInvalid, len(e.Origin), MaxNodeIDLen)
		case len(e.Key) > MaxKeyLen:
			return fmt.Errorf("%w: key of %d bytes (max %d)", ErrInvalid, len(e.Key), MaxKeyLen)
		case !e.Version.Valid():
			return fmt.Errorf("%w: version %d above %d", ErrInvalid, e.Version, merge.MaxVersion)
		}
	}
	return nil
}

func appendEnvelope(dst []byte, e *Envelope) []byte {
	var flags uint64
	for _, b := range [...]struct {
		set  bool
		flag uint64
	}{{e.Strong, flagStrong}, {e.Fence, flagFence}, {e.Release, flagRelease}, {e.Member, flagMember}} {
		if b.set {
			flags |= b.flag
		}
	}
	for _, f := range [...]struct {
		v    uint64
		flag uint64
	}{{e.Seq, flagSeq}, {uint64(e.Version), flagVersion}, {e.Watermark, flagWatermark}, {e.Ref, flagRef}} {
		if f.v != 0 {
			flags |= f.flag
		}
	}
	if e.Key != "" {
		flags |= flagKey
	}
	dst = append(dst, byte(e.Op))
	dst = binary.AppendUvarint(dst, flags)
	dst = appendUint(dst, e.Seq)
	if e.Key != "" {
		dst = appendString(dst, e.Key)
	}
	dst = appendUint(dst, uint64(e.Version))
	dst = appendUint(dst, e.Watermark)
	return appendUint(dst, e.Ref)
}

// appendUint appends v unless it is 0 (its flag then says it is absent).
func appendUint(dst []byte, v uint64) []byte {
	if v == 0 {
		return dst
	}
	return binary.AppendUvarint(dst, v)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// Decode decodes one message made by [Append]. On bad input it returns an
// error wrapping [ErrVersion] (unknown format version) or [ErrMalformed]
// (anything else), and never panics.
func Decode(b []byte) ([]Envelope, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrMalformed)
	}
	if b[0] != FormatVersion {
		return nil, fmt.Errorf("%w: %d (want %d)", ErrVersion, b[0], FormatVersion)
	}
	r := reader{b: b, off: 1}
	origin := r.string(MaxNodeIDLen, "origin")
	if r.err == nil && origin == "" {
		r.fail("empty origin")
	}
	epoch := r.uvarint("epoch")
	n := r.uvarint("count")
	if r.err == nil && (n == 0 || n > MaxBatch || n > uint64(len(b)-r.off)/minEnvelopeLen) {
		r.fail("count %d does not fit the message", n)
	}
	if r.err != nil {
		return nil, r.err
	}
	envs := make([]Envelope, n)
	for i := range envs {
		envs[i] = Envelope{Origin: origin, Epoch: epoch}
		r.envelope(&envs[i])
	}
	if r.err == nil && r.off != len(b) {
		r.fail("%d trailing bytes", len(b)-r.off)
	}
	if r.err != nil {
		return nil, r.err
	}
	return envs, nil
}

// reader decodes fields of b from off; the first error sticks in err and
// makes every later read a no-op.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: at byte %d: %s", ErrMalformed, r.off, fmt.Sprintf(format, args...))
	}
}

func (r *reader) byte(what string) byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail("truncated %s", what)
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad uvarint %s", what)
		return 0
	}
	r.off += n
	return v
}

func (r *reader) string(max int, what string) string {
	n := r.uvarint(what + " length")
	if r.err != nil {
		return ""
	}
	if n > uint64(max) || n > uint64(len(r.b)-r.off) {
		r.fail("%s of %d bytes (max %d, %d left)", what, n, max, len(r.b)-r.off)
		return ""
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return s
}

func (r *reader) envelope(e *Envelope) {
	e.Op = Op(r.byte("op"))
	flags := r.uvarint("flags")
	if r.err == nil && e.Op == 0 {
		r.fail("op 0")
	}
	if r.err == nil && flags&^flagsKnown != 0 {
		r.fail("unknown flags %#x", flags)
	}
	e.Strong = flags&flagStrong != 0
	e.Fence = flags&flagFence != 0
	e.Release = flags&flagRelease != 0
	e.Member = flags&flagMember != 0
	e.Seq = r.optUint(flags, flagSeq, "seq")
	if flags&flagKey != 0 {
		e.Key = r.string(MaxKeyLen, "key")
	}
	e.Version = merge.Version(r.optUint(flags, flagVersion, "version"))
	if r.err == nil && !e.Version.Valid() {
		r.fail("version %d above %d", e.Version, merge.MaxVersion)
	}
	e.Watermark = r.optUint(flags, flagWatermark, "watermark")
	e.Ref = r.optUint(flags, flagRef, "ref")
}

func (r *reader) optUint(flags, bit uint64, what string) uint64 {
	if flags&bit == 0 {
		return 0
	}
	v := r.uvarint(what)
	if r.err == nil && v == 0 {
		r.fail("%s present but 0", what)
	}
	return v
}
