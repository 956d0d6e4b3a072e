package hooks

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"pregon/deliveries"
	"pregon/segments"
	"pregon/workspace"
)

// Limits of the deliveries answer without a broadcast.
const (
	deliveriesDefaultLimit = 20
	deliveriesMaxLimit     = 100
)

// bindDeliveries adds GET /api/pregon/contacts/{id}/deliveries, the
// per-contact "why didn't this person get my message?".
func bindDeliveries(env *Env) {
	env.App.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.GET("/api/pregon/contacts/{id}/deliveries", func(e *core.RequestEvent) error {
			return contactDeliveries(env, e)
		}).Bind(apis.RequireAuth())
		return se.Next()
	})
}

func contactDeliveries(env *Env, e *core.RequestEvent) error {
	contact, err := visibleContact(e, e.Request.PathValue("id"), "view")
	if err != nil {
		return err
	}
	ws, err := workspace.Load(e.App)
	if err != nil {
		return e.InternalServerError("Could not read the workspace settings.", err)
	}
	lang, err := requestLang(e, ws.Language)
	if err != nil {
		return err
	}
	q := e.Request.URL.Query()
	limit, err := intParam(q.Get("limit"), "limit", deliveriesDefaultLimit, 1, deliveriesMaxLimit)
	if err != nil {
		return err
	}
	asker := deliveries.Asker{App: e.App, Now: env.Clock.Now(), Loc: ws.Location(), Lang: lang,
		ReplyWindow: time.Duration(ws.ReplyWindowHours) * time.Hour,
		Caps:        env.Registry.Capabilities, Segments: segments.Resolver{Clock: env.Clock}}
	var items []deliveries.Answer
	if b := strings.TrimSpace(q.Get("broadcast")); b != "" {
		items, err = asker.ForBroadcast(contact.Id, b)
	} else {
		items, err = asker.Recent(contact.Id, limit)
	}
	switch {
	case errors.Is(err, deliveries.ErrBroadcastNotFound):
		return apis.NewNotFoundError(fmt.Sprintf("No broadcast has the id %q: check the broadcast parameter.", q.Get("broadcast")), nil)
	case errors.Is(err, deliveries.ErrContactNotFound):
		return apis.NewNotFoundError(fmt.Sprintf("Contact %q does not exist.", contact.Id), nil)
	case err != nil:
		return e.InternalServerError("Could not work out the contact's deliveries.", err)
	}
	name := strings.TrimSpace(contact.GetString("first_name") + " " + contact.GetString("last_name"))
	return e.JSON(http.StatusOK, map[string]any{
		"contact":  map[string]string{"id": contact.Id, "name": name},
		"lang":     lang,
		"timezone": ws.Location().String(),
		"items":    items,
	})
}
