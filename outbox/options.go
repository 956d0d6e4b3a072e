package outbox

import (
	"math/rand/v2"
	"time"
)

// Options tune the dispatchers. Zero values take the defaults below; tests
// shrink the backoff and poll intervals to run in seconds.
type Options struct {
	// MaxBatch caps one claim. The batch is also kept to about a quarter
	// second of the channel's rate, so that few messages sit claimed but
	// unsent (those become "unknown" if the process dies).
	MaxBatch int
	// MaxInFlight caps concurrent provider calls per channel when the
	// channel type sets no cap of its own (Capabilities.MaxInFlight).
	MaxInFlight int
	// PollInterval is how often an idle dispatcher looks for due messages
	// (Manager.Enqueue wakes it at once).
	PollInterval time.Duration
	// ResyncInterval is how often the manager re-reads the channel list, in
	// case a change reached the database without going through a record hook.
	ResyncInterval time.Duration
	// MaxAttempts: a message that keeps failing with a retry or throttle
	// class fails for good after this many provider calls.
	MaxAttempts int
	// BackoffBase and BackoffMax bound the exponential backoff (with jitter)
	// between attempts of one message.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// FlushLinger is how long the result writer waits for more results to
	// commit in one transaction; FlushMax caps that transaction. Each
	// commit costs about a millisecond of the writer whatever its size (the
	// pages at the edges of every index it touches go to the WAL), so the
	// linger is what keeps that cost per message small at high rates; a
	// result waiting in memory when the process dies leaves its message
	// sending, hence unknown after the restart, never resent.
	FlushLinger time.Duration
	FlushMax    int
	// DrainTimeout bounds how long shutdown waits for calls in flight.
	DrainTimeout time.Duration
	// CallTimeout bounds one provider call; a call that runs out is a
	// network error (retry class, as channels.NetworkError says).
	CallTimeout time.Duration
	// StatusCallbackURL, when set, returns the URL a provider that takes one
	// per message (Twilio) posts statuses to.
	StatusCallbackURL func(channel, message string) string
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxBatch, 500)
	def(&o.MaxInFlight, 256)
	def(&o.MaxAttempts, 10)
	def(&o.FlushMax, 2000)
	defD(&o.PollInterval, 250*time.Millisecond)
	defD(&o.ResyncInterval, 15*time.Second)
	defD(&o.BackoffBase, 2*time.Second)
	defD(&o.BackoffMax, 15*time.Minute)
	defD(&o.FlushLinger, 25*time.Millisecond)
	defD(&o.DrainTimeout, 10*time.Second)
	defD(&o.CallTimeout, 30*time.Second)
	return o
}

// backoff is the wait before attempt n+1 after n failed attempts:
// exponential from BackoffBase, capped at BackoffMax, with "equal jitter"
// (half fixed, half random) so that a burst of failures does not come back
// as a burst.
func (o Options) backoff(attempts int) time.Duration {
	d := o.BackoffBase
	for i := 1; i < attempts && d < o.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, o.BackoffMax)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// batchFor sizes a claim for a channel sending perSecond.
func (o Options) batchFor(perSecond float64) int {
	if perSecond <= 0 {
		return o.MaxBatch
	}
	return max(1, min(o.MaxBatch, int(perSecond/4)+1))
}
