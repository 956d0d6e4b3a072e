package hooks_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/pocketbase/pocketbase/tools/subscriptions"

	"pregon/channels"
	"pregon/channels/webchat"
	"pregon/clock"
	"pregon/hooks"
)

type visitorCreds struct {
	Visitor string `json:"visitor"`
	Token   string `json:"token"`
}

func (f *inboundFixture) visitor(t *testing.T, ch string) visitorCreds {
	t.Helper()
	var v visitorCreds
	f.run(t, tests.ApiScenario{Name: "new visitor", Method: http.MethodPost, URL: "/api/pregon/webchat/" + ch + "/visitors",
		ExpectedStatus: 201, ExpectedContent: []string{`"visitor":"v_`, `"token":"`},
		AfterTestFunc: func(t testing.TB, _ *tests.TestApp, res *http.Response) {
			if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
				t.Fatal(err)
			}
		}})
	return v
}

func TestWebchatVisitorSendsAndReadsOnlyTheirConversation(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC))
	f := newInboundFixture(t, hooks.Options{Clock: clk})
	ch := f.channel(t, "Web", "webchat", map[string]any{"allowed_origins": "https://tienda.mx", "title": "Tienda"})
	a, b := f.visitor(t, ch), f.visitor(t, ch)
	url := "/api/pregon/webchat/" + ch + "/messages"
	send := func(name string, v visitorCreds, token, text string, status int, want ...string) {
		hdr := map[string]string{}
		if token != "" {
			hdr[webchat.TokenHeader] = token
		}
		f.run(t, tests.ApiScenario{Name: name, Method: http.MethodPost, URL: url, Headers: hdr,
			Body:           strings.NewReader(`{"visitor":"` + v.Visitor + `","id":"` + name + `","text":"` + text + `"}`),
			ExpectedStatus: status, ExpectedContent: want})
	}
	send("no token", a, "", "hola", 401, "visitor id and its token")
	send("another visitor's token", a, b.Token, "hola", 403, "does not belong")
	send("empty", a, a.Token, " ", 400, `"text":{`)
	if n := f.count(t, `SELECT COUNT(*) FROM webhook_inbox`, nil); n != 0 {
		t.Fatalf("refused messages stored %d rows", n)
	}
	send("m1", a, a.Token, "Hola, ¿hacen envíos?", 202, `"id":"m1"`)
	send("m1", a, a.Token, "Hola, ¿hacen envíos?", 202, `"id":"m1"`) // the widget retried
	f.drain(t)
	var identity string
	if err := f.app.DB().NewQuery(`SELECT id FROM contact_identities WHERE kind = 'webchat' AND identifier = {:v}`).
		Bind(dbx.Params{"v": a.Visitor}).Row(&identity); err != nil {
		t.Fatalf("visitor identity: %v", err)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM messages WHERE identity = {:i} AND direction = 'in'`, dbx.Params{"i": identity}); n != 1 {
		t.Fatalf("%d inbound messages (a retried message must count once)", n)
	}

	hist := "/api/pregon/webchat/" + ch + "/messages?visitor="
	f.run(t, tests.ApiScenario{Name: "history", Method: http.MethodGet, URL: hist + a.Visitor, Headers: map[string]string{webchat.TokenHeader: a.Token},
		ExpectedStatus: 200, ExpectedContent: []string{`"direction":"in"`, `"text":"Hola, ¿hacen envíos?"`}})
	f.run(t, tests.ApiScenario{Name: "someone else's history", Method: http.MethodGet, URL: hist + a.Visitor,
		Headers: map[string]string{webchat.TokenHeader: b.Token}, ExpectedStatus: 403, NotExpectedContent: []string{"envíos"}})
	f.run(t, tests.ApiScenario{Name: "empty history", Method: http.MethodGet, URL: hist + b.Visitor,
		Headers: map[string]string{webchat.TokenHeader: b.Token}, ExpectedStatus: 200, ExpectedContent: []string{`{"items":[]}`}})
	f.run(t, tests.ApiScenario{Name: "config", Method: http.MethodGet, URL: "/api/pregon/webchat/" + ch + "/config",
		ExpectedStatus: 200, ExpectedContent: []string{`"title":"Tienda"`}, NotExpectedContent: []string{"secret"}})

	// Rate limit: a burst of 5, then one a second (on the app's clock).
	for i := 0; i < 2; i++ { // m1 twice and the empty one above + 2 = 5
		send("burst"+string(rune('a'+i)), a, a.Token, "x", 202, `"status":"received"`)
	}
	send("over", a, a.Token, "x", 429, "too fast")
	send("other visitor unaffected", b, b.Token, "x", 202, `"status":"received"`)
	clk.Advance(time.Second)
	send("after a second", a, a.Token, "x", 202, `"status":"received"`)
}

func TestWebchatCORSFollowsAllowedOrigins(t *testing.T) {
	f := newInboundFixture(t)
	ch := f.channel(t, "Web", "webchat", map[string]any{"allowed_origins": "https://tienda.mx, https://www.tienda.mx"})
	v := f.visitor(t, ch)
	url := "/api/pregon/webchat/" + ch + "/messages"
	body := `{"visitor":"` + v.Visitor + `","id":"c1","text":"hola"}`
	f.run(t, tests.ApiScenario{Name: "preflight from the shop", Method: http.MethodOptions, URL: url,
		Headers: map[string]string{"Origin": "https://www.tienda.mx", "Access-Control-Request-Method": "POST"}, ExpectedStatus: 204,
		AfterTestFunc: func(t testing.TB, _ *tests.TestApp, res *http.Response) {
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != "https://www.tienda.mx" {
				t.Errorf("allow-origin %q", got)
			}
			if got := res.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(got, webchat.TokenHeader) {
				t.Errorf("allow-headers %q", got)
			}
		}})
	f.run(t, tests.ApiScenario{Name: "preflight from elsewhere", Method: http.MethodOptions, URL: url,
		Headers: map[string]string{"Origin": "https://evil.example"}, ExpectedStatus: 403, ExpectedContent: []string{"allowed_origins"},
		AfterTestFunc: func(t testing.TB, _ *tests.TestApp, res *http.Response) {
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("allow-origin %q for a refused origin", got)
			}
		}})
	f.run(t, tests.ApiScenario{Name: "post from elsewhere", Method: http.MethodPost, URL: url, Body: strings.NewReader(body),
		Headers: map[string]string{"Origin": "https://evil.example", webchat.TokenHeader: v.Token}, ExpectedStatus: 403,
		ExpectedContent: []string{"https://evil.example is not in"}})
	f.run(t, tests.ApiScenario{Name: "post from the shop", Method: http.MethodPost, URL: url, Body: strings.NewReader(body),
		Headers: map[string]string{"Origin": "https://tienda.mx", webchat.TokenHeader: v.Token}, ExpectedStatus: 202,
		ExpectedContent: []string{`"status":"received"`},
		AfterTestFunc: func(t testing.TB, _ *tests.TestApp, res *http.Response) {
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != "https://tienda.mx" {
				t.Errorf("allow-origin %q", got)
			}
		}})
	if n := f.count(t, `SELECT COUNT(*) FROM webhook_inbox`, nil); n != 1 {
		t.Fatalf("%d rows stored, want only the allowed origin's", n)
	}
	f.run(t, tests.ApiScenario{Name: "not a web-chat channel", Method: http.MethodPost,
		URL: "/api/pregon/webchat/" + f.channel(t, "Phone", "sandbox", nil) + "/visitors", ExpectedStatus: 404,
		ExpectedContent: []string{"not a web-chat channel"}})
}

func TestWebchatChannelConfigIsValidated(t *testing.T) {
	f := newInboundFixture(t)
	mgr := map[string]string{"Authorization": f.manager}
	f.run(t, tests.ApiScenario{Name: "origin with a path", Method: http.MethodPost, URL: "/api/collections/channels/records", Headers: mgr,
		Body:           strings.NewReader(`{"name":"Web","type":"webchat","config":{"allowed_origins":"https://tienda.mx/contacto"}}`),
		ExpectedStatus: 400, ExpectedContent: []string{"allowed_origins", "https://tienda.mx/contacto"}})
}

func TestVisitorCannotSubscribeToAnotherVisitorsTopic(t *testing.T) {
	f := newInboundFixture(t)
	ch := f.channel(t, "Web", "webchat", nil)
	a, b := f.visitor(t, ch), f.visitor(t, ch)
	subscribe := func(name string, hdr map[string]string, topic string, status int) subscriptions.Client {
		client := subscriptions.NewDefaultClient()
		f.app.SubscriptionsBroker().Register(client)
		t.Cleanup(func() { f.app.SubscriptionsBroker().Unregister(client.Id()) })
		f.run(t, tests.ApiScenario{Name: name, Method: http.MethodPost, URL: "/api/realtime", Headers: hdr,
			Body:           strings.NewReader(`{"clientId":"` + client.Id() + `","subscriptions":["` + topic + `"]}`),
			ExpectedStatus: status, ExpectedContent: expectBody(status, "visitor's own token")})
		return client
	}
	own := map[string]string{hooks.HeaderWebchatChannel: ch, hooks.HeaderVisitorToken: a.Token}
	subscribe("no token", nil, webchat.Topic(a.Visitor), 403)
	subscribe("B's topic with A's token", own, webchat.Topic(b.Visitor), 403)
	subscribe("A's and B's topics with A's token", own, webchat.Topic(a.Visitor)+`","`+webchat.Topic(b.Visitor), 403)
	subscribe("staff without a token", map[string]string{"Authorization": f.manager}, webchat.Topic(a.Visitor), 403)
	client := subscribe("own topic", own, webchat.Topic(a.Visitor), 204)

	// A reply to A reaches A's subscription.
	c, err := f.env.Channels.Get(ch)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Adapter.Send(context.Background(), channels.OutMessage{ID: "out1", To: a.Visitor, Content: channels.Content{Text: "¡Sí!"}})
	if err != nil || !res.Final {
		t.Fatalf("send %+v %v", res, err)
	}
	select {
	case m := <-client.Channel():
		if !strings.Contains(string(m.Data), `"text":"¡Sí!"`) {
			t.Fatalf("got %s", m.Data)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the reply never reached the visitor's topic")
	}
}
