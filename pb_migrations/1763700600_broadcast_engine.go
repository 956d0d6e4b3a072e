package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// The broadcast engine's own state and the per-contact record of who a
// broadcast left out.
//
//   - pending: messages planned but not yet sent (queued, held or in
//     flight). With the other counters: targeted = Σ excluded + queued and
//     queued = pending + sent + failed + unknown.
//   - plan_cursor / plan_done: planning walks the contacts table in rowid
//     chunks, each chunk's messages, exclusions and counters committed with
//     the cursor, so a restart resumes where it stopped and plans nobody twice.
//   - planned_by_channel: messages planned per channel id.
//   - resend_permanent: a resend that also retries permanent failures.
//   - broadcast_exclusions: one row per contact a broadcast left out, with the
//     reason code (reasons package), for the per-contact "why didn't this
//     person get my message" and the activity timeline. Written with raw SQL
//     in bulk; contact and broadcast are plain text so that deleting either
//     never cascades through hooks over a million rows.
func init() {
	m.Register(func(app core.App) error {
		b, err := app.FindCollectionByNameOrId("broadcasts")
		if err != nil {
			return err
		}
		min0 := types.Pointer(0.0)
		b.Fields.Add(
			&core.NumberField{Name: "pending", OnlyInt: true, Min: min0},
			&core.NumberField{Name: "plan_cursor", OnlyInt: true, Min: min0},
			&core.BoolField{Name: "plan_done"},
			&core.JSONField{Name: "planned_by_channel", MaxSize: 16 << 10},
			&core.BoolField{Name: "resend_permanent"},
		)
		if err := app.Save(b); err != nil {
			return err
		}

		// A data dir made before this migration existed ran the failed log's
		// migration (1763700700), which then created broadcast_exclusions as
		// a fallback with these same fields and indexes: keep it and its rows.
		if _, err := app.FindCollectionByNameOrId("broadcast_exclusions"); err == nil {
			return nil
		}
		ex := core.NewBaseCollection("broadcast_exclusions")
		ex.Fields.Add(
			&core.TextField{Name: "broadcast", Required: true, Max: 50},
			&core.TextField{Name: "contact", Required: true, Max: 50},
			&core.TextField{Name: "channel", Max: 50},
			&core.TextField{Name: "reason", Required: true, Max: 50},
			&core.AutodateField{Name: "created", OnCreate: true},
		)
		ex.AddIndex("idx_bexcl_broadcast", false, "broadcast, reason", "")
		ex.AddIndex("idx_bexcl_contact", false, "contact", "")
		ex.ListRule = rule(ruleManager)
		ex.ViewRule = rule(ruleManager)
		return app.Save(ex)
	}, func(app core.App) error {
		ex, err := app.FindCollectionByNameOrId("broadcast_exclusions")
		if err != nil {
			return err
		}
		if err := app.Delete(ex); err != nil {
			return err
		}
		b, err := app.FindCollectionByNameOrId("broadcasts")
		if err != nil {
			return err
		}
		for _, f := range []string{"pending", "plan_cursor", "plan_done", "planned_by_channel", "resend_permanent"} {
			b.Fields.RemoveByName(f)
		}
		return app.Save(b)
	})
}
