package hooks_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/pocketbase/pocketbase/tools/subscriptions"

	"pregon/channels"
	"pregon/channels/sandbox"
	"pregon/internal/testapp"
)

func TestSandboxTakesTheWebhookPath(t *testing.T) {
	f := newInboundFixture(t)
	sb := f.channel(t, "Test phone", "sandbox", nil)
	sms := f.channel(t, "SMS", "twilio_sms", map[string]any{"token": "tok-1234"})
	mgr := map[string]string{"Authorization": f.manager}
	url := "/api/pregon/sandbox/" + sb + "/messages"

	f.run(t, tests.ApiScenario{Name: "agent", Method: http.MethodPost, URL: url, Headers: map[string]string{"Authorization": f.agent},
		Body: strings.NewReader(`{"from":"tester-1","text":"Hola"}`), ExpectedStatus: 403, ExpectedContent: []string{"owners and managers"}})
	f.run(t, tests.ApiScenario{Name: "bad from", Method: http.MethodPost, URL: url, Headers: mgr,
		Body: strings.NewReader(`{"from":"no spaces please","text":"Hola"}`), ExpectedStatus: 400, ExpectedContent: []string{`"from":{`, "tester-1"}})
	f.run(t, tests.ApiScenario{Name: "no text", Method: http.MethodPost, URL: url, Headers: mgr,
		Body: strings.NewReader(`{"from":"tester-1","text":"  "}`), ExpectedStatus: 400, ExpectedContent: []string{`"text":{`}})
	f.run(t, tests.ApiScenario{Name: "not a sandbox", Method: http.MethodPost, URL: "/api/pregon/sandbox/" + sms + "/messages", Headers: mgr,
		Body: strings.NewReader(`{"from":"tester-1","text":"Hola"}`), ExpectedStatus: 400, ExpectedContent: []string{"not a sandbox"}})
	f.run(t, tests.ApiScenario{Name: "message", Method: http.MethodPost, URL: url, Headers: mgr,
		Body:           strings.NewReader(`{"from":"tester-1","name":"Ana Prueba","text":"Hola"}`),
		ExpectedStatus: 202, ExpectedContent: []string{`"status":"accepted"`, `"provider_id":"tester-1:`}})
	if n := f.count(t, `SELECT COUNT(*) FROM webhook_inbox WHERE channel = {:ch} AND status = 'pending'`, dbx.Params{"ch": sb}); n != 1 {
		t.Fatalf("the sandbox message did not go through the inbox (%d rows)", n)
	}
	f.drain(t)
	var contact, identity string
	if err := f.app.DB().NewQuery(`SELECT c.id, i.id FROM contacts c JOIN contact_identities i ON i.contact = c.id
		WHERE i.kind = 'sandbox' AND i.identifier = 'tester-1' AND c.first_name = 'Ana' AND c.last_name = 'Prueba'`).Row(&contact, &identity); err != nil {
		t.Fatalf("fake contact: %v", err)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM messages WHERE direction = 'in' AND identity = {:i}`, dbx.Params{"i": identity}); n != 1 {
		t.Fatalf("%d inbound messages", n)
	}

	// A reply leaves through the adapter (as the outbox sends it) and reaches
	// whoever watches the fake contact's topic.
	client := subscriptions.NewDefaultClient()
	f.app.SubscriptionsBroker().Register(client)
	defer f.app.SubscriptionsBroker().Unregister(client.Id())
	client.Subscribe(sandbox.Topic("tester-1"))
	col, _ := f.app.FindCollectionByNameOrId("messages")
	out := core.NewRecord(col)
	out.Set("direction", "out")
	out.Set("channel", sb)
	out.Set("contact", contact)
	out.Set("identity", identity)
	out.Set("status", "sending")
	out.Set("content", map[string]any{"text": "¡Hola Ana!"})
	if err := f.app.Save(out); err != nil {
		t.Fatal(err)
	}
	ch, err := f.env.Channels.Get(sb)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ch.Adapter.Send(context.Background(), channels.OutMessage{ID: out.Id, To: "tester-1", Content: channels.Content{Text: "¡Hola Ana!"}})
	if err != nil || res.ProviderID != sandbox.ProviderPrefix+out.Id {
		t.Fatalf("send: %+v %v", res, err)
	}
	select {
	case m := <-client.Channel():
		var got sandbox.Outbound
		if err := json.Unmarshal(m.Data, &got); err != nil || m.Name != sandbox.Topic("tester-1") || got.Content.Text != "¡Hola Ana!" || got.ID != out.Id {
			t.Fatalf("realtime message %s %s (%v)", m.Name, m.Data, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the reply never reached the sandbox topic")
	}

	// The tester marks the reply read, through the same inbox.
	if _, err := f.app.DB().NewQuery(`UPDATE messages SET status = 'sent', provider_id = {:p} WHERE id = {:id}`).
		Bind(dbx.Params{"p": res.ProviderID, "id": out.Id}).Execute(); err != nil {
		t.Fatal(err)
	}
	surl := "/api/pregon/sandbox/" + sb + "/statuses"
	f.run(t, tests.ApiScenario{Name: "bad status", Method: http.MethodPost, URL: surl, Headers: mgr,
		Body: strings.NewReader(`{"message_id":"` + out.Id + `","status":"seen"}`), ExpectedStatus: 400, ExpectedContent: []string{`"status":{`}})
	f.run(t, tests.ApiScenario{Name: "unknown message", Method: http.MethodPost, URL: surl, Headers: mgr,
		Body: strings.NewReader(`{"message_id":"nope","status":"read"}`), ExpectedStatus: 400, ExpectedContent: []string{`"message_id":{`}})
	f.run(t, tests.ApiScenario{Name: "read", Method: http.MethodPost, URL: surl, Headers: mgr,
		Body: strings.NewReader(`{"message_id":"` + out.Id + `","status":"read"}`), ExpectedStatus: 202, ExpectedContent: []string{`"status":"accepted"`}})
	f.drain(t)
	var status, readAt string
	if err := f.app.DB().NewQuery(`SELECT status, read_at FROM messages WHERE id = {:id}`).Bind(dbx.Params{"id": out.Id}).Row(&status, &readAt); err != nil {
		t.Fatal(err)
	}
	if status != "read" || readAt == "" {
		t.Fatalf("after the simulated read: %s %q", status, readAt)
	}
}

func TestSandboxWebhookURLRefusesUnsignedPosts(t *testing.T) {
	f := newInboundFixture(t)
	sb := f.channel(t, "Test phone", "sandbox", nil)
	body := `{"messages":[{"id":"m1","from":"tester-1","text":"hola","ts":1}]}`
	f.run(t, tests.ApiScenario{Name: "unsigned", Method: http.MethodPost, URL: "/api/pregon/webhooks/" + sb,
		Body: strings.NewReader(body), ExpectedStatus: 401, ExpectedContent: []string{"missing X-Pregon-Signature"}})
	f.run(t, tests.ApiScenario{Name: "forged", Method: http.MethodPost, URL: "/api/pregon/webhooks/" + sb,
		Headers: map[string]string{sandbox.SignatureHeader: strings.Repeat("ab", 32)}, Body: strings.NewReader(body), ExpectedStatus: 403, ExpectedContent: []string{"does not match"}})
	if n := f.count(t, `SELECT COUNT(*) FROM webhook_inbox`, nil); n != 0 {
		t.Fatalf("%d rows stored", n)
	}
	// The generated signing secret is encrypted and never returned.
	su := map[string]string{"Authorization": testapp.Superuser(t, f.app)}
	f.run(t, tests.ApiScenario{Name: "secret masked", Method: http.MethodGet, URL: "/api/collections/channels/records/" + sb, Headers: su,
		ExpectedStatus: 200, ExpectedContent: []string{`"signing_secret":"********"`}, NotExpectedContent: []string{`"secrets"`}})
}

func TestSandboxTopicIsStaffOnly(t *testing.T) {
	f := newInboundFixture(t)
	subscribe := func(name string, auth string, status int) {
		client := subscriptions.NewDefaultClient()
		f.app.SubscriptionsBroker().Register(client)
		defer f.app.SubscriptionsBroker().Unregister(client.Id())
		hdr := map[string]string{}
		if auth != "" {
			hdr["Authorization"] = auth
		}
		f.run(t, tests.ApiScenario{Name: name, Method: http.MethodPost, URL: "/api/realtime", Headers: hdr,
			Body:           strings.NewReader(`{"clientId":"` + client.Id() + `","subscriptions":["sandbox/tester-1"]}`),
			ExpectedStatus: status, ExpectedContent: expectBody(status, "staff")})
		if has := len(client.Subscriptions()) > 0; has != (status == 204) {
			t.Fatalf("%s: subscribed=%v", name, has)
		}
	}
	subscribe("guest", "", 403)
	subscribe("agent", f.agent, 204)
}

func expectBody(status int, s string) []string {
	if status == 204 {
		return nil
	}
	return []string{s}
}
