package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// The append-only event log and the CSV import jobs.
//
// Events are ordered by SQLite's rowid, which only grows for an append-only
// table: consumers keep a rowid cursor. `contact` is plain text, not a
// relation, so deleting or merging a contact never rewrites history.
func init() {
	m.Register(func(app core.App) error {
		ev := core.NewBaseCollection("events")
		ev.Fields.Add(
			&core.TextField{Name: "type", Required: true, Max: 100},
			&core.TextField{Name: "contact", Max: 50},
			&core.TextField{Name: "subject", Max: 50},
			&core.JSONField{Name: "payload", MaxSize: 256 << 10},
			// "user:<id>", "api", "import:<id>", "system", "webhook:<channel>"...
			&core.TextField{Name: "actor", Max: 100},
			&core.AutodateField{Name: "created", OnCreate: true},
		)
		ev.AddIndex("idx_events_contact", false, "contact, created", "contact != ''")
		ev.AddIndex("idx_events_type", false, "type, created", "")
		ev.ListRule = rule(ruleManager)
		ev.ViewRule = rule(ruleManager)
		if err := app.Save(ev); err != nil {
			return err
		}
		if _, err := app.DB().NewQuery(`CREATE TABLE IF NOT EXISTS event_cursors (
			consumer TEXT PRIMARY KEY NOT NULL,
			position INTEGER NOT NULL DEFAULT 0,
			updated TEXT NOT NULL DEFAULT ''
		)`).Execute(); err != nil {
			return err
		}

		users, err := app.FindCollectionByNameOrId("users")
		if err != nil {
			return err
		}
		min0 := types.Pointer(0.0)
		im := core.NewBaseCollection("imports")
		im.Fields.Add(
			&core.TextField{Name: "filename", Max: 300},
			&core.SelectField{Name: "mode", Required: true, MaxSelect: 1, Values: []string{"add_update", "add_only", "update_only"}},
			&core.SelectField{Name: "identifier", Required: true, MaxSelect: 1, Values: []string{"id", "phone", "email"}},
			&core.JSONField{Name: "tags", MaxSize: 16 << 10},
			&core.TextField{Name: "consent_source", Max: 200},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"queued", "running", "done", "failed"}},
			&core.TextField{Name: "error", Max: 2000},
			&core.NumberField{Name: "rows_read", OnlyInt: true, Min: min0},
			&core.NumberField{Name: "created_count", OnlyInt: true, Min: min0},
			&core.NumberField{Name: "updated_count", OnlyInt: true, Min: min0},
			&core.NumberField{Name: "skipped_count", OnlyInt: true, Min: min0},
			&core.NumberField{Name: "rejected_count", OnlyInt: true, Min: min0},
			&core.RelationField{Name: "created_by", CollectionId: users.Id, MaxSelect: 1},
			&core.DateField{Name: "started_at"},
			&core.DateField{Name: "finished_at"},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		im.ListRule = rule(ruleManager)
		im.ViewRule = rule(ruleManager)
		return app.Save(im)
	}, func(app core.App) error {
		for _, name := range []string{"imports", "events"} {
			c, err := app.FindCollectionByNameOrId(name)
			if err != nil {
				return err
			}
			if err := app.Delete(c); err != nil {
				return err
			}
		}
		_, err := app.DB().NewQuery("DROP TABLE IF EXISTS event_cursors").Execute()
		return err
	})
}
