package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Segment storage, chosen by measurement (docs/ARCHITECTURE.md "Segments"):
// partial indexes on the activity timestamps, so "last inbound within N
// days" reads an index instead of every contact while contacts without
// activity (most imported rows) cost no index entry; and the 500-segment
// limit as a trigger, so two concurrent creates cannot both pass a count
// check. Custom-field expression indexes are not here: segments/ creates
// them for the fields segments actually use.
func init() {
	m.Register(func(app core.App) error {
		contacts, err := app.FindCollectionByNameOrId("contacts")
		if err != nil {
			return err
		}
		contacts.AddIndex("idx_contacts_last_inbound", false, "last_inbound_at", "last_inbound_at != ''")
		contacts.AddIndex("idx_contacts_last_outbound", false, "last_outbound_at", "last_outbound_at != ''")
		if err := app.Save(contacts); err != nil {
			return err
		}
		_, err = app.DB().NewQuery(`CREATE TRIGGER IF NOT EXISTS segments_limit BEFORE INSERT ON segments
			WHEN (SELECT COUNT(*) FROM segments) >= 500
			BEGIN SELECT RAISE(ABORT, 'limit reached: the maximum number of segments in a workspace is 500; delete a segment before creating a new one'); END`).Execute()
		return err
	}, func(app core.App) error {
		if _, err := app.DB().NewQuery("DROP TRIGGER IF EXISTS segments_limit").Execute(); err != nil {
			return err
		}
		contacts, err := app.FindCollectionByNameOrId("contacts")
		if err != nil {
			return err
		}
		contacts.RemoveIndex("idx_contacts_last_inbound")
		contacts.RemoveIndex("idx_contacts_last_outbound")
		return app.Save(contacts)
	})
}
