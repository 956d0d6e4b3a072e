package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// A contact's timeline reads its events newest first by seq (rowid). The
// (contact, created) index is partial (contact != ”), which SQLite cannot
// use for `contact IN (...)`, and orders by time rather than seq. An index
// on contact alone carries the rowid as its last column, so the timeline is
// one index range read in seq order, however long the log grows.
func init() {
	m.Register(func(app core.App) error {
		ev, err := app.FindCollectionByNameOrId("events")
		if err != nil {
			return err
		}
		ev.AddIndex("idx_events_contact_seq", false, "contact", "")
		return app.Save(ev)
	}, func(app core.App) error {
		ev, err := app.FindCollectionByNameOrId("events")
		if err != nil {
			return err
		}
		ev.RemoveIndex("idx_events_contact_seq")
		return app.Save(ev)
	})
}
