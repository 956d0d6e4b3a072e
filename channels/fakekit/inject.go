package fakekit

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Fault is a transport-level failure a fake can play instead of answering.
type Fault string

const (
	// FaultClose drops the connection without writing a response.
	FaultClose Fault = "close"
	// FaultServerError answers 500 with a non-JSON body, as a load balancer would.
	FaultServerError Fault = "500"
	// FaultHang never answers: the request blocks until the client gives up
	// or the fake closes, which exercises client timeouts.
	FaultHang Fault = "hang"
)

// Injection is what the next Count requests get instead of their normal
// answer: a provider error Code (rendered in the provider's format) or a Fault.
type Injection struct {
	Count int    `json:"count"`
	Code  string `json:"code,omitempty"`
	Fault Fault  `json:"fault,omitempty"`
}

// Validate says what is wrong with in, if anything.
func (in Injection) Validate() error {
	if in.Count <= 0 {
		return fmt.Errorf("injection count must be positive, got %d", in.Count)
	}
	if (in.Code == "") == (in.Fault == "") {
		return fmt.Errorf("an injection needs exactly one of code or fault")
	}
	switch in.Fault {
	case "", FaultClose, FaultServerError, FaultHang:
		return nil
	}
	return fmt.Errorf("unknown fault %q: use close, 500 or hang", in.Fault)
}

// Injector hands out queued injections, one request at a time. The hot
// path reads one atomic when nothing is queued.
type Injector struct {
	pending atomic.Int64
	mu      sync.Mutex
	queue   []Injection
}

// Add queues in behind earlier injections.
func (j *Injector) Add(in Injection) error {
	if err := in.Validate(); err != nil {
		return err
	}
	j.mu.Lock()
	j.queue = append(j.queue, in)
	j.mu.Unlock()
	j.pending.Add(int64(in.Count))
	return nil
}

// Next takes the injection for this request, if any.
func (j *Injector) Next() (Injection, bool) {
	if j.pending.Load() <= 0 {
		return Injection{}, false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.queue) == 0 {
		return Injection{}, false
	}
	in := j.queue[0]
	j.queue[0].Count--
	if j.queue[0].Count == 0 {
		j.queue = j.queue[1:]
	}
	j.pending.Add(-1)
	in.Count = 1
	return in, true
}

// Reset drops every queued injection.
func (j *Injector) Reset() {
	j.mu.Lock()
	j.queue = nil
	j.pending.Store(0)
	j.mu.Unlock()
}
