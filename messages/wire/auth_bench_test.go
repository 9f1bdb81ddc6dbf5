package wire

import (
	"crypto/hmac"
	"crypto/sha512"
	"fmt"
	"hash"
	"testing"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/blake2s"
)

// benchMACs are the candidate MACs, measured through the same Keyring code.
var benchMACs = []struct {
	name   string
	newMAC func(key []byte) hash.Hash
}{
	{"hmac-sha256", hmacSHA256},
	{"hmac-sha512", func(k []byte) hash.Hash { return hmac.New(sha512.New, k) }},
	{"blake2b-256", func(k []byte) hash.Hash { h, _ := blake2b.New256(k); return h }},
	{"blake2s-256", func(k []byte) hash.Hash { h, _ := blake2s.New256(k); return h }},
}

func benchKeyring(b *testing.B, newMAC func([]byte) hash.Hash) *Keyring {
	kr, err := newKeyring("bench", newMAC, []Key{testKey(1, 'a')})
	if err != nil {
		b.Fatal(err)
	}
	return kr
}

// BenchmarkSeal and BenchmarkOpen: each candidate MAC on messages of
// 64 B, 1 KiB and 64 KiB.
func BenchmarkSeal(b *testing.B) { benchMAC(b, false) }
func BenchmarkOpen(b *testing.B) { benchMAC(b, true) }

func benchMAC(b *testing.B, open bool) {
	for _, m := range benchMACs {
		for _, size := range []int{64, 1 << 10, 64 << 10} {
			b.Run(fmt.Sprintf("%s/%d", m.name, size), func(b *testing.B) {
				kr := benchKeyring(b, m.newMAC)
				msg := make([]byte, size)
				buf := kr.Seal(nil, msg)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				defer reportCPU(b, cpuNanos(), 1)
				for b.Loop() {
					if open {
						if _, err := kr.Open(buf); err != nil {
							b.Fatal(err)
						}
					} else {
						buf = kr.Seal(buf[:0], msg)
					}
				}
			})
		}
	}
}

// BenchmarkBatch: a batch of n typical invalidations (about 40 bytes each)
// encoded and decoded ("codec", the baseline), and encoded, sealed, opened
// and decoded ("sealed"); ns/envelope is per invalidation.
func BenchmarkBatch(b *testing.B) {
	for _, n := range []int{1, 16} {
		envs := make([]Envelope, n)
		for i := range envs {
			envs[i] = Envelope{Origin: "node-1", Epoch: 1 << 60, Op: OpInvalidate, Seq: uint64(i + 100000),
				Key: "user:12345678:profile:en", Version: 1 << 50}
		}
		for _, sealed := range []bool{false, true} {
			name := map[bool]string{false: "codec", true: "sealed"}[sealed]
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				kr := benchKeyring(b, hmacSHA256)
				var msg, out []byte
				b.ReportAllocs()
				defer reportCPU(b, cpuNanos(), n)
				for b.Loop() {
					msg, _ = Append(msg[:0], envs...)
					in := msg
					if sealed {
						out = kr.Seal(out[:0], msg)
						var err error
						if in, err = kr.Open(out); err != nil {
							b.Fatal(err)
						}
					}
					if _, err := Decode(in); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(msg))/float64(n), "bytes/envelope")
			})
		}
	}
}

// reportCPU reports the process's CPU time since start per op and, if the
// op handles n envelopes, per envelope: on a machine shared with other
// work these are steadier than ns/op, which is wall time.
func reportCPU(b *testing.B, start int64, n int) {
	cpu := float64(cpuNanos()-start) / float64(b.N)
	b.ReportMetric(cpu, "cpu-ns/op")
	if n > 1 {
		b.ReportMetric(cpu/float64(n), "cpu-ns/envelope")
	}
}
