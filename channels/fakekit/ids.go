package fakekit

import "sync/atomic"

// Seq hands out 1, 2, 3... for deterministic provider ids
// (wamid.FAKE000001, SM000…001), so fixtures and assertions are stable.
type Seq struct{ n atomic.Uint64 }

// Next returns the next number.
func (s *Seq) Next() uint64 { return s.n.Add(1) }

// Reset starts again from 1.
func (s *Seq) Reset() { s.n.Store(0) }
