package memory

import (
	"testing"
	"time"

	"github.com/warpcache/warp/store"
)

// TestRenewDoesNotWaitForWrites: Renew returns, renewed, while a guarded
// write of its member is in flight (holding its cluster's read lock, as
// enterOne leaves it), as it does on PostgreSQL.
func TestRenewDoesNotWaitForWrites(t *testing.T) {
	t.Parallel()
	s := New[[]byte](Options{})
	inc, err := s.Join(t.Context(), "c", "a", 1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.enterOne("set", store.Guard{Cluster: "c", Node: "a", Incarnation: inc})
	if err != nil {
		t.Fatal(err)
	}
	defer c.mu.RUnlock() // the write in flight ends
	type result struct {
		ms  []store.Member
		err error
	}
	done := make(chan result, 1)
	go func() {
		ms, err := s.Renew(t.Context(), "c", "a", inc)
		done <- result{ms, err}
	}()
	select {
	case r := <-done:
		if want := (store.Member{Node: "a", Incarnation: inc, Counter: 1}); r.err != nil || len(r.ms) != 1 || r.ms[0] != want {
			t.Fatalf("Renew = %+v, %v; want [%+v], nil", r.ms, r.err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Renew still waits for a guarded write in flight after 5s")
	}
}
