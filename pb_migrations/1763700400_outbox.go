package pb_migrations

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The outbox's own columns and indexes on messages.
//
//   - status "held": queued messages of a paused broadcast, out of the
//     dispatcher's claim index until released.
//   - unknown_at: when a message found in flight at start-up became unknown.
//   - tier_at: when the message counted against the channel's rolling-24h
//     unique-recipient tier (business-initiated sends only); the dispatcher
//     rebuilds the tier from it after a restart.
//   - idx_messages_claim replaces idx_messages_outbox: the dispatcher claims
//     per priority level, oldest due first, so (channel, priority,
//     next_attempt_at) turns each claim into one index range scan that never
//     walks rows that are not due (backoff, later schedule). It holds queued
//     rows only: a claim removes the entry and recording the result does not
//     touch the index at all, which halves the index work per message.
func init() {
	m.Register(func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("messages")
		if err != nil {
			return err
		}
		st, ok := c.Fields.GetByName("status").(*core.SelectField)
		if !ok {
			return fmt.Errorf("messages.status is not a select field")
		}
		st.Values = append(st.Values, "held")
		c.Fields.Add(
			&core.DateField{Name: "unknown_at"},
			&core.DateField{Name: "tier_at"},
		)
		c.RemoveIndex("idx_messages_outbox")
		c.AddIndex("idx_messages_claim", false, "channel, priority, next_attempt_at", "status = 'queued' AND direction = 'out'")
		c.AddIndex("idx_messages_tier", false, "channel, tier_at", "tier_at != ''")
		return app.Save(c)
	}, func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("messages")
		if err != nil {
			return err
		}
		c.RemoveIndex("idx_messages_claim")
		c.RemoveIndex("idx_messages_tier")
		c.AddIndex("idx_messages_outbox", false, "channel, status, next_attempt_at", "direction = 'out'")
		c.Fields.RemoveByName("unknown_at")
		c.Fields.RemoveByName("tier_at")
		if st, ok := c.Fields.GetByName("status").(*core.SelectField); ok {
			vals := st.Values[:0]
			for _, v := range st.Values {
				if v != "held" {
					vals = append(vals, v)
				}
			}
			st.Values = vals
		}
		return app.Save(c)
	})
}
