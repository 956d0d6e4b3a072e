package hooks_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/pocketbase/pocketbase/tools/types"

	"pregon/channels"
	"pregon/hooks"
	"pregon/internal/testapp"
)

// sendAdapter accepts everything; these tests are about what the endpoint
// accepts and queues, not about sending.
type sendAdapter struct {
	stubAdapter
	caps channels.Capabilities
}

func (s sendAdapter) Capabilities() channels.Capabilities { return s.caps }
func (s sendAdapter) Send(context.Context, channels.OutMessage) (channels.SendResult, error) {
	return channels.SendResult{ProviderID: "x"}, nil
}

var (
	waTestCaps = channels.Capabilities{IdentityKind: channels.KindWhatsApp, Broadcasts: true,
		ContentTypes: []channels.ContentType{channels.ContentText, channels.ContentTemplate, channels.ContentMedia},
		MaxTextLen:   4096, MaxCaption: 1024, DefaultRate: 80, Window: 24 * time.Hour, TemplatesOutsideWindow: true}
	tgTestCaps = channels.Capabilities{IdentityKind: channels.KindTelegram, Broadcasts: true,
		ContentTypes: []channels.ContentType{channels.ContentText, channels.ContentMedia}, MaxTextLen: 4096, DefaultRate: 30}
)

// Fixed ids so that request bodies can name them before the app exists.
const (
	chWA       = "chanwhatsapp001"
	chTG       = "chantelegram001"
	chPaused   = "chanpaused00001"
	chError    = "chanerror000001"
	ctAna      = "contactana00001" // WhatsApp, wrote an hour ago, assigned to the agent
	ctLuis     = "contactluis0001" // WhatsApp, never wrote, unassigned
	ctNobody   = "contactnobody01" // no identity, no last channel
	idAnaWA    = "identanawa00001"
	idLuisWA   = "identluiswa0001"
	agentEmail = "agent@tienda.mx"
)

func messagesApp(t testing.TB, hdr map[string]string, role string) *tests.TestApp {
	reg := channels.NewRegistry()
	reg.Register(channels.WhatsAppCloud, waTestCaps, func(channels.Config, channels.Deps) (channels.Adapter, error) {
		return sendAdapter{caps: waTestCaps}, nil
	})
	reg.Register(channels.Telegram, tgTestCaps, func(channels.Config, channels.Deps) (channels.Adapter, error) {
		return sendAdapter{caps: tgTestCaps}, nil
	})
	app, _ := testapp.New(t, hooks.Options{Registry: reg, NoWorkers: true})
	save := func(col, id string, fields map[string]any) { testapp.Record(t, app, col, id, fields) }
	save("channels", chWA, map[string]any{"name": "WhatsApp", "type": "whatsapp_cloud", "config": map[string]any{}})
	save("channels", chTG, map[string]any{"name": "Telegram", "type": "telegram", "config": map[string]any{"bot_token": "1:x"}})
	save("channels", chPaused, map[string]any{"name": "Old number", "type": "whatsapp_cloud", "config": map[string]any{},
		"status": "paused", "last_error": "paused after a configuration error from the provider (code 190): token expired"})
	save("channels", chError, map[string]any{"name": "Token revoked", "type": "whatsapp_cloud", "config": map[string]any{},
		"status": "error", "last_error": "(#190) Error validating access token"})
	agent, agentTok := testapp.User(t, app, agentEmail, "agent")
	save("contacts", ctAna, map[string]any{"first_name": "Ana", "assignee": agent.Id, "last_channel": chWA})
	save("contacts", ctLuis, map[string]any{"first_name": "Luis"})
	save("contacts", ctNobody, map[string]any{"first_name": "Nadie"})
	hourAgo, _ := types.ParseDateTime(time.Now().Add(-time.Hour))
	save("contact_identities", idAnaWA, map[string]any{"contact": ctAna, "kind": "whatsapp", "identifier": "+525512345678",
		"channel": chWA, "last_inbound_at": hourAgo})
	save("contact_identities", idLuisWA, map[string]any{"contact": ctLuis, "kind": "whatsapp", "identifier": "+525587654321"})
	switch role {
	case "agent":
		hdr["Authorization"] = agentTok
	case "":
	default:
		_, tok := testapp.User(t, app, role+"@tienda.mx", role)
		hdr["Authorization"] = tok
	}
	return app
}

