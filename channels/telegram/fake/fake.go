// Package fake is a Telegram Bot API server for tests and manual runs
// (channel-contracts.md §6.3): /bot{token}/{method} for getMe, sendMessage,
// sendPhoto, sendDocument, sendVideo, sendAudio, setWebhook, deleteWebhook
// and getWebhookInfo, with query, form, JSON and multipart parameters;
// per-chat, per-group and global flood limits answered with 429 and
// retry_after; scripted recipient failures; and updates posted to the
// registered webhook with the secret-token header.
package fake

import (
	"net/http"
	"sync"
	"time"

	"pregon/channels/fakekit"
)

// Unlimited switches a rate limit off.
const Unlimited = -1

// Recipient failure codes for fakekit rules (Rule{Outcome: FailSync, Code: ...}).
const (
	CodeBlocked      = "blocked"     // 403 bot was blocked by the user
	CodeDeactivated  = "deactivated" // 403 user is deactivated
	CodeNotStarted   = "not_started" // 403 bot can't initiate conversation with a user
	CodeKicked       = "kicked"      // 403 bot was kicked from the group chat
	CodeChatNotFound = "chat_not_found"
	// CodeMigratedPrefix + new id: 400 with migrate_to_chat_id.
	CodeMigratedPrefix = "migrated:"
	// Codes usable in injections too.
	Code429 = "429" // Too Many Requests with retry_after
	Code401 = "401"
	Code500 = "500"
)

// Options configure a fake; zero values are the defaults noted.
type Options struct {
	Addr string
	// Token is the only valid bot token (default a realistic-looking fake).
	Token       string
	BotUsername string // default "pregon_fake_bot"
	Now         func() time.Time
	// ChatRate per chat per second (default 1, burst ChatBurst = 3).
	ChatRate  float64
	ChatBurst int
	// GroupPerMinute for negative chat ids (default 20).
	GroupPerMinute float64
	// GlobalRate for the whole bot per second (default 30).
	GlobalRate float64
	// RetryAfter in seconds, when set, replaces the computed wait in every 429.
	RetryAfter int
}

// DefaultToken looks like a real token so that redaction is exercised.
const DefaultToken = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

func (o *Options) defaults() {
	if o.Token == "" {
		o.Token = DefaultToken
	}
	if o.BotUsername == "" {
		o.BotUsername = "pregon_fake_bot"
	}
	if o.ChatRate == 0 {
		o.ChatRate = 1
	}
	if o.ChatBurst <= 0 {
		o.ChatBurst = 3
	}
	if o.GroupPerMinute == 0 {
		o.GroupPerMinute = 20
	}
	if o.GlobalRate == 0 {
		o.GlobalRate = 30
	}
}

// Fake is a running Telegram Bot API fake.
type Fake struct {
	*fakekit.Kit
	opts Options

	chatLimit, groupLimit, globalLimit *fakekit.Buckets

	mu       sync.Mutex
	blocked  map[string]time.Time // scope → refusing until (real time)
	msgIDs   map[int64]int64      // per-chat message_id counters
	updateID int64
	hookURL  string
	secret   string
}

// Start runs a fake until Close.
func Start(o Options) (*Fake, error) {
	o.defaults()
	f := &Fake{Kit: fakekit.NewKit(o.Now), opts: o}
	f.chatLimit = buckets(o.ChatRate, float64(o.ChatBurst))
	f.groupLimit = buckets(o.GroupPerMinute/60, o.GroupPerMinute)
	f.globalLimit = buckets(o.GlobalRate, o.GlobalRate)
	f.resetState()
	if err := f.Serve(f.routes(), o.Addr); err != nil {
		return nil, err
	}
	return f, nil
}

func buckets(rate, burst float64) *fakekit.Buckets {
	if rate <= 0 {
		return nil
	}
	return fakekit.NewBuckets(rate, burst)
}

// Options returns the effective options.
func (f *Fake) Options() Options { return f.opts }

// Reset clears traffic and state: limits, message and update counters,
// the webhook registration stays.
func (f *Fake) Reset() {
	f.ResetTraffic()
	f.chatLimit.Reset()
	f.groupLimit.Reset()
	f.globalLimit.Reset()
	f.resetState()
}

func (f *Fake) resetState() {
	f.mu.Lock()
	f.blocked = map[string]time.Time{}
	f.msgIDs = map[int64]int64{}
	f.updateID = 100000000
	f.mu.Unlock()
}

// Webhook returns the registered webhook URL and secret token.
func (f *Fake) Webhook() (url, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hookURL, f.secret
}

// SetWebhook registers a webhook as setWebhook would.
func (f *Fake) SetWebhook(url, secret string) {
	f.mu.Lock()
	f.hookURL, f.secret = url, secret
	f.mu.Unlock()
}

func (f *Fake) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{bot}/{method}", f.handle)
	f.ControlRoutes(mux, f.Reset)
	f.controlRoutes(mux)
	return mux
}
