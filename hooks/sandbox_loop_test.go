package hooks_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/subscriptions"

	"pregon/channels"
	"pregon/channels/sandbox"
	"pregon/internal/testapp"
	"pregon/outbox"
)

// TestSandboxRehearsalWithTheOutbox runs the test phone the way a user
// rehearses on it, with the app's workers running: a fake contact writes
// through the API, a reply leaves through the outbox and the sandbox
// adapter, shows up on the staff's realtime topic and as a message row, and
// a simulated "read" comes back through the webhook inbox.
func TestSandboxRehearsalWithTheOutbox(t *testing.T) {
	app, env := testapp.New(t)
	srv := testapp.Serve(t, app)
	_, token := testapp.User(t, app, "mgr@tienda.mx", "manager")
	col, _ := app.FindCollectionByNameOrId("channels")
	rec := core.NewRecord(col)
	rec.Set("name", "Teléfono de prueba")
	rec.Set("type", "sandbox")
	if err := app.Save(rec); err != nil {
		t.Fatal(err)
	}
	post := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted {
			t.Fatalf("POST %s: %d", path, res.StatusCode)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	wait := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	post("/api/pregon/sandbox/"+rec.Id+"/messages", `{"from":"tester-1","name":"Ana Prueba","text":"Hola"}`)
	var contact, identity string
	wait("the fake contact", func() bool {
		return app.DB().NewQuery(`SELECT contact, id FROM contact_identities WHERE kind = 'sandbox' AND identifier = 'tester-1'`).
			Row(&contact, &identity) == nil
	})

	client := subscriptions.NewDefaultClient()
	app.SubscriptionsBroker().Register(client)
	defer app.SubscriptionsBroker().Unregister(client.Id())
	client.Subscribe(sandbox.Topic("tester-1"))
	queued, err := env.Outbox.Enqueue([]outbox.Item{{Channel: rec.Id, Contact: contact, Identity: identity,
		Content: channels.Content{Text: "¡Hola, Ana!"}, Source: "agent"}})
	if err != nil {
		t.Fatal(err)
	}
	id := queued[0].ID
	select {
	case m := <-client.Channel():
		var got sandbox.Outbound
		if err := json.Unmarshal(m.Data, &got); err != nil || got.ID != id || got.Content.Text != "¡Hola, Ana!" {
			t.Fatalf("realtime %s (%v)", m.Data, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the reply never reached the sandbox topic")
	}
	status := func() string {
		var s string
		app.DB().NewQuery(`SELECT status FROM messages WHERE id = {:id}`).Bind(dbx.Params{"id": id}).Row(&s)
		return s
	}
	wait("the reply to be recorded as sent", func() bool { return status() == "sent" })

	post("/api/pregon/sandbox/"+rec.Id+"/statuses", `{"message_id":"`+id+`","status":"read"}`)
	wait("the simulated read", func() bool { return status() == "read" })
}
