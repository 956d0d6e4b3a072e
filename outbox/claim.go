package outbox

import (
	"database/sql"
	"fmt"
	"slices"
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
	NextAttempt string `db:"next_attempt_at"`
	// Recipient is the identity's identifier, last inbound time and
	// consent, as the claim returns them (see splitRecipient).
	Recipient   string `db:"recipient"`
	Identifier  string
	LastInbound string
	Consent     string

	content channels.Content
	// outsideWindow replaces content when the window is closed at send
	// time (see StoredContent).
	outsideWindow *channels.Content
	// tierNew: this send added its recipient to the tier tracker, which
	// forgets it again when the send fails.
	tierNew bool
	// businessInitiated: the customer-service window was closed at send time.
	businessInitiated bool
	// choseOutsideWindow: content is the stored outside-the-window
	// template; the result records it (StoredContent.Chosen).
	choseOutsideWindow bool
}

// claim takes up to limit due messages of a channel, highest priority first
// and oldest due first within a level. Each priority level present is one
// statement on the writer: an UPDATE of the level's due rows (a range scan
// of idx_messages_claim, which holds queued rows only and stops at the first
// row not yet due) to sending, attempts+1, whose RETURNING clause reads the
// recipient's identity (identifier, last inbound, consent) beside the row.
// Reading and taking the rows in one statement means a row held or
// cancelled a moment earlier is simply not there to take, and the rows are
// not read twice (once to choose them on a reader whose page cache every
// write invalidates, once more to update them). The levels are found with
// MAX(priority) probes on the read pool. The WHERE clauses repeat the
// index's own condition (status = 'queued' AND direction = 'out') so SQLite
// uses it.
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
		err := app.NonconcurrentDB().NewQuery(`UPDATE messages SET status = 'sending', attempts = attempts + 1, updated = {:now}
			WHERE rowid IN (SELECT rowid FROM messages
				WHERE channel = {:ch} AND status = 'queued' AND direction = 'out'
				AND priority = {:p} AND next_attempt_at <= {:now}
				ORDER BY next_attempt_at LIMIT {:lim})
			RETURNING rowid AS seq, id, contact, identity, content, attempts, priority, source, source_id,
				next_attempt_at,
				COALESCE((SELECT COALESCE(i.identifier, '') || char(31) || COALESCE(i.last_inbound_at, '') || char(31) || COALESCE(i.consent, '')
					FROM contact_identities i WHERE i.id = messages.identity), '') AS recipient`).
			Bind(dbx.Params{"ch": channel, "p": prio.Int64, "now": nowS, "lim": limit - len(out)}).All(&rows)
		if err != nil {
			return nil, fmt.Errorf("claiming messages of channel %s: %w", channel, err)
		}
		// RETURNING gives rows in the order the UPDATE visited them (rowid);
		// the batch goes out oldest due first, as the queue promises.
		slices.SortStableFunc(rows, func(a, b *claimed) int { return strings.Compare(a.NextAttempt, b.NextAttempt) })
		out = append(out, rows...)
		if err := app.DB().NewQuery(`SELECT MAX(priority) FROM messages
			WHERE channel = {:ch} AND status = 'queued' AND direction = 'out' AND priority < {:p}`).
			Bind(dbx.Params{"ch": channel, "p": prio.Int64}).Row(&prio); err != nil {
			return nil, fmt.Errorf("finding the next priority of channel %s: %w", channel, err)
		}
	}
	// A broadcast's rows share their content: decode each distinct text once.
	// The decoded values are shared and only ever read (useOutsideWindow
	// swaps pointers, it does not write through them).
	type decodedContent struct {
		content       channels.Content
		outsideWindow *channels.Content
	}
	decoded := map[string]decodedContent{}
	for _, m := range out {
		m.splitRecipient()
		d, ok := decoded[m.RawContent]
		if !ok {
			d.content, d.outsideWindow = decodeContent(m.RawContent)
			decoded[m.RawContent] = d
		}
		m.content, m.outsideWindow = d.content, d.outsideWindow
		m.RawContent = ""
	}
	return out, nil
}

// splitRecipient reads the identity's fields the claim returns joined by
// the unit separator (an empty string: the identity no longer exists). The
// identifier comes first, so it is split off last: a date and a consent
// value never hold the separator.
func (m *claimed) splitRecipient() {
	r := m.Recipient
	m.Recipient = ""
	j := strings.LastIndexByte(r, 0x1f)
	if j < 0 {
		return
	}
	i := strings.LastIndexByte(r[:j], 0x1f)
	if i < 0 {
		return
	}
	m.Identifier, m.LastInbound, m.Consent = r[:i], r[i+1:j], r[j+1:]
}
