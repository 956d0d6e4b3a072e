package outbox

import (
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/events"
)

// Recover runs at start-up, before any dispatcher: messages still "sending"
// were handed to a provider (or about to be) when the process died, so
// nobody knows whether they went. They become "unknown", for a person to
// review and resend, and are never sent again blindly. They also count
// against the messaging tier (tier_at): they may have reached the user.
// It returns how many it marked.
func Recover(app core.App, now time.Time) (int, error) {
	nowS := fmtTime(now)
	total := 0
	for {
		var rows []struct {
			ID       string `db:"id"`
			Contact  string `db:"contact"`
			Channel  string `db:"channel"`
			Source   string `db:"source"`
			SourceID string `db:"source_id"`
		}
		err := app.DB().NewQuery(`SELECT id, contact, channel, source, source_id FROM messages
			WHERE status = 'sending' AND direction = 'out' LIMIT {:lim}`).
			Bind(dbx.Params{"lim": sourceChunk}).All(&rows)
		if err != nil {
			return total, fmt.Errorf("finding messages left in flight: %w", err)
		}
		if len(rows) == 0 {
			return total, nil
		}
		err = app.RunInTransaction(func(tx core.App) error {
			upd := tx.DB().NewQuery(`UPDATE messages SET status = 'unknown', unknown_at = {:now}, tier_at = {:now},
				updated = {:now}, error_detail = 'in flight when the process stopped; not resent: check with the contact before resending'
				WHERE id = {:id} AND status = 'sending'`).Prepare()
			defer upd.Close()
			evs := make([]events.Event, 0, len(rows))
			for _, r := range rows {
				if _, err := upd.Bind(dbx.Params{"now": nowS, "id": r.ID}).Execute(); err != nil {
					return err
				}
				evs = append(evs, statusEvent(r.ID, r.Contact, StatusPayload{Status: StatusUnknown,
					Channel: r.Channel, Source: r.Source, SourceID: r.SourceID}))
			}
			return events.AppendMany(tx, evs)
		})
		if err != nil {
			return total, fmt.Errorf("marking messages left in flight as unknown: %w", err)
		}
		total += len(rows)
	}
}
