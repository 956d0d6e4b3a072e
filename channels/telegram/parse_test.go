package telegram

import (
	"net/http"
	"testing"

	"pregon/channels"
)

func adapter(t testing.TB) *Adapter {
	a, err := New(channels.Config{KeyBotToken: "1:x", KeySecretToken: "sekret"}, channels.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func parse(t *testing.T, body string) channels.WebhookBatch {
	t.Helper()
	b, err := adapter(t).Parse(&channels.WebhookRequest{Method: "POST", Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseStartOptsIn(t *testing.T) {
	b := parse(t, `{"update_id":1,"message":{"message_id":41,"from":{"id":3527065,"first_name":"Nic"},"chat":{"id":3527065,"type":"private"},"date":1700000000,"text":"/start promo-7"}}`)
	if len(b.Messages) != 1 || b.Messages[0].ProviderID != "3527065:41" || b.Messages[0].From != "3527065" || b.Messages[0].Name != "Nic" {
		t.Fatalf("messages: %+v", b.Messages)
	}
	if len(b.Consents) != 1 || !b.Consents[0].OptIn || b.Consents[0].Source != "telegram:/start promo-7" {
		t.Fatalf("consents: %+v", b.Consents)
	}
}

func TestParseKickedOptsOut(t *testing.T) {
	b := parse(t, `{"update_id":2,"my_chat_member":{"chat":{"id":3527065,"type":"private"},"from":{"id":3527065},"date":1,"old_chat_member":{"status":"member"},"new_chat_member":{"status":"kicked"}}}`)
	if len(b.Consents) != 1 || b.Consents[0].OptIn || b.Consents[0].From != "3527065" {
		t.Fatalf("consents: %+v", b.Consents)
	}
	if len(b.Messages) != 0 || len(b.Statuses) != 0 {
		t.Fatalf("a membership change is not a message: %+v", b)
	}
}

func TestParsePhotoAndGroup(t *testing.T) {
	b := parse(t, `{"update_id":3,"message":{"message_id":7,"chat":{"id":-100200,"type":"supergroup","title":"Club"},"date":1,"caption":"äöå 🎉","photo":[{"file_id":"S"},{"file_id":"L"}]}}`)
	if len(b.Messages) != 1 {
		t.Fatalf("%+v", b)
	}
	m := b.Messages[0]
	if m.From != "-100200" || m.Name != "Club" || m.Content.Media == nil || m.Content.Media.URL != "telegram:file/L" || m.Content.Media.Caption != "äöå 🎉" {
		t.Fatalf("%+v %+v", m, m.Content.Media)
	}
	if len(b.Consents) != 0 {
		t.Fatalf("no consent in a photo: %+v", b.Consents)
	}
}

func TestVerifySecretHeader(t *testing.T) {
	a := adapter(t)
	for hdr, want := range map[string]int{"": http.StatusUnauthorized, "wrong": http.StatusForbidden, "sekre": http.StatusForbidden, "sekret": 0} {
		h := http.Header{}
		if hdr != "" {
			h.Set(SecretHeader, hdr)
		}
		err := a.Verify(&channels.WebhookRequest{Header: h})
		got := 0
		if err != nil {
			got = channels.Classify(err).HTTPStatus
		}
		if got != want {
			t.Errorf("header %q: got %d, want %d", hdr, got, want)
		}
	}
}

func FuzzParseTelegram(f *testing.F) {
	f.Add([]byte(`{"update_id":1,"message":{"message_id":1,"chat":{"id":1},"date":1,"text":"/start x"}}`))
	f.Add([]byte(`{"update_id":2,"my_chat_member":{"chat":{"id":1},"new_chat_member":{"status":"kicked"}}}`))
	f.Add([]byte(`{"update_id":3,"message":{"chat":{"id":-5},"photo":[]}}`))
	a := adapter(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := a.Parse(&channels.WebhookRequest{Method: "POST", Body: body})
		if err != nil {
			return
		}
		for _, m := range b.Messages {
			if m.From == "" || m.Content.Type() == "" {
				t.Fatalf("a message without sender or content: %+v", m)
			}
		}
	})
}
