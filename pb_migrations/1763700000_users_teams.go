package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Users are the business's staff. PocketBase creates the "users" auth
// collection open to public sign-up; an appliance must not let strangers in,
// so only owners and managers create accounts and only owners change roles.
func init() {
	m.Register(func(app core.App) error {
		users, err := app.FindCollectionByNameOrId("users")
		if err != nil {
			return err
		}
		users.Fields.Add(&core.SelectField{Name: "role", Values: []string{"owner", "manager", "agent"}, MaxSelect: 1, Required: true})
		users.ListRule = rule(ruleStaff)
		users.ViewRule = rule(ruleStaff)
		users.CreateRule = rule(ruleManager + " && (@request.body.role != 'owner' || @request.auth.role = 'owner')")
		// Everyone may edit their own profile but not their role; owners edit anyone.
		users.UpdateRule = rule("(id = @request.auth.id && @request.body.role:isset = false) || " + ruleOwner)
		users.DeleteRule = rule(ruleOwner + " && id != @request.auth.id")
		if err := app.Save(users); err != nil {
			return err
		}

		teams := core.NewBaseCollection("teams")
		teams.Fields.Add(
			&core.TextField{Name: "name", Required: true, Max: 100},
			&core.RelationField{Name: "members", CollectionId: users.Id, MaxSelect: 1000},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		teams.AddIndex("idx_teams_name", true, "name", "")
		teams.ListRule = rule(ruleStaff)
		teams.ViewRule = rule(ruleStaff)
		teams.CreateRule = rule(ruleManager)
		teams.UpdateRule = rule(ruleManager)
		teams.DeleteRule = rule(ruleManager)
		return app.Save(teams)
	}, func(app core.App) error {
		teams, err := app.FindCollectionByNameOrId("teams")
		if err != nil {
			return err
		}
		return app.Delete(teams)
	})
}
