package wire

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/warpcache/warp/merge"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	base := Envelope{Origin: "node-a", Epoch: 1700000000000000000}
	with := func(f func(*Envelope)) Envelope { e := base; f(&e); return e }
	tests := []struct {
		name string
		envs []Envelope
	}{
		{"invalidate", []Envelope{with(func(e *Envelope) { e.Op, e.Seq, e.Key, e.Version = OpInvalidate, 1, "user:1", 42 })}},
		{"strong", []Envelope{with(func(e *Envelope) {
			e.Op, e.Seq, e.Key, e.Version, e.Strong = OpInvalidate, 7, "k", 1<<40, true
		})}},
		{"fence", []Envelope{with(func(e *Envelope) {
			e.Op, e.Seq, e.Key, e.Version, e.Strong, e.Fence = OpInvalidate, 7, "k", 1<<40, true, true
		})}},
		{"release", []Envelope{with(func(e *Envelope) { e.Op, e.Seq, e.Key, e.Version, e.Release = OpInvalidate, 8, "k", 1<<40, true })}},
		{"member answer", []Envelope{with(func(e *Envelope) { e.Op, e.Ref, e.Watermark, e.Member = OpHeartbeatAck, 3, 9, true })}},
		{"prefix", []Envelope{with(func(e *Envelope) { e.Op, e.Seq, e.Key = OpInvalidatePrefix, 2, "user:" })}},
		{"heartbeat", []Envelope{with(func(e *Envelope) { e.Op, e.Watermark, e.Ref = OpHeartbeat, 99, 3 })}},
		{"nack", []Envelope{with(func(e *Envelope) { e.Op, e.Watermark, e.Ref = OpNack, 5, 9 })}},
		{"zero epoch", []Envelope{{Origin: "a", Op: OpLeave}}},
		{"unknown op", []Envelope{with(func(e *Envelope) { e.Op = 200 })}},
		{"max values", []Envelope{with(func(e *Envelope) {
			e.Op, e.Seq, e.Version, e.Watermark, e.Ref = OpAck, ^uint64(0), merge.MaxVersion, ^uint64(0), ^uint64(0)
			e.Strong, e.Fence, e.Release, e.Member = true, true, true, true
			e.Key = strings.Repeat("x", MaxKeyLen)
		})}},
		{"batch", []Envelope{
			with(func(e *Envelope) { e.Op, e.Seq, e.Key = OpInvalidate, 10, "a" }),
			with(func(e *Envelope) { e.Op, e.Seq, e.Key = OpInvalidate, 11, "b" }),
			with(func(e *Envelope) { e.Op, e.Seq = OpFlush, 12 }),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := Append([]byte("prefix"), tt.envs...)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			got, err := Decode(b[len("prefix"):])
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.envs) {
				t.Fatalf("got %+v; want %+v", got, tt.envs)
			}
		})
	}
}

