package hooks

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// bindSetup adds the first-run endpoint: while no user exists, anyone who
// can reach the appliance may create the owner account (the same trust model
// as PocketBase's own installer). Afterwards it answers 403.
func bindSetup(env *Env) {
	env.App.OnServe().BindFunc(func(se *core.ServeEvent) error {
		// PocketBase's installer prints a live superuser token in a link on
		// the console at first start, and console output ends up in Docker
		// logs and log shippers: a secret in a log line. Pregón's owner is
		// created with POST /api/pregon/setup; a superuser (for PocketBase's
		// admin UI) with the superuser command, which the hint names.
		se.InstallerFunc = nil
		if hint := superuserHint(se.App); hint != "" {
			fmt.Fprintln(os.Stdout, hint)
		}
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
	var verrs validation.Errors
	if errors.As(err, &verrs) {
		// PocketBase's own answer names the fields in data but says
		// "Something went wrong" on top: say what to fix there too.
		return apis.NewBadRequestError(validationSummary(verrs), verrs)
	}
	if err != nil {
		return err
	}
	return e.JSON(http.StatusOK, map[string]any{"token": token})
}

// validationSummary is "Email: must be a valid email address. Password: ..."
// for the fields of a failed validation, in name order.
func validationSummary(verrs validation.Errors) string {
	keys := make([]string, 0, len(verrs))
	for k := range verrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		msg := strings.TrimSuffix(verrs[k].Error(), ".")
		if msg == "" {
			msg = "is not valid"
		}
		parts[i] = strings.ToUpper(k[:1]) + k[1:] + ": " + strings.ToLower(msg[:1]) + msg[1:] + "."
	}
	return strings.Join(parts, " ")
}

// superuserHint says how to create the first superuser while there is none,
// without any token; "" once one exists.
func superuserHint(app core.App) string {
	n, err := app.CountRecords(core.CollectionNameSuperusers, dbx.Not(dbx.HashExp{"email": core.DefaultInstallerEmail}))
	if err != nil || n > 0 {
		return ""
	}
	return "No PocketBase superuser yet (only needed for the admin UI at /_/): create one with\n" +
		"  pregon superuser upsert EMAIL PASSWORD   (or: go run . superuser upsert EMAIL PASSWORD)\n" +
		"The shop's owner account is created with POST /api/pregon/setup (docs/API.md)."
}
