package twilio

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"pregon/channels"
)

func adapter(t testing.TB, typ channels.Type) *Adapter {
	a, err := New(typ, channels.Config{KeyAccountSID: "AC1", KeyAuthToken: "tok", KeyFrom: "+15017122661"}, channels.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func parseForm(t *testing.T, a *Adapter, rawURL string, p url.Values) channels.WebhookBatch {
	t.Helper()
	u, _ := url.Parse(rawURL)
	b, err := a.Parse(&channels.WebhookRequest{Method: "POST", PublicURL: u, Body: []byte(p.Encode())})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseStatusCallbacks(t *testing.T) {
	a := adapter(t, channels.TwilioSMS)
	cases := []struct {
		status, code string
		want         channels.Status
		class        channels.Class
	}{
		{"queued", "", channels.StatusQueued, ""},
		{"sending", "", channels.StatusQueued, ""},
		{"sent", "", channels.StatusSent, ""},
		{"delivered", "", channels.StatusDelivered, ""},
		{"undelivered", "30003", channels.StatusFailed, channels.ClassRetry},
		{"undelivered", "30007", channels.StatusFailed, channels.ClassPermanent},
		{"failed", "30034", channels.StatusFailed, channels.ClassConfig},
		{"failed", "21610", channels.StatusFailed, channels.ClassPermanent},
		{"failed", "", channels.StatusFailed, channels.ClassPermanent},
	}
	for _, c := range cases {
		p := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {c.status}, "SmsStatus": {c.status}}
		if c.code != "" {
			p.Set("ErrorCode", c.code)
		}
		b := parseForm(t, a, "https://app.example/hooks/ch?message_id=m42", p)
		if len(b.Statuses) != 1 || b.Reply != nil {
			t.Fatalf("%s: %+v", c.status, b)
		}
		s := b.Statuses[0]
		if s.Status != c.want || s.ProviderID != "SM1" || s.MessageID != "m42" {
			t.Errorf("%s: got %+v", c.status, s)
		}
		if c.class != "" && (s.Err == nil || s.Err.Class != c.class) {
			t.Errorf("%s %s: error %+v, want class %s", c.status, c.code, s.Err, c.class)
		}
	}
	b := parseForm(t, a, "https://x/", url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"failed"}, "ErrorCode": {"21610"}})
	if !b.Statuses[0].Err.OptOut {
		t.Error("21610 in a callback must carry OptOut")
	}
}

func TestParseInboundSMSWithStop(t *testing.T) {
	a := adapter(t, channels.TwilioSMS)
	p := url.Values{"MessageSid": {"SM9"}, "From": {"+51987654321"}, "To": {"+15017122661"}, "Body": {" stop "}, "SmsStatus": {"received"}, "NumMedia": {"0"}}
	b := parseForm(t, a, "https://x/in", p)
	if len(b.Messages) != 1 || b.Messages[0].From != "+51987654321" || b.Messages[0].Content.Text != " stop " {
		t.Fatalf("%+v", b.Messages)
	}
	if len(b.Consents) != 1 || b.Consents[0].OptIn || b.Consents[0].Source != "twilio:STOP" {
		t.Fatalf("consents %+v", b.Consents)
	}
	if string(b.Reply) != EmptyTwiML || b.ReplyContentType != "text/xml" {
		t.Fatalf("reply %q %q", b.Reply, b.ReplyContentType)
	}
	p.Set("Body", "START")
	if b := parseForm(t, a, "https://x/in", p); len(b.Consents) != 1 || !b.Consents[0].OptIn {
		t.Fatalf("START: %+v", b.Consents)
	}
}

