package fakekit

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"
)

// Kit bundles the state every fake shares. A fake embeds one and adds its
// provider's routes and rules.
type Kit struct {
	Now      func() time.Time
	Log      *Log
	Rules    *Rules
	InFlight Gauge
	Inject   Injector
	Emitter  *Emitter

	latency atomic.Int64
	closing chan struct{}
	srv     *httptest.Server
}

// NewKit returns a kit on clock now (time.Now in UTC when nil).
func NewKit(now func() time.Time) *Kit {
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	return &Kit{
		Now:     now,
		Log:     NewLog(0),
		Rules:   NewRules(),
		Emitter: NewEmitter(now),
		closing: make(chan struct{}),
	}
}

// SetLatency makes every request wait d before it is answered.
func (k *Kit) SetLatency(d time.Duration) { k.latency.Store(int64(d)) }

// Latency is the added latency.
func (k *Kit) Latency() time.Duration { return time.Duration(k.latency.Load()) }

// Intercept runs before a fake's handler: it applies latency and the next
// queued injection. handled is true when a fault already answered (or
// dropped) the request; code is a provider error to answer with instead of
// the normal outcome.
func (k *Kit) Intercept(w http.ResponseWriter, r *http.Request) (code string, handled bool) {
	if d := k.Latency(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return "", true
		case <-k.closing:
			t.Stop()
			return "", true
		}
	}
	in, ok := k.Inject.Next()
	if !ok {
		return "", false
	}
	switch in.Fault {
	case FaultClose:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return "", true
			}
		}
		panic(http.ErrAbortHandler) // net/http drops the connection without logging
	case FaultServerError:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<html><body>500 Internal Server Error</body></html>"))
		return "", true
	case FaultHang:
		select {
		case <-r.Context().Done():
		case <-k.closing:
		}
		return "", true
	}
	return in.Code, false
}

// ResetTraffic clears the log, rules, injections, latency, the in-flight
// peak and queued webhooks. Fakes call it from their own Reset.
func (k *Kit) ResetTraffic() {
	k.Log.Reset()
	k.Rules.Reset()
	k.Inject.Reset()
	k.SetLatency(0)
	k.InFlight.Reset()
	k.Emitter.Reset()
}

// Close releases hanging requests, stops the server and the emitter.
func (k *Kit) Close() {
	select {
	case <-k.closing:
	default:
		close(k.closing)
	}
	if k.srv != nil {
		k.srv.Close()
	}
	k.Emitter.Close()
}

// Serve starts h on addr ("" = a random loopback port, as httptest does);
// on failure the kit is closed. Only loopback addresses make sense for a
// fake; the caller chooses.
func (k *Kit) Serve(h http.Handler, addr string) error {
	if addr == "" {
		k.srv = httptest.NewServer(h)
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		k.Close()
		return err
	}
	k.srv = httptest.NewUnstartedServer(h)
	k.srv.Listener.Close()
	k.srv.Listener = ln
	k.srv.Start()
	return nil
}

// URL is the fake's base URL, to put in the channel's base_url.
func (k *Kit) URL() string { return k.srv.URL }

// StatusWriter remembers the status a handler wrote, for the request log.
type StatusWriter struct {
	http.ResponseWriter
	Status int
}

// WriteHeader records status and passes it on.
func (s *StatusWriter) WriteHeader(status int) {
	s.Status = status
	s.ResponseWriter.WriteHeader(status)
}

// Logged wraps a handler of rarely called routes (tests, lookups) so that
// each call lands in the log under op.
func (k *Kit) Logged(op string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &StatusWriter{ResponseWriter: w, Status: http.StatusOK}
		h(sw, r)
		k.Log.Add(Entry{At: start, Duration: time.Since(start), Method: r.Method, Op: op, Status: sw.Status})
	}
}