func TestSendMessageEndpoint(t *testing.T) {
	cases := []struct {
		name, role, body string
		headers          map[string]string
		status           int
		want             []string
	}{
		{name: "no auth", body: `{"contact":"` + ctAna + `","text":"hola"}`, status: 401},
		{name: "manager, default channel = last interacted", role: "manager", body: `{"contact":"` + ctAna + `","text":"Hola Ana"}`,
			status: 201, want: []string{`"status":"queued"`, `"channel":"` + chWA + `"`, `"identity":"` + idAnaWA + `"`, `"source":"api"`, `"priority":25`, `"text":"Hola Ana"`}},
		{name: "by identity", role: "manager", body: `{"identity":"` + idAnaWA + `","template":{"name":"pedido","language":"es","params":["#12"]}}`,
			status: 201, want: []string{`"name":"pedido"`, `"params":["#12"]`}},
		{name: "agent, assigned contact", role: "agent", body: `{"contact":"` + ctAna + `","text":"hola"}`, status: 201, want: []string{`"queued"`}},
		{name: "agent, someone else's contact", role: "agent", body: `{"contact":"` + ctLuis + `","channel":"` + chWA + `","template":{"name":"t","language":"es"}}`,
			status: 403, want: []string{"assigned to them"}},
		{name: "neither contact nor identity", role: "manager", body: `{"text":"hola"}`, status: 400, want: []string{`"contact"`, "Contact or identity is required"}},
		{name: "unknown contact", role: "manager", body: `{"contact":"nope","text":"hola"}`, status: 400, want: []string{`No contact has id \"nope\"`}},
		{name: "unknown identity", role: "manager", body: `{"identity":"nope","text":"hola"}`, status: 400, want: []string{`No identity has id \"nope\"`}},
		{name: "identity of another contact", role: "manager", body: `{"contact":"` + ctLuis + `","identity":"` + idAnaWA + `","text":"x"}`, status: 400, want: []string{"belongs to another contact"}},
		{name: "no last channel", role: "manager", body: `{"contact":"` + ctNobody + `","text":"hola"}`, status: 400, want: []string{`"channel"`, "name a channel"}},
		{name: "unknown channel", role: "manager", body: `{"contact":"` + ctAna + `","channel":"nope","text":"hola"}`, status: 400, want: []string{`No channel has id \"nope\"`}},
		{name: "paused channel", role: "manager", body: `{"contact":"` + ctAna + `","channel":"` + chPaused + `","text":"hola"}`, status: 400, want: []string{"is paused", "token expired"}},
		{name: "text given as a number", role: "manager", body: `{"contact":"` + ctAna + `","text":123}`, status: 400, want: []string{`"text":{"code":"invalid_type"`, "Text must be a string in quotes, not number"}},
		{name: "template params not a list", role: "manager", body: `{"contact":"` + ctAna + `","template":{"name":"x","language":"es","params":"Ana"}}`, status: 400, want: []string{`"template":{"code":"invalid_type"`, "Template.params must be a JSON list, not string"}},
		{name: "channel in error", role: "manager", body: `{"contact":"` + ctAna + `","channel":"` + chError + `","text":"hola"}`, status: 400, want: []string{`\"Token revoked\" is in error and sends nothing`, "Error validating access token"}},
		{name: "no identity on that channel", role: "manager", body: `{"contact":"` + ctAna + `","channel":"` + chTG + `","text":"hola"}`, status: 400, want: []string{"has no telegram identity"}},
		{name: "identity kind does not match the channel", role: "manager", body: `{"identity":"` + idAnaWA + `","channel":"` + chTG + `","text":"hola"}`, status: 400, want: []string{"is a whatsapp identity", "telegram identities"}},
		{name: "empty content", role: "manager", body: `{"contact":"` + ctAna + `"}`, status: 400, want: []string{"Content is empty"}},
		{name: "two contents", role: "manager", body: `{"contact":"` + ctAna + `","text":"a","media":{"url":"https://x.mx/a.jpg"}}`, status: 400, want: []string{"exactly one"}},
		{name: "text too long", role: "manager", body: `{"contact":"` + ctAna + `","text":"` + strings.Repeat("a", 4097) + `"}`, status: 400, want: []string{`"text"`, "4097 characters", "at most 4096"}},
		{name: "bad media url", role: "manager", body: `{"contact":"` + ctAna + `","media":{"url":"ftp://x"}}`, status: 400, want: []string{`"media"`, "absolute http(s) URL"}},
		{name: "template without language", role: "manager", body: `{"contact":"` + ctAna + `","template":{"name":"t"}}`, status: 400, want: []string{"template language (template.language) is required"}},
		{name: "window closed", role: "manager", body: `{"contact":"` + ctLuis + `","channel":"` + chWA + `","text":"hola"}`, status: 400, want: []string{"window is closed", "send a template"}},
		{name: "window closed, template goes", role: "manager", body: `{"contact":"` + ctLuis + `","channel":"` + chWA + `","template":{"name":"hola","language":"es"}}`, status: 201},
		{name: "bad JSON", role: "manager", body: `{"contact":`, status: 400, want: []string{"Send JSON"}},
		{name: "idempotency key too long", role: "manager", body: `{"contact":"` + ctAna + `","text":"hola"}`, headers: map[string]string{"Idempotency-Key": strings.Repeat("k", 151)}, status: 400, want: []string{"Idempotency-Key"}},
	}
	for _, c := range cases {
		hdr := map[string]string{}
		for k, v := range c.headers {
			hdr[k] = v
		}
		s := tests.ApiScenario{
			Name: c.name, Method: http.MethodPost, URL: "/api/pregon/messages", Body: strings.NewReader(c.body), Headers: hdr,
			ExpectedStatus: c.status, ExpectedContent: c.want,
			TestAppFactory: func(t testing.TB) *tests.TestApp { return messagesApp(t, hdr, c.role) },
		}
		if len(s.ExpectedContent) == 0 {
			s.ExpectedContent = []string{`"`}
		}
		s.Test(t)
	}
}

