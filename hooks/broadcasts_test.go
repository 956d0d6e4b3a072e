package hooks_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"pregon/channels"
	"pregon/channels/twilio"
	"pregon/clock"
	"pregon/hooks"
	"pregon/internal/testapp"
)

// Fixed ids of the broadcasts fixture.
const (
	bcWA       = "bchanwhatsapp01"
	bcTG       = "bchantelegram01"
	bcWeb      = "bchanwebchat001"
	bcPaused   = "bchanpaused0001"
	bcSeg      = "bsegmenttodos01"
	bcAna      = "bcontactana0001" // wrote on WhatsApp an hour ago
	bcLuis     = "bcontactluis001" // never wrote
	bcOlga     = "bcontactolga001" // opted out on WhatsApp
	bcDraft    = "bcastdraft00001" // WhatsApp, text + template
	bcTextOnly = "bcasttextonly01" // WhatsApp, text only
	bcNoSeg    = "bcastnosegment1" // complete but for its segment
	bcOnPaused = "bcastonpaused01" // to the paused channel
	bcSending  = "bcastsending001" // already sending
	bcDone     = "bcastdone000001" // completed, nothing failed
)

var bcNow = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

type bcFixture struct {
	factory func(testing.TB) *tests.TestApp
	manager string
	agent   string
}

func broadcastsTemplate(t *testing.T) *bcFixture {
	t.Helper()
	reg := channels.NewRegistry()
	wa := waTestCaps
	wa.DailyTier = true
	for typ, caps := range map[channels.Type]channels.Capabilities{
		channels.WhatsAppCloud: wa, channels.Telegram: tgTestCaps, channels.TwilioWhatsApp: twilio.WhatsAppCapabilities(),
		channels.WebChat: {IdentityKind: channels.KindWebChat, ContentTypes: []channels.ContentType{channels.ContentText}, MaxTextLen: 4096},
	} {
		reg.Register(typ, caps, func(channels.Config, channels.Deps) (channels.Adapter, error) { return sendAdapter{caps: caps}, nil })
	}
	f := &bcFixture{}
	f.factory = testapp.Template(t, func(t testing.TB, app *tests.TestApp) {
		save := func(col, id string, fields map[string]any) { testapp.Record(t, app, col, id, fields) }
		_, f.manager = testapp.User(t, app, "manager@tienda.mx", "manager")
		_, f.agent = testapp.User(t, app, "agent@tienda.mx", "agent")
		save("channels", bcWA, map[string]any{"name": "WhatsApp", "type": "whatsapp_cloud", "config": map[string]any{}})
		save("channels", bcTG, map[string]any{"name": "Telegram", "type": "telegram", "config": map[string]any{}})
		save("channels", bcWeb, map[string]any{"name": "Chat web", "type": "webchat", "config": map[string]any{}})
		save("channels", bcPaused, map[string]any{"name": "WhatsApp viejo", "type": "whatsapp_cloud", "config": map[string]any{}, "status": "paused"})
		save("segments", bcSeg, map[string]any{"name": "Toda la clientela", "conditions": map[string]any{"groups": []any{}}})
		save("contacts", bcAna, map[string]any{"first_name": "Ana", "phone": "+525512340001"})
		save("contacts", bcLuis, map[string]any{"first_name": "Luis", "phone": "+525512340002"})
		save("contacts", bcOlga, map[string]any{"first_name": "Olga", "phone": "+525512340003"})
		if _, err := app.DB().NewQuery(`UPDATE contact_identities SET last_inbound_at = {:t}, channel = {:ch} WHERE contact = {:c} AND kind = 'whatsapp'`).
			Bind(dbx.Params{"t": "2026-03-02 09:00:00.000Z", "ch": bcWA, "c": bcAna}).Execute(); err != nil {
			t.Fatal(err)
		}
		if _, err := app.DB().NewQuery(`UPDATE contact_identities SET consent = 'opted_out' WHERE contact = {:c}`).
			Bind(dbx.Params{"c": bcOlga}).Execute(); err != nil {
			t.Fatal(err)
		}
		both := map[string]any{"whatsapp_cloud": map[string]any{"text": "Hola {{contact.first_name|cliente}}",
			"template": map[string]any{"name": "promo", "language": "es", "params": []string{"{{contact.first_name|cliente}}"}}}}
		save("broadcasts", bcDraft, map[string]any{"name": "Enero", "status": "draft", "segment": bcSeg, "channel_mode": "specific",
			"channel": bcWA, "content": both})
		save("broadcasts", bcTextOnly, map[string]any{"name": "Solo texto", "status": "draft", "segment": bcSeg, "channel_mode": "specific",
			"channel": bcWA, "content": map[string]any{"whatsapp_cloud": map[string]any{"text": "Hola"}}})
		save("broadcasts", bcNoSeg, map[string]any{"name": "Sin segmento", "status": "draft", "channel_mode": "specific",
			"channel": bcWA, "content": both})
		save("broadcasts", bcOnPaused, map[string]any{"name": "Canal en pausa", "status": "draft", "segment": bcSeg,
			"channel_mode": "specific", "channel": bcPaused, "content": both})
		save("broadcasts", bcSending, map[string]any{"name": "En curso", "status": "sending", "segment": bcSeg, "channel_mode": "specific",
			"channel": bcWA, "content": both})
		save("broadcasts", bcDone, map[string]any{"name": "Terminada", "status": "completed", "segment": bcSeg, "channel_mode": "specific",
			"channel": bcWA, "content": both})
		if _, err := app.DB().NewQuery(`INSERT INTO broadcast_exclusions (id, broadcast, contact, channel, reason, created)
			VALUES ('xdone0000000001', {:b}, 'nobody', {:ch}, 'opted_out', '2026-03-02 10:00:00.000Z')`).
			Bind(dbx.Params{"b": bcDone, "ch": bcWA}).Execute(); err != nil {
			t.Fatal(err)
		}
	}, hooks.Options{Registry: reg, Clock: clock.NewFake(bcNow), NoWorkers: true})
	return f
}

