package outbox

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
)

// claimed is one message taken by a dispatcher: queued → sending, attempts+1.
type claimed struct {
	// Seq is the row's rowid: updates address rows by it, which saves the
	// descent through the text primary key's index on every write.
	Seq         int64  `db:"seq"`
	ID          string `db:"id"`
	Contact     string `db:"contact"`
	Identity    string `db:"identity"`
	RawContent  string `db:"content"`
	Attempts    int    `db:"attempts"` // after this claim
	Priority    int    `db:"priority"`
	Source      string `db:"source"`
	SourceID    string `db:"source_id"`
	Identifier  string `db:"identifier"`
	LastInbound string `db:"last_inbound_at"`
	Consent     string `db:"consent"`

	content channels.Content
	// outsideWindow replaces content when the window is closed at send
	// time (see StoredContent).
	outsideWindow *channels.Content
	// tierNew: this send added its recipient to the tier tracker, which
	// forgets it again when the send fails.
	tierNew bool
	// businessInitiated: the customer-service window was closed at send time.
	businessInitiated bool
}

// claim takes up to limit due messages of a channel, highest priority first
// and oldest due first within a level. The candidates are read outside any
// transaction (WAL readers run beside the writer, on another core); the
// writer's part is one short UPDATE … RETURNING that takes only the rows
// still queued, so a row held or cancelled in between is simply not claimed.
// The read walks the priority levels present with MAX(priority) probes, so
// each level is one range scan of idx_messages_claim (queued rows only) that
// stops at the first row not yet due. The WHERE clauses repeat the index's
// own condition (status = 'queued' AND direction = 'out') so SQLite uses it.
func claim(app core.App, channel string, now time.Time, limit int) ([]*claimed, error) {
	nowS := fmtTime(now)
	var out []*claimed
	var prio sql.NullInt64
	if err := app.DB().NewQuery(`SELECT MAX(priority) FROM messages
		WHERE channel = {:ch} AND status = 'queued' AND direction = 'out'`).
		Bind(dbx.Params{"ch": channel}).Row(&prio); err != nil {
		return nil, fmt.Errorf("finding the top priority of channel %s: %w", channel, err)
	}
	for prio.Valid && len(out) < limit {
		var rows []*claimed
		err := app.DB().NewQuery(`SELECT m.rowid AS seq, m.id, m.contact, m.identity, m.content, m.attempts + 1 AS attempts,
			m.priority, m.source, m.source_id, COALESCE(i.identifier, '') AS identifier,
			COALESCE(i.last_inbound_at, '') AS last_inbound_at, COALESCE(i.consent, '') AS consent
			FROM messages m LEFT JOIN contact_identities i ON i.id = m.identity
			WHERE m.channel = {:ch} AND m.status = 'queued' AND m.direction = 'out'
			AND m.priority = {:p} AND m.next_attempt_at <= {:now}
			ORDER BY m.next_attempt_at LIMIT {:lim}`).
			Bind(dbx.Params{"ch": channel, "p": prio.Int64, "now": nowS, "lim": limit - len(out)}).All(&rows)
		if err != nil {
			return nil, fmt.Errorf("reading due messages of channel %s: %w", channel, err)
		}
		out = append(out, rows...)
		if err := app.DB().NewQuery(`SELECT MAX(priority) FROM messages
			WHERE channel = {:ch} AND status = 'queued' AND direction = 'out' AND priority < {:p}`).
			Bind(dbx.Params{"ch": channel, "p": prio.Int64}).Row(&prio); err != nil {
			return nil, fmt.Errorf("finding the next priority of channel %s: %w", channel, err)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	var sb strings.Builder
	p := dbx.Params{"now": nowS}
	sb.WriteString(`UPDATE messages SET status = 'sending', attempts = attempts + 1, updated = {:now} WHERE rowid IN (`)
	for i, m := range out {
		if i > 0 {
			sb.WriteByte(',')
		}
		k := "i" + strconv.Itoa(i)
		sb.WriteString("{:" + k + "}")
		p[k] = m.Seq
	}
	sb.WriteString(`) AND status = 'queued' RETURNING rowid`)
	var got []int64
	if err := app.DB().NewQuery(sb.String()).Bind(p).Column(&got); err != nil {
		return nil, fmt.Errorf("claiming messages of channel %s: %w", channel, err)
	}
	if len(got) != len(out) {
		taken := make(map[int64]bool, len(got))
		for _, s := range got {
			taken[s] = true
		}
		kept := out[:0]
		for _, m := range out {
			if taken[m.Seq] {
				kept = append(kept, m)
			}
		}
		out = kept
	}
	for _, m := range out {
		m.content, m.outsideWindow = decodeContent(m.RawContent)
		m.RawContent = ""
	}
	return out, nil
}