func TestSendMessageChannelCannotSendTemplates(t *testing.T) {
	hdr := map[string]string{}
	(&tests.ApiScenario{
		Method: http.MethodPost, URL: "/api/pregon/messages", Headers: hdr,
		Body:           strings.NewReader(`{"identity":"tgident00000001","template":{"name":"t","language":"es"}}`),
		ExpectedStatus: 400, ExpectedContent: []string{"cannot send template messages", "text, media"},
		TestAppFactory: func(t testing.TB) *tests.TestApp {
			app := messagesApp(t, hdr, "manager")
			c, _ := app.FindCollectionByNameOrId("contact_identities")
			r := core.NewRecord(c)
			r.Id = "tgident00000001"
			r.Set("contact", ctLuis)
			r.Set("kind", "telegram")
			r.Set("identifier", "3527065")
			r.Set("channel", chTG)
			if err := app.Save(r); err != nil {
				t.Fatal(err)
			}
			return app
		},
	}).Test(t)
}

func TestSendMessageIdempotencyKeyReplaysTheFirstMessage(t *testing.T) {
	hdr := map[string]string{}
	app := messagesApp(t, hdr, "manager")
	hdr["Idempotency-Key"] = "order-1234-confirmation"
	var firstID string
	for i, want := range []int{201, 200} {
		(&tests.ApiScenario{
			Name: "attempt", Method: http.MethodPost, URL: "/api/pregon/messages", Headers: hdr,
			Body:           strings.NewReader(`{"contact":"` + ctAna + `","text":"Tu pedido #1234 está confirmado"}`),
			ExpectedStatus: want, ExpectedContent: []string{`"dedupe_key":"api:`, `:order-1234-confirmation"`},
			TestAppFactory: func(testing.TB) *tests.TestApp { return app }, DisableTestAppCleanup: true,
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				var ids []string
				app.DB().NewQuery("SELECT id FROM messages").Column(&ids)
				if len(ids) != 1 {
					t.Fatalf("a retried request must not queue a second message; %d rows", len(ids))
				}
				if i == 0 {
					firstID = ids[0]
				} else if ids[0] != firstID || res.Header.Get("Idempotent-Replayed") != "true" {
					t.Fatalf("replay must return the first message")
				}
			},
		}).Test(t)
	}
}
