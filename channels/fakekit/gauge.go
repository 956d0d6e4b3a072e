package fakekit

import "sync/atomic"

// Gauge counts requests in flight and remembers the peak, lock-free so the
// hot path pays two atomic adds.
type Gauge struct {
	cur, peak atomic.Int64
}

// Inc records one more request in flight and returns the new count.
func (g *Gauge) Inc() int64 {
	n := g.cur.Add(1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			return n
		}
	}
}

// Dec records one request done.
func (g *Gauge) Dec() { g.cur.Add(-1) }

// Current is the number in flight now.
func (g *Gauge) Current() int64 { return g.cur.Load() }

// Peak is the highest number in flight since the last Reset.
func (g *Gauge) Peak() int64 { return g.peak.Load() }

// Reset forgets the peak (requests in flight stay counted).
func (g *Gauge) Reset() { g.peak.Store(g.cur.Load()) }
