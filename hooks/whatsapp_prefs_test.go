package hooks_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"pregon/channels/fakekit"
	"pregon/channels/whatsapp/fake"
	"pregon/hooks"
	"pregon/internal/testapp"
	"pregon/segments"
)

// waPrefsFixture is an app with a whatsapp_cloud channel whose signed
// webhooks are built by the WhatsApp fake and posted through the real
// endpoint; the inbox is drained by hand.
type waPrefsFixture struct {
	*inboundFixture
	fk      *fake.Fake
	channel string
}

func newWAPrefsFixture(t *testing.T) *waPrefsFixture {
	t.Helper()
	app, env := testapp.New(t, hooks.Options{NoWorkers: true})
	f := &inboundFixture{app: app, env: env}
	_, f.manager = testapp.User(t, app, "mgr@tienda.mx", "manager")
	fk, err := fake.Start(fake.Options{AccessToken: "EAAG-secret-access-token"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fk.Close)
	o := fk.Options()
	ch := f.channel(t, "WhatsApp ventas", "whatsapp_cloud", map[string]any{"base_url": fk.URL(), "phone_number_id": o.PhoneNumberID,
		"access_token": o.AccessToken, "app_secret": o.AppSecret, "verify_token": "mi-token-de-verificacion"})
	return &waPrefsFixture{inboundFixture: f, fk: fk, channel: ch}
}

// deliver posts h to the channel's webhook URL and applies it; the delivery
// must be processed, never parked.
func (f *waPrefsFixture) deliver(t *testing.T, h fakekit.Webhook) {
	t.Helper()
	hdr := map[string]string{}
	for k := range h.Header {
		hdr[k] = h.Header.Get(k)
	}
	f.run(t, tests.ApiScenario{Name: h.Kind, Method: http.MethodPost, URL: "/api/pregon/webhooks/" + f.channel,
		Body: strings.NewReader(string(h.Body)), Headers: hdr, ExpectedStatus: http.StatusOK})
	f.drain(t)
	if n := f.count(t, `SELECT COUNT(*) FROM webhook_inbox WHERE status != 'processed'`, nil); n != 0 {
		var why string
		_ = f.app.DB().NewQuery(`SELECT error FROM webhook_inbox WHERE status != 'processed' LIMIT 1`).Row(&why)
		t.Fatalf("%s: %d deliveries not processed: %s", h.Kind, n, why)
	}
}

func (f *waPrefsFixture) preference(t *testing.T, p fake.Preference) {
	t.Helper()
	h, err := f.fk.UserPreference(p)
	if err != nil {
		t.Fatal(err)
	}
	f.deliver(t, h)
}

// TestWhatsAppUserPreferencesSetConsent: a user who stops marketing
// messages in WhatsApp's settings is opted out on their WhatsApp identity,
// created for a number never seen (Mexican 521… read as 52…), with Meta's
// time and wording as evidence and a consent.changed event on the contact's
// timeline; a broadcast planned afterwards leaves them out. "resume" opts
// them back in; a report dated before the current decision, and a category
// Pregón does not know, change nothing.
func TestWhatsAppUserPreferencesSetConsent(t *testing.T) {
	f := newWAPrefsFixture(t)
	stopAt := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	f.preference(t, fake.Preference{From: "5215512345678", Name: "Ana López", Value: "stop", At: stopAt})

	ident := func() *core.Record {
		t.Helper()
		rec, err := f.app.FindFirstRecordByFilter("contact_identities", "kind = 'whatsapp' && identifier = '+525512345678'")
		if err != nil {
			t.Fatalf("the WhatsApp identity of +525512345678: %v", err)
		}
		return rec
	}
	id := ident()
	contact := id.GetString("contact")
	if id.GetString("consent") != "opted_out" || id.GetString("consent_source") != "whatsapp:user_preferences stop" ||
		id.GetString("consent_wording") != fake.PreferenceDetail("stop") || !id.GetDateTime("consent_at").Time().Equal(stopAt) {
		t.Fatalf("after stop: consent %q source %q wording %q at %v (want opted_out at %v)", id.GetString("consent"),
			id.GetString("consent_source"), id.GetString("consent_wording"), id.GetDateTime("consent_at").Time(), stopAt)
	}
	c, err := f.app.FindRecordById("contacts", contact)
	if err != nil || c.GetString("first_name") != "Ana" || c.GetString("phone") != "+525512345678" {
		t.Fatalf("the contact made for the stop: %v %v", c, err)
	}
	f.run(t, tests.ApiScenario{Name: "timeline shows the stop", Method: http.MethodGet,
		URL: "/api/pregon/contacts/" + contact + "/timeline", Headers: map[string]string{"Authorization": f.manager},
		ExpectedStatus: 200, ExpectedContent: []string{`"consent.changed"`, `whatsapp:user_preferences stop`, `"opted_out"`}})

	// A broadcast planned now leaves the contact out as opted_out.
	segCol, _ := f.app.FindCollectionByNameOrId("segments")
	seg := core.NewRecord(segCol)
	seg.Set("name", "Toda la clientela")
	seg.Set("conditions", segments.Everyone)
	bcCol, _ := f.app.FindCollectionByNameOrId("broadcasts")
	bc := core.NewRecord(bcCol)
	if err := f.app.Save(seg); err != nil {
		t.Fatal(err)
	}
	bc.Load(map[string]any{"name": "Promo", "status": "draft", "segment": seg.Id, "channel_mode": "specific", "channel": f.channel,
		"content": map[string]any{"whatsapp_cloud": map[string]any{"template": map[string]any{"name": "promo", "language": "es"}}}})
	if err := f.app.Save(bc); err != nil {
		t.Fatal(err)
	}
	if err := f.env.Broadcasts.Send(bc.Id, time.Time{}, "", "test"); err != nil {
		t.Fatal(err)
	}
	f.env.Broadcasts.Step(context.Background())
	if n := f.count(t, `SELECT COUNT(*) FROM broadcast_exclusions WHERE broadcast = {:b} AND contact = {:c} AND reason = 'opted_out'`,
		dbx.Params{"b": bc.Id, "c": contact}); n != 1 {
		t.Fatalf("the broadcast planned after the stop did not leave the contact out as opted_out")
	}

	resumeAt := stopAt.Add(time.Hour)
	f.preference(t, fake.Preference{From: "5215512345678", Value: "resume", At: resumeAt})
	if id = ident(); id.GetString("consent") != "opted_in" || id.GetString("consent_source") != "whatsapp:user_preferences resume" ||
		id.GetString("consent_wording") != fake.PreferenceDetail("resume") || !id.GetDateTime("consent_at").Time().Equal(resumeAt) {
		t.Fatalf("after resume: consent %q source %q at %v", id.GetString("consent"), id.GetString("consent_source"), id.GetDateTime("consent_at").Time())
	}

	// Meta retried an older stop after the resume: the newer decision stands.
	f.preference(t, fake.Preference{From: "+5215512345678", Value: "stop", At: stopAt.Add(30 * time.Minute)})
	f.preference(t, fake.Preference{From: "5215512345678", Value: "stop", Category: "service_messages", At: resumeAt.Add(time.Minute)})
	if id = ident(); id.GetString("consent") != "opted_in" {
		t.Fatalf("an older stop or an unknown category changed consent to %q", id.GetString("consent"))
	}
	if n := f.count(t, `SELECT COUNT(*) FROM events WHERE type = 'consent.changed' AND contact = {:c}`, dbx.Params{"c": contact}); n != 2 {
		t.Fatalf("%d consent.changed events, want 2 (stop, resume)", n)
	}
	if n := f.count(t, `SELECT COUNT(*) FROM contacts`, nil); n != 1 {
		t.Fatalf("%d contacts, want the one the first stop made", n)
	}
}

// TestWhatsAppAccountErrorsReachTheAdmin: value.errors on a messages change
// set the channel's last_error (code and Meta's words, never the access
// token) with one channel.account_error event; the channel keeps sending,
// and the same report again adds nothing.
func TestWhatsAppAccountErrorsReachTheAdmin(t *testing.T) {
	f := newWAPrefsFixture(t)
	token := f.fk.Options().AccessToken
	h := f.fk.AccountError(131031, "Business account locked", "The account was locked; calls with "+token+" are refused")
	f.deliver(t, h)
	ch, err := f.app.FindRecordById("channels", f.channel)
	if err != nil {
		t.Fatal(err)
	}
	last := ch.GetString("last_error")
	if !strings.Contains(last, "131031") || !strings.Contains(last, "Business account locked: The account was locked") || strings.Contains(last, token) {
		t.Fatalf("last_error %q: want the code and Meta's words without the token", last)
	}
	if ch.GetString("status") != "active" {
		t.Fatalf("an account error changed the channel's status to %q", ch.GetString("status"))
	}
	events := func() int {
		return f.count(t, `SELECT COUNT(*) FROM events WHERE type = 'channel.account_error' AND subject = {:ch}
			AND json_extract(payload, '$.code') = '131031' AND instr(payload, {:tok}) = 0`, dbx.Params{"ch": f.channel, "tok": token})
	}
	if n := events(); n != 1 {
		t.Fatalf("%d channel.account_error events without the token, want 1", n)
	}
	f.deliver(t, h)
	if n := f.count(t, `SELECT COUNT(*) FROM events WHERE type = 'channel.account_error'`, nil); n != 1 {
		t.Fatalf("the same report again made %d events, want 1", n)
	}
	f.run(t, tests.ApiScenario{Name: "the admin reads the error", Method: http.MethodGet,
		URL: "/api/collections/channels/records/" + f.channel, Headers: map[string]string{"Authorization": f.manager},
		ExpectedStatus: 200, ExpectedContent: []string{"131031", "Business account locked"}, NotExpectedContent: []string{token}})
}
