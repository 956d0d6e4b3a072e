package hooks

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"

	"pregon/channels"
	"pregon/channels/webchat"
	"pregon/channelstore"
)

// webchatHistory is how many messages the widget gets back.
const webchatHistory = 50

// bindWebchat adds the endpoints the widget (pb_public/dist/widget.js) talks
// to. They are public, so each checks the visitor token, is rate limited,
// and answers cross-origin requests only from the channel's allowed_origins.
func bindWebchat(env *Env) {
	env.webchat = newWebchatLimits()
	env.App.OnServe().BindFunc(func(se *core.ServeEvent) error {
		g := se.Router.Group("/api/pregon/webchat/{channelId}")
		g.Bind(&hook.Handler[*core.RequestEvent]{
			Id: "pregonWebchatCORS",
			// Before PocketBase's own CORS middleware, which allows every origin.
			Priority: apis.DefaultCorsMiddlewarePriority - 1,
			Func:     env.webchatCORS,
		})
		g.Bind(apis.BodyLimit(16 << 10))
		g.POST("/visitors", env.webchatNewVisitor)
		g.POST("/messages", env.webchatSend)
		g.GET("/messages", env.webchatHistory)
		g.GET("/config", env.webchatConfig)
		g.Route(http.MethodOptions, "/{path...}", func(e *core.RequestEvent) error { return e.NoContent(http.StatusNoContent) })
		return se.Next()
	})
}

// webchatCORS lets a page use the channel only from an allowed origin (or
// the appliance's own). A refused origin gets a 403 and no CORS headers, so
// the browser also hides the answer from the page.
func (env *Env) webchatCORS(e *core.RequestEvent) error {
	origin := e.Request.Header.Get("Origin")
	if origin == "" {
		return e.Next() // not a cross-origin browser request
	}
	_, wc, err := env.webchatChannel(e)
	if err != nil {
		return err
	}
	if !sameOrigin(e, origin) && !wc.AllowsOrigin(origin) {
		return e.ForbiddenError("The site "+origin+" is not in this web-chat channel's allowed_origins; add it in the channel's settings.", nil)
	}
	h := e.Response.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	// PocketBase's CORS middleware runs next and would widen this to "*".
	e.Request.Header.Del("Origin")
	if e.Request.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, POST")
		h.Set("Access-Control-Allow-Headers", "Content-Type, "+webchat.TokenHeader)
		h.Set("Access-Control-Max-Age", "600")
		return e.NoContent(http.StatusNoContent)
	}
	return e.Next()
}

func sameOrigin(e *core.RequestEvent, origin string) bool {
	origin = strings.ToLower(strings.TrimRight(origin, "/"))
	if base := strings.ToLower(PublicURL(e.App)); base != "" && strings.HasPrefix(base+"/", origin+"/") {
		return true
	}
	return origin == "http://"+strings.ToLower(e.Request.Host) || origin == "https://"+strings.ToLower(e.Request.Host)
}

func (env *Env) webchatChannel(e *core.RequestEvent) (*channelstore.Channel, *webchat.Adapter, error) {
	ch, err := env.channelFor(e)
	if err != nil {
		return nil, nil, err
	}
	wc, ok := ch.Adapter.(*webchat.Adapter)
	if !ok {
		return nil, nil, e.NotFoundError("Channel "+ch.ID+" is not a web-chat channel.", nil)
	}
	return ch, wc, nil
}

// webchatNewVisitor is POST /visitors: a new visitor id and its token.
func (env *Env) webchatNewVisitor(e *core.RequestEvent) error {
	_, wc, err := env.webchatChannel(e)
	if err != nil {
		return err
	}
	if !env.webchat.visitors.Allow(e.RealIP(), env.Clock.Now()) {
		return e.TooManyRequestsError("Too many new visitors from this address; try again in a minute.", nil)
	}
	v := webchat.NewVisitor()
	return e.JSON(http.StatusCreated, map[string]string{"visitor": v, "token": wc.Token(v)})
}

type webchatSendBody struct {
	Visitor string `json:"visitor"`
	ID      string `json:"id"`
	Name    string `json:"name"`
	Text    string `json:"text"`
}

