// Package events is the append-only log every reaction reads from: a change
// and its event are written in the same transaction, and consumers read in
// rowid order from their own cursor, so a crash loses nothing and nothing
// reacts twice.
package events

import (
	"encoding/json"
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Event is one entry of the log.
type Event struct {
	Type    string // e.g. "contact.created", "tag.added", "message.received"
	Contact string // the contact it concerns, if any
	Subject string // the id of the record it is about (message, broadcast...)
	Payload any    // JSON-encodable details
	Actor   string // "user:<id>", "api", "import:<id>", "system", "webhook:<channel>"
	// ID is the event's record id; empty means a random one. Bulk writers
	// (imports) pass ids that grow, so inserts stay at the index's edge.
	ID string
}

// Append writes one event through app, which should be the transaction-bound
// app of the change it records. It bypasses record hooks on purpose: the log
// is written on hot paths (imports, webhooks) and has no rules to run.
func Append(app core.App, e Event) error {
	return AppendMany(app, []Event{e})
}

// AppendMany writes events with one prepared statement.
func AppendMany(app core.App, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	q := app.DB().NewQuery(`INSERT INTO events (id, type, contact, subject, payload, actor, created)
		VALUES ({:id}, {:type}, {:contact}, {:subject}, {:payload}, {:actor}, {:created})`).Prepare()
	defer q.Close()
	now := types.NowDateTime().String()
	for _, e := range evs {
		id := e.ID
		if id == "" {
			id = core.GenerateDefaultRandomId()
		}
		payload := []byte("null")
		if e.Payload != nil {
			var err error
			if payload, err = json.Marshal(e.Payload); err != nil {
				return fmt.Errorf("encoding %s event payload: %w", e.Type, err)
			}
		}
		if _, err := q.Bind(dbx.Params{
			"id": id, "type": e.Type, "contact": e.Contact,
			"subject": e.Subject, "payload": string(payload), "actor": e.Actor, "created": now,
		}).Execute(); err != nil {
			return fmt.Errorf("appending %s event: %w", e.Type, err)
		}
	}
	return nil
}

// Row is an event as read back, with its position in the log.
type Row struct {
	Seq     int64           `db:"seq" json:"seq"`
	ID      string          `db:"id" json:"id"`
	Type    string          `db:"type" json:"type"`
	Contact string          `db:"contact" json:"contact"`
	Subject string          `db:"subject" json:"subject"`
	Payload json.RawMessage `db:"payload" json:"payload"`
	Actor   string          `db:"actor" json:"actor"`
	Created string          `db:"created" json:"created"`
}

// RowColumns selects an events row into a Row. The payload is read as a
// BLOB: the driver returns TEXT as a string, which database/sql will not
// store into a json.RawMessage.
const RowColumns = "rowid AS seq, id, type, contact, subject, CAST(payload AS BLOB) AS payload, actor, created"

// After returns up to limit events with seq > after, oldest first: the read
// side of a consumer's cursor.
func After(app core.App, after int64, limit int) ([]Row, error) {
	var rows []Row
	err := app.DB().NewQuery(`SELECT ` + RowColumns + `
		FROM events WHERE rowid > {:after} ORDER BY rowid LIMIT {:limit}`).
		Bind(dbx.Params{"after": after, "limit": limit}).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("reading events after %d: %w", after, err)
	}
	return rows, nil
}

// Cursor returns a consumer's saved position (0 when it has none).
func Cursor(app core.App, consumer string) (int64, error) {
	var pos int64
	err := app.DB().NewQuery("SELECT COALESCE(MAX(position),0) FROM event_cursors WHERE consumer = {:c}").
		Bind(dbx.Params{"c": consumer}).Row(&pos)
	if err != nil {
		return 0, fmt.Errorf("reading cursor %q: %w", consumer, err)
	}
	return pos, nil
}

// SaveCursor stores a consumer's position; call it in the transaction that
// applied the consumer's reactions so both commit or neither does.
func SaveCursor(app core.App, consumer string, pos int64) error {
	_, err := app.DB().NewQuery(`INSERT INTO event_cursors (consumer, position, updated) VALUES ({:c}, {:p}, {:u})
		ON CONFLICT(consumer) DO UPDATE SET position = excluded.position, updated = excluded.updated`).
		Bind(dbx.Params{"c": consumer, "p": pos, "u": types.NowDateTime().String()}).Execute()
	if err != nil {
		return fmt.Errorf("saving cursor %q: %w", consumer, err)
	}
	return nil
}
