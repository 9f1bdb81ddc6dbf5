package natslock_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/warpcache/warp/bus/natslock"
)

// slack covers the difference between the server's wall clock, which
// times the TTL, and the test's monotonic clock.
const slack = 20 * time.Millisecond

// TestExpiryWhenHolderVanishes: a holder whose connection closes without
// Unlock loses the lock when its TTL runs out on the server, not before;
// the waiter gets a larger token.
func TestExpiryWhenHolderVanishes(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	a, b, ctx := twoHolders(t)

	start := time.Now()
	ka, err := a.l.TryLock(ctx, "v", ttl)
	if err != nil {
		t.Fatalf("TryLock: %v", err)
	}
	a.nc.Close() // the holder vanishes
	kb, err := b.l.Lock(ctx, "v", ttl)
	waited := time.Since(start)
	if err != nil {
		t.Fatalf("Lock after the holder vanished: %v", err)
	}
	if waited < ttl-slack || waited > ttl+3*time.Second {
		t.Errorf("got the lock after %v; want within [%v, %v]", waited, ttl, ttl+3*time.Second)
	}
	if kb.Token() <= ka.Token() {
		t.Errorf("got token %d after %d; want larger", kb.Token(), ka.Token())
	}
	t.Logf("TTL %v: taken over after %v (tokens %d → %d)", ttl, waited, ka.Token(), kb.Token())
}

// TestRefreshExtends: Refresh keeps the lock past its first TTL, the new
// TTL is enforced by the server when the holder vanishes, and the token
// does not change.
func TestRefreshExtends(t *testing.T) {
	t.Parallel()
	const ttl, longer = time.Second, 3 * time.Second
	a, b, ctx := twoHolders(t)

	start := time.Now()
	ka, err := a.l.TryLock(ctx, "r", ttl)
	if err != nil {
		t.Fatalf("TryLock: %v", err)
	}
	token := ka.Token()
	refreshed := time.Now()
	if err := ka.Refresh(ctx, longer); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if ka.Token() != token {
		t.Errorf("token after Refresh: got %d; want %d", ka.Token(), token)
	}
	// Past the first TTL (plus a second of slack), the lock is still held.
	short, cancel := context.WithDeadline(ctx, start.Add(2*ttl))
	_, err = b.l.Lock(short, "r", ttl)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock during the refreshed TTL: got %v; want context.DeadlineExceeded", err)
	}
	a.nc.Close()
	kb, err := b.l.Lock(ctx, "r", ttl)
	waited := time.Since(refreshed)
	if err != nil {
		t.Fatalf("Lock after the holder vanished: %v", err)
	}
	if waited < longer-slack || waited > longer+3*time.Second {
		t.Errorf("got the lock %v after Refresh; want within [%v, %v]", waited, longer, longer+3*time.Second)
	}
	if kb.Token() <= token {
		t.Errorf("got token %d after %d; want larger", kb.Token(), token)
	}
	t.Logf("refreshed to %v: taken over %v after Refresh", longer, waited)
}

// TestStaleHolder: after its lock expired and was granted again, the old
// holder's Refresh and Unlock return ErrNotHeld and leave the new holder's
// lock alone; a second Unlock also returns ErrNotHeld.
func TestStaleHolder(t *testing.T) {
	t.Parallel()
	a, b, ctx := twoHolders(t)

	ka, err := a.l.TryLock(ctx, "s", time.Second)
	if err != nil {
		t.Fatalf("TryLock: %v", err)
	}
	kb, err := b.l.Lock(ctx, "s", 30*time.Second) // waits for a's TTL
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if err := ka.Refresh(ctx, 0); !errors.Is(err, natslock.ErrNotHeld) {
		t.Errorf("stale Refresh: got %v; want ErrNotHeld", err)
	}
	if err := ka.Unlock(ctx); !errors.Is(err, natslock.ErrNotHeld) {
		t.Errorf("stale Unlock: got %v; want ErrNotHeld", err)
	}
	if _, err := a.l.TryLock(ctx, "s", time.Second); !errors.Is(err, natslock.ErrLocked) {
		t.Errorf("TryLock after the stale calls: got %v; want ErrLocked", err)
	}
	if err := kb.Refresh(ctx, 0); err != nil {
		t.Errorf("holder's Refresh: %v", err)
	}
	if err := kb.Unlock(ctx); err != nil {
		t.Errorf("holder's Unlock: %v", err)
	}
	if err := kb.Unlock(ctx); !errors.Is(err, natslock.ErrNotHeld) {
		t.Errorf("second Unlock: got %v; want ErrNotHeld", err)
	}
	if err := ka.Unlock(ctx); !errors.Is(err, natslock.ErrNotHeld) {
		t.Errorf("stale Unlock of a released lock: got %v; want ErrNotHeld", err)
	}
}

