package broadcasts

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/events"
	"pregon/inbound"
	"pregon/outbox"
	"pregon/workspace"
)

// The engine reads the event log like every other consumer, from its own
// cursor in event_cursors, saved in the transaction of its reactions:
//
//   - message.received (inbound): a contact who writes on the channel a
//     broadcast reached them on, within the workspace's reply window
//     (settings.reply_window_hours, 0 = off) after the message was delivered
//     (or sent, where the provider reports no delivery), has replied to it:
//     the engine appends broadcast.replied (once per broadcast and contact;
//     journeys trigger on it) and counts it in replied. The latest such
//     broadcast gets the reply.
//   - message.status (written by the outbox and by status webhooks alike):
//     the broadcast of the message is recounted soon, so counters of a
//     finished broadcast follow late delivered and read statuses.
const (
	consumerName         = "broadcasts"
	eventMessageReceived = inbound.EventMessageReceived
	// One type for every status change, whoever reports it.
	eventStatus = outbox.EventStatus
	// consumeWindow bounds the events one transaction reads.
	consumeWindow = 20000
)

// ReplyPayload is the payload of broadcast.replied.
type ReplyPayload struct {
	Broadcast string `json:"broadcast"`
	Message   string `json:"message"` // the broadcast's message the contact replied to
	Reply     string `json:"reply"`   // the inbound message
	Channel   string `json:"channel"`
	At        string `json:"at"`
}

// ConsumeEvents reads the events appended since the engine's cursor.
func (e *Engine) ConsumeEvents() error {
	var hi int64
	if err := e.app.DB().NewQuery("SELECT COALESCE(MAX(rowid), 0) FROM events").Row(&hi); err != nil {
		return err
	}
	st, err := workspace.Load(e.app)
	if err != nil {
		return err
	}
	window := time.Duration(st.ReplyWindowHours) * time.Hour
	for {
		pos, err := events.Cursor(e.app, consumerName)
		if err != nil {
			return err
		}
		if pos >= hi {
			return nil
		}
		to := min(pos+consumeWindow, hi)
		if err := e.consumeRange(pos, to, window); err != nil {
			return err
		}
	}
}

type received struct {
	Seq     int64  `db:"seq"`
	ID      string `db:"subject"`
	Contact string `db:"contact"`
	Channel string `db:"channel"`
	At      string `db:"at"`
}

func (e *Engine) consumeRange(from, to int64, window time.Duration) error {
	p := dbx.Params{"from": from, "to": to}
	var touched []string
	var replies []received
	err := scan(e.app, func(q dbx.Builder) error {
		if err := q.NewQuery(`SELECT DISTINCT m.source_id FROM events ev JOIN messages m ON m.id = ev.subject
			WHERE ev.rowid > {:from} AND ev.rowid <= {:to} AND ev.type = '` + eventStatus + `'
			AND m.source = 'broadcast' AND m.source_id != ''`).Bind(p).Column(&touched); err != nil {
			return fmt.Errorf("reading status events: %w", err)
		}
		if window <= 0 {
			return nil
		}
		if err := q.NewQuery(`SELECT rowid AS seq, subject, contact,
			COALESCE(CASE WHEN json_valid(payload) THEN json_extract(payload, '$.channel') END, '') AS channel,
			COALESCE(CASE WHEN json_valid(payload) THEN json_extract(payload, '$.at') END, created) AS at
			FROM events WHERE rowid > {:from} AND rowid <= {:to} AND type = '` + eventMessageReceived + `' AND contact != ''
			ORDER BY rowid`).Bind(p).All(&replies); err != nil {
			return fmt.Errorf("reading inbound messages: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var counted []string
	err = e.app.RunInTransaction(func(tx core.App) error {
		counted = counted[:0]
		for _, r := range replies {
			b, err := attribute(tx, r, window)
			if err != nil {
				return err
			}
			if b != "" {
				counted = append(counted, b)
			}
		}
		return events.SaveCursor(tx, consumerName, to)
	})
	if err != nil {
		return err
	}
	e.mu.Lock()
	for _, id := range append(touched, counted...) {
		e.dirty[id] = true
	}
	e.mu.Unlock()
	return nil
}

// attribute decides whether inbound message r replies to a broadcast and,
// the first time a contact replies to that broadcast, records it. It
// returns the broadcast counted, or "".
func attribute(tx core.App, r received, window time.Duration) (string, error) {
	at := r.At
	if t, err := time.Parse(time.RFC3339Nano, at); err == nil {
		at = dbTime(t)
	}
	from, err := time.Parse("2006-01-02 15:04:05.000Z", at)
	if err != nil {
		return "", nil // a reply time nobody can compare: not attributed
	}
	var m struct {
		ID        string `db:"id"`
		Broadcast string `db:"source_id"`
	}
	err = tx.DB().NewQuery(`SELECT id, source_id FROM messages WHERE contact = {:c} AND direction = 'out' AND source = 'broadcast'
		AND channel = {:ch} AND status IN ('sent', 'delivered', 'read') AND sent_at != '' AND sent_at <= {:at}
		AND COALESCE(NULLIF(delivered_at, ''), sent_at) >= {:since}
		ORDER BY sent_at DESC LIMIT 1`).Bind(dbx.Params{"c": r.Contact, "ch": r.Channel, "at": at,
		"since": dbTime(from.Add(-window))}).One(&m)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil // no broadcast message to reply to
	}
	if err != nil {
		// A busy or failing database must not lose the reply: the caller
		// keeps its cursor and tries again.
		return "", fmt.Errorf("finding the broadcast message contact %s replied to: %w", r.Contact, err)
	}
	var n int
	if err := tx.DB().NewQuery(`SELECT COUNT(*) FROM events WHERE contact = {:c} AND contact != '' AND type = '` + EventReplied + `'
		AND subject = {:b}`).Bind(dbx.Params{"c": r.Contact, "b": m.Broadcast}).Row(&n); err != nil {
		return "", err
	}
	if n > 0 {
		return "", nil
	}
	if err := events.Append(tx, events.Event{Type: EventReplied, Contact: r.Contact, Subject: m.Broadcast, Actor: "broadcasts",
		Payload: ReplyPayload{Broadcast: m.Broadcast, Message: m.ID, Reply: r.ID, Channel: r.Channel, At: at}}); err != nil {
		return "", err
	}
	if _, err := tx.DB().NewQuery(`UPDATE broadcasts SET replied = replied + 1 WHERE id = {:b}`).
		Bind(dbx.Params{"b": m.Broadcast}).Execute(); err != nil {
		return "", err
	}
	return m.Broadcast, nil
}
