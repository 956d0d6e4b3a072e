package fakekit

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"pregon/clock"
)

type sink struct {
	mu     sync.Mutex
	bodies []string
	sigs   []string
	status int
}

func newSink(t *testing.T, status int) (*sink, *httptest.Server) {
	s := &sink{status: status}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, string(b))
		s.sigs = append(s.sigs, r.Header.Get("X-Sig"))
		st := s.status
		s.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *sink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

func hooks(url string, names ...string) []Webhook {
	out := make([]Webhook, len(names))
	for i, n := range names {
		h := http.Header{}
		h.Set("X-Sig", "abc0")
		out[i] = Webhook{URL: url, Header: h, Body: []byte(n), SigHeader: "X-Sig", Kind: n}
	}
	return out
}

func settle(t *testing.T, e *Emitter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Settle(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestEmitterOrderDelayAndClock(t *testing.T) {
	clk := clock.NewFake(t0)
	e := NewEmitter(clk.Now)
	defer e.Close()
	s, srv := newSink(t, 200)
	e.Schedule([]time.Duration{0, time.Hour, 2 * time.Hour}, hooks(srv.URL, "sent", "delivered", "read"))
	settle(t, e)
	if got := s.got(); len(got) != 1 || got[0] != "sent" {
		t.Fatalf("before moving the clock: %v", got)
	}
	clk.Advance(90 * time.Minute)
	settle(t, e)
	if got := s.got(); len(got) != 2 || got[1] != "delivered" {
		t.Fatalf("after 90 min: %v", got)
	}
	clk.Advance(time.Hour)
	settle(t, e)
	if got := s.got(); len(got) != 3 || got[2] != "read" || e.Stats().Posted != 3 {
		t.Fatalf("after 150 min: %v %+v", got, e.Stats())
	}
}

func TestEmitterDuplicateReorderCorrupt(t *testing.T) {
	clk := clock.NewFake(t0)
	e := NewEmitter(clk.Now)
	defer e.Close()
	s, srv := newSink(t, 200)
	e.SetOptions(EmitOptions{Duplicate: true, Reorder: true, CorruptSignature: true})
	e.Schedule([]time.Duration{0, 0, 0}, hooks(srv.URL, "sent", "delivered", "read"))
	settle(t, e)
	want := []string{"read", "read", "delivered", "delivered", "sent", "sent"}
	got := s.got()
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, sig := range s.sigs {
		if sig == "abc0" {
			t.Fatal("the signature was not corrupted")
		}
	}
}

func TestEmitterRetriesOnClock(t *testing.T) {
	clk := clock.NewFake(t0)
	e := NewEmitter(clk.Now)
	defer e.Close()
	s, srv := newSink(t, 500)
	e.SetOptions(EmitOptions{Attempts: 3, RetryAfter: time.Minute})
	e.Emit(hooks(srv.URL, "x")[0])
	settle(t, e)
	for i := 0; i < 3; i++ {
		clk.Advance(5 * time.Minute)
		settle(t, e)
	}
	if n := len(s.got()); n != 3 {
		t.Fatalf("posted %d times, want 3 attempts", n)
	}
	st := e.Stats()
	if st.Failed != 1 || st.Posted != 0 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
	res := e.Results()
	if len(res) != 3 || res[2].Attempt != 3 || res[2].Status != 500 {
		t.Fatalf("results %+v", res)
	}
}
