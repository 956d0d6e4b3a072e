package hooks_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tests"

	"pregon/channels/telegram"
	"pregon/channels/twilio"
	"pregon/channels/whatsapp"
	"pregon/hooks"
	"pregon/internal/testapp"
)

const publicBase = "https://pregon.example.com"

// provider describes one real adapter's webhooks for the rejection tests:
// a valid delivery, how to sign a body, and what a forgery looks like.
type provider struct {
	typ    string
	config func(secret string) map[string]any
	// valid is a signed inbound delivery of text from sender to the channel
	// at path, signed with secret.
	valid func(secret, path string) (body string, hdr map[string]string)
	// malformed is a body that verifies but does not parse.
	malformed func(secret, path string) (body string, hdr map[string]string)
	// unsigned strips the credential header.
	sigHeader string
	// bodyUnsigned: the credential does not cover the body (Telegram sends a
	// shared secret, not a signature), so a tampered body cannot be told.
	bodyUnsigned bool
	reply        string // what the provider expects back on an inbound message
	identity     string // the sender's identity kind and identifier
}

func twilioForm(secret, path string, p url.Values) (string, map[string]string) {
	return p.Encode(), map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", twilio.SignatureHeader: twilio.Sign(secret, publicBase+path, p),
	}
}

var providers = []provider{
	{
		typ: "whatsapp_cloud",
		config: func(secret string) map[string]any {
			return map[string]any{"phone_number_id": "100000000000001", "access_token": "EAAG-token", "app_secret": secret,
				"verify_token": "vt-" + secret, "base_url": "http://127.0.0.1:9"}
		},
		valid: func(secret, _ string) (string, map[string]string) {
			body := `{"object":"whatsapp_business_account","entry":[{"id":"200000000000002","changes":[{"field":"messages","value":{` +
				`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001234","phone_number_id":"100000000000001"},` +
				`"contacts":[{"profile":{"name":"Ana L\u00f3pez"},"wa_id":"5215512345678"}],"messages":[{"from":"5215512345678",` +
				`"id":"wamid.IN1","timestamp":"1700000000","type":"text","text":{"body":"Hola \u00e4\u00f6\u00e5 \ud83c\udf89"}}]}}]}]}`
			return body, map[string]string{whatsapp.SignatureHeader: whatsapp.Sign([]byte(secret), []byte(body))}
		},
		malformed: func(secret, _ string) (string, map[string]string) {
			body := `{"object":"whatsapp_business_account","entry":"not a list"}`
			return body, map[string]string{whatsapp.SignatureHeader: whatsapp.Sign([]byte(secret), []byte(body))}
		},
		sigHeader: whatsapp.SignatureHeader,
		identity:  "whatsapp:+525512345678",
	},
	{
		typ: "telegram",
		config: func(secret string) map[string]any {
			return map[string]any{"bot_token": "123456:AAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "secret_token": secret, "base_url": "http://127.0.0.1:9"}
		},
		valid: func(secret, _ string) (string, map[string]string) {
			body := `{"update_id":174114370,"message":{"message_id":41,"from":{"id":3527065,"is_bot":false,"first_name":"Nic",` +
				`"username":"nic"},"chat":{"id":3527065,"type":"private"},"date":1700000000,"text":"Hola äöå 🎉"}}`
			return body, map[string]string{telegram.SecretHeader: secret}
		},
		malformed: func(secret, _ string) (string, map[string]string) {
			return `{"update_id":"nope",`, map[string]string{telegram.SecretHeader: secret}
		},
		sigHeader:    telegram.SecretHeader,
		bodyUnsigned: true,
		identity:     "telegram:3527065",
	},
	{
		typ: "twilio_sms",
		config: func(secret string) map[string]any {
			return map[string]any{"account_sid": "AC123", "auth_token": secret, "from": "+15017122661", "base_url": "http://127.0.0.1:9"}
		},
		valid: func(secret, path string) (string, map[string]string) {
			return twilioForm(secret, path, url.Values{"MessageSid": {"SM1"}, "SmsSid": {"SM1"}, "AccountSid": {"AC123"},
				"From": {"+5215512345678"}, "To": {"+15017122661"}, "Body": {"Hola äöå 🎉"}, "NumMedia": {"0"}, "SmsStatus": {"received"}})
		},
		malformed: func(secret, path string) (string, map[string]string) {
			return twilioForm(secret, path, url.Values{"AccountSid": {"AC123"}, "Body": {"no sid"}})
		},
		sigHeader: twilio.SignatureHeader,
		reply:     "<Response/>",
		identity:  "sms:+525512345678",
	},
	{
		typ: "twilio_whatsapp",
		config: func(secret string) map[string]any {
			return map[string]any{"account_sid": "AC123", "auth_token": secret, "from": "+15017122661", "base_url": "http://127.0.0.1:9"}
		},
		valid: func(secret, path string) (string, map[string]string) {
			return twilioForm(secret, path, url.Values{"MessageSid": {"SM2"}, "AccountSid": {"AC123"}, "ProfileName": {"Ana"},
				"WaId": {"5215512345678"}, "From": {"whatsapp:+5215512345678"}, "To": {"whatsapp:+15017122661"},
				"Body": {"Hola äöå 🎉"}, "NumMedia": {"0"}, "SmsStatus": {"received"}})
		},
		malformed: func(secret, path string) (string, map[string]string) {
			return twilioForm(secret, path, url.Values{"AccountSid": {"AC123"}})
		},
		sigHeader: twilio.SignatureHeader,
		reply:     "<Response/>",
		identity:  "whatsapp:+525512345678",
	},
}

// TestProviderWebhooksRefuseForgedUnsignedReplayedAndParkMalformed runs
// every real adapter through the endpoint: deliveries without a credential
// (401), with a wrong one (403), or signed for another channel (403) store
// nothing; a signed but unreadable one is kept and parked; a valid one is
// processed, and delivered again (Meta and Twilio retry) changes nothing.
func TestProviderWebhooksRefuseForgedUnsignedReplayedAndParkMalformed(t *testing.T) {
	t.Setenv(hooks.EnvPublicURL, publicBase)
	for _, p := range providers {
		t.Run(p.typ, func(t *testing.T) {
			app, env := testapp.New(t, hooks.Options{NoWorkers: true})
			f := &inboundFixture{app: app, env: env}
			ch := f.channel(t, "Main", p.typ, p.config("secret-main-0123"))
			other := f.channel(t, "Other", p.typ, p.config("secret-other-456"))
			path := "/api/pregon/webhooks/" + ch
			otherPath := "/api/pregon/webhooks/" + other
			stored := func() int { return f.count(t, `SELECT COUNT(*) FROM webhook_inbox`, nil) }
			post := func(name, path, body string, hdr map[string]string, status int, want ...string) {
				f.run(t, tests.ApiScenario{Name: name, Method: http.MethodPost, URL: path, Body: strings.NewReader(body),
					Headers: hdr, ExpectedStatus: status, ExpectedContent: want, NotExpectedContent: []string{"secret-main", "secret-other"}})
			}

			body, hdr := p.valid("secret-main-0123", path)
			unsigned := map[string]string{}
			for k, v := range hdr {
				if k != p.sigHeader {
					unsigned[k] = v
				}
			}
			post("unsigned", path, body, unsigned, 401, "nothing was stored")
			forgedBody, forgedHdr := p.valid("secret-guessed-99", path)
			post("forged", path, forgedBody, forgedHdr, 403, "nothing was stored")
			otherBody, otherHdr := p.valid("secret-other-456", otherPath)
			post("replayed from another channel", path, otherBody, otherHdr, 403, "nothing was stored")
			if !p.bodyUnsigned {
				tampered := strings.Replace(body, "Hola", "Adiós", 1)
				post("tampered body", path, tampered, hdr, 403, "nothing was stored")
			}
			if n := stored(); n != 0 {
				t.Fatalf("refused deliveries stored %d rows", n)
			}

			want := []string{}
			if p.reply != "" {
				want = append(want, p.reply)
			}
			post("valid", path, body, hdr, 200, want...)
			post("delivered again", path, body, hdr, 200, want...)
			mb, mh := p.malformed("secret-main-0123", path)
			f.run(t, tests.ApiScenario{Name: "malformed but signed", Method: http.MethodPost, URL: path,
				Body: strings.NewReader(mb), Headers: mh, ExpectedStatus: 200})
			f.drain(t)

			kind, identifier, _ := strings.Cut(p.identity, ":")
			if n := f.count(t, `SELECT COUNT(*) FROM messages m JOIN contact_identities i ON i.id = m.identity
				WHERE i.kind = {:k} AND i.identifier = {:id} AND m.direction = 'in' AND json_extract(m.content, '$.text') = 'Hola äöå 🎉'`,
				dbx.Params{"k": kind, "id": identifier}); n != 1 {
				t.Fatalf("%d inbound messages from %s, want exactly 1", n, p.identity)
			}
			if n := f.count(t, `SELECT COUNT(*) FROM webhook_inbox WHERE status = 'parked' AND error != ''`, nil); n != 1 {
				t.Fatalf("%d parked deliveries, want the malformed one", n)
			}
			if n := f.count(t, `SELECT COUNT(*) FROM webhook_inbox WHERE status = 'processed'`, nil); n != 2 {
				t.Fatalf("%d processed deliveries, want 2", n)
			}
		})
	}
}

// TestTwilioStatusCallbackFindsOurMessageByItsURL: Twilio posts statuses to
// the callback URL Pregón gave with the message, which carries our message
// id (covered by the signature), before or after the outbox recorded the SID.
func TestTwilioStatusCallbackFindsOurMessageByItsURL(t *testing.T) {
	t.Setenv(hooks.EnvPublicURL, publicBase)
	app, env := testapp.New(t, hooks.Options{NoWorkers: true})
	f := &inboundFixture{app: app, env: env}
	ch := f.channel(t, "SMS", "twilio_sms", providers[2].config("tok-twilio-1234"))
	if _, err := app.DB().NewQuery(`INSERT INTO messages (id, direction, channel, status, content, provider_id, created, updated)
		VALUES ('msgtwilio000001', 'out', {:ch}, 'sending', '{"text":"hola"}', '', '2026-01-01 00:00:00.000Z', '2026-01-01 00:00:00.000Z')`).
		Bind(dbx.Params{"ch": ch}).Execute(); err != nil {
		t.Fatal(err)
	}
	path := "/api/pregon/webhooks/" + ch + "?" + twilio.MessageIDParam + "=msgtwilio000001"
	body, hdr := twilioForm("tok-twilio-1234", path, url.Values{"MessageSid": {"SM77"}, "MessageStatus": {"undelivered"},
		"ErrorCode": {"21610"}, "AccountSid": {"AC123"}, "From": {"+15017122661"}, "To": {"+5215512345678"}})
	f.run(t, tests.ApiScenario{Name: "status", Method: http.MethodPost, URL: path, Body: strings.NewReader(body), Headers: hdr,
		ExpectedStatus: 200})
	f.drain(t)
	var status, pid, code string
	if err := app.DB().NewQuery(`SELECT status, provider_id, error_code FROM messages WHERE id = 'msgtwilio000001'`).Row(&status, &pid, &code); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || pid != "SM77" || code != "21610" {
		t.Fatalf("message after the callback: %s %s %s", status, pid, code)
	}
}
