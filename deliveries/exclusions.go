package deliveries

import (
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Exclusion is one contact a broadcast left out when it was planned, and
// why: Reason is a code of package reasons (opted_out, not_opted_in,
// no_identity, invalid_identifier, duplicate_identity,
// not_previously_interacted, window_closed, daily_limit...), Detail the
// specifics a person needs (the invalid value, the contact that holds the
// same identifier).
type Exclusion struct {
	Contact  string
	Channel  string
	Identity string
	Reason   string
	Detail   string
}

// exclusionChunk bounds one transaction, so a million-contact plan does not
// hold SQLite's single writer for long.
const exclusionChunk = 5000

// RecordExclusions stores a broadcast's per-contact exclusions in
// broadcast_exclusions with one prepared statement, exclusionChunk rows per
// transaction. A contact already recorded for the broadcast keeps its first
// reason (a planner that resumes after a crash writes the same rows again).
// The planner may instead write the table with its own INSERT … SELECT; the
// format is in docs/ARCHITECTURE.md ("Failed messages and deliveries").
func RecordExclusions(app core.App, broadcastID string, now time.Time, xs []Exclusion) error {
	if broadcastID == "" {
		return fmt.Errorf("recording exclusions: the broadcast id is required")
	}
	created := now.UTC().Format(types.DefaultDateLayout)
	for start := 0; start < len(xs); start += exclusionChunk {
		chunk := xs[start:min(start+exclusionChunk, len(xs))]
		err := app.RunInTransaction(func(tx core.App) error {
			q := tx.DB().NewQuery(`INSERT OR IGNORE INTO broadcast_exclusions
				(id, broadcast, contact, channel, identity, reason, detail, created)
				VALUES ({:id}, {:b}, {:c}, {:ch}, {:i}, {:r}, {:d}, {:now})`).Prepare()
			defer q.Close()
			for _, x := range chunk {
				if x.Contact == "" || x.Reason == "" {
					return fmt.Errorf("an exclusion needs a contact and a reason: %+v", x)
				}
				if _, err := q.Bind(dbx.Params{"id": core.GenerateDefaultRandomId(), "b": broadcastID,
					"c": x.Contact, "ch": x.Channel, "i": x.Identity, "r": x.Reason, "d": clip(x.Detail, 500),
					"now": created}).Execute(); err != nil {
					return fmt.Errorf("excluding contact %s: %w", x.Contact, err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("recording exclusions of broadcast %s: %w", broadcastID, err)
		}
	}
	return nil
}

// DeleteExclusions removes a broadcast's exclusions (the broadcast is being
// deleted), set-based.
func DeleteExclusions(app core.App, broadcastID string) error {
	_, err := app.DB().NewQuery("DELETE FROM broadcast_exclusions WHERE broadcast = {:b}").
		Bind(dbx.Params{"b": broadcastID}).Execute()
	if err != nil {
		return fmt.Errorf("deleting the exclusions of broadcast %s: %w", broadcastID, err)
	}
	return nil
}

// clip cuts s to at most n bytes, dropping a rune cut in half.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
