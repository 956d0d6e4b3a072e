// Package inbound takes verified webhook deliveries from the providers and
// turns them into contacts, messages, statuses and consent: it stores each
// delivery raw (group commit) before the provider is answered, then parses
// and applies the stored rows in order, each batch of effects in the same
// transaction that marks its rows processed.
package inbound

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"pregon/channelstore"
)

// ChannelSource finds a channel with its adapter (channelstore.Store).
type ChannelSource interface {
	Get(id string) (*channelstore.Channel, error)
}

// Options configure an Inbox. Zero values are production defaults.
type Options struct {
	Now func() time.Time
	// BatchSize is how many inbox rows one processing transaction takes.
	BatchSize int
	// MaxAttempts is how often a row whose effects fail to apply is tried
	// before it is parked.
	MaxAttempts int
	// PendingTTL is how long a status for an unknown provider id waits for
	// the outbox to record that id.
	PendingTTL time.Duration
	// Retention is how long processed rows are kept (parked rows stay).
	Retention time.Duration
	// Gather is how long the worker lets deliveries accumulate after being
	// woken: under load, one transaction of many rows costs far less (and
	// holds SQLite's writer for less in total) than many small ones.
	Gather time.Duration
	Log    *slog.Logger
}

// Inbox is the durable webhook inbox of one app: Store appends, the worker
// (Run) or Drain processes.
type Inbox struct {
	app   core.App
	chans ChannelSource
	opts  Options
	c     *committer

	wake chan struct{}
	// mu serialises processing so that rows apply in order whether the
	// worker or a test drives it.
	mu sync.Mutex
}

// New returns an Inbox writing through app.
func New(app core.App, chans ChannelSource, opts Options) *Inbox {
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC() }
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 3
	}
	if opts.PendingTTL <= 0 {
		opts.PendingTTL = 7 * 24 * time.Hour
	}
	if opts.Retention <= 0 {
		opts.Retention = 7 * 24 * time.Hour
	}
	if opts.Gather <= 0 {
		opts.Gather = 20 * time.Millisecond
	}
	b := &Inbox{app: app, chans: chans, opts: opts, wake: make(chan struct{}, 1)}
	b.c = newCommitter(app, b.poke)
	return b
}

// Store durably appends one verified delivery and returns once it is
// committed: only then may the handler answer the provider.
func (b *Inbox) Store(ctx context.Context, d Delivery) error { return b.c.Store(ctx, d) }

// Close stops accepting deliveries, after writing the queued ones.
func (b *Inbox) Close() { b.c.Close() }

// log is the configured logger, else the app's (which exists only after
// bootstrap, so it is looked up when needed).
func (b *Inbox) log() *slog.Logger {
	if b.opts.Log != nil {
		return b.opts.Log
	}
	return b.app.Logger()
}

func (b *Inbox) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Run processes the inbox until ctx ends: whenever deliveries were stored,
// and every few seconds to pick up statuses whose message id has appeared
// and rows left by a previous process.
func (b *Inbox) Run(ctx context.Context) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	lastPurge := time.Time{}
	for {
		if _, err := b.Drain(ctx); err != nil && ctx.Err() == nil {
			b.log().Error("processing the webhook inbox", slog.String("error", err.Error()))
			// A database fault (disk full, lock storm): do not spin.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		if now := b.opts.Now(); now.Sub(lastPurge) > time.Hour {
			lastPurge = now
			if n, err := b.Purge(now.Add(-b.opts.Retention)); err != nil {
				b.log().Error("purging the webhook inbox", slog.String("error", err.Error()))
			} else if n > 0 {
				b.log().Debug("purged processed webhook deliveries", slog.Int64("rows", n))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-b.wake:
		case <-tick.C:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(b.opts.Gather):
		}
	}
}
