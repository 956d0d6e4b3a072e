// Package failedlog is the failed-messages log: which outbound messages
// failed (or were in flight at a crash and need review), filtered by
// broadcast, source, channel, code and time, read page by page or streamed
// as the seed's CSV, each with its provider code and a plain-language reason
// from package reasons.
package failedlog

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Statuses a message in the log may have. Failed is the default: unknown
// messages may have arrived, so they are shown only when asked for (they
// must be reviewed, never resent blindly through the CSV path).
const (
	StatusFailed  = "failed"
	StatusUnknown = "unknown"
)

// logTime is when a message entered the log. It must read exactly as the
// expression of the idx_messages_failed_* indexes (migration
// 1763700700_failed_log) for SQLite to use them; the tests check the plans.
const logTime = "(CASE WHEN m.status = 'unknown' THEN m.unknown_at ELSE m.failed_at END)"

// inLog is the indexes' partial condition, repeated literally in every
// query so that SQLite may use them.
const inLog = "m.status IN ('failed','unknown')"

// Filter selects log rows. Empty lists select everything; From is
// inclusive and To exclusive (zero: open).
type Filter struct {
	Broadcasts []string
	Sources    []string
	Channels   []string
	Codes      []string
	Statuses   []string // failed and/or unknown; empty means failed
	From, To   time.Time
	// Oldest first instead of newest first.
	Ascending bool
}

// Row is one log entry as stored, with the names joined in.
type Row struct {
	Seq           int64  `db:"seq"`
	ID            string `db:"id"`
	Time          string `db:"t"`
	Status        string `db:"status"`
	Source        string `db:"source"`
	SourceID      string `db:"source_id"`
	Contact       string `db:"contact"`
	FirstName     string `db:"first_name"`
	LastName      string `db:"last_name"`
	Channel       string `db:"channel"`
	ChannelName   string `db:"channel_name"`
	ChannelType   string `db:"channel_type"`
	Content       string `db:"content"`
	ErrorCode     string `db:"error_code"`
	ErrorClass    string `db:"error_class"`
	ErrorDetail   string `db:"error_detail"`
	Attempts      int    `db:"attempts"`
	BroadcastName string `db:"broadcast_name"`
}

const selectRows = `SELECT m.rowid AS seq, m.id, ` + logTime + ` AS t, m.status,
	COALESCE(m.source, '') AS source, COALESCE(m.source_id, '') AS source_id,
	COALESCE(m.contact, '') AS contact, COALESCE(c.first_name, '') AS first_name, COALESCE(c.last_name, '') AS last_name,
	COALESCE(m.channel, '') AS channel, COALESCE(ch.name, '') AS channel_name, COALESCE(ch.type, '') AS channel_type,
	COALESCE(m.content, '') AS content, COALESCE(m.error_code, '') AS error_code,
	COALESCE(m.error_class, '') AS error_class, COALESCE(m.error_detail, '') AS error_detail,
	COALESCE(m.attempts, 0) AS attempts, COALESCE(b.name, '') AS broadcast_name
	FROM messages m
	LEFT JOIN contacts c ON c.id = m.contact
	LEFT JOIN channels ch ON ch.id = m.channel
	LEFT JOIN broadcasts b ON b.id = m.source_id AND m.source = 'broadcast'`

// where builds the filter's WHERE clause with its parameters.
func (f Filter) where() (string, dbx.Params) {
	p := dbx.Params{}
	terms := []string{inLog}
	in := func(col, prefix string, vals []string) {
		if len(vals) == 0 {
			return
		}
		keys := make([]string, len(vals))
		for i, v := range vals {
			k := prefix + strconv.Itoa(i)
			p[k] = v
			keys[i] = "{:" + k + "}"
		}
		terms = append(terms, col+" IN ("+strings.Join(keys, ",")+")")
	}
	statuses := f.Statuses
	if len(statuses) == 0 {
		statuses = []string{StatusFailed}
	}
	if len(statuses) == 1 {
		in("m.status", "st", statuses)
	}
	if len(f.Broadcasts) > 0 {
		in("m.source_id", "b", f.Broadcasts)
		// A broadcast's messages are the ones it sourced; the second term
		// lets SQLite use idx_messages_source as well.
		terms = append(terms, "m.source_id != ''", "m.source = 'broadcast'")
	}
	in("m.source", "src", f.Sources)
	in("m.channel", "ch", f.Channels)
	in("m.error_code", "code", f.Codes)
	if !f.From.IsZero() {
		p["from"] = FormatTime(f.From)
		terms = append(terms, logTime+" >= {:from}")
	}
	if !f.To.IsZero() {
		p["to"] = FormatTime(f.To)
		terms = append(terms, logTime+" < {:to}")
	}
	return strings.Join(terms, " AND "), p
}

func (f Filter) order() string {
	if f.Ascending {
		return " ORDER BY " + logTime + " ASC, m.rowid ASC"
	}
	return " ORDER BY " + logTime + " DESC, m.rowid DESC"
}

// Count returns how many messages the filter selects.
func Count(app core.App, f Filter) (int, error) {
	where, p := f.where()
	var n int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM messages m WHERE " + where).Bind(p).Row(&n); err != nil {
		return 0, fmt.Errorf("counting failed messages: %w", err)
	}
	return n, nil
}

// Page returns up to limit rows after skipping offset, in the filter's order
// (time, then rowid: stable when several messages failed at once).
func Page(app core.App, f Filter, offset, limit int) ([]Row, error) {
	where, p := f.where()
	p["lim"], p["off"] = limit, offset
	rows := []Row{}
	err := app.DB().NewQuery(selectRows + " WHERE " + where + f.order() + " LIMIT {:lim} OFFSET {:off}").Bind(p).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("reading failed messages: %w", err)
	}
	return rows, nil
}

// Each calls fn for every row the filter selects, in its order, reading
// chunk rows per query and continuing after the last row read (keyset), so
// no read transaction stays open while fn writes to a slow client and a
// long export never re-reads skipped rows.
func Each(app core.App, f Filter, chunk int, fn func(Row) error) error {
	where, p := f.where()
	cmp := "<"
	if f.Ascending {
		cmp = ">"
	}
	after := " AND (" + logTime + ", m.rowid) " + cmp + " ({:kt}, {:kr})"
	p["lim"] = chunk
	first := true
	for {
		q := selectRows + " WHERE " + where
		if !first {
			q += after
		}
		var rows []Row
		if err := app.DB().NewQuery(q + f.order() + " LIMIT {:lim}").Bind(p).All(&rows); err != nil {
			return fmt.Errorf("reading failed messages: %w", err)
		}
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(rows) < chunk {
			return nil
		}
		last := rows[len(rows)-1]
		p["kt"], p["kr"] = last.Time, last.Seq
		first = false
	}
}

// FormatTime writes t as PocketBase stores dates (UTC, milliseconds), which
// sorts as text.
func FormatTime(t time.Time) string { return t.UTC().Format(types.DefaultDateLayout) }

// ParseStored reads a stored date; empty or malformed gives the zero time.
func ParseStored(s string) time.Time {
	t, err := time.Parse(types.DefaultDateLayout, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
