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

const selectCols = `SELECT m.rowid AS seq, m.id, ` + logTime + ` AS t, m.status,
	COALESCE(m.source, '') AS source, COALESCE(m.source_id, '') AS source_id,
	COALESCE(m.contact, '') AS contact, COALESCE(c.first_name, '') AS first_name, COALESCE(c.last_name, '') AS last_name,
	COALESCE(m.channel, '') AS channel, COALESCE(ch.name, '') AS channel_name, COALESCE(ch.type, '') AS channel_type,
	COALESCE(m.content, '') AS content, COALESCE(m.error_code, '') AS error_code,
	COALESCE(m.error_class, '') AS error_class, COALESCE(m.error_detail, '') AS error_detail,
	COALESCE(m.attempts, 0) AS attempts, COALESCE(b.name, '') AS broadcast_name`

const joins = `
	LEFT JOIN contacts c ON c.id = m.contact
	LEFT JOIN channels ch ON ch.id = m.channel
	LEFT JOIN broadcasts b ON b.id = m.source_id AND m.source = 'broadcast'`

// statuses returns the statuses f selects (failed when none is named).
func (f Filter) statuses() []string {
	if len(f.Statuses) == 0 {
		return []string{StatusFailed}
	}
	return f.Statuses
}

// arm is one ordered index range: one status, and one broadcast or none.
type arm struct{ status, broadcast string }

// arms splits f into index ranges. The indexes lead with (source_id,)
// status, so one status and at most one broadcast is one range read in
// order; more are read range by range and merged.
func (f Filter) arms() []arm {
	var out []arm
	for _, st := range f.statuses() {
		if len(f.Broadcasts) == 0 {
			out = append(out, arm{status: st})
		}
		for _, b := range f.Broadcasts {
			out = append(out, arm{status: st, broadcast: b})
		}
	}
	return out
}

// common builds the WHERE terms every arm shares: the partial condition,
// the other filters and the time range. Source, channel and code are
// written as +col IN (...): an equality on an index column that is not
// part of the seek makes SQLite drop that column from the ORDER BY and
// sort, and the unary plus keeps the term out of index seeks while the
// index still answers it.
func (f Filter) common() ([]string, dbx.Params) {
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
		terms = append(terms, "+"+col+" IN ("+strings.Join(keys, ",")+")")
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
	return terms, p
}

// armWhere is the WHERE clause of one arm; i names its parameters.
func armWhere(terms []string, p dbx.Params, a arm, i int) string {
	k := strconv.Itoa(i)
	p["ast"+k] = a.status
	t := append(append([]string{}, terms...), "m.status = {:ast"+k+"}")
	if a.broadcast != "" {
		p["ab"+k] = a.broadcast
		t = append(t, "m.source_id = {:ab"+k+"}", "m.source_id != ''")
	}
	return strings.Join(t, " AND ")
}

// order sorts by time, then by the index's other columns and rowid: the
// indexes' own order within a status (SQLite breaks their ties by rowid), so
// a range is read in place, never sorted, and the order is total and stable.
func (f Filter) order() string {
	dir := " DESC"
	if f.Ascending {
		dir = " ASC"
	}
	return " ORDER BY " + logTime + dir + ", m.status" + dir + ", m.source" + dir + ", m.channel" + dir +
		", m.error_code" + dir + ", m.rowid" + dir
}

// position is where a keyset read stopped: the last row's sort key.
type position struct {
	t, status, source, channel, code string
	seq                              int64
}

