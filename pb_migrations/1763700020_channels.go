package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Channels are the business's connected providers. Secrets never sit in
// `config`: the channels hook moves them, encrypted, into the hidden
// `secrets` field and masks them in every response.
func init() {
	m.Register(func(app core.App) error {
		c := core.NewBaseCollection("channels")
		c.Fields.Add(
			&core.TextField{Name: "name", Required: true, Max: 100},
			&core.SelectField{Name: "type", Required: true, MaxSelect: 1, Values: []string{
				"whatsapp_cloud", "telegram", "twilio_sms", "twilio_whatsapp", "webchat", "sandbox",
				"messenger", "vonage_sms", "messagebird_sms", "email",
			}},
			&core.JSONField{Name: "config", MaxSize: 64 << 10},
			&core.TextField{Name: "secrets", Hidden: true, Max: 64 << 10},
			// 0 means the channel type's default rate.
			&core.NumberField{Name: "rate_per_second", Min: types.Pointer(0.0), Max: types.Pointer(100000.0)},
			// WhatsApp messaging tier: unique recipients per rolling 24 h; 0 = unlimited.
			&core.NumberField{Name: "daily_limit", OnlyInt: true, Min: types.Pointer(0.0)},
			&core.SelectField{Name: "status", MaxSelect: 1, Values: []string{"active", "paused", "error"}},
			&core.TextField{Name: "last_error", Max: 2000},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		c.AddIndex("idx_channels_name", true, "name", "")
		c.ListRule = rule(ruleStaff)
		c.ViewRule = rule(ruleStaff)
		c.CreateRule = rule(ruleManager)
		c.UpdateRule = rule(ruleManager)
		c.DeleteRule = rule(ruleManager)
		return app.Save(c)
	}, func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("channels")
		if err != nil {
			return err
		}
		return app.Delete(c)
	})
}
