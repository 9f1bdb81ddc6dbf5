package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// rueidisReader is one reader client and what it observed.
type rueidisReader struct {
	client  rueidis.Client
	mu      sync.Mutex // guards invs and flushed
	invs    []int64    // when each invalidation of the probe key arrived (ns since start)
	flushed bool       // a whole-cache invalidation arrived: later ones cannot be paired
	fetched []int64    // the value each read from the server returned (reader goroutine only)
	reads   int64
}

// rueidisBench is the baseline's clients and keys.
type rueidisBench struct {
	prefix  string
	writer  rueidis.Client
	readers []*rueidisReader
	start   time.Time
}

func newRueidisBench(cfg config, prefix string, readers int) (*rueidisBench, error) {
	opt := func() rueidis.ClientOption {
		return rueidis.ClientOption{InitAddress: []string{cfg.RedisAddr}, Dialer: net.Dialer{Timeout: rueidisDialTimeout},
			DisableRetry: true, ClientName: "warp-bench"}
	}
	b := &rueidisBench{prefix: prefix, start: time.Now()}
	w, err := rueidis.NewClient(opt())
	if err != nil {
		return nil, fmt.Errorf("redis at %s: %w", cfg.RedisAddr, err)
	}
	b.writer = w
	for range readers {
		r := &rueidisReader{}
		o := opt()
		o.OnInvalidations = b.onInvalidations(r)
		if r.client, err = rueidis.NewClient(o); err != nil {
			b.closeClients()
			return nil, fmt.Errorf("redis at %s: %w", cfg.RedisAddr, err)
		}
		b.readers = append(b.readers, r)
	}
	return b, nil
}

// onInvalidations records when r's cache dropped the probe key. It runs
// on rueidis's read goroutine, after the cache has dropped the keys.
func (b *rueidisBench) onInvalidations(r *rueidisReader) func([]rueidis.RedisMessage) {
	probe := b.prefix + "probe"
	return func(msgs []rueidis.RedisMessage) {
		at := int64(time.Since(b.start))
		r.mu.Lock()
		defer r.mu.Unlock()
		if msgs == nil {
			r.flushed = true
			return
		}
		for _, m := range msgs {
			if k, err := m.ToString(); err == nil && k == probe && !r.flushed {
				r.invs = append(r.invs, at)
			}
		}
	}
}

func (b *rueidisBench) closeClients() {
	if b.writer != nil {
		b.writer.Close()
	}
	for _, r := range b.readers {
		if r.client != nil {
			r.client.Close()
		}
	}
}

// close deletes the baseline's keys and closes the clients.
func (b *rueidisBench) close(pr *progress) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := rueidisUnlink(ctx, b.writer, escapeGlob(b.prefix)+"*"); err != nil {
		pr.printf("cleanup: rueidis baseline keys %s*: %v", b.prefix, err)
	}
	b.closeClients()
}

// rueidisUnlink deletes the keys matching pattern, a SCAN page (1,000
// keys) per UNLINK.
func rueidisUnlink(ctx context.Context, c rueidis.Client, pattern string) error {
	var cursor uint64
	for {
		e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(pattern).Count(1000).Build()).AsScanEntry()
		if err != nil {
			return err
		}
		if len(e.Elements) > 0 {
			if err := c.Do(ctx, c.B().Unlink().Key(e.Elements...).Build()).Error(); err != nil {
				return err
			}
		}
		if cursor = e.Cursor; cursor == 0 {
			return nil
		}
	}
}
