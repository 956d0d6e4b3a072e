package hooks

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// keyedLimiter is a token bucket per key (a visitor, an IP address). Idle
// keys are dropped once the map grows, so memory stays bounded however
// many visitors come and go.
type keyedLimiter struct {
	every time.Duration
	burst int
	max   int

	mu   sync.Mutex
	keys map[string]*keyedEntry
}

type keyedEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newKeyedLimiter(every time.Duration, burst, max int) *keyedLimiter {
	return &keyedLimiter{every: every, burst: burst, max: max, keys: map[string]*keyedEntry{}}
}

// Allow takes one token from key's bucket.
func (l *keyedLimiter) Allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	en, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= l.max {
			l.prune(now)
		}
		en = &keyedEntry{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.keys[key] = en
	}
	en.seen = now
	return en.lim.AllowN(now, 1)
}

// prune drops keys whose bucket has refilled (idle long enough that a new
// bucket would be identical). If that frees too little (a flood of new
// keys), random keys go until half the room is free: an evicted key only
// gets a fresh bucket, which a flood would get anyway.
func (l *keyedLimiter) prune(now time.Time) {
	idle := l.every * time.Duration(l.burst)
	for k, en := range l.keys {
		if now.Sub(en.seen) >= idle {
			delete(l.keys, k)
		}
	}
	for k := range l.keys {
		if len(l.keys) <= l.max/2 {
			break
		}
		delete(l.keys, k)
	}
}

// webchatLimits are the web-chat endpoints' limits: visitors are anonymous,
// so each one, and each address that creates them, gets a budget.
type webchatLimits struct {
	messages *keyedLimiter // per visitor: 1 message/s, bursts of 5
	reads    *keyedLimiter // per visitor: history reads
	visitors *keyedLimiter // per IP address: new visitors
}

func newWebchatLimits() *webchatLimits {
	return &webchatLimits{
		messages: newKeyedLimiter(time.Second, 5, 100_000),
		reads:    newKeyedLimiter(500*time.Millisecond, 10, 100_000),
		visitors: newKeyedLimiter(6*time.Second, 10, 100_000),
	}
}