// webchatSend is POST /messages: the visitor's message, stored in the
// webhook inbox like any provider's delivery and processed the same way.
func (env *Env) webchatSend(e *core.RequestEvent) error {
	ch, wc, err := env.webchatChannel(e)
	if err != nil {
		return err
	}
	var body webchatSendBody
	if err := e.BindBody(&body); err != nil {
		return e.BadRequestError(`Send JSON such as {"visitor":"v_...","id":"m1","text":"Hola"}.`, err)
	}
	if err := env.webchatAuth(e, wc, body.Visitor); err != nil {
		return err
	}
	if !env.webchat.messages.Allow(body.Visitor, env.Clock.Now()) {
		return e.TooManyRequestsError("You are sending messages too fast; wait a moment.", nil)
	}
	body.Text = strings.TrimSpace(body.Text)
	switch {
	case body.Text == "":
		return fieldError("text", "invalid_text", "text is required.")
	case utf8.RuneCountInString(body.Text) > webchat.MaxText:
		return fieldError("text", "invalid_text", "text is longer than 2000 characters.")
	case len(body.ID) > 64:
		return fieldError("id", "invalid_id", "id is longer than 64 characters.")
	case utf8.RuneCountInString(body.Name) > 200:
		return fieldError("name", "invalid_name", "name is longer than 200 characters.")
	}
	if body.ID == "" {
		body.ID = core.GenerateDefaultRandomId()
	}
	msg := webchat.Message{ID: body.ID, Visitor: body.Visitor, Name: strings.TrimSpace(body.Name), Text: body.Text,
		TS: env.Clock.Now().UnixMilli()}
	raw, err := json.Marshal(msg)
	if err != nil {
		return e.InternalServerError("Could not encode the message.", err)
	}
	req := &channels.WebhookRequest{
		Method: http.MethodPost, PublicURL: requestPublicURL(e), Body: raw,
		Header: http.Header{"Content-Type": {"application/json"}, webchat.TokenHeader: {e.Request.Header.Get(webchat.TokenHeader)}},
	}
	if err := ch.Adapter.Verify(req); err != nil {
		return verifyError(err)
	}
	if err := env.store(e, ch, req); err != nil {
		return err
	}
	return e.JSON(http.StatusAccepted, map[string]string{"id": body.ID, "status": "received"})
}

// webchatAuth checks the visitor token: 401 without one, 403 when it is
// not this visitor's.
func (env *Env) webchatAuth(e *core.RequestEvent, wc *webchat.Adapter, visitor string) error {
	tok := e.Request.Header.Get(webchat.TokenHeader)
	if tok == "" || visitor == "" {
		return e.UnauthorizedError("Send the visitor id and its token ("+webchat.TokenHeader+"); get them from POST /visitors.", nil)
	}
	if !wc.CheckToken(visitor, tok) {
		return e.ForbiddenError("The visitor token does not belong to this visitor on this channel.", nil)
	}
	return nil
}

type historyItem struct {
	Seq       int64  `db:"seq" json:"-"`
	ID        string `db:"id" json:"id"`
	Direction string `db:"direction" json:"direction"`
	Content   string `db:"content" json:"-"`
	Text      string `db:"-" json:"text"`
	// ProviderID of an inbound message is "<visitor>:<the widget's id>";
	// ClientID gives the widget its own id back so it can match its copy.
	ProviderID string `db:"provider_id" json:"-"`
	ClientID   string `db:"-" json:"client_id,omitempty"`
	Created    string `db:"created" json:"at"`
}

// webchatHistory is GET /messages?visitor=…: the visitor's conversation on
// this channel, oldest first: their messages and the replies that left.
func (env *Env) webchatHistory(e *core.RequestEvent) error {
	ch, wc, err := env.webchatChannel(e)
	if err != nil {
		return err
	}
	visitor := e.Request.URL.Query().Get("visitor")
	if err := env.webchatAuth(e, wc, visitor); err != nil {
		return err
	}
	if !env.webchat.reads.Allow(visitor, env.Clock.Now()) {
		return e.TooManyRequestsError("Too many requests; wait a moment.", nil)
	}
	var items []historyItem
	err = e.App.DB().NewQuery(`SELECT * FROM (
			SELECT m.rowid AS seq, m.id, m.direction, m.content, m.created, COALESCE(m.provider_id, '') AS provider_id FROM messages m
			JOIN contact_identities i ON i.id = m.identity
			WHERE i.kind = 'webchat' AND i.identifier = {:visitor} AND m.channel = {:ch}
				AND (m.direction = 'in' OR m.status IN ('sent', 'delivered', 'read'))
			ORDER BY m.created DESC, m.rowid DESC LIMIT {:n})
		ORDER BY created, seq`).
		Bind(dbx.Params{"visitor": visitor, "ch": ch.ID, "n": webchatHistory}).All(&items)
	if err != nil {
		return e.InternalServerError("Could not read the conversation.", err)
	}
	for i := range items {
		var c channels.Content
		_ = json.Unmarshal([]byte(items[i].Content), &c)
		items[i].Text = c.Text
		if items[i].Direction == "in" {
			items[i].ClientID = strings.TrimPrefix(items[i].ProviderID, visitor+":")
		}
	}
	if items == nil {
		items = []historyItem{}
	}
	return e.JSON(http.StatusOK, map[string]any{"items": items})
}

// webchatConfig is GET /config: the widget's texts (nothing secret).
func (env *Env) webchatConfig(e *core.RequestEvent) error {
	_, wc, err := env.webchatChannel(e)
	if err != nil {
		return err
	}
	return e.JSON(http.StatusOK, map[string]string{"title": wc.Title(), "greeting": wc.Greeting()})
}
