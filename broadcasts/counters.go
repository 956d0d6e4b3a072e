package broadcasts

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/events"
)

// Counters are recounted from the messages themselves, never incremented:
// the messages are the truth (the outbox and the status webhooks move them),
// so a crash, a duplicated webhook or a status that arrives late can never
// make the counters drift. A recount reads only the broadcast's entries of
// idx_messages_source (source_id, status), index-only; the failed ones are
// then read for their codes. With the planning counters they add up:
//
//	targeted = Σ excluded + queued
//	queued   = pending + sent + failed + unknown   (sent ⊇ delivered ⊇ read)
//
// replied is kept by the reply consumer (replies.go).

// Counts are a broadcast's message counters.
type Counts struct {
	Pending        int            `json:"pending"`
	Sent           int            `json:"sent"`
	Delivered      int            `json:"delivered"`
	Read           int            `json:"read"`
	Failed         int            `json:"failed"`
	FailedByReason map[string]int `json:"failed_by_reason"`
	Unknown        int            `json:"unknown"`
}

// count reads broadcast id's message counters.
func count(app core.App, id string) (Counts, error) {
	c := Counts{FailedByReason: map[string]int{}}
	var rows []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	var codes []struct {
		Code string `db:"code"`
		N    int    `db:"n"`
	}
	err := scan(app, func(q dbx.Builder) error {
		if err := q.NewQuery(`SELECT status, COUNT(*) AS n FROM messages WHERE source_id = {:id} AND source_id != ''
			GROUP BY status`).Bind(dbx.Params{"id": id}).All(&rows); err != nil {
			return fmt.Errorf("counting the messages of broadcast %s: %w", id, err)
		}
		if err := q.NewQuery(`SELECT COALESCE(NULLIF(error_code, ''), 'unknown_error') AS code, COUNT(*) AS n FROM messages
			WHERE source_id = {:id} AND source_id != '' AND status = 'failed' GROUP BY code`).
			Bind(dbx.Params{"id": id}).All(&codes); err != nil {
			return fmt.Errorf("counting the failures of broadcast %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return c, err
	}
	for _, r := range rows {
		switch r.Status {
		case "queued", "held", "sending":
			c.Pending += r.N
		case "sent":
			c.Sent += r.N
		case "delivered":
			c.Sent += r.N
			c.Delivered += r.N
		case "read":
			c.Sent += r.N
			c.Delivered += r.N
			c.Read += r.N
		case "failed":
			c.Failed += r.N
		case "unknown":
			c.Unknown += r.N
		}
	}
	for _, r := range codes {
		c.FailedByReason[r.Code] = r.N
	}
	return c, nil
}

// Refresh recounts broadcast id and, when a sending broadcast has nothing
// left to send, completes it.
func (e *Engine) Refresh(id string) error {
	c, err := count(e.app, id)
	if err != nil {
		return err
	}
	fbr, err := json.Marshal(c.FailedByReason)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.lastRefresh[id] = time.Now()
	delete(e.dirty, id)
	e.mu.Unlock()
	nowS := dbTime(e.now())
	if _, err := e.app.DB().NewQuery(`UPDATE broadcasts SET pending = {:pending}, sent = {:sent}, delivered = {:delivered},
		read = {:read}, failed = {:failed}, failed_by_reason = {:fbr}, unknown = {:unknown}, updated = {:now}
		WHERE id = {:id} AND (pending, sent, delivered, read, failed, unknown, COALESCE(failed_by_reason, '')) IS NOT
		({:pending}, {:sent}, {:delivered}, {:read}, {:failed}, {:unknown}, {:fbr})`).Bind(dbx.Params{
		"pending": c.Pending, "sent": c.Sent, "delivered": c.Delivered, "read": c.Read, "failed": c.Failed,
		"fbr": string(fbr), "unknown": c.Unknown, "now": nowS, "id": id,
	}).Execute(); err != nil {
		return fmt.Errorf("saving the counters of broadcast %s: %w", id, err)
	}
	if c.Pending > 0 {
		return nil
	}
	return e.complete(id, c)
}

// complete ends a sending broadcast whose planning is done and whose
// messages are all sent, failed or unknown.
func (e *Engine) complete(id string, c Counts) error {
	var b struct {
		Status   string `db:"status"`
		PlanDone bool   `db:"plan_done"`
		Queued   int    `db:"queued"`
	}
	err := e.app.DB().NewQuery("SELECT status, plan_done, queued FROM broadcasts WHERE id = {:id}").
		Bind(dbx.Params{"id": id}).One(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // deleted while its last statuses came in
	}
	if err != nil {
		return err
	}
	if b.Status != StatusSending || !b.PlanDone {
		return nil
	}
	to, msg := StatusCompleted, ""
	switch {
	case c.Sent == 0:
		to = StatusFailed
		msg = fmt.Sprintf("none of the %s messages could be sent (%s); see failed_by_reason and the failed messages log",
			thousands(b.Queued), reasonList(c.FailedByReason))
		if c.Failed == 0 {
			msg = fmt.Sprintf("none of the %s messages is known to have been sent: the process stopped while they were in flight; review them before resending", thousands(b.Queued))
		}
	case c.Failed > 0 || c.Unknown > 0:
		to = StatusCompletedWithFailures
	}
	_, err = e.transition(id, []string{StatusSending}, to, dbx.Params{"completed_at": dbTime(e.now()), "error": msg},
		events.Event{Payload: map[string]any{"sent": c.Sent, "failed": c.Failed, "unknown": c.Unknown, "failed_by_reason": c.FailedByReason}})
	if err == nil {
		e.out.SetSourceRate(id, 0)
	}
	return err
}

// RefreshActive recounts the broadcasts that are sending or paused and the
// finished ones whose messages changed (late delivered and read statuses,
// replies), each at most every refreshDue; all says to recount every one
// of them now.
func (e *Engine) RefreshActive(all bool) error {
	var rows []struct {
		ID     string `db:"id"`
		Queued int    `db:"queued"`
	}
	if err := e.app.DB().NewQuery(`SELECT id, queued FROM broadcasts WHERE status IN ('sending', 'paused')`).All(&rows); err != nil {
		return err
	}
	e.mu.Lock()
	for id := range e.dirty {
		rows = append(rows, struct {
			ID     string `db:"id"`
			Queued int    `db:"queued"`
		}{ID: id})
	}
	e.mu.Unlock()
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		if !all && !e.refreshDue(r.ID, r.Queued) {
			continue
		}
		if err := e.Refresh(r.ID); err != nil {
			return err
		}
	}
	return nil
}

// refreshDue spaces recounts: a recount reads an index entry per message,
// so a million-message broadcast is recounted every ~12 s, a small one every
// RefreshEvery.
func (e *Engine) refreshDue(id string, queued int) bool {
	every := e.opts.RefreshEvery + time.Duration(queued/100000)*time.Second
	e.mu.Lock()
	defer e.mu.Unlock()
	return time.Since(e.lastRefresh[id]) >= every
}
