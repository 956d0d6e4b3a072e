package whatsapp

import (
	"strings"
	"testing"

	"pregon/channels"
)

// prefsChange wraps user_preferences entries in a user_preferences change,
// as Meta sends them.
func prefsChange(pnid, entries string) string {
	return `{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"user_preferences","value":{` +
		`"messaging_product":"whatsapp","metadata":{"display_phone_number":"1555","phone_number_id":"` + pnid + `"},` +
		`"contacts":[{"profile":{"name":"Ana L\u00f3pez"},"wa_id":"5215512345678"}],"user_preferences":[` + entries + `]}}]}]}`
}

func TestParseUserPreferences(t *testing.T) {
	b := parse(t, prefsChange("123", `
	 {"wa_id":"5215512345678","detail":"User requested to stop marketing messages","category":"marketing_messages","value":"stop","timestamp":1731705721},
	 {"wa_id":"5215512345678","detail":"User requested to resume marketing messages","category":"marketing_messages","value":"resume","timestamp":"1731705800"},
	 {"user_id":"MX.1234","detail":"User requested to stop marketing messages","category":"marketing_messages","value":"stop","timestamp":1731705900},
	 {"wa_id":"5215512345678","detail":"?","category":"service_messages","value":"stop","timestamp":1731705721},
	 {"wa_id":"5215512345678","detail":"?","category":"marketing_messages","value":"interested","timestamp":1731705721},
	 {"detail":"?","category":"marketing_messages","value":"stop","timestamp":1731705721}`))
	if len(b.Messages) != 0 || len(b.Statuses) != 0 || len(b.AccountErrors) != 0 {
		t.Fatalf("a user_preferences change gave messages, statuses or errors: %+v", b)
	}
	if len(b.Consents) != 3 {
		t.Fatalf("got %d consent signals, want 3 (stop, resume, stop by user id): %+v", len(b.Consents), b.Consents)
	}
	stop := b.Consents[0]
	if stop.From != "+5215512345678" || stop.OptIn || stop.Source != "whatsapp:user_preferences stop" ||
		stop.Wording != "User requested to stop marketing messages" || stop.At.Unix() != 1731705721 || stop.Name != "Ana López" {
		t.Errorf("stop: %+v", stop)
	}
	if r := b.Consents[1]; !r.OptIn || r.Source != "whatsapp:user_preferences resume" || r.At.Unix() != 1731705800 {
		t.Errorf("resume (string timestamp): %+v", r)
	}
	if u := b.Consents[2]; u.From != "MX.1234" || u.OptIn {
		t.Errorf("stop by business-scoped user id: %+v", u)
	}
	if len(b.Skipped) != 3 {
		t.Fatalf("got %d skip notes, want 3 (unknown category, unknown value, no user): %q", len(b.Skipped), b.Skipped)
	}
	for i, want := range []string{`"service_messages"`, `"interested"`, "no wa_id"} {
		if !strings.Contains(b.Skipped[i], want) {
			t.Errorf("skip note %d is %q; want it to name %s", i, b.Skipped[i], want)
		}
	}
	if b := parse(t, prefsChange("999", `{"wa_id":"1","category":"marketing_messages","value":"stop"}`)); len(b.Consents) != 0 {
		t.Errorf("a preference for another phone number id was taken: %+v", b.Consents)
	}
	if _, err := testAdapter(t).Parse(&channels.WebhookRequest{Body: []byte(prefsChange("123", `{"wa_id":"1","timestamp":"yesterday"}`))}); err == nil {
		t.Error("a preference with an unreadable timestamp parsed without error")
	}
}

func TestParseAccountErrorsRedactTheToken(t *testing.T) {
	b := parse(t, wrap(`"errors":[
	 {"code":131031,"title":"Business account locked","message":"Business account locked","error_data":{"details":"Account locked; token tok-abcdef was refused"}},
	 {"code":368,"title":"Temporarily blocked for policies violations"},
	 {"code":131000,"title":"Something went wrong","message":"Something went wrong","error_data":{"details":"Unknown error"}}]`))
	if len(b.AccountErrors) != 3 {
		t.Fatalf("got %d account errors, want 3: %+v", len(b.AccountErrors), b.AccountErrors)
	}
	locked := b.AccountErrors[0]
	if locked.Code != "131031" || locked.Class != channels.ClassConfig ||
		locked.Detail != "Business account locked: Account locked; token "+channels.Redacted+" was refused" {
		t.Errorf("131031: %+v", locked)
	}
	if e := b.AccountErrors[1]; e.Code != "368" || e.Detail != "Temporarily blocked for policies violations" {
		t.Errorf("368 with only a title: %+v", e)
	}
	if e := b.AccountErrors[2]; e.Code != "131000" || e.Detail != "Something went wrong: Unknown error" {
		t.Errorf("131000: %+v", e)
	}
	if len(b.Messages) != 0 || len(b.Statuses) != 0 || len(b.Consents) != 0 {
		t.Errorf("account errors gave other items: %+v", b)
	}
}

func TestParseIgnoresUnsubscribedFields(t *testing.T) {
	body := `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"message_template_status_update","value":` +
		`{"event":"APPROVED","errors":[{"code":1}],"messages":[{"from":"1","id":"x","type":"text","text":{"body":"hi"}}]}}]}]}`
	if b := parse(t, body); len(b.Messages)+len(b.Statuses)+len(b.Consents)+len(b.AccountErrors) != 0 {
		t.Errorf("an unsubscribed field was read: %+v", b)
	}
}
