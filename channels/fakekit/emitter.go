package fakekit

import (
	"bytes"
	"container/heap"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Webhook is one signed POST a fake wants delivered.
type Webhook struct {
	URL    string
	Header http.Header // includes the signature header
	Body   []byte
	// SigHeader names the signature header, so CorruptSignature can spoil it.
	SigHeader string
	// Kind labels it in results ("status:delivered", "inbound"...).
	Kind string
}

// EmitOptions shape deliveries; tests change them between scenarios.
type EmitOptions struct {
	// Duplicate posts every webhook twice in a row.
	Duplicate bool `json:"duplicate"`
	// Reorder reverses each group (one message's statuses): read arrives
	// before delivered before sent, at the times the originals were due.
	Reorder bool `json:"reorder"`
	// Delay is added to every due time (on the fake's clock).
	Delay time.Duration `json:"delay"`
	// CorruptSignature flips the signature of every webhook.
	CorruptSignature bool `json:"corrupt_signature"`
	// Attempts is how many times a webhook answered non-2xx is posted (default 3).
	Attempts int `json:"attempts"`
	// RetryAfter is the shortened retry schedule step on the fake's clock
	// (default 1 s; attempt n waits n×RetryAfter).
	RetryAfter time.Duration `json:"retry_after"`
}

// Result is one delivery attempt and the answer it got.
type Result struct {
	Kind        string        `json:"kind"`
	URL         string        `json:"url"`
	Attempt     int           `json:"attempt"`
	Status      int           `json:"status"`
	Err         string        `json:"error,omitempty"`
	Latency     time.Duration `json:"latency"`
	ContentType string        `json:"content_type,omitempty"`
	Reply       string        `json:"reply,omitempty"` // first KiB of the answer
}

type pending struct {
	due     time.Time
	seq     uint64
	attempt int
	hook    Webhook
}

type queue []*pending

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(*pending)) }
func (q *queue) Pop() any {
	old := *q
	p := old[len(old)-1]
	*q = old[:len(old)-1]
	return p
}

// MaxPending bounds the emitter queue; webhooks beyond it are dropped and
// counted, so that a benchmark that outruns the receiver cannot eat memory.
const MaxPending = 200_000

// maxResults bounds the results kept.
const maxResults = 10_000

// pollEvery is how often a non-empty queue is re-checked: the injectable
// clock may be moved by a test at any moment, and a timer on the real clock
// cannot see that.
const pollEvery = 10 * time.Millisecond

// Emitter posts webhooks in due order, one at a time, so that tests see
// exactly the order (and duplicates) they scripted.
type Emitter struct {
	now    func() time.Time
	client *http.Client

	mu      sync.Mutex
	opts    EmitOptions
	q       queue
	seq     uint64
	busy    bool
	results []Result

	posted, failed, dropped atomic.Int64

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

// NewEmitter starts an emitter on clock now.
func NewEmitter(now func() time.Time) *Emitter {
	e := &Emitter{
		now:    now,
		client: &http.Client{Timeout: 10 * time.Second},
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go e.loop()
	return e
}

// SetOptions replaces the emit options.
func (e *Emitter) SetOptions(o EmitOptions) {
	e.mu.Lock()
	e.opts = o
	e.mu.Unlock()
}

// Options returns the current options.
func (e *Emitter) Options() EmitOptions {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.opts
}

// Schedule queues one group of webhooks (e.g. one message's statuses) at
// the given delays from now on the fake's clock. Reorder reverses the group.
func (e *Emitter) Schedule(delays []time.Duration, hooks []Webhook) {
	if len(hooks) == 0 {
		return
	}
	e.mu.Lock()
	if len(e.q)+len(hooks) > MaxPending {
		e.mu.Unlock()
		e.dropped.Add(int64(len(hooks)))
		return
	}
	now := e.now()
	n := len(hooks)
	for i := range hooks {
		h := hooks[i]
		if e.opts.Reorder {
			h = hooks[n-1-i]
		}
		if e.opts.CorruptSignature && h.SigHeader != "" {
			h.Header = corrupt(h.Header, h.SigHeader)
		}
		due := now.Add(delays[i] + e.opts.Delay)
		copies := 1
		if e.opts.Duplicate {
			copies = 2
		}
		for c := 0; c < copies; c++ {
			e.seq++
			heap.Push(&e.q, &pending{due: due, seq: e.seq, attempt: 1, hook: h})
		}
	}
	e.mu.Unlock()
	e.poke()
}

// Emit queues one webhook due now.
func (e *Emitter) Emit(h Webhook) { e.Schedule([]time.Duration{0}, []Webhook{h}) }

func corrupt(h http.Header, name string) http.Header {
	c := h.Clone()
	v := []byte(c.Get(name))
	if len(v) > 0 {
		// The middle character: the last ones of a base64 signature may be
		// padding bits that a lenient decoder ignores. Digits mean the same
		// in hex of either case and in base64, so swapping one for another
		// always changes the signature's value.
		i := len(v) / 2
		if v[i] == '0' {
			v[i] = '1'
		} else {
			v[i] = '0'
		}
	}
	c.Set(name, string(v))
	return c
}

func (e *Emitter) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Emitter) loop() {
	defer close(e.done)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		p := e.popDue()
		if p != nil {
			e.deliver(p)
			continue
		}
		e.mu.Lock()
		empty := len(e.q) == 0
		e.mu.Unlock()
		wait := pollEvery
		if empty {
			wait = time.Hour
		}
		t.Reset(wait)
		select {
		case <-e.stop:
			return
		case <-e.wake:
		case <-t.C:
		}
	}
}

