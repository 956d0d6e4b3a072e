package fakekit

import (
	"sync"
	"time"
)

// Bucket is a token bucket: Rate tokens per second, at most Burst saved.
// It is not safe for concurrent use; Buckets guards it.
type Bucket struct {
	tokens float64
	last   time.Time
}

func (b *Bucket) take(rate, burst float64, now time.Time) (ok bool, wait time.Duration) {
	if b.last.IsZero() {
		b.tokens = burst
	} else if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens += dt * rate
		if b.tokens > burst {
			b.tokens = burst
		}
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

// Buckets keys token buckets by sender, recipient or chat. A zero Rate
// means unlimited: Take always succeeds without locking.
type Buckets struct {
	mu    sync.Mutex
	rate  float64
	burst float64
	m     map[string]*Bucket
}

// maxBuckets bounds memory: past it, the map is dropped and rebuilt (every
// key starts with a full bucket again), which only makes the fake lenient
// for an instant.
const maxBuckets = 1 << 20

// NewBuckets returns keyed buckets refilling at rate per second with burst
// capacity (at least 1).
func NewBuckets(rate, burst float64) *Buckets {
	if burst < 1 {
		burst = 1
	}
	return &Buckets{rate: rate, burst: burst, m: map[string]*Bucket{}}
}

// Take spends one token of key's bucket at now. When none is left it
// returns false and how long until one is.
func (b *Buckets) Take(key string, now time.Time) (bool, time.Duration) {
	if b == nil || b.rate <= 0 {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	k := b.m[key]
	if k == nil {
		if len(b.m) >= maxBuckets {
			b.m = map[string]*Bucket{}
		}
		k = &Bucket{}
		b.m[key] = k
	}
	return k.take(b.rate, b.burst, now)
}

// Reset refills every bucket.
func (b *Buckets) Reset() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.m = map[string]*Bucket{}
	b.mu.Unlock()
}
