package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// failedLogTime is the time a message entered the failed log: when it
// failed, or when it was found in flight after a crash (unknown). Queries
// (package failedlog) must spell it exactly so for SQLite to use the
// indexes; its tests check the query plans.
const failedLogTime = "(CASE WHEN status = 'unknown' THEN unknown_at ELSE failed_at END)"

// failedLogFilters are the columns the log filters on, carried in the
// indexes so that counts and filters read the index alone instead of
// looking up every failed row (measured: 200 ms → a few ms at 100,000
// failures; BENCHMARKS.md).
const failedLogFilters = "source, channel, error_code"

// failedLogWhere: the indexes hold failed and unknown messages only.
const failedLogWhere = "status IN ('failed','unknown')"

// The failed-messages log and the per-contact delivery answer.
//
//   - idx_messages_failed_time and idx_messages_failed_source hold failed and
//     unknown messages only (a tenth of the table in the benchmark): the log
//     pages through them newest first, over every source or per broadcast,
//     without sorting, and counts and filters by status, source, channel and
//     code read the index alone. Queries must repeat the partial condition
//     `status IN ('failed','unknown')` literally.
//   - broadcast_exclusions: one row per contact a broadcast left out, with
//     the reason's code (package reasons), written by the broadcast planner,
//     so "why didn't this person get it?" has a per-contact answer and not
//     only the broadcast's counts. `broadcast` is plain text (deleting a
//     broadcast deletes its rows set-based, see hooks); `contact` is a
//     relation that goes with the contact and is moved by a merge.
func init() {
	m.Register(func(app core.App) error {
		// Raw SQL: PocketBase's index parser does not take expressions. Being
		// outside the collection's index list, they survive its later saves.
		for _, q := range []string{
			"CREATE INDEX IF NOT EXISTS idx_messages_failed_time ON messages (status, " + failedLogTime + ", " + failedLogFilters + ") WHERE " + failedLogWhere,
			"CREATE INDEX IF NOT EXISTS idx_messages_failed_source ON messages (source_id, status, " + failedLogTime + ", " + failedLogFilters + ") WHERE " + failedLogWhere,
		} {
			if _, err := app.DB().NewQuery(q).Execute(); err != nil {
				return err
			}
		}

		contacts, err := app.FindCollectionByNameOrId("contacts")
		if err != nil {
			return err
		}
		c := core.NewBaseCollection("broadcast_exclusions")
		c.Fields.Add(
			&core.TextField{Name: "broadcast", Required: true, Max: 50},
			&core.RelationField{Name: "contact", Required: true, CollectionId: contacts.Id, MaxSelect: 1, CascadeDelete: true},
			// The channel and identity considered, when there was one.
			&core.TextField{Name: "channel", Max: 50},
			&core.TextField{Name: "identity", Max: 50},
			// A code of package reasons: opted_out, no_identity, invalid_identifier...
			&core.TextField{Name: "reason", Required: true, Max: 50},
			// Specifics for people: the invalid identifier, the duplicate's contact id...
			&core.TextField{Name: "detail", Max: 500},
			&core.AutodateField{Name: "created", OnCreate: true},
		)
		c.AddIndex("idx_broadcast_exclusions_pair", true, "broadcast, contact", "")
		c.AddIndex("idx_broadcast_exclusions_contact", false, "contact, created", "")
		c.ListRule = rule(ruleManager)
		c.ViewRule = rule(ruleManager)
		return app.Save(c)
	}, func(app core.App) error {
		if c, err := app.FindCollectionByNameOrId("broadcast_exclusions"); err == nil {
			if err := app.Delete(c); err != nil {
				return err
			}
		}
		for _, q := range []string{"DROP INDEX IF EXISTS idx_messages_failed_time", "DROP INDEX IF EXISTS idx_messages_failed_source"} {
			if _, err := app.DB().NewQuery(q).Execute(); err != nil {
				return err
			}
		}
		return nil
	})
}
