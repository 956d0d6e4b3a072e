package hooks

import (
	"net/http"
	"strings"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// bindSetup adds the first-run endpoint: while no user exists, anyone who
// can reach the appliance may create the owner account (the same trust model
// as PocketBase's own installer). Afterwards it answers 403.
func bindSetup(env *Env) {
	env.App.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.GET("/api/pregon/setup", func(e *core.RequestEvent) error {
			n, err := e.App.CountRecords("users")
			if err != nil {
				return e.InternalServerError("Could not count users.", err)
			}
			return e.JSON(http.StatusOK, map[string]any{"needs_owner": n == 0})
		})
		se.Router.POST("/api/pregon/setup", setupOwner)
		return se.Next()
	})
}

type setupBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

func setupOwner(e *core.RequestEvent) error {
	var body setupBody
	if err := e.BindBody(&body); err != nil {
		return e.BadRequestError("Send JSON with email, password and name.", err)
	}
	var token string
	err := e.App.RunInTransaction(func(tx core.App) error {
		n, err := tx.CountRecords("users")
		if err != nil {
			return err
		}
		if n > 0 {
			return apis.NewForbiddenError("Setup is done: an owner already exists. Sign in instead.", nil)
		}
		col, err := tx.FindCollectionByNameOrId("users")
		if err != nil {
			return err
		}
		u := core.NewRecord(col)
		u.SetEmail(strings.TrimSpace(body.Email))
		u.SetPassword(body.Password)
		u.SetVerified(true)
		u.Set("name", strings.TrimSpace(body.Name))
		u.Set("role", "owner")
		if err := tx.Save(u); err != nil {
			return err
		}
		token, err = u.NewAuthToken()
		return err
	})
	if err != nil {
		return err // validation errors become a 400 naming the field
	}
	return e.JSON(http.StatusOK, map[string]any{"token": token})
}