func (e *Emitter) popDue() *pending {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.q) == 0 || e.q[0].due.After(e.now()) {
		return nil
	}
	e.busy = true
	return heap.Pop(&e.q).(*pending)
}

func (e *Emitter) deliver(p *pending) {
	r := e.post(p)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.busy = false
	if len(e.results) >= maxResults {
		e.results = e.results[1:]
	}
	e.results = append(e.results, r)
	if r.Status >= 200 && r.Status < 300 {
		e.posted.Add(1)
		return
	}
	attempts, step := e.opts.Attempts, e.opts.RetryAfter
	if attempts <= 0 {
		attempts = 3
	}
	if step <= 0 {
		step = time.Second
	}
	if p.attempt >= attempts {
		e.failed.Add(1)
		return
	}
	p.attempt++
	p.due = e.now().Add(time.Duration(p.attempt-1) * step)
	e.seq++
	p.seq = e.seq
	heap.Push(&e.q, p)
}

func (e *Emitter) post(p *pending) Result {
	r := Result{Kind: p.hook.Kind, URL: p.hook.URL, Attempt: p.attempt}
	req, err := http.NewRequest(http.MethodPost, p.hook.URL, bytes.NewReader(p.hook.Body))
	if err != nil {
		r.Err = fmt.Sprintf("building the request: %v", err)
		return r
	}
	req.Header = p.hook.Header.Clone()
	start := time.Now()
	resp, err := e.client.Do(req)
	r.Latency = time.Since(start)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_, _ = io.Copy(io.Discard, resp.Body)
	r.Status, r.ContentType, r.Reply = resp.StatusCode, resp.Header.Get("Content-Type"), string(reply)
	return r
}

// Settle waits until no webhook is due on the fake's clock and none is
// being posted. Webhooks due later stay queued: move the clock to release them.
func (e *Emitter) Settle(ctx context.Context) error {
	for {
		e.mu.Lock()
		idle := !e.busy && (len(e.q) == 0 || e.q[0].due.After(e.now()))
		e.mu.Unlock()
		if idle {
			return nil
		}
		e.poke()
		select {
		case <-ctx.Done():
			return fmt.Errorf("webhooks still due: %w", ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Pending is the number of webhooks queued (due or not).
func (e *Emitter) Pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.q)
}

// Results returns the recorded delivery attempts, oldest first.
func (e *Emitter) Results() []Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Result(nil), e.results...)
}

// EmitStats counts deliveries: posted (2xx), failed (gave up) and dropped (queue full).
type EmitStats struct {
	Posted  int64 `json:"posted"`
	Failed  int64 `json:"failed"`
	Dropped int64 `json:"dropped"`
	Pending int   `json:"pending"`
}

// Stats returns the delivery counters.
func (e *Emitter) Stats() EmitStats {
	return EmitStats{Posted: e.posted.Load(), Failed: e.failed.Load(), Dropped: e.dropped.Load(), Pending: e.Pending()}
}

// Reset drops queued webhooks, results, counters and options.
func (e *Emitter) Reset() {
	e.mu.Lock()
	e.q, e.results, e.opts = nil, nil, EmitOptions{}
	e.mu.Unlock()
	e.posted.Store(0)
	e.failed.Store(0)
	e.dropped.Store(0)
}

// Close stops the emitter; queued webhooks are dropped.
func (e *Emitter) Close() {
	select {
	case <-e.stop:
	default:
		close(e.stop)
	}
	<-e.done
}