type bcCase struct {
	name, method, url, body, role string
	status                        int
	want                          []string
	after                         func(t testing.TB, app *tests.TestApp)
}

func (f *bcFixture) run(t *testing.T, cases []bcCase) {
	for _, c := range cases {
		hdr := map[string]string{}
		switch c.role {
		case "manager":
			hdr["Authorization"] = f.manager
		case "agent":
			hdr["Authorization"] = f.agent
		}
		s := tests.ApiScenario{Name: c.name, Method: c.method, URL: c.url, Body: strings.NewReader(c.body), Headers: hdr,
			ExpectedStatus: c.status, ExpectedContent: c.want, TestAppFactory: f.factory}
		if c.after != nil {
			after := c.after
			s.AfterTestFunc = func(t testing.TB, app *tests.TestApp, _ *http.Response) { after(t, app) }
		}
		s.Test(t)
	}
}

func statusOf(t testing.TB, app core.App, id string) string {
	t.Helper()
	r, err := app.FindRecordById("broadcasts", id)
	if err != nil {
		t.Fatal(err)
	}
	return r.GetString("status")
}

func TestBroadcastRecordRules(t *testing.T) {
	f := broadcastsTemplate(t)
	const col = "/api/collections/broadcasts/records"
	f.run(t, []bcCase{
		{name: "a new broadcast is a draft with normalised tags and its author", method: "POST", url: col, role: "manager",
			body: `{"name":" Enero ","tags":["Promo"," enero "]}`, status: 200,
			want: []string{`"status":"draft"`, `"tags":["promo","enero"]`, `"name":"Enero"`, `"created_by":"`}},
		{name: "status is not the client's", method: "POST", url: col, role: "manager", body: `{"name":"x","status":"sending"}`,
			status: 400, want: []string{`"status"`, "is set by Pregón", "/send"}},
		{name: "counters are not the client's", method: "POST", url: col, role: "manager", body: `{"name":"x","sent":5}`,
			status: 400, want: []string{`"sent"`, "read_only"}},
		{name: "a channel that cannot broadcast", method: "POST", url: col, role: "manager",
			body: `{"name":"x","channel_mode":"specific","channel":"` + bcWeb + `"}`, status: 400,
			want: []string{`"channel"`, `Channel \"Chat web\" (webchat) cannot send broadcasts`}},
		{name: "a channel type that cannot broadcast", method: "POST", url: col, role: "manager",
			body: `{"name":"x","channel_mode":"last_interacted","channel_types":["whatsapp_cloud","webchat"]}`, status: 400,
			want: []string{`"channel_types"`, "Channel type webchat cannot send broadcasts"}},
		{name: "a Twilio WhatsApp template is a Content SID, not a Meta name", method: "POST", url: col, role: "manager",
			body: `{"name":"x","content":{"twilio_whatsapp":{"template":{"name":"promo_buen_fin","language":"es"}}}}`, status: 400,
			want: []string{`"content"`, "starts with HX", `promo_buen_fin`}},
		{name: "a Twilio WhatsApp Content SID needs no language", method: "POST", url: col, role: "manager",
			body:   `{"name":"x","content":{"twilio_whatsapp":{"template":{"name":"HX0123456789abcdef0123456789abcdef","params":["Ana"]}}}}`,
			status: 200, want: []string{`"status":"draft"`}},
		{name: "an unknown variable is named", method: "POST", url: col, role: "manager",
			body: `{"name":"x","content":{"telegram":{"text":"Hola {{contact.nombre}}"}}}`, status: 400,
			want: []string{`"content"`, `Content.telegram.text: unknown variable {{contact.nombre}}`, "contact.first_name"}},
		{name: "an unknown custom field is named", method: "POST", url: col, role: "manager",
			body: `{"name":"x","content":{"telegram":{"text":"{{contact.fields.ciudad|Lima}}"}}}`, status: 400,
			want: []string{`there is no custom field \"ciudad\"`}},
		{name: "an unclosed variable", method: "POST", url: col, role: "manager",
			body: `{"name":"x","content":{"telegram":{"text":"Hola {{contact.first_name"}}}`, status: 400, want: []string{"never closes it"}},
		{name: "a typo in the content", method: "POST", url: col, role: "manager",
			body: `{"name":"x","content":{"telegram":{"txt":"Hola"}}}`, status: 400, want: []string{`unknown field \"txt\"`}},
		{name: "content for a channel type that does not exist", method: "POST", url: col, role: "manager",
			body: `{"name":"x","content":{"fax":{"text":"Hola"}}}`, status: 400, want: []string{`\"fax\" is not a channel type`}},
		{name: "a template beside text where there is no window", method: "POST", url: col, role: "manager",
			body: `{"name":"x","content":{"telegram":{"text":"Hola","template":{"name":"t","language":"es"}}}}`, status: 400,
			want: []string{"has no customer-service window"}},
		{name: "a template on a channel without templates", method: "POST", url: col, role: "manager",
			body: `{"name":"x","content":{"telegram":{"template":{"name":"t","language":"es"}}}}`, status: 400,
			want: []string{"cannot send template messages"}},
		{name: "a rate without a unit", method: "POST", url: col, role: "manager", body: `{"name":"x","rate_count":10}`, status: 400,
			want: []string{`"rate_unit"`, "second, minute or hour"}},
		{name: "a time zone that is not one", method: "POST", url: col, role: "manager", body: `{"name":"x","timezone":"Lima"}`, status: 400,
			want: []string{`\"Lima\" is not an IANA time zone`}},
		{name: "a draft can be edited", method: "PATCH", url: col + "/" + bcDraft, role: "manager", body: `{"name":"Enero 2"}`,
			status: 200, want: []string{`"name":"Enero 2"`}},
		{name: "scheduled_at is set by send", method: "PATCH", url: col + "/" + bcDraft, role: "manager",
			body: `{"scheduled_at":"2026-04-01 10:00:00.000Z"}`, status: 400, want: []string{"scheduled_at", "/send"}},
		{name: "a sending broadcast cannot be edited", method: "PATCH", url: col + "/" + bcSending, role: "manager",
			body: `{"name":"otro"}`, status: 409, want: []string{"only a draft or a scheduled broadcast can be edited"}},
		{name: "a sending broadcast cannot be deleted", method: "DELETE", url: col + "/" + bcSending, role: "manager",
			status: 409, want: []string{"cancel it first"}},
		{name: "a finished broadcast can be deleted, with its exclusions", method: "DELETE", url: col + "/" + bcDone, role: "manager", status: 204,
			after: func(t testing.TB, app *tests.TestApp) {
				var n int
				app.DB().NewQuery("SELECT COUNT(*) FROM broadcast_exclusions WHERE broadcast = {:b}").Bind(dbx.Params{"b": bcDone}).Row(&n)
				if n != 0 {
					t.Fatalf("%d exclusions outlived their broadcast", n)
				}
			}},
	})
}

