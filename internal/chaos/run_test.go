package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/warpcache/warp/internal/chaos/control"
	"github.com/warpcache/warp/internal/chaos/history"
)

// fakeFleet is nodes that serve fixed values over the control API, and a
// store.
type fakeFleet struct {
	store   map[string]string
	clients []*control.Client
}

// fakeNode serves data, each read delay late; a nil data: the node is down.
type fakeNode struct {
	data  map[string]string
	delay time.Duration
}

func newFakeFleet(t *testing.T, store map[string]string, nodes ...fakeNode) *fakeFleet {
	t.Helper()
	f := &fakeFleet{store: store}
	for _, n := range nodes {
		if n.data == nil {
			f.clients = append(f.clients, nil)
			continue
		}
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			var req control.GetRequest
			_ = json.NewDecoder(r.Body).Decode(&req)
			select {
			case <-time.After(n.delay): // a slow node
			case <-r.Context().Done():
				return
			}
			_ = json.NewEncoder(rw).Encode(control.Result{Outcome: control.OutcomeOK, Value: n.data[req.Key]})
		}))
		c := control.NewClient(srv.Listener.Addr().String(), 1)
		t.Cleanup(func() { c.Close(); srv.Close() })
		f.clients = append(f.clients, c)
	}
	return f
}

func (f *fakeFleet) Nodes() int                   { return len(f.clients) }
func (f *fakeFleet) Client(i int) *control.Client { return f.clients[i] }
func (f *fakeFleet) NodeID(i int) string          { return []string{"n1", "n2", "n3"}[i] }

func (f *fakeFleet) StoreValues(context.Context, []string) (map[string]string, error) {
	return f.store, nil
}

func TestConverge(t *testing.T) {
	t.Parallel()
	const bound = 300 * time.Millisecond
	store := map[string]string{"e:0": "a"}
	stale := map[string]string{"e:0": "old"}
	var keys []string
	for i := range 20 {
		k := fmt.Sprintf("s:%d", i)
		keys = append(keys, k)
		store[k], stale[k] = "b", "old"
	}
	keys = append(keys, "e:0")
	fresh, old, down := fakeNode{data: store}, fakeNode{data: stale}, fakeNode{}
	slow := fakeNode{data: store, delay: 200 * time.Millisecond} // a sweep of it takes 4 s
	for _, tc := range []struct {
		name  string
		nodes []fakeNode
		want  []string // in the report; none: converged
		not   []string // not in the report
	}{
		{"converged", []fakeNode{fresh, fresh, fresh}, nil, nil},
		{"a node never converges", []fakeNode{fresh, old, fresh},
			[]string{"not within 300ms", `n2 serves s:0 = ok ["old"]; the store holds "b"`}, []string{"n1", "n3", "s:1"}},
		{"every lagging node is reported", []fakeNode{old, fresh, old},
			[]string{`n1 serves s:0 = ok ["old"]`, `n3 serves s:0 = ok ["old"]`}, []string{"n2"}},
		{"a node is down", []fakeNode{fresh, fresh, down}, []string{"n3 is down"}, []string{"n1", "n2"}},
		{"the bound cuts a sweep", []fakeNode{slow, old, fresh}, []string{"not within 300ms"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := history.NewRecorder()
			start := time.Now()
			final, got := converge(context.Background(), newFakeFleet(t, store, tc.nodes...), rec, keys, 6, bound)
			if took := time.Since(start); took > bound+2*time.Second {
				t.Errorf("took %v; want about the bound, %v", took, bound)
			}
			if final["e:0"] != "a" || final["s:19"] != "b" {
				t.Errorf("final values %v; want the store's", final)
			}
			if (got == "") != (tc.want == nil) {
				t.Fatalf("got report %q; want converged %v", got, tc.want == nil)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("got report %q; want it to contain %q", got, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(got, w) {
					t.Errorf("got report %q; want no %q", got, w)
				}
			}
			for _, op := range rec.Ops() {
				if op.Kind != history.Read || op.Client != 6+int(op.Node[1]-'1') {
					t.Fatalf("recorded %+v; want reads by clients 6.. (base + node)", op)
				}
			}
		})
	}
}
