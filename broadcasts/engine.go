package broadcasts

import (
	"context"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	"pregon/clock"
	"pregon/outbox"
)

// Outbox is what the engine needs from the send queue (outbox.Manager).
type Outbox interface {
	Enqueue(items []outbox.Item) ([]outbox.Queued, error)
	Notify(channel string)
	SetSourceRate(sourceID string, perSecond float64)
	HoldSource(sourceID string) (int, error)
	ReleaseSource(sourceID string) (int, error)
	CancelSource(sourceID, detail string) (int, error)
}

// Options tune the engine; zero values take the defaults.
type Options struct {
	// ChunkRows is how many contact rowids one planning transaction covers
	// (default 50,000): small enough that the writer is never held for
	// long, large enough that per-chunk overhead stays small next to the
	// SQLite work of planning.
	ChunkRows int64
	// Tick is how often the loop looks for due schedules, broadcasts to
	// plan, counters to refresh and new events (default 1 s).
	Tick time.Duration
	// RefreshEvery is the shortest time between two recounts of one
	// broadcast's counters; large broadcasts wait longer (see refreshDue).
	RefreshEvery time.Duration
}

func (o Options) withDefaults() Options {
	if o.ChunkRows <= 0 {
		o.ChunkRows = 50000
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	if o.RefreshEvery <= 0 {
		o.RefreshEvery = 2 * time.Second
	}
	return o
}

// Engine runs broadcasts: schedules, planning, counters, completion and
// reply attribution. One belongs to one app (hooks.Env.Broadcasts); its
// state is in SQLite, so a restarted process picks up where the last one
// stopped. The HTTP handlers call its methods directly; the loop (Start)
// does the background work.
type Engine struct {
	app   core.App
	clock clock.Clock
	reg   *channels.Registry
	out   Outbox
	opts  Options

	wakeC chan struct{}

	mu          sync.Mutex
	running     bool
	cancel      context.CancelFunc
	done        chan struct{}
	dirty       map[string]bool      // broadcasts whose messages changed since their last count
	lastRefresh map[string]time.Time // real time of each broadcast's last count
	lastPrefix  int64                // the last message id prefix handed out (idPrefix)
}

// New returns a stopped engine.
func New(app core.App, clk clock.Clock, reg *channels.Registry, out Outbox, opts Options) *Engine {
	return &Engine{app: app, clock: clk, reg: reg, out: out, opts: opts.withDefaults(), wakeC: make(chan struct{}, 1),
		dirty: map[string]bool{}, lastRefresh: map[string]time.Time{}}
}

// Wake makes the loop run soon (a broadcast was sent, resumed...).
func (e *Engine) Wake() {
	select {
	case e.wakeC <- struct{}{}:
	default:
	}
}

// Start runs the loop until Stop. Broadcasts that were sending when the
// last process stopped get their own rate back (it lives in the outbox's
// memory) and their planning resumes.
func (e *Engine) Start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running {
		return nil
	}
	if err := e.restoreRates(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.running, e.cancel, e.done = true, cancel, make(chan struct{})
	go e.loop(ctx)
	return nil
}

// Stop ends the loop and waits for the step in progress; a planning chunk
// in progress is committed or rolled back whole.
func (e *Engine) Stop() {
	e.mu.Lock()
	if !e.running {
		e.mu.Unlock()
		return
	}
	e.running = false
	e.cancel()
	done := e.done
	e.mu.Unlock()
	<-done
}

func (e *Engine) loop(ctx context.Context) {
	defer close(e.done)
	t := time.NewTicker(e.opts.Tick)
	defer t.Stop()
	for {
		e.Step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.wakeC:
		}
	}
}

// Step does one round of background work: start due schedules, plan
// broadcasts that are sending, read new events (replies, late statuses),
// refresh counters and complete finished broadcasts. Tests call it directly.
func (e *Engine) Step(ctx context.Context) {
	log := e.app.Logger()
	if err := e.StartDue(); err != nil {
		log.Error("broadcasts: starting scheduled broadcasts", "error", err)
	}
	if err := e.PlanPending(ctx); err != nil {
		log.Error("broadcasts: planning", "error", err)
	}
	if ctx.Err() != nil {
		return
	}
	if err := e.ConsumeEvents(); err != nil {
		log.Error("broadcasts: reading events", "error", err)
	}
	if err := e.RefreshActive(false); err != nil {
		log.Error("broadcasts: refreshing counters", "error", err)
	}
}

func (e *Engine) now() time.Time { return e.clock.Now() }

// restoreRates gives the outbox back the own rate of every broadcast that
// is sending.
func (e *Engine) restoreRates() error {
	var rows []struct {
		ID    string `db:"id"`
		Count int    `db:"rate_count"`
		Unit  string `db:"rate_unit"`
	}
	if err := e.app.DB().NewQuery(`SELECT id, rate_count, rate_unit FROM broadcasts WHERE status = 'sending' AND rate_count > 0`).All(&rows); err != nil {
		return err
	}
	for _, r := range rows {
		b := Broadcast{RateCount: r.Count, RateUnit: r.Unit}
		e.out.SetSourceRate(r.ID, b.Rate())
	}
	return nil
}
