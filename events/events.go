// Package events is the append-only log every reaction reads from: a change
// and its event are written in the same transaction, and consumers read in
// rowid order from their own cursor, so a crash loses nothing and nothing
// reacts twice.
package events

import (
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"pregon/internal/multirow"
)

// Event is one entry of the log.
type Event struct {
	Type    string // e.g. "contact.created", "tag.added", "message.received"
	Contact string // the contact it concerns, if any
	Subject string // the id of the record it is about (message, broadcast...)
	Payload any    // JSON-encodable details
	Actor   string // "user:<id>", "api", "import:<id>", "system", "webhook:<channel>"
	// ID is the event's record id; empty means one that sorts by time (see
	// newIDs). Bulk writers (imports) may pass ids of their own that grow,
	// so inserts stay at the index's edge.
	ID string
}

// Append writes one event through app, which should be the transaction-bound
// app of the change it records. It bypasses record hooks on purpose: the log
// is written on hot paths (imports, webhooks) and has no rules to run.
func Append(app core.App, e Event) error {
	return AppendMany(app, []Event{e})
}

// AppendMany writes events in order (their rowids, the log's order, follow
// the slice) with multi-row INSERTs. app should be transaction-bound; if it
// is not, the events are written in a transaction of their own.
func AppendMany(app core.App, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	ins := newInsert(nil)
	if !app.IsTransactional() {
		return app.RunInTransaction(func(tx core.App) error { return appendWith(ins, tx, evs) })
	}
	return appendWith(ins, app, evs)
}

// Appender writes events like AppendMany with its statements prepared once
// for the app's write pool, for writers that append on every transaction
// (the outbox's result writer).
type Appender struct{ ins *multirow.Stmt }

// NewAppender returns an Appender for app's database; Close releases it.
// Call it outside any transaction: preparing needs the write pool's only
// connection.
func NewAppender(app core.App) *Appender {
	return &Appender{ins: newInsert(multirow.WriterDB(app))}
}

// Append writes evs through tx, a transaction-bound app of the same app.
func (a *Appender) Append(tx core.App, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	return appendWith(a.ins, tx, evs)
}

// Close releases the prepared statements.
func (a *Appender) Close() { a.ins.Close() }

const insertColumns = 7

func newInsert(db *sql.DB) *multirow.Stmt {
	return multirow.New(db, insertColumns, []int{16, 4, 1}, func(n int) string {
		// OR FAIL: a multi-row statement that may abort makes SQLite copy
		// every page it touches to a statement journal first; an error
		// rolls the whole transaction back anyway.
		return "INSERT OR FAIL INTO events (id, type, contact, subject, payload, actor, created) VALUES " +
			multirow.Rows("(?,?,?,?,?,?,?)", n)
	})
}

func appendWith(ins *multirow.Stmt, tx core.App, evs []Event) error {
	now := types.NowDateTime()
	created := now.String()
	ids := newIDs(now.Time(), len(evs))
	args := make([]any, 0, insertColumns*len(evs))
	for i, e := range evs {
		payload := []byte("null")
		if e.Payload != nil {
			var err error
			if payload, err = json.Marshal(e.Payload); err != nil {
				return fmt.Errorf("encoding %s event payload: %w", e.Type, err)
			}
		}
		id := e.ID
		if id == "" {
			id = ids[i]
		}
		args = append(args, id, e.Type, e.Contact, e.Subject, string(payload), e.Actor, created)
	}
	if _, err := ins.Exec(tx, args); err != nil {
		return fmt.Errorf("appending %d events (first %s): %w", len(evs), evs[0].Type, err)
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
