package whatsapp

import (
	"strings"
	"testing"

	"pregon/channels"
)

func parse(t *testing.T, body string) channels.WebhookBatch {
	t.Helper()
	b, err := testAdapter(t).Parse(&channels.WebhookRequest{Method: "POST", Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wrap(value string) string {
	return `{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"1555","phone_number_id":"123"},` + value + `}}]}]}`
}

func TestParseInboundKinds(t *testing.T) {
	b := parse(t, wrap(`"contacts":[{"profile":{"name":"Ana"},"wa_id":"51987654321"},{"profile":{"name":"Uma"},"user_id":"US.1234"}],
	"messages":[
	 {"from":"51987654321","id":"wamid.1","timestamp":"1700000000","type":"text","text":{"body":"\u00e4\u00f6\u00e5 \ud83c\udf89"}},
	 {"from":"51987654321","id":"wamid.2","timestamp":"1700000001000","type":"image","image":{"id":"777","mime_type":"image/jpeg","caption":"look"}},
	 {"from":"51987654321","id":"wamid.3","timestamp":"1700000002","type":"button","button":{"text":"Stop promotions","payload":"STOP"}},
	 {"from_user_id":"US.1234","id":"wamid.4","timestamp":"1700000003","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes"}}},
	 {"from":"51987654321","id":"wamid.5","timestamp":"1700000004","type":"reaction","reaction":{"message_id":"wamid.x","emoji":"👍"}}]`))
	if len(b.Messages) != 4 {
		t.Fatalf("got %d messages, want 4 (the reaction is skipped): %+v", len(b.Messages), b.Messages)
	}
	m := b.Messages[0]
	if m.From != "+51987654321" || m.Phone != "+51987654321" || m.Name != "Ana" || m.Content.Text != "äöå 🎉" || m.Timestamp.Unix() != 1700000000 {
		t.Errorf("text: %+v", m)
	}
	if md := b.Messages[1].Content.Media; md == nil || md.Caption != "look" || md.Kind != "image" || md.URL != "https://graph.facebook.com/v25.0/777" {
		t.Errorf("image: %+v", b.Messages[1].Content)
	}
	if b.Messages[1].Timestamp.Unix() != 1700000001 {
		t.Errorf("millisecond timestamp read as %v", b.Messages[1].Timestamp)
	}
	if b.Messages[2].Content.Text != "Stop promotions" {
		t.Errorf("button: %+v", b.Messages[2].Content)
	}
	if u := b.Messages[3]; u.From != "US.1234" || u.Phone != "" || u.Name != "Uma" || u.Content.Text != "Yes" {
		t.Errorf("user-id-only sender: %+v", u)
	}
}

func TestParseStatuses(t *testing.T) {
	b := parse(t, wrap(`"statuses":[
	 {"id":"wamid.A","status":"sent","timestamp":"1700000005","recipient_id":"51987654321"},
	 {"id":"wamid.A","status":"read","timestamp":"1700000007","recipient_id":"51987654321"},
	 {"id":"wamid.A","status":"delivered","timestamp":"1700000006","recipient_id":"51987654321"},
	 {"id":"wamid.B","status":"failed","timestamp":"1700000008","recipient_id":"1","errors":[{"code":131050,"title":"Marketing opt-out","message":"m","error_data":{"details":"user stopped marketing"}}]},
	 {"id":"wamid.C","status":"deleted","timestamp":"1700000009"}]`))
	want := []channels.Status{channels.StatusSent, channels.StatusRead, channels.StatusDelivered, channels.StatusFailed}
	if len(b.Statuses) != len(want) {
		t.Fatalf("got %d statuses, want %d", len(b.Statuses), len(want))
	}
	for i, s := range want {
		if b.Statuses[i].Status != s {
			t.Errorf("status %d: got %s, want %s (order must be kept as received)", i, b.Statuses[i].Status, s)
		}
	}
	f := b.Statuses[3]
	if f.Err == nil || f.Err.Code != "131050" || !f.Err.OptOut || f.Err.Class != channels.ClassPermanent {
		t.Errorf("failed status: %+v", f.Err)
	}
}

func TestParseSkipsOtherNumbersAndRejectsGarbage(t *testing.T) {
	body := `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"999"},"messages":[{"from":"1","id":"x","type":"text","text":{"body":"hi"}}]}}]}]}`
	if b := parse(t, body); len(b.Messages) != 0 {
		t.Errorf("a change for another phone number id was taken: %+v", b.Messages)
	}
	a := testAdapter(t)
	for _, bad := range []string{`not json`, `{"object":"page"}`} {
		if _, err := a.Parse(&channels.WebhookRequest{Body: []byte(bad)}); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}

func FuzzParseWhatsApp(f *testing.F) {
	f.Add([]byte(wrap(`"messages":[{"from":"1","id":"w","timestamp":"1","type":"text","text":{"body":"\u00e4"}}]`)))
	f.Add([]byte(wrap(`"statuses":[{"id":"w","status":"failed","timestamp":"x","errors":[{"code":1}]}]`)))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":null}]}]}`))
	f.Add([]byte(prefsChange("123", `{"wa_id":"5215512345678","detail":"User requested to stop marketing messages","category":"marketing_messages","value":"stop","timestamp":1731705721}`)))
	f.Add([]byte(wrap(`"errors":[{"code":131031,"title":"Business account locked","error_data":{"details":"locked"}}]`)))
	a, err := New(channels.Config{KeyPhoneNumberID: "123", KeyAccessToken: "tok-secret", KeyAppSecret: "s", KeyVerifyToken: "v"}, channels.Deps{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := a.Parse(&channels.WebhookRequest{Method: "POST", Body: body})
		if err != nil {
			return
		}
		for _, s := range b.Statuses {
			if s.Status == channels.StatusFailed && s.Err == nil {
				t.Fatalf("failed status without an error: %+v", s)
			}
		}
		for _, c := range b.Consents {
			if c.From == "" || !strings.HasPrefix(c.Source, PreferenceSource+" ") {
				t.Fatalf("consent signal without a sender or its source: %+v", c)
			}
		}
		for _, e := range b.AccountErrors {
			if strings.Contains(e.Detail, "tok-secret") {
				t.Fatalf("the access token leaked into an account error: %+v", e)
			}
		}
	})
}