// storedTTL returns the TTL the server holds for lock name's entry in the
// default bucket: the Nats-TTL header it expires the entry by.
func storedTTL(t *testing.T, ctx context.Context, n *node, name string) time.Duration {
	t.Helper()
	s, err := n.js.Stream(ctx, "KV_"+natslock.DefaultBucket)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	m, err := s.GetLastMsgForSubject(ctx, "$KV."+natslock.DefaultBucket+"."+name)
	if err != nil {
		t.Fatalf("GetLastMsgForSubject(%s): %v", name, err)
	}
	d, err := time.ParseDuration(m.Header.Get(jetstream.MsgTTLHeader))
	if err != nil {
		t.Fatalf("entry of %s: Nats-TTL %q: %v", name, m.Header.Get(jetstream.MsgTTLHeader), err)
	}
	return d
}

// TestTTLRoundedUp: every TTL, of a grant and of a Refresh, reaches the
// server rounded up to whole seconds, at least 1 s (1.2 s → 2 s, 300 ms →
// 1 s), and a Refresh with TTL 0 keeps the TTL last used; so a lock
// never expires earlier than asked: a 1.2 s lock of a vanished holder is
// not taken over before 2 s.
func TestTTLRoundedUp(t *testing.T) {
	t.Parallel()
	a, b, ctx := twoHolders(t)
	for _, tt := range []struct {
		name      string
		ttl, want time.Duration
	}{
		{"ms300", 300 * time.Millisecond, time.Second},
		{"s1", time.Second, time.Second},
		{"s1_2", 1200 * time.Millisecond, 2 * time.Second},
	} {
		k, err := a.l.TryLock(ctx, tt.name, tt.ttl)
		if err != nil {
			t.Fatalf("TryLock(%s, %v): %v", tt.name, tt.ttl, err)
		}
		if got := storedTTL(t, ctx, a, tt.name); got != tt.want {
			t.Errorf("TryLock(%v): the server holds TTL %v; want %v", tt.ttl, got, tt.want)
		}
		if err := k.Refresh(ctx, 2100*time.Millisecond); err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		if got := storedTTL(t, ctx, a, tt.name); got != 3*time.Second {
			t.Errorf("Refresh(2.1s): the server holds TTL %v; want 3s", got)
		}
		if err := k.Refresh(ctx, 0); err != nil {
			t.Fatalf("Refresh(0): %v", err)
		}
		if got := storedTTL(t, ctx, a, tt.name); got != 3*time.Second {
			t.Errorf("Refresh(0) after Refresh(2.1s): the server holds TTL %v; want the last used, 3s", got)
		}
		if err := k.Unlock(ctx); err != nil {
			t.Fatalf("Unlock: %v", err)
		}
	}

	start := time.Now()
	if _, err := a.l.TryLock(ctx, "vanish", 1200*time.Millisecond); err != nil {
		t.Fatalf("TryLock: %v", err)
	}
	a.nc.Close() // the holder vanishes
	if _, err := b.l.Lock(ctx, "vanish", time.Second); err != nil {
		t.Fatalf("Lock after the holder vanished: %v", err)
	}
	if waited := time.Since(start); waited < 2*time.Second-slack {
		t.Errorf("a 1.2s lock was taken over after %v; want not before 2s", waited)
	}
}