func TestBroadcastActions(t *testing.T) {
	f := broadcastsTemplate(t)
	api := func(id, action string) string { return "/api/pregon/broadcasts/" + id + "/" + action }
	f.run(t, []bcCase{
		{name: "no token", method: "POST", url: api(bcDraft, "send"), status: 401, want: []string{"Sign in as an owner or manager to work with broadcasts"}},
		{name: "agents do not send broadcasts", method: "GET", url: api(bcDraft, "audience"), role: "agent", status: 403,
			want: []string{"Only owners and managers can work with broadcasts"}},
		{name: "unknown broadcast", method: "POST", url: api("nope", "send"), role: "manager", status: 404, want: []string{"Broadcast not found"}},
		{name: "send now", method: "POST", url: api(bcDraft, "send"), role: "manager", status: 200,
			want: []string{`"status":"sending"`, `"started_at":"2026-03-02 10:00:00.000Z"`},
			after: func(t testing.TB, app *tests.TestApp) {
				var n int
				app.DB().NewQuery("SELECT COUNT(*) FROM events WHERE type = 'broadcast.started' AND subject = {:id}").
					Bind(dbx.Params{"id": bcDraft}).Row(&n)
				if n != 1 {
					t.Fatalf("broadcast.started events: %d", n)
				}
			}},
		{name: "schedule in a time zone", method: "POST", url: api(bcDraft, "send"), role: "manager",
			body: `{"scheduled_at":"2026-03-05T09:00","timezone":"America/Lima"}`, status: 200,
			want: []string{`"status":"scheduled"`, `"scheduled_at":"2026-03-05 14:00:00.000Z"`, `"timezone":"America/Lima"`}},
		{name: "schedule in the past", method: "POST", url: api(bcDraft, "send"), role: "manager",
			body: `{"scheduled_at":"2026-03-01T09:00:00Z"}`, status: 400, want: []string{`"scheduled_at"`, "is in the past"}},
		{name: "schedule that is not a time", method: "POST", url: api(bcDraft, "send"), role: "manager",
			body: `{"scheduled_at":"mañana","timezone":"America/Lima"}`, status: 400, want: []string{"is not a date and time"}},
		{name: "no segment: the seed's error", method: "POST", url: api(bcNoSeg, "send"), role: "manager", status: 400,
			want: []string{`"segment"`, "Contact segment not found"}},
		{name: "a paused channel", method: "POST", url: api(bcOnPaused, "send"), role: "manager", status: 400,
			want: []string{`"channel"`, "is paused"}},
		{name: "sending twice", method: "POST", url: api(bcSending, "send"), role: "manager", status: 409,
			want: []string{"only a draft or a scheduled broadcast can be sent"}},
		{name: "pause a draft", method: "POST", url: api(bcDraft, "pause"), role: "manager", status: 409,
			want: []string{"only a sending or scheduled broadcast can be paused"}},
		{name: "pause a sending one", method: "POST", url: api(bcSending, "pause"), role: "manager", status: 200,
			want: []string{`"status":"paused"`}},
		{name: "resume a draft", method: "POST", url: api(bcDraft, "resume"), role: "manager", status: 409,
			want: []string{"only a paused broadcast can be resumed"}},
		{name: "cancel", method: "POST", url: api(bcSending, "cancel"), role: "manager", status: 200,
			want: []string{`"status":"cancelled"`}},
		{name: "cancel a finished one", method: "POST", url: api(bcDone, "cancel"), role: "manager", status: 409,
			want: []string{"is already completed"}},
		{name: "resend a draft", method: "POST", url: api(bcDraft, "resend"), role: "manager", status: 409,
			want: []string{"resend it once it has finished"}},
		{name: "resend with nothing failed", method: "POST", url: api(bcDone, "resend"), role: "manager", status: 400,
			want: []string{"has no failed messages to resend"}},
		{name: "resend with a body that is not the option", method: "POST", url: api(bcDone, "resend"), role: "manager",
			body: `{"include_permanent":"yes"}`, status: 400, want: []string{`Send no body, or {\"include_permanent\":true}`}},
		{name: "resend with a broken body", method: "POST", url: api(bcDone, "resend"), role: "manager",
			body: `{`, status: 400, want: []string{"Send no body"}},
	})
}

