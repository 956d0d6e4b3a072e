package hooks

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/router"

	"pregon/broadcasts"
	"pregon/events"
	"pregon/workspace"
)

// broadcastSystemFields are written only by the engine and the action
// endpoints (send, pause, resume, cancel, resend), never through the
// collection API: a client that could set status or counters could make a
// broadcast lie about what it did.
var broadcastSystemFields = []string{
	"status", "error", "scheduled_at", "targeted", "excluded", "queued", "pending", "sent", "delivered", "read",
	"replied", "failed", "failed_by_reason", "unknown", "started_at", "completed_at", "plan_cursor", "plan_done",
	"planned_by_channel", "resend_of", "resend_permanent", "created_by",
}

// bindBroadcasts wires the broadcast engine: definition checks on every
// write, the rules the collection API cannot express, the action endpoints,
// and the engine's loop (on serve unless Options.NoWorkers).
func bindBroadcasts(env *Env) {
	app := env.App
	env.Broadcasts = broadcasts.New(app, env.Clock, env.Registry, env.Outbox, env.Opts.Broadcasts)

	app.OnRecordValidate("broadcasts").BindFunc(func(e *core.RecordEvent) error {
		if err := broadcasts.Check(e.App, env.Registry, e.Record); err != nil {
			return broadcastAPIError(err)
		}
		return e.Next()
	})
	app.OnRecordCreateRequest("broadcasts").BindFunc(func(e *core.RecordRequestEvent) error {
		fresh := core.NewRecord(e.Record.Collection())
		for _, f := range broadcastSystemFields {
			if f == "status" && e.Record.GetString(f) == broadcasts.StatusDraft {
				continue
			}
			if e.Record.GetString(f) != fresh.GetString(f) {
				return systemFieldError(f)
			}
		}
		e.Record.Set("status", broadcasts.StatusDraft)
		if e.Auth != nil && e.Auth.Collection().Name == "users" {
			e.Record.Set("created_by", e.Auth.Id)
		}
		return e.Next()
	})
	app.OnRecordUpdateRequest("broadcasts").BindFunc(func(e *core.RecordRequestEvent) error {
		stored := e.Record.Original()
		switch s := stored.GetString("status"); s {
		case broadcasts.StatusDraft, broadcasts.StatusScheduled:
		default:
			return apis.NewApiError(http.StatusConflict, "Broadcast \""+stored.GetString("name")+"\" is "+s+
				"; only a draft or a scheduled broadcast can be edited (pause or cancel it with POST /api/pregon/broadcasts/{id}/pause or /cancel, or resend it).", nil)
		}
		for _, f := range broadcastSystemFields {
			if e.Record.GetString(f) != stored.GetString(f) {
				return systemFieldError(f)
			}
		}
		return e.Next()
	})
	app.OnRecordDeleteRequest("broadcasts").BindFunc(func(e *core.RecordRequestEvent) error {
		switch s := e.Record.GetString("status"); s {
		case broadcasts.StatusScheduled, broadcasts.StatusSending, broadcasts.StatusPaused:
			return apis.NewApiError(http.StatusConflict, "Broadcast \""+e.Record.GetString("name")+"\" is "+s+
				"; cancel it first (POST /api/pregon/broadcasts/{id}/cancel).", nil)
		}
		return e.Next()
	})
	// Exclusions are bulk rows without hooks; they go with their broadcast,
	// in the delete's own transaction (e.App), so neither outlives the other.
	app.OnRecordDelete("broadcasts").BindFunc(func(e *core.RecordEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		if _, err := e.App.DB().NewQuery("DELETE FROM broadcast_exclusions WHERE broadcast = {:id}").
			Bind(dbx.Params{"id": e.Record.Id}).Execute(); err != nil {
			return fmt.Errorf("removing the exclusions of broadcast %s: %w", e.Record.Id, err)
		}
		return nil
	})

	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		bindBroadcastRoutes(env, se)
		if err := se.Next(); err != nil {
			return err
		}
		if env.Opts.NoWorkers {
			return nil
		}
		return env.Broadcasts.Start()
	})
	// Stop the engine before the outbox drains (lower priority runs first).
	app.OnTerminate().Bind(&hook.Handler[*core.TerminateEvent]{Priority: -10, Func: func(e *core.TerminateEvent) error {
		env.Broadcasts.Stop()
		return e.Next()
	}})
}