// TestTTLAboveMax: a TTL above MaxTTL, such as time.Duration(math.MaxInt64)
// meant as "forever", is refused with ErrInvalid by TryLock, Lock, Refresh
// and New, and a refused Refresh leaves the grant as it was; MaxTTL itself
// reaches the server whole. The rounding used to wrap such a TTL to 1s, so
// a "forever" lock expired after a second.
func TestTTLAboveMax(t *testing.T) {
	t.Parallel()
	a, b, ctx := twoHolders(t)
	for _, ttl := range []time.Duration{natslock.MaxTTL + 1, math.MaxInt64 - time.Second + 2, math.MaxInt64} {
		if k, err := a.l.TryLock(ctx, "forever", ttl); !errors.Is(err, natslock.ErrInvalid) {
			t.Errorf("TryLock(%d) = %v, %v; want ErrInvalid", ttl, k, err)
		}
		if k, err := a.l.Lock(ctx, "forever", ttl); !errors.Is(err, natslock.ErrInvalid) {
			t.Errorf("Lock(%d) = %v, %v; want ErrInvalid", ttl, k, err)
		}
		if _, err := natslock.New(ctx, a.js, natslock.Config{DefaultTTL: ttl}); !errors.Is(err, natslock.ErrInvalid) {
			t.Errorf("New with DefaultTTL %d = %v; want ErrInvalid", ttl, err)
		}
	}
	k, err := a.l.TryLock(ctx, "forever", natslock.MaxTTL)
	if err != nil {
		t.Fatalf("TryLock(MaxTTL): %v", err)
	}
	if got := storedTTL(t, ctx, a, "forever"); got != natslock.MaxTTL {
		t.Errorf("TryLock(MaxTTL): the server holds TTL %v; want %v", got, natslock.MaxTTL)
	}
	if err := k.Refresh(ctx, 2*time.Second); err != nil {
		t.Fatalf("Refresh(2s): %v", err)
	}
	if err := k.Refresh(ctx, math.MaxInt64); !errors.Is(err, natslock.ErrInvalid) {
		t.Errorf("Refresh(MaxInt64) = %v; want ErrInvalid", err)
	}
	if got := storedTTL(t, ctx, a, "forever"); got != 2*time.Second {
		t.Errorf("after a refused Refresh the server holds TTL %v; want the last one, 2s", got)
	}
	if err := k.Refresh(ctx, natslock.MaxTTL); err != nil {
		t.Fatalf("Refresh(MaxTTL) after a refused one: %v", err)
	}
	if got := storedTTL(t, ctx, a, "forever"); got != natslock.MaxTTL {
		t.Errorf("Refresh(MaxTTL): the server holds TTL %v; want %v", got, natslock.MaxTTL)
	}
	if _, err := b.l.TryLock(ctx, "forever", time.Second); !errors.Is(err, natslock.ErrLocked) {
		t.Errorf("TryLock by another holder = %v; want ErrLocked", err)
	}
	if err := k.Unlock(ctx); err != nil {
		t.Errorf("Unlock: %v", err)
	}
}

// errLostReply stands for the reply of a write that the server stored.
var errLostReply = errors.New("reply lost")

// TestRefreshAfterLostReply: a Refresh the server stored but whose reply
// was lost (forced through the written hook) fails, yet the grant still
// holds the lock; the next Refresh and the Unlock find the newer revision,
// read the entry, see it is the grant's own, and carry on. They used to
// answer ErrNotHeld, leaving the lock stuck until its TTL.
func TestRefreshAfterLostReply(t *testing.T) {
	t.Parallel()
	a, b, ctx := twoHolders(t)
	lose := true
	natslock.SetWrittenHook(a.l, func(string) error {
		if lose {
			lose = false
			return errLostReply
		}
		return nil
	})
	k, err := a.l.TryLock(ctx, "lost", time.Minute)
	if err != nil {
		t.Fatalf("TryLock: %v", err)
	}
	if err := k.Refresh(ctx, 2*time.Minute); !errors.Is(err, errLostReply) {
		t.Fatalf("Refresh with its reply lost = %v; want the lost reply", err)
	}
	if got := storedTTL(t, ctx, a, "lost"); got != 2*time.Minute {
		t.Fatalf("the server holds TTL %v; want the lost Refresh's, 2m0s", got)
	}
	if err := k.Refresh(ctx, 3*time.Minute); err != nil {
		t.Fatalf("Refresh after a lost reply = %v; want nil: the grant still holds the lock", err)
	}
	if got := storedTTL(t, ctx, a, "lost"); got != 3*time.Minute {
		t.Errorf("the server holds TTL %v; want 3m0s", got)
	}
	if _, err := b.l.TryLock(ctx, "lost", time.Second); !errors.Is(err, natslock.ErrLocked) {
		t.Errorf("TryLock by another holder = %v; want ErrLocked", err)
	}
	lose = true
	if err := k.Refresh(ctx, 0); !errors.Is(err, errLostReply) {
		t.Fatalf("second Refresh with its reply lost = %v; want the lost reply", err)
	}
	if err := k.Unlock(ctx); err != nil {
		t.Fatalf("Unlock after a lost reply = %v; want nil", err)
	}
	if kb, err := b.l.TryLock(ctx, "lost", time.Second); err != nil || kb.Token() <= k.Token() {
		t.Fatalf("TryLock after Unlock = %v; want a grant with a larger token than %d", err, k.Token())
	}
}

