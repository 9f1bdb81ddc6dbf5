package workload_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warpcache/warp/internal/chaos/control"
	"github.com/warpcache/warp/internal/chaos/history"
	"github.com/warpcache/warp/internal/chaos/workload"
	"github.com/warpcache/warp/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// fakeNode answers the control API from a map; a value starting with
// "quorum" fails with OutcomeQuorum, "boom" with OutcomeError, and a key
// "slow" is answered only when the request gives up.
type fakeNode struct {
	mu   sync.Mutex // guards data
	data map[string]string
}

func (f *fakeNode) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		Key, Value string
		Sets       []control.KV
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	sets := req.Sets
	if strings.HasSuffix(r.URL.Path, "/set") {
		sets = []control.KV{{Key: req.Key, Value: req.Value}}
	}
	if req.Key == "slow" {
		<-r.Context().Done()
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	res := control.Result{Outcome: control.OutcomeOK}
	switch {
	case strings.HasSuffix(r.URL.Path, "/get"):
		v, ok := f.data[req.Key]
		if !ok {
			res.Outcome = control.OutcomeNotFound
		}
		res.Value = v
	case len(sets) > 0 && strings.HasPrefix(sets[0].Value, "quorum"):
		res.Outcome = control.OutcomeQuorum
	case len(sets) > 0 && strings.HasPrefix(sets[0].Value, "boom"):
		res.Outcome = control.OutcomeError
	default:
		for _, kv := range sets {
			f.data[kv.Key] = kv.Value
		}
	}
	_ = json.NewEncoder(rw).Encode(res)
}

func newNode(t *testing.T) *control.Client {
	t.Helper()
	srv := httptest.NewServer(&fakeNode{data: map[string]string{}})
	c := control.NewClient(srv.Listener.Addr().String(), 4)
	t.Cleanup(func() { c.Close(); srv.Close() })
	return c
}

func TestDo(t *testing.T) {
	t.Parallel()
	cl := newNode(t)
	rec := history.NewRecorder()
	w := func(key, value string) history.Op {
		return history.Op{Kind: history.Write, Keys: []string{key}, Values: []string{value}}
	}
	r := func(key string) history.Op { return history.Op{Kind: history.Read, Keys: []string{key}} }
	for _, tc := range []struct {
		op       history.Op
		status   history.Status
		value    string
		recorded bool
	}{
		{r("k"), history.NotFound, "", true},
		{w("k", "v1"), history.OK, "v1", true},
		{r("k"), history.OK, "v1", true},
		{w("k", "quorum-1"), history.Failed, "quorum-1", true},
		{w("k", "boom-1"), history.Unknown, "boom-1", true},
		{history.Op{Kind: history.Txn, Keys: []string{"a", "b"}, Values: []string{"t", "t"}}, history.OK, "t", true},
		{w("slow", "v2"), history.Unknown, "v2", true}, // no answer in time
		{r("slow"), history.Unknown, "", false},        // a read without an answer is dropped
	} {
		before := len(rec.Ops())
		got, sent := workload.Do(cl, rec, tc.op, time.Millisecond)
		if !sent || got.Status != tc.status || (got.Status != history.Unknown || got.Writes()) && got.Values[0] != tc.value {
			t.Errorf("%v %v: got %v %v, sent %v; want %v %q", tc.op.Kind, tc.op.Keys, got.Status, got.Values, sent, tc.status, tc.value)
		}
		if recorded := len(rec.Ops()) > before; recorded != tc.recorded {
			t.Errorf("%v %v: recorded %v; want %v", tc.op.Kind, tc.op.Keys, recorded, tc.recorded)
		}
		if got.Return < got.Call {
			t.Errorf("%v: return %d before call %d", tc.op.Kind, got.Return, got.Call)
		}
	}
}

func TestDoNotSent(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens: connections are refused
	cl := control.NewClient(addr, 1)
	defer cl.Close()
	rec := history.NewRecorder()
	if _, sent := workload.Do(cl, rec, history.Op{Kind: history.Write, Keys: []string{"k"}, Values: []string{"v"}}, time.Second); sent || len(rec.Ops()) != 0 {
		t.Fatalf("a refused write: sent %v, %d ops recorded; want not sent, none", sent, len(rec.Ops()))
	}
}

// target is a workload.Target of fake nodes.
type target []*control.Client

func (t target) Nodes() int                   { return len(t) }
func (t target) Client(i int) *control.Client { return t[i] }
func (t target) NodeID(i int) string          { return []string{"n1", "n2"}[i] }

func TestWorkload(t *testing.T) {
	t.Parallel()
	rec := history.NewRecorder()
	tg := target{newNode(t), newNode(t)}
	const maxOps = 30
	w := workload.Start(tg, rec, workload.Config{
		ClientsPerNode: 2, Families: []workload.Family{
			{Shared: []string{"s:0", "s:1"}, Owned: []string{"s:n1", "s:n2"}},
			{Shared: []string{"e:0", "e:1"}, Owned: []string{"e:n1", "e:n2"}},
		},
		Timeout: time.Second, MaxOps: maxOps, Seed: 1,
	})
	workload.Wait(w)
	w.Stop()
	ops := rec.Ops()
	if len(ops) != 4*maxOps {
		t.Fatalf("got %d ops; want %d (4 clients × %d)", len(ops), 4*maxOps, maxOps)
	}
	seen := map[string]bool{}
	kinds := map[history.Kind]int{}
	for _, op := range ops {
		kinds[op.Kind]++
		if want := []string{"n1", "n2"}[op.Client%2]; op.Node != want {
			t.Errorf("client %d called %s; want %s", op.Client, op.Node, want)
		}
		own := op.Keys[0][:2] + op.Node
		if op.Kind == history.Txn && (len(op.Keys) != 2 || op.Keys[0] != own || op.Keys[1][:2] != own[:2] || op.Keys[1] == own) {
			t.Errorf("%s: txn keys %v; want its own key %s and a shared key of the family", op.Node, op.Keys, own)
		}
		if op.Kind == history.Write && strings.Contains(op.Keys[0], ":n") && op.Keys[0] != own {
			t.Errorf("%s wrote %s, another node's key", op.Node, op.Keys[0])
		}
		for i, k := range op.Keys {
			if op.Writes() {
				if seen[k+"="+op.Values[i]] {
					t.Errorf("value %q written twice to %s", op.Values[i], k)
				}
				seen[k+"="+op.Values[i]] = true
			}
		}
	}
	for _, k := range []history.Kind{history.Read, history.Write, history.Txn} {
		if kinds[k] == 0 {
			t.Errorf("no %v in %d ops; want every kind", k, len(ops))
		}
	}
}
