package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Segments are saved filters, evaluated when used, never cached as members.
func init() {
	m.Register(func(app core.App) error {
		c := core.NewBaseCollection("segments")
		c.Fields.Add(
			&core.TextField{Name: "name", Required: true, Max: 200},
			&core.TextField{Name: "description", Max: 2000},
			// {"groups":[{"conditions":[{"category":"tag","operator":"has_any","value":["vip"]}]}]}
			&core.JSONField{Name: "conditions", MaxSize: 256 << 10},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		c.AddIndex("idx_segments_name", true, "name COLLATE NOCASE", "")
		c.ListRule = rule(ruleManager)
		c.ViewRule = rule(ruleManager)
		c.CreateRule = rule(ruleManager)
		c.UpdateRule = rule(ruleManager)
		c.DeleteRule = rule(ruleManager)
		return app.Save(c)
	}, func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("segments")
		if err != nil {
			return err
		}
		return app.Delete(c)
	})
}
