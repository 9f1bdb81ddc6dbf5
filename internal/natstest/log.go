package natstest

import (
	"bytes"
	"sync"
)

// LogBuffer collects a logger's output (slog.NewTextHandler(&b, nil));
// safe for concurrent use, so a test reads it while the code under test
// still logs.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was logged so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
