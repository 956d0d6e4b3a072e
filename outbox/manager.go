package outbox

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	"pregon/channelstore"
	"pregon/clock"
	"pregon/events"
)

// Channels gives the manager working channels (channelstore.Store does).
type Channels interface {
	Get(id string) (*channelstore.Channel, error)
}

// Manager runs one dispatcher per active channel, follows channels being
// created, changed, paused and resumed, and is the Go entry point every
// source (agent inbox, journeys, broadcasts, the API) queues messages with.
// One belongs to one app (hooks.Env.Outbox).
type Manager struct {
	app     core.App
	store   Channels
	clock   clock.Clock
	opts    Options
	sources *sourceLimits

	mu      sync.Mutex
	running bool
	ds      map[string]*dispatcher
	syncC   chan string
	cancel  context.CancelFunc
	loopEnd chan struct{}
}

// NewManager returns a stopped manager; Start runs it.
func NewManager(app core.App, store Channels, clk clock.Clock, opts Options) *Manager {
	return &Manager{app: app, store: store, clock: clk, opts: opts.withDefaults(), sources: newSourceLimits(),
		ds: map[string]*dispatcher{}, syncC: make(chan string, 256)}
}

// Start marks messages left in flight by a previous process as unknown,
// then starts a dispatcher for every active channel.
func (m *Manager) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running {
		return nil
	}
	n, err := Recover(m.app, m.clock.Now())
	if err != nil {
		return err
	}
	if n > 0 {
		m.app.Logger().Warn("outbox: messages were in flight when the process stopped; marked unknown for review", "count", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.running, m.cancel, m.loopEnd = true, cancel, make(chan struct{})
	go m.loop(ctx)
	m.syncC <- ""
	return nil
}

// Stop drains every dispatcher: no new claims, messages not yet handed to a
// provider go back to the queue, calls in flight finish (until ctx's
// deadline, or Options.DrainTimeout) and their results are written.
func (m *Manager) Stop(ctx context.Context) {
	m.mu.Lock()
	if !m.running {
		m.mu.Unlock()
		return
	}
	m.running = false
	m.cancel()
	end := m.loopEnd
	m.mu.Unlock()
	<-end

	timeout := m.opts.DrainTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	m.mu.Lock()
	ds := m.ds
	m.ds = map[string]*dispatcher{}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Add(1)
		go func() { defer wg.Done(); d.shutdown(timeout) }()
	}
	wg.Wait()
}

// Sync makes the manager re-read channel id soon (after it was created,
// changed, paused, resumed or deleted). It never blocks.
func (m *Manager) Sync(id string) {
	select {
	case m.syncC <- id:
	default: // the periodic resync will catch up
	}
}

func (m *Manager) loop(ctx context.Context) {
	defer close(m.loopEnd)
	tick := time.NewTicker(m.opts.ResyncInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-m.syncC:
			if id == "" {
				m.syncAll()
			} else {
				m.syncOne(id)
			}
		case <-tick.C:
			m.syncAll()
		}
	}
}

func (m *Manager) syncAll() {
	var ids []string
	if err := m.app.DB().NewQuery("SELECT id FROM channels").Column(&ids); err != nil {
		m.app.Logger().Error("outbox: listing channels", "error", err)
		return
	}
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
		m.syncOne(id)
	}
	m.mu.Lock()
	var gone []string
	for id := range m.ds {
		if !seen[id] {
			gone = append(gone, id)
		}
	}
	m.mu.Unlock()
	for _, id := range gone {
		m.syncOne(id)
	}
}

