package hooks_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	"pregon/channels/channeltest"
	"pregon/channels/fakekit"
	"pregon/channels/whatsapp/fake"
	"pregon/hooks"
	"pregon/internal/testapp"
)

// TestWhatsAppRoundTripOverHTTP wires the running app to the WhatsApp fake
// over real HTTP: Meta's handshake, a signed inbound message, then statuses
// that arrive duplicated, reordered and before the outbox recorded the
// provider id, and an asynchronous opt-out failure.
func TestWhatsAppRoundTripOverHTTP(t *testing.T) {
	app, env := testapp.New(t) // with the inbox worker
	srv := testapp.Serve(t, app)
	t.Setenv(hooks.EnvPublicURL, srv.URL)
	fk, err := fake.Start(fake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fk.Close)
	o := fk.Options()
	col, _ := app.FindCollectionByNameOrId("channels")
	rec := core.NewRecord(col)
	rec.Set("name", "WhatsApp")
	rec.Set("type", "whatsapp_cloud")
	rec.Set("config", map[string]any{"base_url": fk.URL(), "phone_number_id": o.PhoneNumberID, "access_token": o.AccessToken,
		"app_secret": o.AppSecret, "verify_token": "mi-token-de-verificacion"})
	if err := app.Save(rec); err != nil {
		t.Fatal(err)
	}
	fk.SetCallback(srv.URL + "/api/pregon/webhooks/" + rec.Id)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := fake.Handshake(ctx, http.DefaultClient, fk.Callback(), "mi-token-de-verificacion"); err != nil {
		t.Fatalf("Meta's handshake: %v", err)
	}

	count := func(sql string, p dbx.Params) int {
		var n int
		if err := app.DB().NewQuery(sql).Bind(p).Row(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	if _, err := fk.Inbound(fake.Inbound{From: "+5215512345678", Name: "Ana López", Text: channeltest.Text}); err != nil {
		t.Fatal(err)
	}
	wait("the inbound message", func() bool {
		return count(`SELECT COUNT(*) FROM messages WHERE direction = 'in' AND json_extract(content, '$.text') = {:t}`,
			dbx.Params{"t": channeltest.Text}) == 1
	})
	var contact, identity string
	if err := app.DB().NewQuery(`SELECT contact, id FROM contact_identities WHERE kind = 'whatsapp' AND identifier = '+525512345678'`).
		Row(&contact, &identity); err != nil {
		t.Fatal(err)
	}

	ch, err := env.Channels.Get(rec.Id)
	if err != nil {
		t.Fatal(err)
	}
	mcol, _ := app.FindCollectionByNameOrId("messages")
	send := func(text string) (*core.Record, string) {
		m := core.NewRecord(mcol)
		m.Set("direction", "out")
		m.Set("channel", rec.Id)
		m.Set("contact", contact)
		m.Set("identity", identity)
		m.Set("status", "sending")
		m.Set("content", map[string]any{"text": text})
		if err := app.Save(m); err != nil {
			t.Fatal(err)
		}
		res, err := ch.Adapter.Send(ctx, channels.OutMessage{ID: m.Id, To: "+5215512345678", Content: channels.Content{Text: text}})
		if err != nil {
			t.Fatal(err)
		}
		return m, res.ProviderID
	}
	// The outbox records a send result in one monotonic statement.
	record := func(id, pid string) {
		if _, err := app.DB().NewQuery(`UPDATE messages SET provider_id = {:pid},
			status = CASE WHEN status IN ('queued', 'sending', 'unknown') THEN 'sent' ELSE status END WHERE id = {:id}`).
			Bind(dbx.Params{"id": id, "pid": pid}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	status := func(id string) string {
		var s string
		if err := app.DB().NewQuery(`SELECT status FROM messages WHERE id = {:id}`).Bind(dbx.Params{"id": id}).Row(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	// Statuses duplicated and reordered (read first), all arriving before
	// the send result is recorded.
	fk.Emitter.SetOptions(fakekit.EmitOptions{Duplicate: true, Reorder: true})
	if err := fk.Rules.Set("5215512345678", fakekit.Rule{Outcome: fakekit.Read}); err != nil {
		t.Fatal(err)
	}
	m1, pid1 := send("¡Gracias por escribir!")
	if err := fk.Emitter.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	wait("the early statuses to be kept", func() bool {
		return count(`SELECT COUNT(*) FROM pending_statuses WHERE provider_id = {:p}`, dbx.Params{"p": pid1}) == 6
	})
	record(m1.Id, pid1)
	wait("the kept statuses to apply", func() bool { return status(m1.Id) == "read" })
	if n := count(`SELECT COUNT(*) FROM events WHERE type = 'message.status' AND actor LIKE 'webhook:%' AND subject = {:id}`, dbx.Params{"id": m1.Id}); n != 1 {
		t.Fatalf("%d status events for 6 reports of one message (sent→read), want 1", n)
	}
	if n := count(`SELECT COUNT(*) FROM messages WHERE id = {:id} AND sent_at != '' AND delivered_at != '' AND read_at != ''`,
		dbx.Params{"id": m1.Id}); n != 1 {
		t.Fatal("a status time is missing")
	}

	// An asynchronous opt-out failure, in the usual order.
	fk.Emitter.SetOptions(fakekit.EmitOptions{})
	if err := fk.Rules.Set("5215512345678", fakekit.Rule{Outcome: fakekit.FailAsync, Code: "131050"}); err != nil {
		t.Fatal(err)
	}
	m2, pid2 := send("¡Oferta!")
	record(m2.Id, pid2)
	wait("the failure", func() bool { return status(m2.Id) == "failed" })
	var consent, source string
	if err := app.DB().NewQuery(`SELECT consent, consent_source FROM contact_identities WHERE id = {:id}`).
		Bind(dbx.Params{"id": identity}).Row(&consent, &source); err != nil {
		t.Fatal(err)
	}
	if consent != "opted_out" || source != "provider_error:131050" {
		t.Fatalf("after 131050: consent %q from %q", consent, source)
	}
	for _, r := range fk.Emitter.Results() {
		if r.Status != http.StatusOK {
			t.Fatalf("the app answered a %s webhook with %d", r.Kind, r.Status)
		}
	}
}
