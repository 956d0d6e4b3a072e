package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pocketbase/dbx"

	"pregon/channels"
	"pregon/channelstore"
)

// dispatcher sends one channel's messages. Four kinds of goroutine form a
// pipeline: the claimer takes due batches from the database; the loop runs
// every limit that does not need the provider (window, tier, recipient,
// source, channel rate) and hands each message to a free worker; workers make
// the provider calls; the writer records results in batches. At most two
// claimed batches exist beside the calls in flight, which bounds what a crash
// can leave "unknown".
type dispatcher struct {
	m       *Manager
	ch      *channelstore.Channel
	opts    Options
	pacer   *pacer
	rcpt    *recipients
	tier    *tier
	rec     *recorder
	batch   int
	workers int

	mu     sync.Mutex
	gate   time.Time // app clock: no call before this (channel or account throttle)
	paused bool

	wakeC   chan struct{}
	batches chan []*claimed
	work    chan *claimed
	results chan result

	stopCtx     context.Context // cancelled: stop claiming, requeue what is not yet sent
	stop        context.CancelFunc
	callCtx     context.Context // cancelled after the drain deadline: cut calls off
	cancelCalls context.CancelFunc
	done        chan struct{}
}

func newDispatcher(m *Manager, ch *channelstore.Channel) (*dispatcher, error) {
	opts := m.opts
	workers := opts.MaxInFlight
	if ch.Caps.MaxInFlight > 0 {
		workers = ch.Caps.MaxInFlight
	}
	d := &dispatcher{
		m: m, ch: ch, opts: opts, pacer: newPacer(ch.Rate()), rcpt: newRecipients(ch.Caps.RecipientSpacing), rec: newRecorder(m.app),
		batch: opts.batchFor(ch.Rate()), workers: workers,
		wakeC: make(chan struct{}, 1), batches: make(chan []*claimed), work: make(chan *claimed),
		results: make(chan result, 4096), done: make(chan struct{}),
	}
	if ch.DailyLimit > 0 {
		t, err := loadTier(m, ch.ID, ch.DailyLimit)
		if err != nil {
			return nil, err
		}
		d.tier = t
	}
	d.stopCtx, d.stop = context.WithCancel(context.Background())
	d.callCtx, d.cancelCalls = context.WithCancel(context.Background())
	return d, nil
}

// loadTier rebuilds the set of recipients counted in the last 24 hours.
func loadTier(m *Manager, channel string, limit int) (*tier, error) {
	var rows []struct {
		Identity string `db:"identity"`
		At       string `db:"at"`
	}
	cutoff := fmtTime(m.clock.Now().Add(-tierWindow))
	err := m.app.DB().NewQuery(`SELECT identity, MAX(tier_at) AS at FROM messages
		WHERE channel = {:ch} AND tier_at != '' AND tier_at > {:cutoff} GROUP BY identity`).
		Bind(dbx.Params{"ch": channel, "cutoff": cutoff}).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("loading the messaging tier of channel %s: %w", channel, err)
	}
	t := &tier{limit: limit, seen: make(map[string]time.Time, len(rows))}
	for _, r := range rows {
		t.seen[r.Identity] = parseTime(r.At)
	}
	return t, nil
}

func (d *dispatcher) start() {
	var workers sync.WaitGroup
	for range d.workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for msg := range d.work {
				d.results <- d.send(msg)
			}
		}()
	}
	go d.claimer()
	go d.loop()
	go func() {
		workers.Wait()
		close(d.results)
	}()
	go d.writer()
}

// shutdown stops claiming, requeues what is not yet sent, lets calls in
// flight finish until the drain deadline, writes every result and returns.
func (d *dispatcher) shutdown(timeout time.Duration) {
	d.stop()
	t := time.AfterFunc(timeout, d.cancelCalls)
	<-d.done
	t.Stop()
	d.cancelCalls()
}

func (d *dispatcher) wake() {
	select {
	case d.wakeC <- struct{}{}:
	default:
	}
}

func (d *dispatcher) now() time.Time { return d.m.clock.Now() }

