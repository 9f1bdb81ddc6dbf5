package natslease

import (
	"encoding/binary"
	"testing"
	"time"
)

// A probe entry counts only if it carries the number and nonce the
// watcher recorded: anything else another writer of the bucket puts under
// the watcher's probe key (a value of another size, a number not written
// yet, a nonce guessed wrong) proves nothing, and a probe older than the
// log is only checked for the gap.
func TestProbeLogTakesOnlyItsOwnProbes(t *testing.T) {
	var log probeLog
	t0 := time.Unix(1e9, 0)
	for n := uint64(1); n <= 20; n++ {
		log.record(probe{n: n, nonce: n * 7919, sent: t0.Add(time.Duration(n) * time.Second)})
	}
	value := func(n, nonce uint64) []byte {
		return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, n), nonce)
	}
	for _, c := range []struct {
		name        string
		value       []byte
		known, old  bool
		wantSentSec int
	}{
		{"the latest", value(20, 20*7919), true, false, 20},
		{"the oldest still logged", value(5, 5*7919), true, false, 5},
		{"a wrong nonce", value(20, 1), false, false, 0},
		{"a number not written yet", value(21, 21*7919), false, false, 0},
		{"number 0", value(0, 0), false, false, 0},
		{"older than the log", value(4, 4*7919), false, true, 0},
		{"empty", nil, false, false, 0},
		{"short", value(20, 20*7919)[:15], false, false, 0},
		{"long", append(value(20, 20*7919), 0), false, false, 0},
		{"far too long", make([]byte, 1<<20), false, false, 0},
	} {
		pr, known, old := log.lookup(c.value)
		if known != c.known || old != c.old {
			t.Errorf("%s: known %v, old %v; want %v, %v", c.name, known, old, c.known, c.old)
		}
		if known && pr.sent != t0.Add(time.Duration(c.wantSentSec)*time.Second) {
			t.Errorf("%s: sent %v; want %d s after t0", c.name, pr.sent, c.wantSentSec)
		}
	}
}
