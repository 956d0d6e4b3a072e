package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Broadcasts follow the seed's steps: a draft gains a segment, a channel
// mode, content per channel type, a schedule and a rate; counters are kept
// current while it sends.
func init() {
	m.Register(func(app core.App) error {
		segments, err := app.FindCollectionByNameOrId("segments")
		if err != nil {
			return err
		}
		channels, err := app.FindCollectionByNameOrId("channels")
		if err != nil {
			return err
		}
		users, err := app.FindCollectionByNameOrId("users")
		if err != nil {
			return err
		}
		c := core.NewBaseCollection("broadcasts")
		min0 := types.Pointer(0.0)
		c.Fields.Add(
			&core.TextField{Name: "name", Required: true, Max: 200},
			&core.JSONField{Name: "tags", MaxSize: 16 << 10},
			&core.RelationField{Name: "segment", CollectionId: segments.Id, MaxSelect: 1},
			&core.SelectField{Name: "channel_mode", MaxSelect: 1, Values: []string{"specific", "last_interacted"}},
			&core.RelationField{Name: "channel", CollectionId: channels.Id, MaxSelect: 1},
			&core.JSONField{Name: "channel_types", MaxSize: 4 << 10},
			&core.JSONField{Name: "content", MaxSize: 256 << 10},
			&core.BoolField{Name: "only_previously_interacted"},
			&core.DateField{Name: "scheduled_at"},
			&core.TextField{Name: "timezone", Max: 64},
			&core.NumberField{Name: "rate_count", OnlyInt: true, Min: min0},
			&core.SelectField{Name: "rate_unit", MaxSelect: 1, Values: []string{"second", "minute", "hour"}},
			&core.SelectField{Name: "status", Required: true, MaxSelect: 1, Values: []string{
				"draft", "scheduled", "sending", "paused", "completed", "completed_with_failures", "failed", "cancelled",
			}},
			&core.TextField{Name: "error", Max: 2000},
			&core.NumberField{Name: "targeted", OnlyInt: true, Min: min0},
			&core.JSONField{Name: "excluded", MaxSize: 16 << 10},
			&core.NumberField{Name: "queued", OnlyInt: true, Min: min0},
			&core.NumberField{Name: "sent", OnlyInt: true, Min: min0},
			&core.NumberField{Name: "delivered", OnlyInt: true, Min: min0},
			&core.NumberField{Name: "read", OnlyInt: true, Min: min0},
			&core.NumberField{Name: "replied", OnlyInt: true, Min: min0},
			&core.NumberField{Name: "failed", OnlyInt: true, Min: min0},
			&core.JSONField{Name: "failed_by_reason", MaxSize: 16 << 10},
			&core.NumberField{Name: "unknown", OnlyInt: true, Min: min0},
			&core.RelationField{Name: "created_by", CollectionId: users.Id, MaxSelect: 1},
			&core.DateField{Name: "started_at"},
			&core.DateField{Name: "completed_at"},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		c.AddIndex("idx_broadcasts_status", false, "status, scheduled_at", "")
		c.ListRule = rule(ruleManager)
		c.ViewRule = rule(ruleManager)
		c.CreateRule = rule(ruleManager)
		c.UpdateRule = rule(ruleManager)
		c.DeleteRule = rule(ruleManager)
		if err := app.Save(c); err != nil {
			return err
		}
		// A resend is a new broadcast linked to the one it repeats.
		c.Fields.Add(&core.RelationField{Name: "resend_of", CollectionId: c.Id, MaxSelect: 1})
		return app.Save(c)
	}, func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("broadcasts")
		if err != nil {
			return err
		}
		return app.Delete(c)
	})
}
