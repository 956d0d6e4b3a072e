package sandbox_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"pregon/channels"
	"pregon/channels/sandbox"
)

func TestSandboxVerifyParseSend(t *testing.T) {
	var topic string
	a, err := sandbox.New(channels.Config{sandbox.SecretKey: "secret"}, channels.Deps{Now: time.Now,
		Publish: func(tp string, _ any) error { topic = tp; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"messages":[{"id":"1","from":"tester-1","name":"Ana","text":"Hola","ts":1700000000000}],
		"statuses":[{"message_id":"m9","status":"failed","error_code":"131050"}]}`)
	req := &channels.WebhookRequest{Method: "POST", Header: http.Header{}, Body: body}
	if e := channels.Classify(a.Verify(req)); e.HTTPStatus != 401 {
		t.Fatalf("unsigned: %+v", e)
	}
	req.Header.Set(sandbox.SignatureHeader, a.Sign([]byte(`{}`)))
	if e := channels.Classify(a.Verify(req)); e.HTTPStatus != 403 {
		t.Fatalf("signature of another body: %+v", e)
	}
	req.Header.Set(sandbox.SignatureHeader, a.Sign(body))
	if err := a.Verify(req); err != nil {
		t.Fatal(err)
	}
	b, err := a.Parse(req)
	if err != nil || len(b.Messages) != 1 || len(b.Statuses) != 1 {
		t.Fatalf("%+v %v", b, err)
	}
	if m := b.Messages[0]; m.From != "tester-1" || m.ProviderID != "tester-1:1" || m.Content.Text != "Hola" {
		t.Fatalf("%+v", m)
	}
	if s := b.Statuses[0]; s.MessageID != "m9" || s.ProviderID != "sbx-m9" || s.Status != channels.StatusFailed || s.Err == nil || s.Err.Code != "131050" {
		t.Fatalf("%+v", s)
	}
	for _, bad := range []string{`{"messages":[{"id":"1","from":"a b","text":"x"}]}`, `{"statuses":[{"message_id":"m","status":"seen"}]}`, `[`} {
		if _, err := a.Parse(&channels.WebhookRequest{Body: []byte(bad)}); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
	res, err := a.Send(context.Background(), channels.OutMessage{ID: "o1", To: "tester-1", Content: channels.Content{Text: "hola"}})
	if err != nil || res.ProviderID != "sbx-o1" || res.Final || topic != "sandbox/tester-1" {
		t.Fatalf("%+v %v %q", res, err, topic)
	}
	if !sandbox.Caps.Broadcasts {
		t.Fatal("the sandbox must allow rehearsing broadcasts")
	}
}
