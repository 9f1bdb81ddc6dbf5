package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// rttReport is the raw NATS baseline of a strong write: publish on one
// connection, every other connection replies, wait for all replies.
type rttReport struct {
	Name      string  `json:"name"`
	Acks      int     `json:"acks"`
	Ops       int64   `json:"ops"`
	P50us     figure  `json:"p50_us"`
	P99us     figure  `json:"p99_us"`
	OpsPerSec float64 `json:"ops_per_sec"`
	Errors    int64   `json:"errors"`
}

// rawRoundTrip measures the (n-1)-of-n ack round trip over the server at
// url with n connections, as many workers as the load has, for at most
// dur and maxOps round trips; tl gets each second's round trips.
func rawRoundTrip(ctx context.Context, url string, auth natsAuth, inProcess nats.InProcessConnProvider, n, workers int, dur time.Duration, maxOps int, tl *timeline) (rttReport, error) {
	base := "warpbench.rtt." + runID()
	conns := make([]*nats.Conn, n)
	defer func() {
		for _, nc := range conns {
			if nc != nil {
				nc.Close()
			}
		}
	}()
	for i := range conns {
		nc, err := dialNATS(url, "warp-bench-rtt-"+strconv.Itoa(i), auth, inProcess)
		if err != nil {
			return rttReport{}, fmt.Errorf("baseline: %w", err)
		}
		conns[i] = nc
		own := base + "." + strconv.Itoa(i)
		if _, err := nc.Subscribe(base+".*", func(m *nats.Msg) {
			if m.Subject != own {
				_ = m.Respond(nil)
			}
		}); err != nil {
			return rttReport{}, fmt.Errorf("baseline: %w", err)
		}
		if err := nc.Flush(); err != nil {
			return rttReport{}, fmt.Errorf("baseline: %w", err)
		}
	}
	h := newHist()
	var mu sync.Mutex
	var ops, errs atomic.Int64
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			local := newHist()
			rec := newSecRec(tl, nil)
			defer rec.done()
			nc := conns[w%n]
			subj := base + "." + strconv.Itoa(w%n)
			inbox := nats.NewInbox()
			sub, err := nc.SubscribeSync(inbox)
			if err != nil {
				errs.Add(1)
				return
			}
			defer func() { _ = sub.Unsubscribe() }()
			_ = nc.Flush()
			payload := make([]byte, 64)
			for ops.Add(1) <= int64(maxOps) && time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				if err := roundTrip(nc, sub, subj, inbox, payload, n-1); err != nil {
					errs.Add(1)
					continue
				}
				end := time.Now()
				record(local, int64(end.Sub(t0)))
				rec.op(end, int64(end.Sub(t0)))
			}
			mu.Lock()
			h.Merge(local)
			mu.Unlock()
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return rttReport{}, errInterrupted
	}
	el := time.Since(start)
	return rttReport{
		Name: fmt.Sprintf("raw NATS %d-of-%d ack round trip", n-1, n), Acks: n - 1,
		Ops: h.TotalCount(), P50us: quantileOf(h, 50), P99us: quantileOf(h, 99),
		OpsPerSec: float64(h.TotalCount()) / el.Seconds(), Errors: errs.Load(),
	}, nil
}

// roundTrip publishes one request and waits for acks replies.
func roundTrip(nc *nats.Conn, sub *nats.Subscription, subj, inbox string, payload []byte, acks int) error {
	if err := nc.PublishRequest(subj, inbox, payload); err != nil {
		return err
	}
	for range acks {
		if _, err := sub.NextMsg(2 * time.Second); err != nil {
			return err
		}
	}
	return nil
}
