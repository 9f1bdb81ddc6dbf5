package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"time"
)

// ErrNotSent wraps a Client error after which the request certainly never
// reached the node (its connection was refused): the operation did not
// happen.
var ErrNotSent = errors.New("control: request not sent")

// Client calls one node's control API. It is safe for concurrent use.
type Client struct {
	base string
	http *http.Client
}

// NewClient returns a client of the node listening on addr
// (127.0.0.1:port), keeping up to conns idle keep-alive connections.
func NewClient(addr string, conns int) *Client {
	tr := &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute,
		DisableCompression: true, Proxy: nil,
	}
	return &Client{base: "http://" + addr, http: &http.Client{Transport: tr}}
}

// Close drops the client's idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Get reads key on the node, bounded by timeout there and by ctx here.
func (c *Client) Get(ctx context.Context, key string, timeout time.Duration) (Result, error) {
	var r Result
	return r, c.call(ctx, http.MethodPost, "/get", GetRequest{Key: key, Timeout: timeout}, &r)
}

// Set writes value to key on the node.
func (c *Client) Set(ctx context.Context, key, value string, timeout time.Duration) (Result, error) {
	var r Result
	return r, c.call(ctx, http.MethodPost, "/set", SetRequest{Key: key, Value: value, Timeout: timeout}, &r)
}

// Txn commits sets as one transaction on the node.
func (c *Client) Txn(ctx context.Context, sets []KV, timeout time.Duration) (Result, error) {
	var r Result
	return r, c.call(ctx, http.MethodPost, "/txn", TxnRequest{Sets: sets, Timeout: timeout}, &r)
}

// SetClock sets the node's clock offset.
func (c *Client) SetClock(ctx context.Context, offset time.Duration) (Stats, error) {
	var s Stats
	return s, c.call(ctx, http.MethodPost, "/clock", ClockRequest{Offset: offset}, &s)
}

// Stats returns the node's view of the cluster.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	return s, c.call(ctx, http.MethodGet, "/stats", nil, &s)
}

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("control: %s: %w", path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("control: %s: %w", path, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%w: %s: %w", ErrNotSent, path, err)
		}
		return fmt.Errorf("control: %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if err != nil {
		return fmt.Errorf("control: %s: read answer: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("control: %s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("control: %s: decode answer: %w", path, err)
	}
	return nil
}