func systemFieldError(f string) error {
	msg := "\"" + f + "\" is set by Pregón, not through the collection API: send, pause, resume, cancel and resend broadcasts with POST /api/pregon/broadcasts/{id}/send (and /pause, /resume, /cancel, /resend); counters are kept by the engine."
	if f == "scheduled_at" {
		msg = "\"scheduled_at\" is set by POST /api/pregon/broadcasts/{id}/send with {\"scheduled_at\":\"2026-03-02T09:00\",\"timezone\":\"America/Lima\"}."
	}
	return apis.NewBadRequestError(msg, validation.Errors{f: validation.NewError("read_only", msg)})
}

func bindBroadcastRoutes(env *Env, se *core.ServeEvent) {
	g := se.Router.Group("/api/pregon/broadcasts/{id}")
	g.BindFunc(broadcastAccess)
	eng := env.Broadcasts
	actor := func(e *core.RequestEvent) string { return events.ActorFromAuth(e.Auth) }
	answer := func(e *core.RequestEvent, status int) error {
		rec, err := e.App.FindRecordById("broadcasts", e.Request.PathValue("id"))
		if err != nil {
			return broadcastAPIError(broadcasts.ErrNotFound)
		}
		return e.JSON(status, rec)
	}

	g.POST("/send", func(e *core.RequestEvent) error {
		var body struct {
			ScheduledAt string `json:"scheduled_at"`
			Timezone    string `json:"timezone"`
		}
		if err := bindOptionalBody(e, &body); err != nil {
			return e.BadRequestError(`Send no body to send now, or JSON like {"scheduled_at":"2026-03-02T09:00","timezone":"America/Lima"}.`, err)
		}
		id := e.Request.PathValue("id")
		var at time.Time
		tz := strings.TrimSpace(body.Timezone)
		if strings.TrimSpace(body.ScheduledAt) != "" {
			if tz == "" {
				tz = broadcastZone(e.App, id)
			}
			var err error
			if at, err = broadcasts.ParseSchedule(body.ScheduledAt, tz); err != nil {
				return broadcastAPIError(err)
			}
		}
		if err := eng.Send(id, at, tz, actor(e)); err != nil {
			return broadcastAPIError(err)
		}
		return answer(e, http.StatusOK)
	})
	g.POST("/pause", func(e *core.RequestEvent) error {
		if err := eng.Pause(e.Request.PathValue("id"), actor(e)); err != nil {
			return broadcastAPIError(err)
		}
		return answer(e, http.StatusOK)
	})
	g.POST("/resume", func(e *core.RequestEvent) error {
		if err := eng.Resume(e.Request.PathValue("id"), actor(e)); err != nil {
			return broadcastAPIError(err)
		}
		return answer(e, http.StatusOK)
	})
	g.POST("/cancel", func(e *core.RequestEvent) error {
		if err := eng.Cancel(e.Request.PathValue("id"), actor(e)); err != nil {
			return broadcastAPIError(err)
		}
		return answer(e, http.StatusOK)
	})
	g.GET("/audience", func(e *core.RequestEvent) error {
		br, err := eng.Audience(e.Request.PathValue("id"))
		if err != nil {
			return broadcastAPIError(err)
		}
		return e.JSON(http.StatusOK, br)
	})
	g.GET("/preview", func(e *core.RequestEvent) error {
		contact := strings.TrimSpace(e.Request.URL.Query().Get("contact"))
		if contact == "" {
			return broadcastAPIError(&broadcasts.FieldError{Field: "contact", Code: "required",
				Msg: "contact is required: GET /api/pregon/broadcasts/{id}/preview?contact=<contact id>"})
		}
		pv, err := eng.Preview(e.Request.PathValue("id"), contact)
		if err != nil {
			return broadcastAPIError(err)
		}
		return e.JSON(http.StatusOK, pv)
	})
	g.POST("/test", func(e *core.RequestEvent) error {
		var body struct {
			Contact string `json:"contact"`
		}
		if err := e.BindBody(&body); err != nil {
			return broadcastAPIError(&broadcasts.FieldError{Field: "contact", Code: "invalid",
				Msg: `contact must be a contact id in quotes: send {"contact":"<contact id>"}`})
		}
		if strings.TrimSpace(body.Contact) == "" {
			return broadcastAPIError(&broadcasts.FieldError{Field: "contact", Code: "required",
				Msg: `contact is required: send {"contact":"<contact id>"}`})
		}
		msgID, err := eng.TestSend(e.Request.PathValue("id"), strings.TrimSpace(body.Contact))
		if err != nil {
			return broadcastAPIError(err)
		}
		rec, err := e.App.FindRecordById("messages", msgID)
		if err != nil {
			return e.InternalServerError("The test message was queued but could not be read back.", err)
		}
		return e.JSON(http.StatusCreated, rec)
	})
	g.POST("/resend", func(e *core.RequestEvent) error {
		var body struct {
			IncludePermanent bool `json:"include_permanent"`
		}
		if err := bindOptionalBody(e, &body); err != nil {
			return e.BadRequestError(`Send no body, or {"include_permanent":true} to resend permanent failures too.`, err)
		}
		userID := ""
		if e.Auth != nil && e.Auth.Collection().Name == "users" {
			userID = e.Auth.Id
		}
		id, err := eng.Resend(e.Request.PathValue("id"), body.IncludePermanent, actor(e), userID)
		if err != nil && id == "" {
			return broadcastAPIError(err)
		}
		if err != nil {
			// The resend exists as a draft but did not start: say so, and
			// how to start it, rather than answer as if it were sending.
			var apiErr *router.ApiError
			if !errors.As(broadcastAPIError(err), &apiErr) {
				return err
			}
			apiErr.Message = fmt.Sprintf("The resend %s was created as a draft but did not start: %s Fix that, then POST /api/pregon/broadcasts/%s/send.",
				id, apiErr.Message, id)
			return apiErr
		}
		rec, ferr := e.App.FindRecordById("broadcasts", id)
		if ferr != nil {
			return e.InternalServerError("The resend was created but could not be read back.", ferr)
		}
		return e.JSON(http.StatusCreated, rec)
	})
}

