package outbox

import (
	"container/heap"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// simulation drives an arrivalWindow on a fake clock the way pacer.Guard
// and the dispatcher do: a token bucket offers a call every 1/rate, each
// offer starts as soon as the window lets it, and each call lasts its
// latency. arrive says when, within [start, start+latency], the provider
// saw the call; latency draws each call's latency.
type simulation struct {
	rate    int
	seconds int
	from    int // the mean counts arrivals from this second on (0: the first arrival)
	latency func(r *rand.Rand) time.Duration
	arrive  func(r *rand.Rand, start time.Time, latency time.Duration) time.Time
}

type simResult struct {
	busiest int // most arrivals in any one-second window
	mean    float64
}

func (s simulation) run(seed uint64) simResult {
	r := rand.New(rand.NewPCG(seed, 1))
	w := newArrivalWindow(s.rate)
	t0 := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	end := t0.Add(time.Duration(s.seconds) * time.Second)
	step := time.Second / time.Duration(s.rate)
	var pending finishes // calls in flight, by end
	finishUntil := func(t time.Time) {
		for len(pending) > 0 && !pending[0].end.After(t) {
			f := heap.Pop(&pending).(finish)
			w.finish(f.start, f.end)
		}
	}
	var arrivals []time.Time
	now := t0
	for offer := t0; offer.Before(end); offer = offer.Add(step) {
		if offer.After(now) {
			now = offer // the bucket releases the next call at offer
		}
		for {
			finishUntil(now)
			ok, retry := w.tryStart(now)
			if ok {
				break
			}
			switch {
			case !retry.IsZero():
				now = retry
			case len(pending) > 0:
				now = pending[0].end
			default:
				panic("window full with nothing counted or in flight")
			}
		}
		if !now.Before(end) {
			break
		}
		lat := s.latency(r)
		heap.Push(&pending, finish{start: now, end: now.Add(lat)})
		arrivals = append(arrivals, s.arrive(r, now, lat))
	}
	sort.Slice(arrivals, func(i, j int) bool { return arrivals[i].Before(arrivals[j]) })
	res, lo, counted := simResult{}, 0, 0
	for hi, a := range arrivals {
		for a.Sub(arrivals[lo]) >= time.Second {
			lo++
		}
		res.busiest = max(res.busiest, hi-lo+1)
		// The mean over the run, counted from the first arrival as the
		// rate benchmark does (or from second from).
		if since := a.Sub(arrivals[0]); since >= time.Duration(s.from)*time.Second && since < time.Duration(s.seconds-1)*time.Second {
			counted++
		}
	}
	res.mean = float64(counted) / float64(s.seconds-1-s.from)
	return res
}

type finish struct{ start, end time.Time }

type finishes []finish

func (h finishes) Len() int           { return len(h) }
func (h finishes) Less(i, j int) bool { return h[i].end.Before(h[j].end) }
func (h finishes) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *finishes) Push(x any)        { *h = append(*h, x.(finish)) }
func (h *finishes) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// loopback: mostly sub-millisecond calls with scheduling spikes of up to
// 60 ms, the request reaching the provider anywhere within the call (the
// worst case: a delay entirely on the way in).
func loopbackLatency(r *rand.Rand) time.Duration {
	switch x := r.Float64(); {
	case x < 0.002:
		return time.Duration(20+r.IntN(41)) * time.Millisecond
	case x < 0.02:
		return time.Duration(2+r.IntN(8)) * time.Millisecond
	default:
		return time.Duration(200+r.IntN(800)) * time.Microsecond
	}
}

func anywhereInCall(r *rand.Rand, start time.Time, lat time.Duration) time.Time {
	return start.Add(time.Duration(r.Int64N(int64(lat) + 1)))
}

func TestArrivalWindowNeverLetsASecondHoldMoreThanTheRate(t *testing.T) {
	for _, rate := range []int{80, 1000} {
		for seed := uint64(1); seed <= 5; seed++ {
			res := simulation{rate: rate, seconds: 60, latency: loopbackLatency, arrive: anywhereInCall}.run(seed)
			if res.busiest > rate {
				t.Fatalf("rate %d, seed %d: %d arrivals in one second", rate, seed, res.busiest)
			}
			if res.mean < 0.98*float64(rate) {
				t.Fatalf("rate %d, seed %d: mean %.1f/s is under 98%% of the rate", rate, seed, res.mean)
			}
		}
	}
}

// A machine starved of CPU held requests on loopback for over a second;
// however long a call takes, its arrival stays counted until its answer.
func TestLongStallsDoNotBunchArrivals(t *testing.T) {
	starved := func(r *rand.Rand) time.Duration {
		if r.Float64() < 0.001 {
			return time.Duration(500+r.IntN(1500)) * time.Millisecond
		}
		return loopbackLatency(r)
	}
	for _, rate := range []int{80, 1000} {
		for seed := uint64(1); seed <= 3; seed++ {
			res := simulation{rate: rate, seconds: 60, latency: starved, arrive: func(r *rand.Rand, start time.Time, lat time.Duration) time.Time {
				return start.Add(lat) // held on the way in for the whole call
			}}.run(seed)
			if res.busiest > rate {
				t.Fatalf("rate %d, seed %d: %d arrivals in one second", rate, seed, res.busiest)
			}
		}
	}
}

