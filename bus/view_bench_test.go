package bus

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkLeaseBase: the lease check the actor runs after every message,
// with 3 and 32 members in its view.
func BenchmarkLeaseBase(b *testing.B) {
	for _, n := range []int{3, 32} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			now := time.Now()
			a := &busActor{anchored: true, memberUntil: now.Add(time.Hour), members: map[string]*memberState{}, peers: map[string]*peer{}}
			a.cfg.Now = func() time.Time { return now }
			for i := range n {
				id := fmt.Sprint("n", i)
				a.members[id] = &memberState{Member: Member{Node: id, Epoch: 1}}
				p := newPeer(id, 1, false)
				p.leaseUntil = now.Add(time.Minute)
				a.peers[id] = p
			}
			b.ReportAllocs()
			for b.Loop() {
				if a.leaseBase().IsZero() {
					b.Fatal("no lease")
				}
			}
		})
	}
}
