package fakekit

import (
	"fmt"
	"sync"
	"time"
)

// Outcome is what a fake does with a send to one recipient.
type Outcome string

const (
	// Accept: answer success, then report sent and delivered.
	Accept Outcome = "accept"
	// Read: answer success, then report sent, delivered and read.
	Read Outcome = "read"
	// FailSync: answer the send itself with Rule.Code.
	FailSync Outcome = "fail_sync"
	// FailAsync: answer success, then report failed with Rule.Code.
	FailAsync Outcome = "fail_async"
	// NeverStatus: answer success and report nothing, unless the fake's own
	// rules (window, tier, validity) fail the message.
	NeverStatus Outcome = "never_status"
)

// Rule is the scripted outcome for one recipient. After delays the
// delivered, read or failed report on the fake's clock (sent follows the
// send at once).
type Rule struct {
	Outcome Outcome       `json:"outcome"`
	Code    string        `json:"code,omitempty"`
	After   time.Duration `json:"after,omitempty"`
}

// Validate says what is wrong with r, if anything.
func (r Rule) Validate() error {
	switch r.Outcome {
	case Accept, Read, NeverStatus:
		return nil
	case FailSync, FailAsync:
		if r.Code == "" {
			return fmt.Errorf("outcome %q needs a provider error code", r.Outcome)
		}
		return nil
	}
	return fmt.Errorf("unknown outcome %q: use accept, read, fail_sync, fail_async or never_status", r.Outcome)
}

// Rules holds per-recipient rules and the default for everyone else.
type Rules struct {
	mu   sync.RWMutex
	def  Rule
	byTo map[string]Rule
}

// NewRules returns rules whose default is Accept.
func NewRules() *Rules { return &Rules{def: Rule{Outcome: Accept}, byTo: map[string]Rule{}} }

// Set scripts the outcome for recipient to ("*" sets the default).
func (r *Rules) Set(to string, rule Rule) error {
	if err := rule.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if to == "*" {
		r.def = rule
	} else {
		r.byTo[to] = rule
	}
	return nil
}

// For returns the rule for recipient to.
func (r *Rules) For(to string) Rule {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if rule, ok := r.byTo[to]; ok {
		return rule
	}
	return r.def
}

// Reset forgets every rule; the default is Accept again.
func (r *Rules) Reset() {
	r.mu.Lock()
	r.def = Rule{Outcome: Accept}
	r.byTo = map[string]Rule{}
	r.mu.Unlock()
}
