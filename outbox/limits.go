package outbox

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// pacer is a channel's send rate, shared by every source: a token bucket
// (golang.org/x/time/rate) smooths the flow where messages are admitted, and
// a sliding-window guard, passed by each worker just before its call, makes
// "never more than r calls in any one second" hold even when the bucket
// releases a catch-up burst or a worker is scheduled late on a busy CPU. It
// runs on the real clock: it paces real HTTP calls.
type pacer struct {
	lim *rate.Limiter // nil: unlimited

	mu     sync.Mutex
	ring   []time.Time // the last len(ring) call starts, oldest at idx
	idx    int
	window time.Duration
}

// guardSlack widens the guard's window so that jitter between a call's start
// and its arrival at the provider (goroutine scheduling, the HTTP stack on a
// loaded machine) does not push r+1 requests into one provider-side second;
// it costs about 1.5% of the rate.
const guardSlack = 15 * time.Millisecond

func newPacer(perSecond float64) *pacer {
	if perSecond <= 0 || math.IsInf(perSecond, 1) {
		return &pacer{}
	}
	burst := max(1, int(perSecond/100))
	p := &pacer{lim: rate.NewLimiter(rate.Limit(perSecond), burst), window: time.Second + guardSlack}
	if n := int(perSecond); n >= 1 {
		p.ring = make([]time.Time, n)
	}
	return p
}

// Wait blocks until the bucket lets one more message go.
func (p *pacer) Wait(ctx context.Context) error {
	if p.lim == nil {
		return ctx.Err()
	}
	return p.lim.Wait(ctx)
}

// Guard blocks until a call may start now without making more than r calls
// start within one guard window, and records the start.
func (p *pacer) Guard(ctx context.Context) error {
	if p.ring == nil {
		return nil
	}
	for {
		p.mu.Lock()
		now := time.Now()
		oldest := p.ring[p.idx]
		if oldest.IsZero() || now.Sub(oldest) >= p.window {
			p.ring[p.idx] = now
			p.idx = (p.idx + 1) % len(p.ring)
			p.mu.Unlock()
			return nil
		}
		d := p.window - now.Sub(oldest)
		p.mu.Unlock()
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// recipients keeps per-recipient pacing on the app clock: the spacing
// between two messages to one recipient (WhatsApp's pair rate), a
// recipient-scoped throttle from the provider, and one message in flight per
// recipient so that a burst to one contact arrives in order.
type recipients struct {
	spacing time.Duration

	mu    sync.Mutex
	next  map[string]time.Time // identity → earliest next send
	busy  map[string]bool
	calls int
}

func newRecipients(spacing time.Duration) *recipients {
	return &recipients{spacing: spacing, next: map[string]time.Time{}, busy: map[string]bool{}}
}

// busyRetry is how long a message waits when its recipient has another
// message in flight and the channel has no spacing of its own.
const busyRetry = 500 * time.Millisecond

// admit reserves the recipient for a send now, or says when to try again.
func (r *recipients) admit(id string, now time.Time) (bool, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls++; r.calls%4096 == 0 && len(r.next) > 4096 {
		for k, t := range r.next {
			if !t.After(now) {
				delete(r.next, k)
			}
		}
	}
	if t, ok := r.next[id]; ok && t.After(now) {
		return false, t
	}
	if r.busy[id] {
		return false, now.Add(max(r.spacing, busyRetry))
	}
	r.busy[id] = true
	if r.spacing > 0 {
		r.next[id] = now.Add(r.spacing)
	}
	return true, time.Time{}
}

// release ends a send; until, when later than the spacing, holds the
// recipient back (a recipient-scoped throttle).
func (r *recipients) release(id string, until time.Time) {
	r.mu.Lock()
	delete(r.busy, id)
	if until.After(r.next[id]) {
		r.next[id] = until
	}
	r.mu.Unlock()
}

// tierWindow is the rolling period of WhatsApp's messaging tier.
const tierWindow = 24 * time.Hour

// tier enforces a rolling-24h limit of unique recipients of
// business-initiated messages. It is rebuilt from messages.tier_at at start,
// so a restart forgets nobody.
type tier struct {
	limit int

	mu   sync.Mutex
	seen map[string]time.Time // identity → last time it counted
}

// admit says whether a business-initiated message to identity may go;
// isNew means the recipient was added now (forget it if the send fails).
func (t *tier) admit(identity string, now time.Time) (ok, isNew bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cutoff := now.Add(-tierWindow)
	if at, seen := t.seen[identity]; seen && at.After(cutoff) {
		t.seen[identity] = now
		return true, false
	}
	if len(t.seen) >= t.limit {
		for k, at := range t.seen {
			if !at.After(cutoff) {
				delete(t.seen, k)
			}
		}
	}
	if len(t.seen) >= t.limit {
		return false, false
	}
	t.seen[identity] = now
	return true, true
}

func (t *tier) forget(identity string) {
	t.mu.Lock()
	delete(t.seen, identity)
	t.mu.Unlock()
}

// sourceLimits are the per-source controls a broadcast sets on top of the
// channel's rate, shared by every channel's dispatcher (one broadcast may
// send on several channels).
type sourceLimits struct {
	mu        sync.Mutex
	pacers    map[string]*sourcePacer
	cancelled map[string]bool
}

type sourcePacer struct {
	lim    *rate.Limiter
	step   time.Duration
	cursor time.Time // app clock: where the last deferred message was placed
}

func newSourceLimits() *sourceLimits {
	return &sourceLimits{pacers: map[string]*sourcePacer{}, cancelled: map[string]bool{}}
}

func (s *sourceLimits) setRate(src string, perSecond float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if perSecond <= 0 {
		delete(s.pacers, src)
		return
	}
	s.pacers[src] = &sourcePacer{lim: rate.NewLimiter(rate.Limit(perSecond), 1),
		step: time.Duration(float64(time.Second) / perSecond)}
}

func (s *sourceLimits) setCancelled(src string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.cancelled[src] = true
	} else {
		delete(s.cancelled, src)
	}
}

func (s *sourceLimits) isCancelled(src string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancelled[src]
}

// admit takes the source's token now, or returns when the message should
// come back. Deferred messages are spread one step apart after each other,
// so a backlog turns into a schedule instead of a crowd that retries at once.
func (s *sourceLimits) admit(src string, now time.Time) (bool, time.Time) {
	if src == "" {
		return true, time.Time{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pacers[src]
	if p == nil {
		return true, time.Time{}
	}
	real := time.Now()
	res := p.lim.ReserveN(real, 1)
	d := res.DelayFrom(real)
	if d == 0 {
		return true, time.Time{}
	}
	res.CancelAt(real)
	at := now.Add(d)
	if c := p.cursor.Add(p.step); c.After(at) {
		at = c
	}
	p.cursor = at
	return false, at
}