func TestBroadcastAudiencePreviewAndTest(t *testing.T) {
	f := broadcastsTemplate(t)
	api := func(id, action string) string { return "/api/pregon/broadcasts/" + id + "/" + action }
	f.run(t, []bcCase{
		{name: "audience with text and template", method: "GET", url: api(bcDraft, "audience"), role: "manager", status: 200,
			want: []string{`"summary":"Sending a total of 2 messages to 2 recipients; 1 of the 3 contacts in the audience is left out; it will take less than a minute`,
				`"excluded":{"opted_out":1}`, `"channel":"` + bcWA + `"`, `"recipients":2`, `"planned":false`}},
		{name: "audience of a text-only WhatsApp broadcast", method: "GET", url: api(bcTextOnly, "audience"), role: "manager", status: 200,
			want: []string{`"window_closed":1`, `"opted_out":1`, `"recipients":1`,
				`"en":"The 24-hour window is closed: outside it WhatsApp only accepts approved templates."`}},
		{name: "preview for Ana (window open: the text goes)", method: "GET", url: api(bcDraft, "preview") + "?contact=" + bcAna, role: "manager",
			status: 200, want: []string{`"in_segment":true`, `"content":{"text":"Hola Ana","outside_window":{"template":{"name":"promo","language":"es","params":["Ana"]}}}`,
				`"sends":{"text":"Hola Ana"}`, `"window_open":true`, `"excluded":null`}},
		{name: "preview for Luis (window closed: the template goes)", method: "GET", url: api(bcDraft, "preview") + "?contact=" + bcLuis,
			role: "manager", status: 200, want: []string{`"sends":{"template":{"name":"promo","language":"es","params":["Luis"]}}`, `"window_open":false`}},
		{name: "preview for Olga says why she is left out", method: "GET", url: api(bcDraft, "preview") + "?contact=" + bcOlga,
			role: "manager", status: 200, want: []string{`"excluded":{"code":"opted_out"`, `"es":"El contacto se dio de baja`}},
		{name: "preview without a contact", method: "GET", url: api(bcDraft, "preview"), role: "manager", status: 400,
			want: []string{`"contact"`, "Contact is required"}},
		{name: "preview of an unknown contact", method: "GET", url: api(bcDraft, "preview") + "?contact=nope", role: "manager", status: 400,
			want: []string{`No contact has id \"nope\"`}},
		{name: "test send is queued outside the broadcast", method: "POST", url: api(bcDraft, "test"), role: "manager",
			body: `{"contact":"` + bcAna + `"}`, status: 201,
			want: []string{`"source":"test"`, `"source_id":"test:` + bcDraft + `"`, `"priority":30`, `"status":"queued"`},
			after: func(t testing.TB, app *tests.TestApp) {
				if s := statusOf(t, app, bcDraft); s != "draft" {
					t.Fatalf("a test send must leave the broadcast a draft, it is %s", s)
				}
			}},
		{name: "test send to a contact the broadcast leaves out", method: "POST", url: api(bcDraft, "test"), role: "manager",
			body: `{"contact":"` + bcOlga + `"}`, status: 400, want: []string{`"contact"`, "would leave this contact out", "opted out"}},
		{name: "test send without a contact", method: "POST", url: api(bcDraft, "test"), role: "manager", body: `{}`, status: 400,
			want: []string{"Contact is required"}},
		{name: "test send with a number for the contact", method: "POST", url: api(bcDraft, "test"), role: "manager", body: `{"contact":5}`, status: 400,
			want: []string{`"contact":{"code":"invalid"`, "Contact must be a contact id in quotes"}},
	})
}

// More than seven days of sending is refused, with the figures.
func TestBroadcastOverSevenDaysIsRefused(t *testing.T) {
	f := broadcastsTemplate(t)
	base := f.factory
	f.factory = func(tb testing.TB) *tests.TestApp {
		app := base(tb)
		col, _ := app.FindCollectionByNameOrId("contacts")
		for i := range 170 {
			c := core.NewRecord(col)
			c.Set("first_name", fmt.Sprintf("P%d", i))
			c.Set("phone", fmt.Sprintf("+52551999%04d", i))
			if err := app.Save(c); err != nil {
				tb.Fatal(err)
			}
		}
		r, _ := app.FindRecordById("broadcasts", bcDraft)
		r.Set("rate_count", 1)
		r.Set("rate_unit", "hour")
		if err := app.Save(r); err != nil {
			tb.Fatal(err)
		}
		return app
	}
	f.run(t, []bcCase{{name: "1 per hour to 172 recipients", method: "POST", url: "/api/pregon/broadcasts/" + bcDraft + "/send",
		role: "manager", status: 400, want: []string{`"rate_count"`, "Sending 172 messages would take about 7 days 4 hours",
			"the broadcast's own rate", "at most 7 days"}}})
}
