package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// The workspace settings: exactly one row, created here and never deleted.
func init() {
	m.Register(func(app core.App) error {
		c := core.NewBaseCollection("settings")
		c.Fields.Add(
			&core.TextField{Name: "workspace_name", Max: 200},
			// ISO 3166-1 alpha-2 region used to parse phone numbers written without a country code.
			&core.TextField{Name: "default_region", Required: true, Min: 2, Max: 2, Pattern: `^[A-Z]{2}$`},
			&core.TextField{Name: "timezone", Required: true, Max: 64},
			&core.TextField{Name: "language", Max: 10},
			// {"mon":[["09:00","18:00"]], ...}; validated by the settings hook.
			&core.JSONField{Name: "business_hours", MaxSize: 16 << 10},
			// When true, broadcasts go only to identities with a recorded opt-in.
			&core.BoolField{Name: "require_opt_in"},
			// A reply this many hours after a broadcast message counts as a reply to it.
			&core.NumberField{Name: "reply_window_hours", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(720.0)},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		c.ListRule = rule(ruleStaff)
		c.ViewRule = rule(ruleStaff)
		c.UpdateRule = rule(ruleOwner)
		if err := app.Save(c); err != nil {
			return err
		}
		r := core.NewRecord(c)
		r.Set("workspace_name", "Pregón")
		r.Set("default_region", "MX")
		r.Set("timezone", "America/Mexico_City")
		r.Set("language", "es")
		r.Set("reply_window_hours", 72)
		r.Set("business_hours", map[string]any{
			"mon": [][]string{{"09:00", "18:00"}}, "tue": [][]string{{"09:00", "18:00"}},
			"wed": [][]string{{"09:00", "18:00"}}, "thu": [][]string{{"09:00", "18:00"}},
			"fri": [][]string{{"09:00", "18:00"}},
		})
		return app.Save(r)
	}, func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("settings")
		if err != nil {
			return err
		}
		return app.Delete(c)
	})
}