// A delay on the way in is what breaks a guard that counts call starts
// only: the same traffic through a window that counts each call for its
// slack alone (no latency) puts more than the rate into a second.
func TestCountingStartsAloneLetsDelayedRequestsBunch(t *testing.T) {
	sim := simulation{rate: 1000, seconds: 20, latency: loopbackLatency, arrive: func(r *rand.Rand, start time.Time, lat time.Duration) time.Time {
		return start.Add(lat) // the whole latency on the way in
	}}
	startsOnly := sim
	startsOnly.latency = func(r *rand.Rand) time.Duration { return 0 } // the window never learns of the delay
	over := false
	for seed := uint64(1); seed <= 5 && !over; seed++ {
		r := rand.New(rand.NewPCG(seed, 2))
		delays := map[time.Time]time.Duration{}
		startsOnly.arrive = func(_ *rand.Rand, start time.Time, _ time.Duration) time.Time {
			d, ok := delays[start]
			if !ok {
				d = loopbackLatency(r)
				delays[start] = d
			}
			return start.Add(d)
		}
		over = startsOnly.run(seed).busiest > 1000
		if res := sim.run(seed); res.busiest > 1000 {
			t.Fatalf("seed %d: the window let %d arrivals into one second", seed, res.busiest)
		}
	}
	if !over {
		t.Fatal("counting starts alone never exceeded the rate: the test no longer shows why latency counts")
	}
}

// Against a remote provider every call pays the round trip; once the usual
// latency is learnt (an epoch) only the part above it counts, so the rate is
// kept, not cut by the latency/(1 s + latency) a window holding each call
// until its answer would cost (about 17 % at 200 ms).
func TestRemoteLatencyCostsLittleOfTheRate(t *testing.T) {
	remote := func(r *rand.Rand) time.Duration {
		return time.Duration(180+r.IntN(30)) * time.Millisecond
	}
	halfway := func(r *rand.Rand, start time.Time, lat time.Duration) time.Time {
		return start.Add(90*time.Millisecond + time.Duration(r.Int64N(int64(lat-180*time.Millisecond)+1)))
	}
	for _, rate := range []int{80, 1000} {
		res := simulation{rate: rate, seconds: 120, from: 60, latency: remote, arrive: halfway}.run(7)
		if res.busiest > rate || res.mean < 0.97*float64(rate) {
			t.Fatalf("rate %d: busiest %d, mean %.1f/s", rate, res.busiest, res.mean)
		}
	}
}

// A channel's first calls open their connections: slow, and slow before
// the request reaches the provider. Their latency must not be taken for the
// usual one, or their arrivals bunch with the faster calls that follow.
func TestSlowFirstCallsDoNotBunchWithTheFastOnesAfter(t *testing.T) {
	for _, rate := range []int{80, 1000} {
		var calls int
		sim := simulation{rate: rate, seconds: 30,
			latency: func(r *rand.Rand) time.Duration {
				calls++
				if calls <= 256 { // one new connection per worker
					return 20 * time.Millisecond
				}
				return time.Duration(200+r.IntN(300)) * time.Microsecond
			},
			arrive: func(r *rand.Rand, start time.Time, lat time.Duration) time.Time {
				return start.Add(lat) // the delay is all on the way in
			}}
		if res := sim.run(3); res.busiest > rate {
			t.Fatalf("rate %d: %d arrivals in one second", rate, res.busiest)
		}
	}
}

func TestArrivalWindowLearnsTheUsualLatencyPerEpoch(t *testing.T) {
	w := newArrivalWindow(3)
	t0 := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	call := func(at time.Time, lat time.Duration) {
		if ok, _ := w.tryStart(at); !ok {
			t.Fatalf("no room at %v", at)
		}
		w.finish(at, at.Add(lat))
	}
	call(t0, 200*time.Millisecond)
	call(t0.Add(time.Second), 300*time.Millisecond)
	if got := w.usualLatency(t0.Add(2 * time.Second)); got != 0 {
		t.Fatalf("within the first epoch the usual latency is %v, want 0 (not learnt yet)", got)
	}
	// The next epoch knows the first one's minimum...
	next := t0.Add(latencyEpoch + time.Second)
	call(next, 400*time.Millisecond)
	if got := w.usualLatency(next.Add(time.Second)); got != 200*time.Millisecond {
		t.Fatalf("usual latency %v in the next epoch, want the first one's minimum, 200ms", got)
	}
	// ...and forgets it one epoch later.
	later := t0.Add(2*latencyEpoch + time.Second)
	call(later, 450*time.Millisecond)
	if got := w.usualLatency(later.Add(time.Second)); got != 400*time.Millisecond {
		t.Fatalf("usual latency %v two epochs later, want 400ms", got)
	}
}
