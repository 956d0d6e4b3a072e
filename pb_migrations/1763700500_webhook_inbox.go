package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// The webhook inbox: every verified delivery is stored here, raw, before the
// provider gets its 200; a worker then parses and applies the rows in order.
// A delivery that cannot be processed is parked with its error, visible to
// managers, instead of being retried forever.
//
// pending_statuses holds status reports that arrived before the outbox
// recorded the provider id they refer to; they are applied when it appears.
func init() {
	m.Register(func(app core.App) error {
		c := core.NewBaseCollection("webhook_inbox")
		c.Fields.Add(
			// Plain text, not a relation: deleting a channel must not rewrite
			// millions of inbox rows, and the history stays as it was.
			&core.TextField{Name: "channel", Required: true, Max: 50},
			&core.TextField{Name: "method", Max: 10},
			// The URL the provider called (public base + path + query).
			&core.TextField{Name: "url", Max: 4000},
			&core.TextField{Name: "content_type", Max: 200},
			&core.TextField{Name: "body", Max: 2 << 20},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{"pending", "processed", "parked"}},
			&core.TextField{Name: "error", Max: 2000},
			&core.NumberField{Name: "attempts", OnlyInt: true, Min: types.Pointer(0.0)},
			&core.DateField{Name: "processed_at"},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		// The worker reads pending rows in rowid order; the partial index stays
		// small. Ids sort by time (inbound.rowID), so no index on created is
		// needed to purge old rows.
		c.AddIndex("idx_webhook_inbox_pending", false, "status", "status = 'pending'")
		c.AddIndex("idx_webhook_inbox_parked", false, "channel, created", "status = 'parked'")
		c.ListRule = rule(ruleManager)
		c.ViewRule = rule(ruleManager)
		if err := app.Save(c); err != nil {
			return err
		}
		_, err := app.DB().NewQuery(`CREATE TABLE IF NOT EXISTS pending_statuses (
			seq INTEGER PRIMARY KEY AUTOINCREMENT,
			channel TEXT NOT NULL,
			provider_id TEXT NOT NULL,
			status TEXT NOT NULL,
			ts TEXT NOT NULL DEFAULT '',
			error_code TEXT NOT NULL DEFAULT '',
			error_class TEXT NOT NULL DEFAULT '',
			error_detail TEXT NOT NULL DEFAULT '',
			opt_out INTEGER NOT NULL DEFAULT 0,
			received TEXT NOT NULL
		)`).Execute()
		if err != nil {
			return err
		}
		_, err = app.DB().NewQuery(`CREATE INDEX IF NOT EXISTS idx_pending_statuses_provider
			ON pending_statuses (channel, provider_id)`).Execute()
		return err
	}, func(app core.App) error {
		if _, err := app.DB().NewQuery("DROP TABLE IF EXISTS pending_statuses").Execute(); err != nil {
			return err
		}
		c, err := app.FindCollectionByNameOrId("webhook_inbox")
		if err != nil {
			return err
		}
		return app.Delete(c)
	})
}
