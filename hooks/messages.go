package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	"pregon/outbox"
)

// maxIdempotencyKey bounds the Idempotency-Key header (dedupe_key holds 200).
const maxIdempotencyKey = 150

// bindMessages adds POST /api/pregon/messages: an integrator or a member of
// staff sends one message; it is validated here and queued in the outbox, and
// the queued record is the answer.
func bindMessages(env *Env) {
	env.App.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.POST("/api/pregon/messages", func(e *core.RequestEvent) error {
			return sendMessage(env, e)
		}).Bind(apis.RequireAuth(), apis.BodyLimit(256<<10))
		return se.Next()
	})
}

type messageBody struct {
	Contact  string             `json:"contact"`
	Identity string             `json:"identity"`
	Channel  string             `json:"channel"`
	Text     string             `json:"text"`
	Template *channels.Template `json:"template"`
	Media    *channels.Media    `json:"media"`
}

// jsonTypeError words a JSON value of the wrong type ({"text":123}) so that
// the answer names the field: the top-level field for data, the full path
// in the message.
func jsonTypeError(err error) (field, msg string, ok bool) {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Field == "" {
		return "", "", false
	}
	want := "a JSON " + te.Type.Kind().String()
	switch te.Type.Kind() {
	case reflect.Struct, reflect.Map, reflect.Pointer:
		want = "a JSON object"
	case reflect.Slice, reflect.Array:
		want = "a JSON list"
	case reflect.String:
		want = "a string in quotes"
	}
	top, _, _ := strings.Cut(te.Field, ".")
	return top, fmt.Sprintf("%s must be %s, not %s", te.Field, want, te.Value), true
}

func fieldError(field, code, msg string) error {
	return apis.NewBadRequestError(msg, validation.Errors{field: validation.NewError(code, msg)})
}

