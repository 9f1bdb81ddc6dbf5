package messages

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warpcache/warp/merge"
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

// TestReplyAcrossGoroutines: answers sent from another goroutine, while
// the waiter polls or after it parked, reach the waiter that owns the slot,
// through slots reused from the pool.
func TestReplyAcrossGoroutines(t *testing.T) {
	t.Parallel()
	var pool ReplyPool
	for i := range 5000 {
		r := pool.Get()
		go func() {
			if i%50 == 0 {
				time.Sleep(100 * time.Microsecond) // past the polling: Wait parks
			}
			r.Send(Result{Version: merge.Version(i + 1)})
		}()
		if res := r.Wait(); res.Version != merge.Version(i+1) {
			t.Fatalf("request %d: Wait = %+v; want version %d", i, res, i+1)
		}
		pool.Put(r)
	}
}

// BenchmarkReply measures one request's reply: a slot from the pool,
// answered, received and put back, on one goroutine as with a shard that
// runs on its caller's goroutine.
func BenchmarkReply(b *testing.B) {
	var pool ReplyPool
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := pool.Get()
			r.Send(Result{Version: 1, Applied: true})
			if res := r.Wait(); !res.Applied {
				b.Fatal("no answer")
			}
			pool.Put(r)
		}
	})
}

// TestWaitPollsWithoutYieldingOnlyOnManyProcessors: the choice is made
// once, from GOMAXPROCS when the program starts. A child process started
// with GOMAXPROCS=1 must not poll without yielding (the goroutine that
// would answer could not run meanwhile); this process, on more than one
// processor, must.
func TestWaitPollsWithoutYieldingOnlyOnManyProcessors(t *testing.T) {
	if os.Getenv("WARP_TEST_MULTICORE_CHILD") == "1" {
		fmt.Printf("multicore=%v\n", multicore)
		return
	}
	if runtime.GOMAXPROCS(0) > 1 && !multicore {
		t.Fatalf("GOMAXPROCS %d: multicore = false; want true", runtime.GOMAXPROCS(0))
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestWaitPollsWithoutYieldingOnlyOnManyProcessors$")
	cmd.Env = append(os.Environ(), "WARP_TEST_MULTICORE_CHILD=1", "GOMAXPROCS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "multicore=false") {
		t.Fatalf("child with GOMAXPROCS=1 printed %q; want multicore=false", out)
	}
}

// TestWaitOr: WaitOr returns an answer sent before or while it waits, and
// gives up when done closes first; an answer that comes after that does
// not block its sender.
func TestWaitOr(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := NewReply()
		r.Send(Result{Gen: 1})
		if res, ok := r.WaitOr(make(chan struct{})); !ok || res.Gen != 1 {
			t.Fatalf("WaitOr after the answer = %+v, %v; want Gen 1, true", res, ok)
		}
		r = NewReply()
		go func() {
			time.Sleep(time.Second)
			r.Send(Result{Gen: 2})
		}()
		if res, ok := r.WaitOr(make(chan struct{})); !ok || res.Gen != 2 {
			t.Fatalf("WaitOr for a late answer = %+v, %v; want Gen 2, true", res, ok)
		}
		r = NewReply()
		done := make(chan struct{})
		go func() {
			time.Sleep(time.Second)
			close(done)
		}()
		if _, ok := r.WaitOr(done); ok {
			t.Fatal("WaitOr with done closed and no answer reported one")
		}
		r.Send(Result{Gen: 3}) // to an abandoned slot: must not block
	})
}