func (d *dispatcher) gateTime() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gate
}

func (d *dispatcher) closeGate(until time.Time) {
	d.mu.Lock()
	if until.After(d.gate) {
		d.gate = until
	}
	d.mu.Unlock()
}

// sleep waits up to dur of real time, or less when woken or stopped.
func (d *dispatcher) sleep(dur time.Duration) {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-d.stopCtx.Done():
	case <-d.wakeC:
	case <-t.C:
	}
}

func (d *dispatcher) claimer() {
	defer close(d.batches)
	for d.stopCtx.Err() == nil {
		if g := d.gateTime(); d.now().Before(g) {
			d.sleep(min(g.Sub(d.now()), d.opts.PollInterval))
			continue
		}
		batch, err := claim(d.m.app, d.ch.ID, d.now(), d.batch)
		if err != nil {
			d.m.app.Logger().Error("outbox: claim failed", "channel", d.ch.ID, "error", err)
			d.sleep(d.opts.PollInterval)
			continue
		}
		if len(batch) == 0 {
			d.sleep(d.opts.PollInterval)
			continue
		}
		select {
		case d.batches <- batch:
		case <-d.stopCtx.Done():
			for _, msg := range batch {
				d.results <- d.requeue(msg, d.now())
			}
		}
	}
}

// requeue gives a claimed message back untouched: our own limits or a stop
// held it, the provider never saw it.
func (d *dispatcher) requeue(msg *claimed, at time.Time) result {
	if msg.tierNew {
		d.tier.forget(msg.Identity)
		msg.tierNew = false
	}
	return result{msg: msg, kind: resultRequeue, nextAt: at, refund: true}
}

func fail(msg *claimed, code, detail string) result {
	return result{msg: msg, kind: resultFailed, code: code, class: string(channels.ClassPermanent), detail: detail}
}

func (d *dispatcher) loop() {
	defer close(d.work)
	for batch := range d.batches {
		for _, msg := range batch {
			if r, ok := d.admit(msg); !ok {
				d.results <- r
				continue
			}
			select {
			case d.work <- msg:
			case <-d.stopCtx.Done():
				d.rcpt.release(msg.Identity, time.Time{})
				d.results <- d.requeue(msg, d.now())
			}
		}
	}
}

// maxGateSleep: a throttle gate shorter than this is waited out in memory;
// a longer one sends the message back to the queue until the gate opens.
const maxGateSleep = time.Second

// admit runs the limits that need no provider call, in order: facts about
// the message that make it fail, then limits that only delay it, then the
// channel's rate. ok false means r is the message's result.
func (d *dispatcher) admit(msg *claimed) (r result, ok bool) {
	now := d.now()
	if d.stopCtx.Err() != nil {
		return d.requeue(msg, now), false
	}
	if d.m.sources.isCancelled(msg.SourceID) {
		return fail(msg, ErrorCancelled, "cancelled by its source before it was sent"), false
	}
	if msg.Identifier == "" {
		return fail(msg, "no_identity", "the contact's identity for this channel no longer exists"), false
	}
	typ := msg.content.Type()
	if typ == "" {
		return fail(msg, "invalid_content", "the stored content is empty or unreadable"), false
	}
	if msg.Source == SourceBroadcast && msg.Consent == "opted_out" {
		return fail(msg, "opted_out", "the contact opted out on this channel after the broadcast was planned"), false
	}
	caps := d.ch.Caps
	windowOpen := true
	if caps.Window > 0 {
		last := parseTime(msg.LastInbound)
		windowOpen = !last.IsZero() && now.Sub(last) < caps.Window
		if !windowOpen && caps.TemplatesOutsideWindow && typ != channels.ContentTemplate && !msg.useOutsideWindow() {
			return fail(msg, "window_closed", windowClosedDetail(last, now, caps.Window)), false
		}
	}
	msg.businessInitiated = !windowOpen || caps.Window == 0
	if ok, at := d.rcpt.admit(msg.Identity, now); !ok {
		return d.requeue(msg, at), false
	}
	if ok, at := d.m.sources.admit(msg.SourceID, now); !ok {
		d.rcpt.release(msg.Identity, time.Time{})
		return d.requeue(msg, at), false
	}
	if d.tier != nil && msg.businessInitiated {
		ok, isNew := d.tier.admit(msg.Identity, now)
		if !ok {
			d.rcpt.release(msg.Identity, time.Time{})
			return fail(msg, "daily_limit", fmt.Sprintf("daily limit reached: the channel's messaging tier allows %d unique recipients of business-initiated messages per rolling 24 hours", d.tier.limit)), false
		}
		msg.tierNew = isNew
	}
	if g := d.gateTime(); now.Before(g) {
		if g.Sub(now) > maxGateSleep {
			d.rcpt.release(msg.Identity, time.Time{})
			return d.requeue(msg, g), false
		}
		d.sleepUntil(g)
	}
	if err := d.pacer.Wait(d.stopCtx); err != nil {
		d.rcpt.release(msg.Identity, time.Time{})
		return d.requeue(msg, d.now()), false
	}
	return result{}, true
}

