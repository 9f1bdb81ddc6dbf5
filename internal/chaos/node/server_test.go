package node

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/warpcache/warp/actors"
	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/bus"
	"github.com/warpcache/warp/bus/inproc"
	"github.com/warpcache/warp/internal/chaos/control"
	"github.com/warpcache/warp/internal/leakcheck"
	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/memory"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// fixture is a control API over a one-node Warp on the in-memory store
// and an in-process bus, where a strong write with quorum 1 cannot succeed.
type fixture struct {
	st    *memory.Store[string]
	clock *offsetClock
	c     *control.Client
	url   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := memory.New[string](memory.Options{})
	clock := new(offsetClock)
	w, err := api.New[string](st,
		api.WithNodeConfig[string](actors.Config{ID: "n1", Clock: clock}),
		api.WithBus[string](bus.Config{Cluster: "test", Transport: inproc.NewHub().Transport()}))
	if err != nil {
		t.Fatal(err)
	}
	if err := register(w, false); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&server{w: w, clock: clock, id: "n1"}).handler())
	c := control.NewClient(srv.Listener.Addr().String(), 2)
	t.Cleanup(func() {
		c.Close()
		srv.Close()
		_ = w.Close()
	})
	return &fixture{st: st, clock: clock, c: c, url: srv.URL}
}

const timeout = 5 * time.Second

// The canary's registration is accepted: a node started with -canary
// runs, every family eventual, rather than failing to start.
func TestCanaryRegisters(t *testing.T) {
	t.Parallel()
	w, err := api.New[string](memory.New[string](memory.Options{}),
		api.WithBus[string](bus.Config{Cluster: "test", Transport: inproc.NewHub().Transport()}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Close() }()
	if err := register(w, true); err != nil {
		t.Fatalf("canary registration: %v; want nil", err)
	}
}

func TestOperations(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	check := func(what string, r control.Result, err error, want control.Outcome, value string) {
		t.Helper()
		if err != nil || r.Outcome != want || r.Value != value {
			t.Fatalf("%s: got %+v, %v; want %s %q", what, r, err, want, value)
		}
	}
	r, err := f.c.Get(ctx, "e:1", timeout)
	check("get of a missing key", r, err, control.OutcomeNotFound, "")
	r, err = f.c.Set(ctx, "e:1", "a", timeout)
	check("set", r, err, control.OutcomeOK, "")
	r, err = f.c.Get(ctx, "e:1", timeout)
	check("get", r, err, control.OutcomeOK, "a")
	r, err = f.c.Txn(ctx, []control.KV{{Key: "s:1", Value: "b"}, {Key: "s:2", Value: "c"}}, timeout)
	check("txn", r, err, control.OutcomeOK, "")
	for k, want := range map[string]string{"s:1": "b", "s:2": "c"} {
		r, err = f.c.Get(ctx, k, timeout)
		check("get after txn", r, err, control.OutcomeOK, want)
	}
	r, err = f.c.Set(ctx, "nope", "x", timeout)
	check("set of an unregistered key", r, err, control.OutcomeError, "")
}

func TestQuorumFailureIsReported(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	r, err := f.c.Set(ctx, "q:1", "lost", timeout)
	if err != nil || r.Outcome != control.OutcomeQuorum {
		t.Fatalf("strong set with quorum 1 and no peer: %+v, %v; want outcome %s", r, err, control.OutcomeQuorum)
	}
	r, err = f.c.Txn(ctx, []control.KV{{Key: "q:2", Value: "lost"}, {Key: "e:2", Value: "lost"}}, timeout)
	if err != nil || r.Outcome != control.OutcomeQuorum {
		t.Fatalf("txn with quorum 1 and no peer: %+v, %v; want outcome %s", r, err, control.OutcomeQuorum)
	}
	for _, k := range []string{"q:1", "q:2", "e:2"} {
		if it, err := f.st.Get(ctx, k); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("store holds %q = %+v, %v after ErrQuorum; want not found", k, it, err)
		}
	}
}

func TestClock(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	st, err := f.c.SetClock(context.Background(), time.Hour)
	if err != nil || st.ClockOffset != time.Hour || st.ID != "n1" {
		t.Fatalf("SetClock: %+v, %v; want offset 1h on n1", st, err)
	}
	if d := time.Until(f.clock.Now()); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("clock is %v ahead; want about 1h", d)
	}
	if st, err = f.c.Stats(context.Background()); err != nil || st.ClockOffset != time.Hour {
		t.Fatalf("Stats: %+v, %v; want offset 1h", st, err)
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	big := `{"key":"e:1","value":"` + strings.Repeat("x", control.MaxBody) + `","timeout":1000000000}`
	for _, tc := range []struct{ path, body string }{
		{"/get", `{"key":"e:1"}`},                               // no timeout
		{"/get", `{"key":"e:1","timeout":3600000000000}`},       // timeout over MaxTimeout
		{"/set", `{"key":"e:1","value":"v","timeout":1,"x":1}`}, // unknown field
		{"/set", `{"key":`},                                     // malformed
		{"/set", big},                                           // over MaxBody
		{"/txn", `{"sets":[],"timeout":1000000000}`},            // no write
		{"/clock", `{"offset":172800000000000}`},                // two days
	} {
		resp, err := http.Post(f.url+tc.path, "application/json", bytes.NewReader([]byte(tc.body)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "control: bad request") {
			t.Errorf("%s %.60s: got %d %q; want 400 control: bad request", tc.path, tc.body, resp.StatusCode, b)
		}
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{},
		{"-id", "n1", "-cluster", "c", "-nats", "nats://127.0.0.1:1", "-dsn", "x", "-table", "t", "-listen", "0.0.0.0:0"},
		{"-bogus"},
	} {
		if err := Run(args, io.Discard, io.Discard); err == nil {
			t.Errorf("Run(%q) succeeded; want an error", args)
		}
	}
}
