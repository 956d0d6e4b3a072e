package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Custom field definitions. Values live in contacts.fields (a JSON object
// keyed by `key`) and are validated against these on every write.
func init() {
	m.Register(func(app core.App) error {
		c := core.NewBaseCollection("contact_fields")
		c.Fields.Add(
			&core.TextField{Name: "key", Required: true, Max: 40, Pattern: `^[a-z][a-z0-9_]*$`},
			&core.TextField{Name: "label", Required: true, Max: 100},
			&core.SelectField{Name: "type", Required: true, MaxSelect: 1, Values: []string{
				"text", "number", "date", "boolean", "list", "email", "phone", "url",
			}},
			// For type "list": the allowed options, e.g. ["gold","silver"].
			&core.JSONField{Name: "options", MaxSize: 64 << 10},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		c.AddIndex("idx_contact_fields_key", true, "key", "")
		c.ListRule = rule(ruleStaff)
		c.ViewRule = rule(ruleStaff)
		c.CreateRule = rule(ruleManager)
		c.UpdateRule = rule(ruleManager)
		c.DeleteRule = rule(ruleManager)
		return app.Save(c)
	}, func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("contact_fields")
		if err != nil {
			return err
		}
		return app.Delete(c)
	})
}