func TestParseInboundWhatsAppMediaAndButton(t *testing.T) {
	a := adapter(t, channels.TwilioWhatsApp)
	p := url.Values{"MessageSid": {"MM1"}, "From": {"whatsapp:+51987654321"}, "ProfileName": {"Åsa"}, "Body": {"mira 🎉"},
		"NumMedia": {"1"}, "MediaUrl0": {"https://api.twilio.com/m/1"}, "MediaContentType0": {"image/jpeg"}, "SmsStatus": {"received"}}
	b := parseForm(t, a, "https://x/in", p)
	m := b.Messages[0]
	if m.From != "+51987654321" || m.Name != "Åsa" || m.Content.Media == nil || m.Content.Media.Kind != "image" || m.Content.Media.Caption != "mira 🎉" {
		t.Fatalf("%+v %+v", m, m.Content.Media)
	}
	p = url.Values{"MessageSid": {"SM2"}, "From": {"whatsapp:+51987654321"}, "ButtonText": {"Sí"}, "SmsStatus": {"received"}}
	if b := parseForm(t, a, "https://x/in", p); b.Messages[0].Content.Text != "Sí" || len(b.Consents) != 0 {
		t.Fatalf("button: %+v", b)
	}
	p.Set("Body", "STOP")
	if b := parseForm(t, a, "https://x/in", p); len(b.Consents) != 0 {
		t.Fatal("STOP on WhatsApp is not carrier-enforced: no consent signal")
	}
}

func TestVerifyStatusCallback(t *testing.T) {
	a := adapter(t, channels.TwilioSMS)
	u, _ := url.Parse("https://app.example:443/api/pregon/webhooks/ch1?message_id=m1")
	p := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "Extra": {"b", "a"}}
	h := http.Header{}
	h.Set(SignatureHeader, Sign("tok", "https://app.example/api/pregon/webhooks/ch1?message_id=m1", p))
	req := &channels.WebhookRequest{Method: "POST", PublicURL: u, Header: h, Body: []byte(p.Encode())}
	if err := a.Verify(req); err != nil {
		t.Fatalf("valid signature (URL seen with :443): %v", err)
	}
	req.Body = []byte(strings.Replace(p.Encode(), "delivered", "delivere", 1))
	if e := channels.Classify(a.Verify(req)); e == nil || e.HTTPStatus != http.StatusForbidden {
		t.Fatalf("tampered: %v", e)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]channels.Config{
		"bad sid":  {KeyAccountSID: "XX1", KeyAuthToken: "t", KeyFrom: "+15017122661"},
		"no from":  {KeyAccountSID: "AC1", KeyAuthToken: "t"},
		"bad from": {KeyAccountSID: "AC1", KeyAuthToken: "t", KeyFrom: "5017122661"},
	} {
		if _, err := New(channels.TwilioSMS, cfg, channels.Deps{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	a, err := New(channels.TwilioWhatsApp, channels.Config{KeyAccountSID: "AC1", KeyAuthToken: "t", KeyMessagingServiceSID: "MG1"}, channels.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := a.form(channels.OutMessage{To: "+51987654321", Content: channels.Content{Template: &channels.Template{Name: "HX1", Params: []string{"Ana", "mañana"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if f.Get("To") != "whatsapp:+51987654321" || f.Get("MessagingServiceSid") != "MG1" || f.Get("ContentSid") != "HX1" ||
		f.Get("ContentVariables") != `{"1":"Ana","2":"mañana"}` || f.Has("From") {
		t.Fatalf("form %v", f)
	}
}

func FuzzParseTwilio(f *testing.F) {
	f.Add([]byte("MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003"))
	f.Add([]byte("MessageSid=SM1&From=whatsapp%3A%2B1555&Body=hi&NumMedia=1&MediaUrl0=x&SmsStatus=received"))
	f.Add([]byte("SmsSid=%zz&&=="))
	a := adapter(f, channels.TwilioSMS)
	u, _ := url.Parse("https://x/?message_id=1")
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := a.Parse(&channels.WebhookRequest{Method: "POST", PublicURL: u, Body: body})
		if err != nil {
			return
		}
		for _, s := range b.Statuses {
			if s.Status == channels.StatusFailed && s.Err == nil {
				t.Fatalf("failed status without an error: %+v", s)
			}
		}
	})
}

// Twilio WhatsApp names templates by Content SID: the capability tells the
// content check (outbox.ValidateContent) to refuse a Meta-style name when
// the message is written, not after it was queued.
func TestWhatsAppTemplatesAreContentSIDs(t *testing.T) {
	if got := WhatsAppCapabilities().TemplateIDPrefix; got != ContentSIDPrefix {
		t.Fatalf("twilio_whatsapp TemplateIDPrefix = %q", got)
	}
	if got := SMSCapabilities().TemplateIDPrefix; got != "" {
		t.Fatalf("twilio_sms sends no templates, TemplateIDPrefix = %q", got)
	}
}
