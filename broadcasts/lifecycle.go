package broadcasts

import (
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/events"
	"pregon/outbox"
)

// Events a broadcast appends (subject: the broadcast id). Journeys trigger
// on broadcast.replied; the others record the lifecycle for audit and
// outgoing webhooks.
const (
	EventScheduled = "broadcast.scheduled"
	EventStarted   = "broadcast.started"
	EventPlanned   = "broadcast.planned"
	EventPaused    = "broadcast.paused"
	EventResumed   = "broadcast.resumed"
	EventCancelled = "broadcast.cancelled"
	EventCompleted = "broadcast.completed"
	EventFailed    = "broadcast.failed"
	EventReplied   = "broadcast.replied"
)

// transition moves broadcast id from one of the statuses in from to status
// to, setting the extra columns, with its event, in one transaction. It
// reports false (and changes nothing) if the broadcast was in none of from:
// status changes race with the engine and with other requests, and the
// database decides who was first.
func (e *Engine) transition(id string, from []string, to string, set dbx.Params, ev events.Event) (bool, error) {
	p := dbx.Params{"id": id, "to": to, "now": dbTime(e.now())}
	cols := []string{"status = {:to}", "updated = {:now}"}
	for k, v := range set {
		cols = append(cols, k+" = {:set_"+k+"}")
		p["set_"+k] = v
	}
	in := make([]string, len(from))
	for i, s := range from {
		k := fmt.Sprintf("from%d", i)
		in[i], p[k] = "{:"+k+"}", s
	}
	ok := false
	err := e.app.RunInTransaction(func(tx core.App) error {
		res, err := tx.DB().NewQuery(`UPDATE broadcasts SET ` + strings.Join(cols, ", ") + ` WHERE id = {:id} AND status IN (` +
			strings.Join(in, ", ") + `)`).Bind(p).Execute()
		if err != nil {
			return fmt.Errorf("changing the status of broadcast %s to %s: %w", id, to, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ok = true
		ev.Subject, ev.Type = id, eventFor(to, ev.Type)
		if ev.Actor == "" {
			ev.Actor = "broadcasts"
		}
		return events.Append(tx, ev)
	})
	return ok, err
}

func eventFor(status, given string) string {
	if given != "" {
		return given
	}
	switch status {
	case StatusScheduled:
		return EventScheduled
	case StatusSending:
		return EventStarted
	case StatusPaused:
		return EventPaused
	case StatusCancelled:
		return EventCancelled
	case StatusFailed:
		return EventFailed
	}
	return EventCompleted
}

// fail ends a broadcast that cannot send, with the error people read, and
// cancels whatever it had queued.
func (e *Engine) fail(b *Broadcast, msg string) error {
	ok, err := e.transition(b.ID, []string{StatusSending, StatusScheduled, StatusPaused}, StatusFailed,
		dbx.Params{"error": clip(msg, 2000), "completed_at": dbTime(e.now()), "plan_done": true},
		events.Event{Payload: map[string]any{"error": msg}})
	if err != nil || !ok {
		return err
	}
	b.Status, b.Error = StatusFailed, msg
	e.out.SetSourceRate(b.ID, 0) // the outbox forgets its pacing, as on complete and cancel
	if b.Queued > 0 {
		if _, err := e.out.CancelSource(b.ID, "the broadcast failed: "+msg); err != nil {
			return err
		}
	}
	return e.Refresh(b.ID)
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// ParseSchedule reads a send time given as a wall-clock time in a time zone
// ("2026-03-02T09:00", "2026-03-02 09:00:00") or as an RFC 3339 instant
// ("2026-03-02T14:00:00Z"); tz is an IANA zone.
func ParseSchedule(at, tz string) (time.Time, error) {
	at = strings.TrimSpace(at)
	if t, err := time.Parse(time.RFC3339, at); err == nil {
		return t.UTC(), nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		return time.Time{}, fieldErr("timezone", "invalid", "timezone %q is not an IANA time zone, e.g. America/Lima", tz)
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, at, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fieldErr("scheduled_at", "invalid", "scheduled_at %q is not a date and time; write it like 2026-03-02T09:00 (in the timezone given) or 2026-03-02T14:00:00Z", at)
}

// Send starts broadcast id now (at zero) or schedules it for at, after
// checking it is complete and its send would take at most seven days. tz
// is the zone the person chose (kept for display). A scheduled broadcast
// may be sent again to change its time or to send it now.
func (e *Engine) Send(id string, at time.Time, tz, actor string) error {
	b, err := Load(e.app, id)
	if err != nil {
		return err
	}
	if b.Status != StatusDraft && b.Status != StatusScheduled {
		return stateErr("broadcast %q is %s; only a draft or a scheduled broadcast can be sent (resend a finished one instead)", b.Name, b.Status)
	}
	ts, err := ready(e.app, e.reg, b)
	if err != nil {
		return err
	}
	if err := active(b, ts); err != nil {
		return err
	}
	now := e.now()
	if err := e.checkDuration(b, ts, now); err != nil {
		return err
	}
	from := []string{StatusDraft, StatusScheduled}
	ev := events.Event{Actor: actor}
	if at.IsZero() || !at.After(now) {
		if !at.IsZero() && now.Sub(at) > time.Minute {
			return fieldErr("scheduled_at", "past", "scheduled_at %s is in the past; choose a later time or leave it out to send now",
				at.Format(time.RFC3339))
		}
		ev.Payload = map[string]any{"segment": b.Segment}
		ok, err := e.transition(id, from, StatusSending, dbx.Params{"started_at": dbTime(now), "scheduled_at": "", "error": ""}, ev)
		if err != nil {
			return err
		}
		if !ok {
			return stateErr("broadcast %q changed while it was being sent; reload it", b.Name)
		}
		e.out.SetSourceRate(id, b.Rate())
		e.Wake()
		return nil
	}
	if tz == "" {
		tz = b.Timezone
	}
	ev.Payload = map[string]any{"at": at.UTC().Format(time.RFC3339), "timezone": tz}
	ok, err := e.transition(id, from, StatusScheduled, dbx.Params{"scheduled_at": dbTime(at), "timezone": tz, "error": ""}, ev)
	if err != nil {
		return err
	}
	if !ok {
		return stateErr("broadcast %q changed while it was being scheduled; reload it", b.Name)
	}
	return nil
}

// StartDue starts the scheduled broadcasts whose time has come.
func (e *Engine) StartDue() error {
	now := e.now()
	var ids []string
	if err := e.app.DB().NewQuery(`SELECT id FROM broadcasts WHERE status = 'scheduled' AND scheduled_at != '' AND scheduled_at <= {:now}`).
		Bind(dbx.Params{"now": dbTime(now)}).Column(&ids); err != nil {
		return err
	}
	for _, id := range ids {
		ok, err := e.transition(id, []string{StatusScheduled}, StatusSending, dbx.Params{"started_at": dbTime(now)},
			events.Event{Payload: map[string]any{"scheduled": true}})
		if err != nil {
			return err
		}
		if ok {
			b, err := Load(e.app, id)
			if err != nil {
				return err
			}
			e.out.SetSourceRate(id, b.Rate())
		}
	}
	return nil
}

// Pause stops a sending broadcast (its queued messages are held; those in
// flight finish) or holds a scheduled one back from starting.
func (e *Engine) Pause(id, actor string) error {
	b, err := Load(e.app, id)
	if err != nil {
		return err
	}
	ok, err := e.transition(id, []string{StatusSending, StatusScheduled}, StatusPaused, nil, events.Event{Actor: actor})
	if err != nil {
		return err
	}
	if !ok {
		return stateErr("broadcast %q is %s; only a sending or scheduled broadcast can be paused", b.Name, current(e.app, id))
	}
	if _, err := e.out.HoldSource(id); err != nil {
		return err
	}
	return e.Refresh(id)
}

// Resume continues a paused broadcast: one that had started sends the rest
// (re-paced from now at its own rate) and finishes planning; one paused
// before its time goes back to scheduled (and starts at once if its time
// has passed).
func (e *Engine) Resume(id, actor string) error {
	b, err := Load(e.app, id)
	if err != nil {
		return err
	}
	if b.Status != StatusPaused {
		return stateErr("broadcast %q is %s; only a paused broadcast can be resumed", b.Name, b.Status)
	}
	if b.StartedAt.IsZero() {
		ok, err := e.transition(id, []string{StatusPaused}, StatusScheduled, nil, events.Event{Type: EventResumed, Actor: actor})
		if err == nil && !ok {
			err = stateErr("broadcast %q changed while it was being resumed; reload it", b.Name)
		}
		e.Wake()
		return err
	}
	if r := b.Rate(); r > 0 {
		if _, err := outbox.Pace(e.app, id, r, e.now()); err != nil {
			return err
		}
	}
	ok, err := e.transition(id, []string{StatusPaused}, StatusSending, nil, events.Event{Type: EventResumed, Actor: actor})
	if err != nil {
		return err
	}
	if !ok {
		return stateErr("broadcast %q changed while it was being resumed; reload it", b.Name)
	}
	e.out.SetSourceRate(id, b.Rate())
	if _, err := e.out.ReleaseSource(id); err != nil {
		return err
	}
	e.Wake()
	return e.Refresh(id)
}

// Cancel ends a broadcast for good: messages not yet sent fail with
// "cancelled"; those in flight finish.
func (e *Engine) Cancel(id, actor string) error {
	b, err := Load(e.app, id)
	if err != nil {
		return err
	}
	ok, err := e.transition(id, []string{StatusDraft, StatusScheduled, StatusSending, StatusPaused}, StatusCancelled,
		dbx.Params{"completed_at": dbTime(e.now()), "plan_done": true}, events.Event{Actor: actor})
	if err != nil {
		return err
	}
	if !ok {
		return stateErr("broadcast %q is already %s", b.Name, current(e.app, id))
	}
	if _, err := e.out.CancelSource(id, "the broadcast was cancelled before this message was sent"); err != nil {
		return err
	}
	e.out.SetSourceRate(id, 0)
	return e.Refresh(id)
}

func current(app core.App, id string) string {
	var s string
	app.DB().NewQuery("SELECT status FROM broadcasts WHERE id = {:id}").Bind(dbx.Params{"id": id}).Row(&s)
	return s
}