func sendMessage(env *Env, e *core.RequestEvent) error {
	var body messageBody
	if err := e.BindBody(&body); err != nil {
		if field, msg, ok := jsonTypeError(err); ok {
			return fieldError(field, "invalid_type", msg)
		}
		return e.BadRequestError("Send JSON with contact or identity, optionally channel, and one of text, template or media.", err)
	}
	key := strings.TrimSpace(e.Request.Header.Get("Idempotency-Key"))
	if len(key) > maxIdempotencyKey {
		return fieldError("Idempotency-Key", "too_long", fmt.Sprintf("the Idempotency-Key header is longer than %d characters", maxIdempotencyKey))
	}

	var identity, contact *core.Record
	var err error
	switch {
	case body.Identity != "":
		if identity, err = e.App.FindRecordById("contact_identities", body.Identity); err != nil {
			return fieldError("identity", "not_found", fmt.Sprintf("no identity has id %q", body.Identity))
		}
		if body.Contact != "" && body.Contact != identity.GetString("contact") {
			return fieldError("identity", "wrong_contact", fmt.Sprintf("identity %q belongs to another contact than %q", body.Identity, body.Contact))
		}
		body.Contact = identity.GetString("contact")
		fallthrough
	case body.Contact != "":
		if contact, err = e.App.FindRecordById("contacts", body.Contact); err != nil {
			return fieldError("contact", "not_found", fmt.Sprintf("no contact has id %q", body.Contact))
		}
	default:
		return fieldError("contact", "required", "contact or identity is required")
	}
	if err := canMessage(e, contact); err != nil {
		return err
	}

	chID := body.Channel
	if chID == "" && identity != nil {
		chID = identity.GetString("channel")
	}
	if chID == "" {
		chID = contact.GetString("last_channel")
	}
	if chID == "" {
		return fieldError("channel", "required", "the contact has not written on any channel yet, so there is no last interacted channel: name a channel")
	}
	if _, err := e.App.FindRecordById("channels", chID); err != nil {
		return fieldError("channel", "not_found", fmt.Sprintf("no channel has id %q", chID))
	}
	ch, err := env.Channels.Get(chID)
	if err != nil {
		return fieldError("channel", "unusable", fmt.Sprintf("channel %q cannot send: %v", chID, err))
	}
	if ch.Status != "active" {
		return fieldError("channel", "paused", fmt.Sprintf("channel %q is %s and sends nothing until an admin sets it active again; last error: %s",
			ch.Name, channels.StatusPhrase(ch.Status), orNone(channelLastError(e.App, chID))))
	}

	kind := string(ch.Caps.IdentityKind)
	if identity != nil {
		if identity.GetString("kind") != kind {
			return fieldError("identity", "wrong_kind", fmt.Sprintf("identity %q is a %s identity but channel %q sends to %s identities",
				identity.Id, identity.GetString("kind"), ch.Name, kind))
		}
	} else {
		identity, err = e.App.FindFirstRecordByFilter("contact_identities", "contact = {:c} && kind = {:k}",
			dbx.Params{"c": contact.Id, "k": kind})
		if err != nil {
			return fieldError("contact", "no_identity", fmt.Sprintf("the contact has no %s identity, which channel %q sends to; add one or choose another channel", kind, ch.Name))
		}
	}

	content := channels.Content{Text: body.Text, Template: body.Template, Media: body.Media}
	if err := outbox.ValidateContent(ch.Caps, content); err != nil {
		return fieldError(contentField(content), "invalid_content", err.Error())
	}
	if w := ch.Caps.Window; w > 0 && ch.Caps.TemplatesOutsideWindow && content.Type() != channels.ContentTemplate {
		last := identity.GetDateTime("last_inbound_at").Time()
		if last.IsZero() || env.Clock.Now().Sub(last) >= w {
			return fieldError(contentField(content), "window_closed", fmt.Sprintf(
				"the contact has not written on this channel in the last %s, so the customer-service window is closed: send a template", formatHours(w)))
		}
	}

	item := outbox.Item{Channel: ch.ID, Contact: contact.Id, Identity: identity.Id, Content: content,
		Source: outbox.SourceAPI, SourceID: actorID(e)}
	if key != "" {
		// Scoped by caller: two integrators who pick the same key do not
		// collide.
		item.DedupeKey = "api:" + actorID(e) + ":" + key
	}
	queued, err := env.Outbox.Enqueue([]outbox.Item{item})
	if err != nil {
		return e.InternalServerError("Could not queue the message.", err)
	}
	rec, err := e.App.FindRecordById("messages", queued[0].ID)
	if err != nil {
		return e.InternalServerError("The message was queued but could not be read back.", err)
	}
	status := http.StatusCreated
	if queued[0].Duplicate {
		status = http.StatusOK
		e.Response.Header().Set("Idempotent-Replayed", "true")
	}
	return e.JSON(status, rec)
}

// canMessage: superusers, owners and managers message anyone; agents only
// the contacts assigned to them.
func canMessage(e *core.RequestEvent, contact *core.Record) error {
	if e.HasSuperuserAuth() {
		return nil
	}
	if e.Auth == nil || e.Auth.Collection().Name != "users" {
		return apis.NewForbiddenError("Only staff users and superusers may send messages.", nil)
	}
	switch e.Auth.GetString("role") {
	case "owner", "manager":
		return nil
	case "agent":
		if contact.GetString("assignee") == e.Auth.Id {
			return nil
		}
		return apis.NewForbiddenError("Agents may message only the contacts assigned to them; this contact is not assigned to you.", nil)
	}
	return apis.NewForbiddenError("Your account has no role that may send messages.", nil)
}

func actorID(e *core.RequestEvent) string {
	if e.Auth == nil {
		return ""
	}
	return e.Auth.Id
}

func contentField(c channels.Content) string {
	switch c.Type() {
	case channels.ContentTemplate:
		return "template"
	case channels.ContentMedia:
		return "media"
	}
	return "text"
}

func channelLastError(app core.App, id string) string {
	rec, err := app.FindRecordById("channels", id)
	if err != nil {
		return ""
	}
	return rec.GetString("last_error")
}

func orNone(s string) string {
	if s == "" {
		return "none recorded"
	}
	return s
}

func formatHours(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	}
	return d.String()
}
