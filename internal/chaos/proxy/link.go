package proxy

import (
	"net"
	"sync"
	"time"
)

// chunkQueue bounds the chunks read but not yet written in one direction:
// past it the reader stops reading and TCP's flow control takes over.
const chunkQueue = 64

// chunkSize is the largest read.
const chunkSize = 32 << 10

// link is one proxied connection: the client's side and the server's.
type link struct {
	client, server net.Conn
	done           chan struct{} // closed by close
	once           sync.Once
}

func (l *link) close() {
	l.once.Do(func() {
		close(l.done)
		_ = l.client.Close()
		_ = l.server.Close()
	})
}

type chunk struct {
	data []byte
	due  time.Time
}

// pump copies src to dst through g on two goroutines counted by wg: a
// reader that stamps each chunk with its due time, and a writer that waits
// for the due time and for the gate. Either one's failure closes the link.
func (l *link) pump(wg *sync.WaitGroup, g *gate, src, dst net.Conn) {
	q := make(chan chunk, chunkQueue)
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(q)
		var last time.Time
		buf := make([]byte, chunkSize)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				due := time.Now().Add(g.delay())
				if due.Before(last) {
					due = last // keep the stream's order under jitter
				}
				last = due
				select {
				case q <- chunk{data: append([]byte(nil), buf[:n]...), due: due}:
				case <-l.done:
					return
				}
			}
			if err != nil {
				l.close()
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for c := range q {
			if !l.wait(c.due) || !g.pass(l.done) {
				return
			}
			if _, err := dst.Write(c.data); err != nil {
				l.close()
				return
			}
			g.count(len(c.data))
		}
	}()
}

// wait waits until due; false if the link closed first.
func (l *link) wait(due time.Time) bool {
	d := time.Until(due)
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.done:
		return false
	}
}