// sleepUntil waits until the app clock reaches t, in real-time steps (the
// clock may be a test's fake clock that someone else moves).
func (d *dispatcher) sleepUntil(t time.Time) {
	for d.stopCtx.Err() == nil {
		left := t.Sub(d.now())
		if left <= 0 {
			return
		}
		timer := time.NewTimer(min(left, d.opts.PollInterval))
		select {
		case <-d.stopCtx.Done():
		case <-timer.C:
		}
		timer.Stop()
	}
}

func windowClosedDetail(last, now time.Time, window time.Duration) string {
	if last.IsZero() {
		return fmt.Sprintf("the %s customer-service window is closed: the contact has never written on this channel; send a template", window)
	}
	return fmt.Sprintf("the %s customer-service window is closed: the contact last wrote %s ago; send a template",
		window, now.Sub(last).Round(time.Minute))
}

// send makes one provider call and turns its outcome into a result.
func (d *dispatcher) send(msg *claimed) result {
	if d.stopCtx.Err() != nil {
		// Stopping (shutdown or a paused channel): the call has not started,
		// so the message goes back to the queue untouched.
		d.rcpt.release(msg.Identity, time.Time{})
		return d.requeue(msg, d.now())
	}
	// A throttle answer may have closed the gate while this message waited
	// for a free worker: no call may start before the provider's wait is over.
	if g := d.gateTime(); d.now().Before(g) {
		if g.Sub(d.now()) > maxGateSleep || d.stopCtx.Err() != nil {
			d.rcpt.release(msg.Identity, time.Time{})
			return d.requeue(msg, g)
		}
		d.sleepUntil(g)
	}
	out := channels.OutMessage{ID: msg.ID, To: msg.Identifier, Content: msg.content}
	if d.opts.StatusCallbackURL != nil {
		out.StatusCallbackURL = d.opts.StatusCallbackURL(d.ch.ID, msg.ID)
	}
	slot, err := d.pacer.Guard(d.stopCtx)
	if err != nil {
		d.rcpt.release(msg.Identity, time.Time{})
		return d.requeue(msg, d.now())
	}
	res, err := d.call(out)
	slot.done()
	now := d.now()
	if err == nil {
		d.rcpt.release(msg.Identity, time.Time{})
		return result{msg: msg, kind: resultSent, providerID: res.ProviderID,
			tierAt: msg.businessInitiated && d.ch.Caps.DailyTier}
	}
	if msg.tierNew {
		d.tier.forget(msg.Identity)
	}
	if errors.Is(err, errPanicked) {
		d.rcpt.release(msg.Identity, time.Time{})
		return result{msg: msg, kind: resultUnknown,
			detail: "the channel's adapter failed during the call: it may have reached the provider; not resent"}
	}
	ce := channels.Classify(err)
	if d.callCtx.Err() != nil && (ce.Class == channels.ClassRetry || errors.Is(err, context.Canceled)) {
		// Cut off by the drain deadline: the request may have reached the
		// provider, so it must not be sent again blindly.
		d.rcpt.release(msg.Identity, time.Time{})
		return result{msg: msg, kind: resultUnknown,
			detail: "the call was cut off at shutdown: it may have reached the provider; not resent"}
	}
	r := result{msg: msg, code: ce.Code, class: string(ce.Class), detail: ce.Detail}
	switch ce.Class {
	case channels.ClassPermanent:
		d.rcpt.release(msg.Identity, time.Time{})
		r.kind, r.optOut = resultFailed, ce.OptOut
		return r
	case channels.ClassConfig:
		d.rcpt.release(msg.Identity, time.Time{})
		d.pauseFor(ce)
		r.kind, r.nextAt, r.refund = resultRequeue, now, true
		return r
	case channels.ClassThrottle:
		wait := ce.Wait
		if wait <= 0 {
			wait = d.opts.backoff(msg.Attempts)
		}
		at := now.Add(wait)
		if ce.Scope == channels.ScopeRecipient {
			d.rcpt.release(msg.Identity, at)
		} else {
			d.rcpt.release(msg.Identity, time.Time{})
			d.closeGate(at)
		}
		r.kind, r.nextAt = resultRequeue, at
	default: // retry, and anything unclassified
		d.rcpt.release(msg.Identity, time.Time{})
		r.class = string(channels.ClassRetry)
		r.kind, r.nextAt = resultRequeue, now.Add(d.opts.backoff(msg.Attempts))
		if ce.MigrateTo != "" {
			r.migrateTo, r.nextAt = ce.MigrateTo, now
		}
	}
	if msg.Attempts >= d.opts.MaxAttempts {
		r.kind = resultFailed
		r.detail = fmt.Sprintf("gave up after %d attempts; last error: %s", msg.Attempts, ce.Detail)
	}
	return r
}

