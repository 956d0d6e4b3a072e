package fakekit

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Entry is one request a fake answered.
type Entry struct {
	// At is the real (monotonic) arrival time: rates are real-time.
	At        time.Time     `json:"at"`
	Duration  time.Duration `json:"duration"`
	Method    string        `json:"method"`
	Op        string        `json:"op"` // e.g. "messages", "sendMessage"; never carries a token
	Sender    string        `json:"sender,omitempty"`
	Recipient string        `json:"recipient,omitempty"`
	Status    int           `json:"status"`
	Code      string        `json:"code,omitempty"` // provider error code answered
	// Wait is the wait the fake asked for (Telegram retry_after), if any.
	Wait time.Duration `json:"wait,omitempty"`
	Body []byte        `json:"body,omitempty"` // only with Log.SetBodies(true)
}

// OK reports whether the request was accepted.
func (e Entry) OK() bool { return e.Status >= 200 && e.Status < 300 }

// DefaultLogCapacity bounds the request log: past it, the oldest entries are
// overwritten, while the counters keep counting.
const DefaultLogCapacity = 200_000

// Log records requests in a bounded ring. Recording can be switched off
// for throughput benchmarks; the counters stay on (they are atomic).
type Log struct {
	off    atomic.Bool
	bodies atomic.Bool
	total  atomic.Int64
	ok     atomic.Int64

	mu      sync.Mutex
	cap     int
	entries []Entry
	next    int // write position once the ring is full
}

// NewLog returns a log keeping at most capacity entries (DefaultLogCapacity when ≤ 0).
func NewLog(capacity int) *Log {
	if capacity <= 0 {
		capacity = DefaultLogCapacity
	}
	return &Log{cap: capacity}
}

// SetRecording switches entry recording on or off.
func (l *Log) SetRecording(on bool) { l.off.Store(!on) }

// SetBodies switches keeping request bodies (off by default: they cost memory).
func (l *Log) SetBodies(on bool) { l.bodies.Store(on) }

// KeepBodies reports whether bodies are kept, so fakes skip copying them.
func (l *Log) KeepBodies() bool { return l.bodies.Load() && !l.off.Load() }

// Add records e.
func (l *Log) Add(e Entry) {
	l.total.Add(1)
	if e.OK() {
		l.ok.Add(1)
	}
	if l.off.Load() {
		return
	}
	l.mu.Lock()
	if len(l.entries) < l.cap {
		l.entries = append(l.entries, e)
	} else {
		l.entries[l.next] = e
		l.next = (l.next + 1) % l.cap
	}
	l.mu.Unlock()
}

// Total is the number of requests answered (recorded or not).
func (l *Log) Total() int64 { return l.total.Load() }

// Accepted is the number of requests answered with success.
func (l *Log) Accepted() int64 { return l.ok.Load() }

// Reset forgets every entry and zeroes the counters.
func (l *Log) Reset() {
	l.mu.Lock()
	l.entries, l.next = nil, 0
	l.mu.Unlock()
	l.total.Store(0)
	l.ok.Store(0)
}

// Entries returns the recorded entries sorted by arrival time.
func (l *Log) Entries() []Entry {
	l.mu.Lock()
	out := make([]Entry, 0, len(l.entries))
	out = append(out, l.entries[l.next:]...)
	out = append(out, l.entries[:l.next]...)
	l.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// Filter selects entries; nil selects all.
type Filter func(Entry) bool

// OnlyOK selects accepted requests.
func OnlyOK(e Entry) bool { return e.OK() }

// OnlyOp selects requests of one operation.
func OnlyOp(op string) Filter { return func(e Entry) bool { return e.Op == op } }

func (l *Log) selected(f Filter) []Entry {
	all := l.Entries()
	if f == nil {
		return all
	}
	out := all[:0]
	for _, e := range all {
		if f(e) {
			out = append(out, e)
		}
	}
	return out
}

// Count is how many recorded entries f selects.
func (l *Log) Count(f Filter) int { return len(l.selected(f)) }

// MaxInWindow is the largest number of selected requests that arrived
// within any window of length win (e.g. a sliding second).
func (l *Log) MaxInWindow(win time.Duration, f Filter) int {
	es := l.selected(f)
	best, lo := 0, 0
	for hi := range es {
		for es[hi].At.Sub(es[lo].At) >= win {
			lo++
		}
		if n := hi - lo + 1; n > best {
			best = n
		}
	}
	return best
}

// MinGap is the smallest gap between two consecutive selected requests with
// the same key (e.g. the recipient), and that key. It returns -1 when no
// key was seen twice.
func (l *Log) MinGap(key func(Entry) string, f Filter) (time.Duration, string) {
	last := map[string]time.Time{}
	gap, who := time.Duration(-1), ""
	for _, e := range l.selected(f) {
		k := key(e)
		if prev, ok := last[k]; ok {
			if d := e.At.Sub(prev); gap < 0 || d < gap {
				gap, who = d, k
			}
		}
		last[k] = e.At
	}
	return gap, who
}

// MinGapPerRecipient is MinGap keyed by recipient.
func (l *Log) MinGapPerRecipient(f Filter) (time.Duration, string) {
	return l.MinGap(func(e Entry) string { return e.Recipient }, f)
}

// Unique is the number of distinct keys among selected requests.
func (l *Log) Unique(key func(Entry) string, f Filter) int {
	seen := map[string]struct{}{}
	for _, e := range l.selected(f) {
		seen[key(e)] = struct{}{}
	}
	return len(seen)
}

// UniqueRecipients is Unique keyed by recipient.
func (l *Log) UniqueRecipients(f Filter) int {
	return l.Unique(func(e Entry) string { return e.Recipient }, f)
}

// IgnoredWaits counts requests that arrived, for the same key, before a
// wait the fake had asked for (Entry.Wait) was over: a sender that honours
// retry_after scores 0. key nil means one scope for everything.
func (l *Log) IgnoredWaits(key func(Entry) string) int {
	if key == nil {
		key = func(Entry) string { return "" }
	}
	until := map[string]time.Time{}
	n := 0
	for _, e := range l.selected(nil) {
		k := key(e)
		if u, ok := until[k]; ok && e.At.Before(u) {
			n++
		}
		if e.Wait > 0 {
			if u := e.At.Add(e.Wait); u.After(until[k]) {
				until[k] = u
			}
		}
	}
	return n
}