// bindOptionalBody binds a JSON body when there is one.
func bindOptionalBody(e *core.RequestEvent, dst any) error {
	if e.Request.ContentLength == 0 {
		return nil
	}
	return e.BindBody(dst)
}

// broadcastZone is the zone a schedule without one is read in: the
// broadcast's own, else the workspace's.
func broadcastZone(app core.App, id string) string {
	var tz string
	app.DB().NewQuery("SELECT COALESCE(timezone, '') FROM broadcasts WHERE id = {:id}").Bind(dbx.Params{"id": id}).Row(&tz)
	if tz != "" {
		return tz
	}
	if st, err := workspace.Load(app); err == nil {
		return st.Timezone
	}
	return "UTC"
}

// broadcastAccess lets owners, managers and superusers in.
func broadcastAccess(e *core.RequestEvent) error {
	if err := requireManager(e, "work with broadcasts"); err != nil {
		return err
	}
	return e.Next()
}

// broadcastAPIError maps the engine's errors to answers.
func broadcastAPIError(err error) error {
	var fe *broadcasts.FieldError
	var se *broadcasts.StateError
	switch {
	case errors.Is(err, broadcasts.ErrNotFound):
		return apis.NewNotFoundError("Broadcast not found.", nil)
	case errors.As(err, &fe):
		return apis.NewBadRequestError(fe.Msg, validation.Errors{fe.Field: validation.NewError(fe.Code, fe.Msg)})
	case errors.As(err, &se):
		return apis.NewApiError(http.StatusConflict, se.Msg, nil)
	}
	return apis.NewInternalServerError("The broadcast could not be processed; the server log has the details.", err)
}
