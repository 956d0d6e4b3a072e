package hooks

import (
	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// bindRoleGuards enforces what API rules cannot express, on every path
// (superusers and Go code included): the workspace keeps its one settings
// row and at least one owner.
func bindRoleGuards(env *Env) {
	env.App.OnRecordDelete("settings").BindFunc(func(e *core.RecordEvent) error {
		return apis.NewBadRequestError("The workspace settings row cannot be deleted; change its values instead.", nil)
	})
	// The owner count is read in the write's transaction, so two owners
	// stepping down at once cannot both pass.
	env.App.OnRecordUpdate("users").BindFunc(func(e *core.RecordEvent) error {
		return inTx(e, func(tx core.App) error {
			stored, err := storedRecord(tx, e.Record)
			if err != nil {
				return err
			}
			if stored.GetString("role") == "owner" && e.Record.GetString("role") != "owner" {
				if err := requireAnotherOwner(tx, e.Record.Id, "role"); err != nil {
					return err
				}
			}
			return e.Next()
		})
	})
	env.App.OnRecordDelete("users").BindFunc(func(e *core.RecordEvent) error {
		return inTx(e, func(tx core.App) error {
			stored, err := storedRecord(tx, e.Record)
			if err != nil {
				return err
			}
			if stored.GetString("role") == "owner" {
				if err := requireAnotherOwner(tx, e.Record.Id, "id"); err != nil {
					return err
				}
			}
			return e.Next()
		})
	})
}

func requireAnotherOwner(tx core.App, userID, field string) error {
	var n int
	err := tx.DB().NewQuery("SELECT COUNT(*) FROM users WHERE role = 'owner' AND id != {:id}").
		Bind(dbx.Params{"id": userID}).Row(&n)
	if err != nil {
		return err
	}
	if n == 0 {
		msg := "The workspace needs at least one owner; make another user owner first."
		return apis.NewBadRequestError(msg, validation.Errors{field: validation.NewError("last_owner", msg)})
	}
	return nil
}
