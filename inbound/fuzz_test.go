package inbound_test

import (
	"context"
	"testing"

	"github.com/pocketbase/dbx"

	"pregon/channels/webchat"
	"pregon/hooks"
	"pregon/inbound"
	"pregon/internal/testapp"
)

// FuzzInAppDeliveries throws arbitrary bodies at the processing of the
// sandbox's and web chat's deliveries (as if they had passed Verify): none
// may panic the worker or stay pending; each is applied or parked.
func FuzzInAppDeliveries(f *testing.F) {
	f.Add([]byte(`{"messages":[{"id":"m1","from":"tester-1","name":"Ana","text":"Hola","ts":1700000000000}]}`))
	f.Add([]byte(`{"statuses":[{"message_id":"x","status":"read","ts":1}]}`))
	f.Add([]byte(`{"id":"c1","visitor":"v_aaaaaaaaaaaaaaaaaaaaaaaaaa","text":"STOP","ts":-5}`))
	f.Add([]byte(`{"messages":[{"id":"","from":"","text":"` + "\u00e4\u00f6\u00e5 \U0001F600" + `"}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{0xff, 0xfe, '{'})

	r := registry()
	webchat.Register(r)
	app, env := testapp.New(f, hooks.Options{Registry: r, NoWorkers: true})
	fx := &fixture{t: f, app: app, env: env}
	chans := []string{fx.channel("Sandbox", "sandbox", nil), fx.channel("Web", "webchat", nil)}

	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ch := range chans {
			if err := env.Inbox.Store(context.Background(), inbound.Delivery{Channel: ch, Method: "POST",
				URL: "https://pregon.example/api/pregon/webhooks/" + ch, ContentType: "application/json", Body: body}); err != nil {
				t.Fatal(err)
			}
		}
		// A delivery whose effects fail is retried on each drain and parked
		// after the last attempt.
		for i := 0; i < 3; i++ {
			if _, err := env.Inbox.Drain(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		var pending int
		if err := app.DB().NewQuery(`SELECT COUNT(*) FROM webhook_inbox WHERE status = 'pending'`).
			Bind(dbx.Params{}).Row(&pending); err != nil {
			t.Fatal(err)
		}
		if pending != 0 {
			t.Fatalf("%d deliveries still pending for body %q", pending, body)
		}
	})
}
