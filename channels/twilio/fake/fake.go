// Package fake is a Twilio Programmable Messaging server for tests and
// manual runs (channel-contracts.md §6.4): POST Messages.json and GET the
// Account with Basic auth, Twilio's validation codes (21211, 21408, 21602,
// 21606, 21610, 21614, 21617), the per-account concurrency cap (429 20429),
// a per-sender segment queue on the injectable clock, the WhatsApp window
// (63016), and status callbacks and inbound messages signed with
// X-Twilio-Signature.
package fake

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"pregon/channels/fakekit"
)

// Unlimited switches a limit off.
const Unlimited = -1

// Options configure a fake; zero values are the defaults noted.
type Options struct {
	Addr       string
	AccountSID string // default "AC" + 32 hex digits
	AuthToken  string // default "fake-auth-token-0123456789abcdef"
	// Numbers the account owns (default +15017122661); MessagingServiceSID
	// is also accepted as a sender (default MG…1).
	Numbers             []string
	MessagingServiceSID string
	Now                 func() time.Time
	// MaxInFlight concurrent API requests per account (default 5, Unlimited = off).
	MaxInFlight int
	// SegmentsPerSecond drains each sender's queue (0 = no queue: "sent"
	// follows at once; 1 is a US long code).
	SegmentsPerSecond float64
	// ValidityPeriod is how long a message may wait in the queue (default 36,000 s).
	ValidityPeriod time.Duration
	// NonMobile numbers answer 21614; BlockedPrefixes (e.g. "+86") 21408.
	NonMobile       []string
	BlockedPrefixes []string
	// IgnoreWindow lets WhatsApp free-form through outside the 24 h window
	// (otherwise: accepted, then failed 63016).
	IgnoreWindow bool
	// DeliverAfter delays delivered/read after sent (on the fake's clock).
	DeliverAfter time.Duration
}

func (o *Options) defaults() {
	if o.AccountSID == "" {
		o.AccountSID = "AC00000000000000000000000000000001"
	}
	if o.AuthToken == "" {
		o.AuthToken = "fake-auth-token-0123456789abcdef"
	}
	if len(o.Numbers) == 0 {
		o.Numbers = []string{"+15017122661"}
	}
	if o.MessagingServiceSID == "" {
		o.MessagingServiceSID = "MG00000000000000000000000000000001"
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = 5
	}
	if o.ValidityPeriod == 0 {
		o.ValidityPeriod = 36000 * time.Second
	}
}

// Fake is a running Twilio fake.
type Fake struct {
	*fakekit.Kit
	opts Options
	sms  fakekit.Seq
	mms  fakekit.Seq

	inbound atomic.Value // string: the number's incoming-message webhook

	mu      sync.Mutex
	stopped map[string]bool      // recipients who replied STOP
	lastIn  map[string]time.Time // WhatsApp windows, by E.164
	freeAt  map[string]time.Time // per-sender queue: when it is free again
	owned   map[string]bool
}

// Start runs a fake until Close.
func Start(o Options) (*Fake, error) {
	o.defaults()
	f := &Fake{Kit: fakekit.NewKit(o.Now), opts: o}
	f.inbound.Store("")
	f.resetState()
	if err := f.Serve(f.routes(), o.Addr); err != nil {
		return nil, err
	}
	return f, nil
}

// Options returns the effective options.
func (f *Fake) Options() Options { return f.opts }

// SetInboundURL sets the webhook that inbound messages are posted to.
func (f *Fake) SetInboundURL(url string) { f.inbound.Store(url) }

// Reset clears traffic and state (STOP list, windows, queues, sids); the
// inbound URL and options stay.
func (f *Fake) Reset() {
	f.ResetTraffic()
	f.sms.Reset()
	f.mms.Reset()
	f.resetState()
}

func (f *Fake) resetState() {
	f.mu.Lock()
	f.stopped = map[string]bool{}
	f.lastIn = map[string]time.Time{}
	f.freeAt = map[string]time.Time{}
	f.owned = map[string]bool{}
	for _, n := range f.opts.Numbers {
		f.owned[n] = true
	}
	f.mu.Unlock()
}

// Stopped reports whether number replied STOP (and not START since).
func (f *Fake) Stopped(number string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stopped[number]
}

func (f *Fake) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", f.handleCreate)
	mux.HandleFunc("GET /2010-04-01/Accounts/{file}", f.Logged("account", f.handleAccount))
	f.ControlRoutes(mux, f.Reset)
	f.controlRoutes(mux)
	return mux
}
