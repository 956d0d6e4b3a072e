package outbox

import (
	"container/heap"
	"time"
)

// arrivalWindow decides when a provider call may start so that no window
// of one second, as the provider sees arrivals, holds more than limit
// calls, whatever delay each request meets between our call and the
// provider's clock (goroutine scheduling, the HTTP stack, the provider's
// front end; on a machine starved of CPU, over a second).
//
// A call is counted from its start until u, the latest time it may have
// arrived: a call in flight may still be on its way, so it counts; a
// finished call arrived before its answer came back, and on loopback that
// bound is exact. Against a remote provider the answer takes a round trip
// that every call pays alike, which shifts all arrivals together and
// bunches none of them, so only the part of a call's latency above the
// channel's usual (minimum recent) latency is counted as possible delay:
// u = start + slack + (latency − usual). It is not capped: requests held
// 1.4 s on loopback by a starved machine put 127 into one second at 80/s
// under a 500 ms cap. slack covers the usual latency where it is small
// (loopback, sub-millisecond) and clock granularity. A call may start at t
// only if fewer than limit calls are in flight or have u > t − 1 s. For any
// one-second window W, take the last call k to start among those arriving
// in W: every earlier one arriving in W has u ≥ its arrival ≥ W's start >
// k's start − 1 s, so it was counted when k started, and W holds at most
// limit arrivals.
//
// The price is each call's slack plus its excess latency (≈ 0.5–1 % of the
// rate on loopback, more while the machine stalls): the mean stays above
// 98 % of the rate. Against a remote provider the first epoch, before the
// usual latency is known, counts whole latencies (about 17 % of the rate at
// 200 ms) and the rest of the time about 2 %. It is pure logic on the times
// it is given; pacer.Guard runs it on the real clock, tests on a fake one.
type arrivalWindow struct {
	limit int
	slack time.Duration

	inFlight int
	counted  timeHeap // u of finished calls that may still fall in a window with the next start

	// The usual latency: the minimum over this epoch and the previous one,
	// so a change of network path is learnt within two epochs.
	epoch            time.Time
	minCur, minPrev  time.Duration
	seenCur, seenPrv bool
}

// Defaults of the window: see arrivalWindow. latencyEpoch is how long one
// minimum-latency epoch lasts.
const (
	windowSlack  = 5 * time.Millisecond
	latencyEpoch = 30 * time.Second
	window       = time.Second
)

func newArrivalWindow(limit int) *arrivalWindow {
	return &arrivalWindow{limit: limit, slack: windowSlack}
}

// tryStart counts a call starting at now if the window has room. Otherwise
// it returns when to try again: when the oldest counted call leaves the
// window, or zero when every counted call is still in flight (retry after
// one of them finishes).
func (w *arrivalWindow) tryStart(now time.Time) (ok bool, retry time.Time) {
	cutoff := now.Add(-window)
	for len(w.counted) > 0 && !w.counted[0].After(cutoff) {
		heap.Pop(&w.counted)
	}
	if w.inFlight+len(w.counted) < w.limit {
		w.inFlight++
		return true, time.Time{}
	}
	if len(w.counted) > 0 {
		return false, w.counted[0].Add(window)
	}
	return false, time.Time{}
}

// finish records the end of a call that started at start.
func (w *arrivalWindow) finish(start, end time.Time) {
	w.inFlight--
	latency := end.Sub(start)
	excess := max(latency-w.usualLatency(end), 0)
	w.noteLatency(end, latency)
	heap.Push(&w.counted, start.Add(w.slack+excess))
}

// usualLatency is the minimum latency of recent calls, once a whole epoch
// of calls has been seen; before that it is zero and a call's whole latency
// counts as possible delay. A channel's first calls are not a fair sample:
// they open their connections, and that delay comes before the request
// reaches the provider, so taking it for the usual latency would let early
// arrivals bunch with the faster calls that follow (measured: 1,048 in the
// first second at 1,000/s). A minimum is only ever too low by mistake, which
// costs rate, never accuracy; epochs let it rise again after the network
// path got slower for good.
func (w *arrivalWindow) usualLatency(now time.Time) time.Duration {
	w.roll(now)
	switch {
	case w.seenPrv && w.seenCur:
		return min(w.minCur, w.minPrev)
	case w.seenPrv:
		return w.minPrev
	}
	return 0
}

func (w *arrivalWindow) noteLatency(now time.Time, d time.Duration) {
	w.roll(now)
	if !w.seenCur || d < w.minCur {
		w.minCur, w.seenCur = d, true
	}
}

func (w *arrivalWindow) roll(now time.Time) {
	if w.epoch.IsZero() {
		w.epoch = now
	}
	for now.Sub(w.epoch) >= latencyEpoch {
		w.minPrev, w.seenPrv = w.minCur, w.seenCur
		w.minCur, w.seenCur = 0, false
		w.epoch = w.epoch.Add(latencyEpoch)
		if now.Sub(w.epoch) >= latencyEpoch { // idle for longer than an epoch: start afresh
			w.epoch, w.seenPrv = now, false
		}
	}
}

// timeHeap is a min-heap of times.
type timeHeap []time.Time

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }
func (h *timeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