// TestCatchUpOnlyOwnGrant: a conflict is only caught up with when the entry
// is this grant's: another grant of the same Locker (same owner), after the
// first one expired, is not taken for it, before or after it refreshed.
func TestCatchUpOnlyOwnGrant(t *testing.T) {
	t.Parallel()
	a, _, ctx := twoHolders(t)
	k1, err := a.l.TryLock(ctx, "same", time.Second)
	if err != nil {
		t.Fatalf("TryLock: %v", err)
	}
	k2, err := a.l.Lock(ctx, "same", time.Minute) // once k1 expired
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if err := k1.Refresh(ctx, 0); !errors.Is(err, natslock.ErrNotHeld) {
		t.Errorf("expired grant's Refresh, the next grant unrefreshed = %v; want ErrNotHeld", err)
	}
	k1b, err := a.l.TryLock(ctx, "other", time.Second)
	if err != nil {
		t.Fatalf("TryLock: %v", err)
	}
	k2b, err := a.l.Lock(ctx, "other", time.Minute)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if err := k2b.Refresh(ctx, 0); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if err := k1b.Unlock(ctx); !errors.Is(err, natslock.ErrNotHeld) {
		t.Errorf("expired grant's Unlock, the next grant refreshed = %v; want ErrNotHeld", err)
	}
	for _, k := range []*natslock.Lock{k2, k2b} {
		if err := k.Unlock(ctx); err != nil {
			t.Errorf("Unlock of the live grant %q: %v", k.Name(), err)
		}
	}
}

// TestUnlockWaitingForARefreshEndsWithItsContext: Refresh and Unlock of
// one grant take turns (they apply in call order), but a call waiting for
// its turn gives up when its context ends: an Unlock with a short deadline
// behind a Refresh held up on the server returns its context's error at
// that deadline, not when the Refresh ends. It used to wait on a mutex.
func TestUnlockWaitingForARefreshEndsWithItsContext(t *testing.T) {
	t.Parallel()
	a, _, ctx := twoHolders(t)
	entered, hold := make(chan struct{}), make(chan struct{})
	natslock.SetWrittenHook(a.l, func(string) error {
		close(entered)
		<-hold
		return nil
	})
	k, err := a.l.TryLock(ctx, "turns", time.Minute)
	if err != nil {
		t.Fatalf("TryLock: %v", err)
	}
	refreshed := make(chan error, 1)
	go func() { refreshed <- k.Refresh(ctx, 2*time.Minute) }()
	<-entered // the Refresh holds the grant's turn
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	unlocked := make(chan error, 1)
	go func() { unlocked <- k.Unlock(short) }()
	select {
	case err := <-unlocked:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Unlock behind a held-up Refresh = %v; want its context's DeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		close(hold)
		t.Fatal("Unlock with a 100 ms deadline still waits for the Refresh after 10 s")
	}
	close(hold)
	if err := <-refreshed; err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if err := k.Unlock(ctx); err != nil {
		t.Fatalf("Unlock after the Refresh: %v; want nil, the grant still holds the lock", err)
	}
}