// query is the SELECT of the rows f selects in its order, after pos (when
// not nil), skipping offset, at most limit. Several arms (statuses or
// broadcasts) are read as one ordered, limited index range each and
// merged: an IN list would read and sort every failure of every broadcast
// named, for every page.
func (f Filter) query(pos *position, offset, limit int) (string, dbx.Params) {
	terms, p := f.common()
	if pos != nil {
		// A range on the index's time column (<= or >=) plus the tie-break:
		// SQLite does not turn a row-value comparison on an expression into
		// an index range, and would rescan from the start for every chunk.
		cmp := "<"
		if f.Ascending {
			cmp = ">"
		}
		terms = append(terms, logTime+" "+cmp+"= {:kt}", "("+logTime+" "+cmp+" {:kt} OR "+
			"(m.status, m.source, m.channel, m.error_code, m.rowid) "+cmp+" ({:ks}, {:ksrc}, {:kch}, {:kc}, {:kr}))")
		p["kt"], p["ks"], p["ksrc"], p["kch"], p["kc"], p["kr"] = pos.t, pos.status, pos.source, pos.channel, pos.code, pos.seq
	}
	p["lim"], p["off"] = limit, offset
	page := f.order() + " LIMIT {:lim} OFFSET {:off}"
	arms := f.arms()
	switch {
	case len(arms) == 1 && offset == 0:
		return selectCols + " FROM messages m" + joins + " WHERE " + armWhere(terms, p, arms[0], 0) + page, p
	case len(arms) == 1:
		// Skip on the index alone, then join only the page's rows (the
		// skipped rows would otherwise be read and joined for nothing).
		return selectCols + " FROM (SELECT m.rowid AS pick FROM messages m WHERE " + armWhere(terms, p, arms[0], 0) +
			page + ") u JOIN messages m ON m.rowid = u.pick" + joins + f.order(), p
	}
	parts := make([]string, len(arms))
	for i, a := range arms {
		parts[i] = "SELECT * FROM (SELECT m.rowid AS pick FROM messages m WHERE " + armWhere(terms, p, a, i) +
			f.order() + " LIMIT {:upto})"
	}
	p["upto"] = offset + limit
	return selectCols + " FROM (" + strings.Join(parts, " UNION ALL ") + ") u JOIN messages m ON m.rowid = u.pick" +
		joins + page, p
}

// CountQuery is the SQL of Count, with its parameters.
func (f Filter) CountQuery() (string, dbx.Params) {
	terms, p := f.common()
	if st := f.statuses(); len(st) == 1 {
		p["st"] = st[0]
		terms = append(terms, "m.status = {:st}")
	}
	if len(f.Broadcasts) > 0 {
		keys := make([]string, len(f.Broadcasts))
		for i, b := range f.Broadcasts {
			keys[i] = "{:b" + strconv.Itoa(i) + "}"
			p["b"+strconv.Itoa(i)] = b
		}
		terms = append(terms, "m.source_id IN ("+strings.Join(keys, ",")+")", "m.source_id != ''")
	}
	return "SELECT COUNT(*) FROM messages m WHERE " + strings.Join(terms, " AND "), p
}

// Count returns how many messages the filter selects.
func Count(app core.App, f Filter) (int, error) {
	q, p := f.CountQuery()
	var n int
	if err := app.DB().NewQuery(q).Bind(p).Row(&n); err != nil {
		return 0, fmt.Errorf("counting failed messages: %w", err)
	}
	return n, nil
}

// Page returns up to limit rows after skipping offset, in the filter's order
// (time first; stable when several messages failed at once).
func Page(app core.App, f Filter, offset, limit int) ([]Row, error) {
	q, p := f.PageQuery(offset, limit)
	rows := []Row{}
	if err := app.DB().NewQuery(q).Bind(p).All(&rows); err != nil {
		return nil, fmt.Errorf("reading failed messages: %w", err)
	}
	return rows, nil
}

// PageQuery is the SQL of Page, with its parameters (for query plans).
func (f Filter) PageQuery(offset, limit int) (string, dbx.Params) {
	return f.query(nil, offset, limit)
}

// Each calls fn for every row the filter selects, in its order, reading
// chunk rows per query and continuing after the last row read (keyset), so
// no read transaction stays open while fn writes to a slow client and a
// long export never re-reads skipped rows.
func Each(app core.App, f Filter, chunk int, fn func(Row) error) error {
	var pos *position
	for {
		q, p := f.query(pos, 0, chunk)
		var rows []Row
		if err := app.DB().NewQuery(q).Bind(p).All(&rows); err != nil {
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
		pos = positionOf(rows[len(rows)-1])
	}
}

func positionOf(r Row) *position {
	return &position{t: r.Time, status: r.Status, source: r.Source, channel: r.Channel, code: r.ErrorCode, seq: r.Seq}
}

// NextQuery is the SQL with which Each reads the limit rows after last,
// with its parameters (for query plans).
func (f Filter) NextQuery(last Row, limit int) (string, dbx.Params) {
	return f.query(positionOf(last), 0, limit)
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
