package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Drops idx_events_contact (contact, created), partial on a non-empty contact.
// The timeline reads idx_events_contact_seq (contact; rowid order), merges
// and the segments' broadcast.replied lookup read idx_events_type, and
// SQLite cannot use a partial index for the timeline's contact IN (...), so
// nothing read it (checked with EXPLAIN QUERY PLAN); every event with a
// contact paid an entry in it: one more B-tree insert, ~1 µs with modernc.
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