// syncOne starts, restarts or stops the dispatcher of one channel so that
// exactly the active channels dispatch, each with its current settings.
func (m *Manager) syncOne(id string) {
	ch, err := m.store.Get(id)
	m.mu.Lock()
	cur := m.ds[id]
	m.mu.Unlock()
	want := err == nil && ch.Status == "active"
	if cur != nil && (!want || cur.ch != ch) {
		cur.shutdown(m.opts.DrainTimeout)
		m.mu.Lock()
		delete(m.ds, id)
		m.mu.Unlock()
		cur = nil
	}
	if err != nil {
		m.app.Logger().Debug("outbox: channel not dispatching", "channel", id, "reason", err.Error())
		return
	}
	if !want || cur != nil {
		return
	}
	d, err := newDispatcher(m, ch)
	if err != nil {
		m.app.Logger().Error("outbox: starting dispatcher", "channel", id, "error", err)
		return
	}
	m.mu.Lock()
	if !m.running {
		m.mu.Unlock()
		return
	}
	m.ds[id] = d
	m.mu.Unlock()
	d.start()
}

// Enqueue queues items (see Enqueue) and wakes their channels' dispatchers.
func (m *Manager) Enqueue(items []Item) ([]Queued, error) {
	out, err := Enqueue(m.app, m.clock.Now(), items)
	if err != nil {
		return nil, err
	}
	woken := map[string]bool{}
	for _, it := range items {
		if !woken[it.Channel] {
			woken[it.Channel] = true
			m.Notify(it.Channel)
		}
	}
	return out, nil
}

// Notify wakes a channel's dispatcher (new messages are due).
func (m *Manager) Notify(channel string) {
	m.mu.Lock()
	d := m.ds[channel]
	m.mu.Unlock()
	if d != nil {
		d.wake()
	}
}

func (m *Manager) wakeAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range m.ds {
		d.wake()
	}
}

// SetSourceRate caps the messages of one source (a broadcast) at perSecond
// across all channels, on top of each channel's own rate; 0 removes the cap.
// It lives in memory: the broadcast sets it again when it resumes after a
// restart, and spreads its rows with Pace so the schedule itself is durable.
func (m *Manager) SetSourceRate(sourceID string, perSecond float64) {
	m.sources.setRate(sourceID, perSecond)
}

// HoldSource parks the queued messages of a source (pause a broadcast).
func (m *Manager) HoldSource(sourceID string) (int, error) {
	return Hold(m.app, m.clock.Now(), sourceID)
}

// ReleaseSource puts a source's held messages back in the queue.
func (m *Manager) ReleaseSource(sourceID string) (int, error) {
	n, err := Release(m.app, m.clock.Now(), sourceID)
	m.wakeAll()
	return n, err
}

// CancelSource fails a source's queued and held messages ("cancelled"), and
// makes the dispatchers fail, rather than requeue, any of its messages they
// hold claimed at that moment.
func (m *Manager) CancelSource(sourceID, detail string) (int, error) {
	m.sources.setCancelled(sourceID, true)
	return Cancel(m.app, m.clock.Now(), sourceID, detail)
}

// pauseChannel records a configuration error on the channel (status
// paused, last_error) with a channel.paused event for the admin. The record
// hook then stops the dispatcher; setting the channel active resumes it.
func (m *Manager) pauseChannel(id string, ce *channels.Error) {
	reason := fmt.Sprintf("paused after a configuration error from the provider (%s): %s; fix the channel's settings, then set it active again",
		codeOr(ce.Code), ce.Detail)
	err := m.app.RunInTransaction(func(tx core.App) error {
		rec, err := tx.FindRecordById("channels", id)
		if err != nil {
			return err
		}
		rec.Set("status", "paused")
		rec.Set("last_error", clip(reason, 2000))
		if err := tx.Save(rec); err != nil {
			return err
		}
		return events.Append(tx, events.Event{Type: EventChannelPaused, Subject: id, Actor: "outbox",
			Payload: map[string]any{"channel": id, "name": rec.GetString("name"), "code": ce.Code, "reason": clip(reason, 2000)}})
	})
	if err != nil {
		m.app.Logger().Error("outbox: pausing channel after a configuration error", "channel", id, "error", err)
	}
	m.Sync(id)
}

func codeOr(code string) string {
	if code == "" {
		return "no code"
	}
	return "code " + code
}