func TestAppendInvalid(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("n", MaxNodeIDLen+1)
	tests := []struct {
		name string
		envs []Envelope
	}{
		{"empty batch", nil},
		{"no op", []Envelope{{Origin: "a"}}},
		{"empty origin", []Envelope{{Op: OpFlush}}},
		{"mixed origin", []Envelope{{Origin: "a", Op: OpFlush}, {Origin: "b", Op: OpFlush}}},
		{"mixed epoch", []Envelope{{Origin: "a", Op: OpFlush}, {Origin: "a", Epoch: 2, Op: OpFlush}}},
		{"long origin", []Envelope{{Origin: long, Op: OpFlush}}},
		{"long key", []Envelope{{Origin: "a", Op: OpFlush, Key: strings.Repeat("k", MaxKeyLen+1)}}},
		{"version above MaxVersion", []Envelope{{Origin: "a", Op: OpInvalidate, Version: merge.MaxVersion + 1}}},
		{"version 2^63+1", []Envelope{{Origin: "a", Op: OpInvalidate, Version: 1<<63 + 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dst := []byte{1, 2}
			got, err := Append(dst, tt.envs...)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got error %v; want ErrInvalid", err)
			}
			if len(got) != 2 {
				t.Fatalf("got %d bytes; want dst unchanged", len(got))
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	t.Parallel()
	good, err := Append(nil, Envelope{Origin: "a", Epoch: 5, Op: OpInvalidate, Seq: 3, Key: "key", Version: 9})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"version 0", []byte{0}, ErrVersion},
		{"version 1", append([]byte{1}, good[1:]...), ErrVersion},
		{"version 3", append([]byte{3}, good[1:]...), ErrVersion},
		{"only version", []byte{FormatVersion}, ErrMalformed},
		{"zero count", []byte{FormatVersion, 1, 'a', 5, 0}, ErrMalformed},
		{"huge count", []byte{FormatVersion, 1, 'a', 5, 0xff, 0xff, 0x03, 4, 0}, ErrMalformed},
		{"empty origin", []byte{FormatVersion, 0, 5, 1, 1, 0}, ErrMalformed},
		{"origin too long", append([]byte{FormatVersion, 0xff, 0x7f}, make([]byte, 300)...), ErrMalformed},
		{"overlong uvarint", []byte{FormatVersion, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, ErrMalformed},
		{"op 0", []byte{FormatVersion, 1, 'a', 5, 1, 0, 0}, ErrMalformed},
		{"unknown flag", []byte{FormatVersion, 1, 'a', 5, 1, 1, 0x80, 0x08}, ErrMalformed},
		{"version above MaxVersion", []byte{FormatVersion, 1, 'a', 5, 1, 1, flagVersion, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40}, ErrMalformed},
		{"version 2^64-1", []byte{FormatVersion, 1, 'a', 5, 1, 1, flagVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrMalformed},
		{"field present but 0", []byte{FormatVersion, 1, 'a', 5, 1, 1, flagSeq, 0}, ErrMalformed},
		{"trailing byte", append(append([]byte{}, good...), 0), ErrMalformed},
	}
	for i := 1; i < len(good); i++ {
		tests = append(tests, struct {
			name string
			msg  []byte
			want error
		}{"truncated", good[:i], ErrMalformed})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			envs, err := Decode(tt.msg)
			if !errors.Is(err, tt.want) || envs != nil {
				t.Fatalf("got %v, %v; want nil, %v", envs, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "wire: ") {
				t.Fatalf("got message %q; want the package prefix", err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	seed := []Envelope{
		{Origin: "n1", Epoch: 1, Op: OpInvalidate, Seq: 1, Key: "k", Version: 1, Strong: true},
		{Origin: "n1", Epoch: 1, Op: OpHeartbeat, Watermark: 1, Ref: 2},
		{Origin: "n1", Epoch: 1, Op: OpInvalidate, Seq: 2, Key: "k", Version: 5, Fence: true, Release: true},
		{Origin: "n1", Epoch: 1, Op: OpHeartbeatAck, Ref: 2, Member: true},
	}
	b, _ := Append(nil, seed...)
	f.Add(b)
	f.Add([]byte{FormatVersion, 0, 0, 1, byte(OpFlush), 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		envs, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		again, err := Append(nil, envs...)
		if err != nil {
			t.Fatalf("Append of decoded envelopes: %v", err)
		}
		got, err := Decode(again)
		if err != nil {
			t.Fatalf("Decode of re-encoded message: %v", err)
		}
		if !reflect.DeepEqual(got, envs) {
			t.Fatalf("round trip: got %+v; want %+v", got, envs)
		}
	})
}

func BenchmarkAppendDecode(b *testing.B) {
	envs := make([]Envelope, 16)
	for i := range envs {
		envs[i] = Envelope{Origin: "node-1", Epoch: 1 << 60, Op: OpInvalidate, Seq: uint64(i + 1000), Key: "user:12345", Version: 1 << 50}
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = Append(buf[:0], envs...)
		if _, err := Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
}
