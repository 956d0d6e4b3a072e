package hooks

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	"pregon/channels/sandbox"
	"pregon/channelstore"
	"pregon/inbound"
)

// bindSandbox adds the test phone's endpoints: staff write as a fake
// contact, and mark the replies delivered or read, through the same webhook
// inbox and processing as a real provider.
func bindSandbox(env *Env) {
	env.App.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.POST("/api/pregon/sandbox/{channelId}/messages", env.sandboxMessage).Bind(apis.BodyLimit(64 << 10))
		se.Router.POST("/api/pregon/sandbox/{channelId}/statuses", env.sandboxStatus).Bind(apis.BodyLimit(64 << 10))
		return se.Next()
	})
}

type sandboxMessageBody struct {
	From string `json:"from"`
	Name string `json:"name"`
	Text string `json:"text"`
}

func (env *Env) sandboxMessage(e *core.RequestEvent) error {
	if err := requireManager(e, "write in the sandbox"); err != nil {
		return err
	}
	ch, sb, err := env.sandboxChannel(e)
	if err != nil {
		return err
	}
	var body sandboxMessageBody
	if err := e.BindBody(&body); err != nil {
		return e.BadRequestError(`Send JSON such as {"from":"tester-1","name":"Ana Prueba","text":"Hola"}.`, err)
	}
	body.From = strings.TrimSpace(body.From)
	switch {
	case !sandbox.ValidIdentifier(body.From):
		return fieldError("from", "invalid_from", "from must be 1 to 64 letters, digits, '_', '.', '+' or '-' (the fake contact's id), e.g. tester-1.")
	case strings.TrimSpace(body.Text) == "":
		return fieldError("text", "invalid_text", "text is required.")
	case utf8.RuneCountInString(body.Text) > sandbox.Caps.MaxTextLen:
		return fieldError("text", "invalid_text", "text is longer than 4096 characters.")
	case utf8.RuneCountInString(body.Name) > 200:
		return fieldError("name", "invalid_name", "name is longer than 200 characters.")
	}
	msg := sandbox.Message{ID: core.GenerateDefaultRandomId(), From: body.From, Name: strings.TrimSpace(body.Name),
		Text: body.Text, TS: env.Clock.Now().UnixMilli()}
	if err := env.storeSandbox(e, ch, sb, sandbox.Delivery{Messages: []sandbox.Message{msg}}); err != nil {
		return err
	}
	return e.JSON(http.StatusAccepted, map[string]any{"status": "accepted", "provider_id": msg.From + ":" + msg.ID})
}

type sandboxStatusBody struct {
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
	ErrorCode string `json:"error_code"`
}

func (env *Env) sandboxStatus(e *core.RequestEvent) error {
	if err := requireManager(e, "simulate statuses in the sandbox"); err != nil {
		return err
	}
	ch, sb, err := env.sandboxChannel(e)
	if err != nil {
		return err
	}
	var body sandboxStatusBody
	if err := e.BindBody(&body); err != nil {
		return e.BadRequestError(`Send JSON such as {"message_id":"...","status":"read"}.`, err)
	}
	switch channels.Status(body.Status) {
	case channels.StatusSent, channels.StatusDelivered, channels.StatusRead, channels.StatusFailed:
	default:
		return fieldError("status", "invalid_status", "status must be sent, delivered, read or failed.")
	}
	if _, err := e.App.FindFirstRecordByFilter("messages", "id = {:id} && channel = {:ch} && direction = 'out'",
		map[string]any{"id": body.MessageID, "ch": ch.ID}); err != nil {
		return fieldError("message_id", "invalid_message_id", "message_id must name a message sent through this sandbox channel.")
	}
	st := sandbox.Status{MessageID: body.MessageID, Status: body.Status, ErrorCode: body.ErrorCode, TS: env.Clock.Now().UnixMilli()}
	if err := env.storeSandbox(e, ch, sb, sandbox.Delivery{Statuses: []sandbox.Status{st}}); err != nil {
		return err
	}
	return e.JSON(http.StatusAccepted, map[string]any{"status": "accepted"})
}

// storeSandbox signs a delivery as the provider would and sends it down the
// webhook path: Verify, then the durable inbox.
func (env *Env) storeSandbox(e *core.RequestEvent, ch *channelstore.Channel, sb *sandbox.Adapter, d sandbox.Delivery) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return e.InternalServerError("Could not encode the sandbox delivery.", err)
	}
	req := &channels.WebhookRequest{
		Method: http.MethodPost, PublicURL: requestPublicURL(e), Body: raw,
		Header: http.Header{"Content-Type": {"application/json"}, sandbox.SignatureHeader: {sb.Sign(raw)}},
	}
	if err := ch.Adapter.Verify(req); err != nil {
		return verifyError(err)
	}
	return env.store(e, ch, req)
}

func (env *Env) sandboxChannel(e *core.RequestEvent) (*channelstore.Channel, *sandbox.Adapter, error) {
	ch, err := env.channelFor(e)
	if err != nil {
		return nil, nil, err
	}
	sb, ok := ch.Adapter.(*sandbox.Adapter)
	if !ok {
		return nil, nil, e.BadRequestError("Channel "+ch.ID+" is a "+string(ch.Type)+" channel, not a sandbox.", nil)
	}
	return ch, sb, nil
}

// store puts a verified delivery in the inbox and waits for the commit.
func (env *Env) store(e *core.RequestEvent, ch *channelstore.Channel, req *channels.WebhookRequest) error {
	ctx, cancel := context.WithTimeout(e.Request.Context(), storeTimeout)
	defer cancel()
	err := env.Inbox.Store(ctx, inbound.Delivery{
		Channel: ch.ID, Method: req.Method, URL: req.PublicURL.String(),
		ContentType: req.Header.Get("Content-Type"), Body: req.Body,
	})
	if err != nil {
		return apis.NewApiError(http.StatusServiceUnavailable, "The message could not be stored; send it again shortly.", nil)
	}
	return nil
}