// errPanicked marks a call during which the adapter panicked.
var errPanicked = errors.New("adapter panicked")

// call makes the provider call with its own timeout. A panicking adapter
// must not take the process (and every other channel) down; the call may
// have reached the provider, so the message becomes unknown.
func (d *dispatcher) call(out channels.OutMessage) (res channels.SendResult, err error) {
	ctx, cancel := context.WithTimeout(d.callCtx, d.opts.CallTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			d.m.app.Logger().Error("outbox: adapter panicked", "channel", d.ch.ID, "message", out.ID, "panic", fmt.Sprint(p))
			err = errPanicked
		}
	}()
	return d.ch.Adapter.Send(ctx, out)
}

// pauseFor stops this dispatcher after a configuration error and has the
// manager pause the channel and tell the admin. Messages not yet sent go
// back to the queue; they leave when the admin resumes the channel.
func (d *dispatcher) pauseFor(ce *channels.Error) {
	d.mu.Lock()
	first := !d.paused
	d.paused = true
	d.mu.Unlock()
	if !first {
		return
	}
	d.stop()
	go d.m.pauseChannel(d.ch.ID, ce)
}

func (d *dispatcher) writer() {
	defer close(d.done)
	defer d.rec.close()
	buf := make([]result, 0, d.opts.FlushMax)
	for {
		r, ok := <-d.results
		if !ok {
			return
		}
		buf = append(buf[:0], r)
		timer := time.NewTimer(d.opts.FlushLinger)
	collect:
		for len(buf) < d.opts.FlushMax {
			select {
			case r, ok := <-d.results:
				if !ok {
					break collect
				}
				buf = append(buf, r)
			case <-timer.C:
				break collect
			}
		}
		timer.Stop()
		d.flush(buf)
	}
}

// flush writes a batch, retrying a few times: a batch that cannot be written
// leaves its messages "sending", and the next start marks them unknown:
// nothing is ever sent twice because a write failed.
func (d *dispatcher) flush(buf []result) {
	var err error
	for try := range 5 {
		if err = d.rec.write(d.m.app, d.ch.ID, d.now(), buf, true); err == nil {
			return
		}
		time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
	}
	d.m.app.Logger().Error("outbox: could not record send results; the messages will show as unknown after a restart",
		"channel", d.ch.ID, "count", len(buf), "error", err)
}
