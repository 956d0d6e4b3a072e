// Package fake is a WhatsApp Cloud API server for tests and manual runs. It
// speaks the Graph wire format (channel-contracts.md §6.2): sends, the
// phone-number object, media, Meta's error envelope, per-number throughput
// (130429), pair rate (131056), the 24-hour window (131047), templates
// (132000/132001/132012), the rolling daily tier, and signed status and
// inbound webhooks with \u-escaped bodies.
package fake

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"pregon/channels/fakekit"
)

// Unlimited switches a rate limit off.
const Unlimited = -1

// WindowMode is how the fake answers free-form messages to a user whose
// customer-service window is closed: Meta does both.
type WindowMode string

const (
	// WindowAsync accepts the send, then reports failed with 131047.
	WindowAsync WindowMode = "async"
	// WindowSync refuses the send itself with 131047.
	WindowSync WindowMode = "sync"
	// WindowOff does not enforce the window.
	WindowOff WindowMode = "off"
)

// Template is one approved template the fake knows.
type Template struct {
	Name     string `json:"name"`
	Language string `json:"language"`
	Params   int    `json:"params"` // body parameter count
}

// Options configure a fake; zero values are the defaults noted.
type Options struct {
	Addr          string // listen address; "" = random loopback port
	PhoneNumberID string // default "100000000000001"
	DisplayPhone  string // default "15550001234"
	WABAID        string // default "200000000000002"
	AccessToken   string // default "fake-access-token"
	AppSecret     string // default "fake-app-secret"
	// Now is the clock for windows, tiers and status timing (default: real UTC).
	Now func() time.Time
	// Rate is messages per second per number (default 80, Unlimited = off).
	Rate float64
	// PairSpacing is the pair-rate interval per recipient (default 6 s,
	// Unlimited = off); PairBurst sends are tolerated first (default 3).
	PairSpacing time.Duration
	PairBurst   int
	// Tier caps unique business-initiated recipients per rolling 24 h;
	// sends beyond it are accepted, then fail with TierCode (default
	// 131049). 0 neither limits nor counts (the cheap hot path); Unlimited
	// counts without limiting, for TierUsed.
	Tier     int
	TierCode string
	// Window is how a closed customer-service window is enforced (default async).
	Window    WindowMode
	Templates []Template
	// DeliverAfter delays "delivered" (and read) after "sent" for Accept rules without After.
	DeliverAfter time.Duration
	// NoStatuses skips status webhooks (the cheapest hot path).
	NoStatuses bool
}

func (o *Options) defaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.PhoneNumberID, "100000000000001")
	def(&o.DisplayPhone, "15550001234")
	def(&o.WABAID, "200000000000002")
	def(&o.AccessToken, "fake-access-token")
	def(&o.AppSecret, "fake-app-secret")
	def(&o.TierCode, "131049")
	if o.Rate == 0 {
		o.Rate = 80
	}
	if o.PairSpacing == 0 {
		o.PairSpacing = 6 * time.Second
	}
	if o.PairBurst <= 0 {
		o.PairBurst = 3
	}
	if o.Window == "" {
		o.Window = WindowAsync
	}
}

// Fake is a running WhatsApp Cloud API fake.
type Fake struct {
	*fakekit.Kit
	opts   Options
	ids    fakekit.Seq
	media  fakekit.Seq
	rate   *fakekit.Buckets
	pair   *fakekit.Buckets
	window WindowMode

	callback atomic.Value // string: where webhooks go

	mu        sync.Mutex
	templates map[string]Template // name + "/" + language
	lastIn    map[string]time.Time
	tier      tierCounter
	blobs     map[string]blob
}

type blob struct {
	mime string
	data []byte
}

// Start runs a fake until Close.
func Start(o Options) (*Fake, error) {
	o.defaults()
	f := &Fake{Kit: fakekit.NewKit(o.Now), opts: o, window: o.Window}
	f.callback.Store("")
	f.rate = newBuckets(o.Rate, o.Rate)
	f.pair = nil
	if o.PairSpacing > 0 {
		f.pair = fakekit.NewBuckets(1/o.PairSpacing.Seconds(), float64(o.PairBurst))
	}
	f.resetState()
	for _, t := range o.Templates {
		f.AddTemplate(t)
	}
	if err := f.Serve(f.routes(), o.Addr); err != nil {
		return nil, err
	}
	return f, nil
}

func newBuckets(rate, burst float64) *fakekit.Buckets {
	if rate <= 0 {
		return nil
	}
	return fakekit.NewBuckets(rate, burst)
}

// Options returns the effective options (defaults filled in).
func (f *Fake) Options() Options { return f.opts }

// SetCallback sets where status and inbound webhooks are posted ("" = nowhere).
func (f *Fake) SetCallback(url string) { f.callback.Store(url) }

// Callback is the current webhook target.
func (f *Fake) Callback() string { return f.callback.Load().(string) }

// SetWindowMode changes how a closed window is enforced.
func (f *Fake) SetWindowMode(m WindowMode) {
	f.mu.Lock()
	f.window = m
	f.mu.Unlock()
}

// AddTemplate registers an approved template.
func (f *Fake) AddTemplate(t Template) {
	f.mu.Lock()
	f.templates[t.Name+"/"+t.Language] = t
	f.mu.Unlock()
}

// Reset clears traffic and state (windows, tier, ids, rules, log, queued
// webhooks); credentials, limits and templates from Options stay, and so
// does the callback URL.
func (f *Fake) Reset() {
	f.ResetTraffic()
	f.rate.Reset()
	f.pair.Reset()
	f.ids.Reset()
	f.media.Reset()
	f.resetState()
	for _, t := range f.opts.Templates {
		f.AddTemplate(t)
	}
}

func (f *Fake) resetState() {
	f.mu.Lock()
	f.templates = map[string]Template{}
	f.lastIn = map[string]time.Time{}
	f.tier = tierCounter{last: map[string]time.Time{}}
	f.blobs = map[string]blob{}
	f.window = f.opts.Window
	f.mu.Unlock()
}

// TierUsed is the number of unique business-initiated recipients in the
// last 24 h on the fake's clock.
func (f *Fake) TierUsed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tier.count(f.Now())
}

func (f *Fake) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{ver}/{pnid}/messages", f.handleMessages)
	mux.HandleFunc("POST /{ver}/{pnid}/media", f.Logged("media_upload", f.handleUpload))
	mux.HandleFunc("GET /{ver}/{id}", f.Logged("object", f.handleObject))
	mux.HandleFunc("GET /_media/{id}", f.handleBlob)
	f.ControlRoutes(mux, f.Reset)
	f.controlRoutes(mux)
	return mux
}
