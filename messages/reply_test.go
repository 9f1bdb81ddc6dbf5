package messages

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestWaitAnswered: an answer sent before Wait is returned at once, and
// the slot goes back to its pool reusable.
func TestWaitAnswered(t *testing.T) {
	t.Parallel()
	var pool ReplyPool
	r := pool.Get()
	r.Send(Result{Version: 7, Applied: true})
	if res := r.Wait(); res.Version != 7 || !res.Applied {
		t.Fatalf("Wait = %+v; want the answer sent", res)
	}
	pool.Put(r)
	r = pool.Get()
	r.Send(Result{Version: 8})
	if res := r.Wait(); res.Version != 8 {
		t.Fatalf("reused slot: Wait = %+v; want the new answer", res)
	}
}

// TestWaitParksForALateAnswer: an answer that comes after the polling
// ends is still received, with Wait parked. In a synctest bubble the clock
// stands still while Wait polls, so only the poll count ends the polling:
// without it this test would never finish.
func TestWaitParksForALateAnswer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := NewReply()
		go func() {
			time.Sleep(time.Second) // fake time: passes once Wait parks
			r.Send(Result{Version: 9})
		}()
		if res := r.Wait(); res.Version != 9 {
			t.Fatalf("Wait = %+v; want the late answer", res)
		}
	})
}
