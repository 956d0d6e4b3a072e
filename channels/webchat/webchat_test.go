package webchat_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"pregon/channels"
	"pregon/channels/webchat"
)

func adapter(t *testing.T, cfg channels.Config, publish func(string, any) error) *webchat.Adapter {
	t.Helper()
	a, err := webchat.New(cfg, channels.Deps{Now: func() time.Time { return time.Unix(1700000000, 0) }, Publish: publish})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestTokensBindVisitorAndSecret(t *testing.T) {
	a := adapter(t, channels.Config{webchat.SecretKey: "s1"}, nil)
	b := adapter(t, channels.Config{webchat.SecretKey: "s2"}, nil)
	v, w := webchat.NewVisitor(), webchat.NewVisitor()
	if v == w || !webchat.ValidVisitor(v) {
		t.Fatalf("visitor ids %q %q", v, w)
	}
	if !a.CheckToken(v, a.Token(v)) {
		t.Fatal("a visitor's own token is refused")
	}
	if a.CheckToken(w, a.Token(v)) || a.CheckToken(v, b.Token(v)) || a.CheckToken("v_x", a.Token("v_x")) {
		t.Fatal("a token works for another visitor, another channel or a malformed id")
	}
}

func TestOrigins(t *testing.T) {
	a := adapter(t, channels.Config{webchat.SecretKey: "s", webchat.OriginsKey: "https://Tienda.mx, http://localhost:3000"}, nil)
	for origin, want := range map[string]bool{
		"https://tienda.mx": true, "https://tienda.mx/": true, "http://localhost:3000": true,
		"http://tienda.mx": false, "https://evil.tienda.mx": false, "null": false,
	} {
		if got := a.AllowsOrigin(origin); got != want {
			t.Errorf("AllowsOrigin(%q) = %v", origin, got)
		}
	}
	for _, bad := range []string{"tienda.mx", "https://tienda.mx/chat", "ftp://tienda.mx", "https://tienda.mx?x=1"} {
		if _, err := webchat.ParseOrigins(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseOrigins(%q) = %v, want an error naming it", bad, err)
		}
	}
	if !adapter(t, channels.Config{webchat.SecretKey: "s", webchat.OriginsKey: "*"}, nil).AllowsOrigin("https://any.example") {
		t.Error(`"*" does not allow any origin`)
	}
}

func TestVerifyAndParse(t *testing.T) {
	a := adapter(t, channels.Config{webchat.SecretKey: "s"}, nil)
	v := webchat.NewVisitor()
	body := []byte(`{"id":"m1","visitor":"` + v + `","name":"Ana","text":"Hola","ts":1700000000000}`)
	req := func(tok string) *channels.WebhookRequest {
		h := http.Header{}
		if tok != "" {
			h.Set(webchat.TokenHeader, tok)
		}
		return &channels.WebhookRequest{Method: "POST", Header: h, Body: body}
	}
	if e := channels.Classify(a.Verify(req(""))); e.HTTPStatus != 401 {
		t.Fatalf("no token: %+v", e)
	}
	if e := channels.Classify(a.Verify(req(a.Token(webchat.NewVisitor())))); e.HTTPStatus != 403 {
		t.Fatalf("another visitor's token: %+v", e)
	}
	if err := a.Verify(req(a.Token(v))); err != nil {
		t.Fatal(err)
	}
	b, err := a.Parse(req(a.Token(v)))
	if err != nil || len(b.Messages) != 1 {
		t.Fatalf("%+v %v", b, err)
	}
	m := b.Messages[0]
	if m.From != v || m.ProviderID != v+":m1" || m.Content.Text != "Hola" || m.Name != "Ana" || m.Timestamp.Unix() != 1700000000 {
		t.Fatalf("parsed %+v", m)
	}
	for _, bad := range []string{`{}`, `{"id":"m1","visitor":"` + v + `","text":"  "}`, `{"id":"","visitor":"` + v + `","text":"x"}`, `nope`} {
		if _, err := a.Parse(&channels.WebhookRequest{Body: []byte(bad)}); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
}

func TestSendPublishesToTheVisitorOnly(t *testing.T) {
	var topic string
	var payload any
	a := adapter(t, channels.Config{webchat.SecretKey: "s"}, func(tp string, p any) error { topic, payload = tp, p; return nil })
	v := webchat.NewVisitor()
	res, err := a.Send(context.Background(), channels.OutMessage{ID: "o1", To: v, Content: channels.Content{Text: "¡Hola!"}})
	if err != nil || res.ProviderID != "wc-o1" || !res.Final {
		t.Fatalf("%+v %v", res, err)
	}
	if topic != webchat.Topic(v) || payload.(webchat.Reply).Text != "¡Hola!" {
		t.Fatalf("published %q %+v", topic, payload)
	}
	_, err = a.Send(context.Background(), channels.OutMessage{ID: "o2", To: v, Content: channels.Content{Template: &channels.Template{Name: "x"}}})
	if e := channels.Classify(err); e.Class != channels.ClassPermanent {
		t.Fatalf("a template to web chat: %+v", e)
	}
	_, err = a.Send(context.Background(), channels.OutMessage{ID: "o3", To: v, Content: channels.Content{Text: strings.Repeat("a", 2001)}})
	if e := channels.Classify(err); e.Class != channels.ClassPermanent || e.Code != "text_too_long" {
		t.Fatalf("a long text: %+v", e)
	}
	if webchat.Caps.Broadcasts {
		t.Fatal("web chat must not broadcast")
	}
}
