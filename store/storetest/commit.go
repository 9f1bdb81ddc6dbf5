package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/warpcache/warp/merge"
	"github.com/warpcache/warp/store"
)

type op = store.Op[[]byte]

func opSet(key, val string, w store.Write) op {
	return op{Kind: store.OpSet, Key: key, Value: []byte(val), Write: w}
}
func opDel(key string, w store.Write) op { return op{Kind: store.OpDelete, Key: key, Write: w} }
func opCheck(key string, v merge.Version) op {
	return op{Kind: store.OpCheck, Key: key, Write: store.Write{Check: true, IfVersion: v}}
}

func testCommit(t *testing.T, h Harness) {
	if _, ok := h.New(t).(store.Committer[[]byte]); !ok {
		t.Skip("store is not a store.Committer")
	}
	// Every case starts from a=A@10, b=B@20, c deleted at 31.
	tests := []struct {
		name string
		ops  []op
		want []merge.Version // nil: the commit fails with err and changes nothing
		err  error
		vals map[string]string // after a successful commit; "" = missing
	}{
		{"Empty", nil, []merge.Version{}, nil, nil},
		{"SetMany", []op{opSet("a", "A2", store.Write{}), opSet("b", "B2", store.Write{Min: 100}), opSet("d", "D", store.Write{})},
			[]merge.Version{11, 100, 1}, nil, map[string]string{"a": "A2", "b": "B2", "d": "D"}},
		{"CheckedAll", []op{opCheck("a", 10), opSet("b", "B2", store.Write{Check: true, IfVersion: 20}), opDel("a", store.Write{Check: true, IfVersion: 10}), opCheck("c", 31), opCheck("z", 0)},
			[]merge.Version{10, 21, 11, 31, 0}, nil, map[string]string{"a": "", "b": "B2", "c": ""}},
		{"SameKeySeesEarlierOps", []op{opSet("n", "1", store.Write{Check: true, Min: 40}), opSet("n", "2", store.Write{Check: true, IfVersion: 40}), opCheck("n", 41), opDel("n", store.Write{Check: true, IfVersion: 41}), opSet("n", "3", store.Write{Check: true, IfVersion: 42})},
			[]merge.Version{40, 41, 41, 42, 43}, nil, map[string]string{"n": "3"}},
		{"ResurrectDeleted", []op{opSet("c", "C", store.Write{Check: true, IfVersion: 31})},
			[]merge.Version{32}, nil, map[string]string{"c": "C"}},
		{"CheckFailsInMiddle", []op{opSet("a", "X", store.Write{}), opCheck("b", 19), opSet("d", "X", store.Write{})},
			nil, store.ErrConflict, nil},
		{"CheckWithoutFlag", []op{opSet("a", "X", store.Write{}), {Kind: store.OpCheck, Key: "b", Write: store.Write{IfVersion: 19}}},
			nil, store.ErrConflict, nil},
		{"ConflictAtEnd", []op{opSet("a", "X", store.Write{}), opDel("b", store.Write{}), opSet("a", "Y", store.Write{Check: true, IfVersion: 10})},
			nil, store.ErrConflict, nil},
		{"CreateOverTombstone", []op{opSet("a", "X", store.Write{}), opSet("c", "X", store.Write{Check: true})},
			nil, store.ErrConflict, nil},
		{"Fenced", []op{opSet("a", "X", store.Write{Fence: 9}), opSet("b", "X", store.Write{Fence: 4})},
			nil, store.ErrFenced, nil},
		{"StaleAndFenced", []op{opSet("a", "X", store.Write{}), opSet("b", "X", store.Write{Fence: 4, Check: true, IfVersion: 19})},
			nil, store.ErrConflict, nil},
		{"EmptyKey", []op{opSet("a", "X", store.Write{}), opSet("", "X", store.Write{})},
			nil, store.ErrInvalid, nil},
		{"UnknownKind", []op{opSet("a", "X", store.Write{}), {Kind: 99, Key: "b"}},
			nil, store.ErrInvalid, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := h.New(t)
			set(t, s, "a", "A", store.Write{Min: 10})
			set(t, s, "b", "B", store.Write{Min: 20, Fence: 5})
			set(t, s, "c", "C", store.Write{Min: 30})
			del(t, s, "c", store.Write{})
			got, err := s.(store.Committer[[]byte]).Commit(t.Context(), tc.ops)
			if tc.want == nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Commit = %v, %v; want %v", got, err, tc.err)
				}
				mustGet(t, s, "a", "A", 10)
				mustGet(t, s, "b", "B", 20)
				mustMiss(t, s, "c")
				for _, k := range []string{"c", "d"} {
					if v, want := version(t, s, k), map[string]merge.Version{"c": 31}[k]; v != want {
						t.Fatalf("Version(%q) = %d after a failed commit; want %d", k, v, want)
					}
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Commit = %v, %v; want %v", got, err, tc.want)
			}
			for k, val := range tc.vals {
				if val == "" {
					mustMiss(t, s, k)
					continue
				}
				it, err := s.Get(t.Context(), k)
				if err != nil || string(it.Value) != val {
					t.Fatalf("Get(%q) = %q, %v; want %q", k, it.Value, err, val)
				}
			}
			if v := version(t, s, "z"); v != 0 {
				t.Fatalf("Version(z) = %d after an OpCheck; want 0 (never written)", v)
			}
		})
	}
}
