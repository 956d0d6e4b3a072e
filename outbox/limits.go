package outbox

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// pacer is a channel's send rate, shared by every source: a token bucket
// (golang.org/x/time/rate) smooths the flow where messages are admitted,
// and an arrival window (see arrivalWindow), passed by each worker just
// before its call, makes "never more than r calls in any one second, as the
// provider sees them" hold even when the bucket releases a catch-up burst,
// a worker is scheduled late or a request is delayed on its way on a busy
// machine. It runs on the real clock: it paces real HTTP calls.
type pacer struct {
	lim *rate.Limiter // nil: unlimited

	win  *arrivalWindow // nil: unlimited
	mu   sync.Mutex     // guards win
	turn chan struct{}  // one worker at a time waits for room; the others queue behind it
}

// fullWindowPoll is how often the worker at the head of the line looks
// again when every counted call is still in flight (only when calls take
// longer than the window holds them: rates far below the calls in flight).
const fullWindowPoll = 10 * time.Millisecond

func newPacer(perSecond float64) *pacer {
	if perSecond <= 0 || math.IsInf(perSecond, 1) {
		return &pacer{}
	}
	// The bucket holds a fifth of a second of tokens: a loop that was not
	// scheduled for up to 200 ms (a loaded machine: 100 ms stalls cost 2% of
	// a minute's mean at 1,000/s) catches up instead of losing that time for
	// good; the arrival window, not the bucket, keeps any one second at the
	// provider within the rate, and a stall left as much room in it.
	burst := max(1, int(perSecond/5))
	p := &pacer{lim: rate.NewLimiter(rate.Limit(perSecond), burst), turn: make(chan struct{}, 1)}
	if n := int(perSecond); n >= 1 {
		p.win = newArrivalWindow(n)
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

// callSlot is a call counted in the arrival window; done records its end.
type callSlot struct {
	p     *pacer
	start time.Time
}

func (s callSlot) done() {
	if s.p == nil {
		return
	}
	end := time.Now()
	s.p.mu.Lock()
	s.p.win.finish(s.start, end)
	s.p.mu.Unlock()
}

// Guard blocks until a call may start now without putting more than r
// calls into any one-second window at the provider, and counts the call:
// the caller ends the returned slot with done once the call returns.
// Workers queue for their turn, so that a freed place wakes one of them,
// not all.
func (p *pacer) Guard(ctx context.Context) (callSlot, error) {
	if p.win == nil {
		return callSlot{}, nil
	}
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return callSlot{}, ctx.Err()
	}
	defer func() { <-p.turn }()
	for {
		p.mu.Lock()
		now := time.Now()
		ok, retry := p.win.tryStart(now)
		p.mu.Unlock()
		if ok {
			return callSlot{p: p, start: now}, nil
		}
		wait := fullWindowPoll
		if !retry.IsZero() {
			wait = retry.Sub(now)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return callSlot{}, ctx.Err()
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
