package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/warpcache/warp/api"
	"github.com/warpcache/warp/internal/chaos/control"
)

// server serves the control API of one Warp instance.
type server struct {
	w     *api.Warp[string]
	clock *offsetClock
	id    string
}

// handler returns the control API's routes.
func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /get", handle(s.get))
	mux.HandleFunc("POST /set", handle(s.set))
	mux.HandleFunc("POST /txn", handle(s.txn))
	mux.HandleFunc("POST /clock", s.setClock)
	mux.HandleFunc("GET /stats", func(rw http.ResponseWriter, _ *http.Request) { reply(rw, s.stats()) })
	return mux
}

// request is a decodable, checkable control request.
type request interface{ Validate() error }

// decode reads r's bounded JSON body into req and validates it; on
// failure it answers 400 and reports false.
func decode(rw http.ResponseWriter, r *http.Request, req request) bool {
	dec := json.NewDecoder(http.MaxBytesReader(rw, r.Body, control.MaxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(req)
	if err == nil {
		err = req.Validate()
	}
	if err != nil {
		if !errors.Is(err, control.ErrBadRequest) {
			err = fmt.Errorf("%w: %w", control.ErrBadRequest, err)
		}
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func reply(rw http.ResponseWriter, v any) {
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(v)
}

func result(err error) control.Result {
	r := control.Result{Outcome: control.OutcomeOf(err)}
	if err != nil {
		r.Err = err.Error()
	}
	return r
}

// operation is a request that runs a Warp call under a timeout.
type operation interface {
	request
	Bound() time.Duration
}

// handle decodes an R, runs fn under the request's timeout and answers
// with its result.
func handle[R any, P interface {
	*R
	operation
}](fn func(ctx context.Context, req *R) control.Result) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		req := P(new(R))
		if !decode(rw, r, req) {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), req.Bound())
		defer cancel()
		reply(rw, fn(ctx, req))
	}
}

func (s *server) get(ctx context.Context, req *control.GetRequest) control.Result {
	v, err := s.w.Get(ctx, req.Key)
	res := result(err)
	res.Value = v
	return res
}

func (s *server) set(ctx context.Context, req *control.SetRequest) control.Result {
	return result(s.w.Set(ctx, req.Key, req.Value))
}

func (s *server) txn(ctx context.Context, req *control.TxnRequest) control.Result {
	t := s.w.Txn(ctx)
	for _, kv := range req.Sets {
		t.Set(kv.Key, kv.Value)
	}
	return result(t.Commit())
}

func (s *server) setClock(rw http.ResponseWriter, r *http.Request) {
	var req control.ClockRequest
	if !decode(rw, r, &req) {
		return
	}
	s.clock.set(req.Offset)
	reply(rw, s.stats())
}

func (s *server) stats() control.Stats {
	st := control.Stats{ID: s.id, Cache: s.w.Stats(), ClockOffset: s.clock.get(), LeaseValid: true}
	if b := s.w.Bus(); b != nil {
		st.Members, st.LeaseValid, st.Bus = b.Members(), b.LeaseValid(), b.Stats()
	}
	return st
}
