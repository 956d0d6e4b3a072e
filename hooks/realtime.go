package hooks

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/routine"
	"github.com/pocketbase/pocketbase/tools/subscriptions"

	"pregon/channels"
	"pregon/channels/webchat"
)

// Realtime headers a web-chat visitor sends with its subscription request
// (POST /api/realtime): the channel and the visitor token. Headers rather
// than subscription options, because PocketBase logs subscriptions.
const (
	HeaderWebchatChannel = "X-Pregon-Channel"
	HeaderVisitorToken   = webchat.TokenHeader
)

// Publish pushes payload to every realtime client subscribed to topic
// (with or without options). PocketBase delivers custom topics to whoever
// subscribed; bindRealtime decides who may.
func (env *Env) Publish(topic string, payload any) error {
	data, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encoding the %s payload: %w", topic, err)
	}
	for _, c := range env.App.SubscriptionsBroker().Clients() {
		for sub := range c.Subscriptions(topic + "?") {
			msg := subscriptions.Message{Name: sub, Data: data}
			// Each client's channel is unbuffered: never block the sender.
			routine.FireAndForget(func() { c.Send(msg) })
		}
	}
	return nil
}

// bindRealtime gates Pregón's custom realtime topics, which PocketBase does
// not authorise by itself: "sandbox/<contact>" only for staff (the test
// phone in the dashboard), "webchat/<visitor>" only for the visitor who
// holds that visitor's token.
func bindRealtime(env *Env) {
	env.App.OnRealtimeSubscribeRequest().BindFunc(func(e *core.RealtimeSubscribeRequestEvent) error {
		for _, s := range e.Subscriptions {
			topic, _, _ := strings.Cut(s, "?")
			switch {
			case strings.HasPrefix(topic, "sandbox/"):
				if !isStaff(e.RequestEvent) {
					return e.ForbiddenError("Only signed-in staff can watch the sandbox.", nil)
				}
			case strings.HasPrefix(topic, "webchat/"):
				if err := env.checkVisitorTopic(e.RequestEvent, strings.TrimPrefix(topic, "webchat/")); err != nil {
					return err
				}
			}
		}
		return e.Next()
	})
}

func (env *Env) checkVisitorTopic(e *core.RequestEvent, visitor string) error {
	deny := e.ForbiddenError("This web-chat topic needs the visitor's own token (headers "+
		HeaderWebchatChannel+" and "+HeaderVisitorToken+").", nil)
	chID := e.Request.Header.Get(HeaderWebchatChannel)
	tok := e.Request.Header.Get(HeaderVisitorToken)
	if chID == "" || tok == "" {
		return deny
	}
	ch, err := env.Channels.Get(chID)
	if err != nil || ch.Type != channels.WebChat {
		return deny
	}
	wc, ok := ch.Adapter.(*webchat.Adapter)
	if !ok || !wc.CheckToken(visitor, tok) {
		return deny
	}
	return nil
}

// isStaff: a signed-in user of any role, or a superuser.
func isStaff(e *core.RequestEvent) bool {
	return e.Auth != nil && (e.HasSuperuserAuth() || e.Auth.Collection().Name == "users")
}

// requireManager answers 401 to guests and 403 to agents.
func requireManager(e *core.RequestEvent, action string) error {
	if e.Auth == nil {
		return e.UnauthorizedError("Sign in as an owner or manager to "+action+".", nil)
	}
	if !isManager(e) {
		return e.ForbiddenError("Only owners and managers can "+action+".", nil)
	}
	return nil
}
