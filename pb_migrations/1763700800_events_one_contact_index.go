package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The events log keeps one index by contact. idx_events_contact_seq
// (contact; the rowid rides along, so a contact's events come back in log
// order) serves the timeline and every per-contact lookup;
// idx_events_contact (contact, created), partial, served none the others do
// not, and every event written paid for it: the key is a random contact id,
// so each insert dirtied a random page that the group commit then wrote to
// the WAL and the checkpoint to the database. Measured on the outbox's result
// writer (sent results with their message.status events): 40 → 32 µs of CPU
// per message (BENCHMARKS.md, Outbox). Imports and webhooks gain the same.
func init() {
	m.Register(func(app core.App) error {
		ev, err := app.FindCollectionByNameOrId("events")
		if err != nil {
			return err
		}
		ev.RemoveIndex("idx_events_contact")
		return app.Save(ev)
	}, func(app core.App) error {
		ev, err := app.FindCollectionByNameOrId("events")
		if err != nil {
			return err
		}
		ev.AddIndex("idx_events_contact", false, "contact, created", "contact != ''")
		return app.Save(ev)
	})
}
