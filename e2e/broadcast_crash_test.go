package e2e

import (
	"fmt"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	wafake "pregon/channels/whatsapp/fake"
)

// TestBroadcastSurvivesAKill sends a 10,000-recipient broadcast from the
// real binary to the WhatsApp fake, kills the process with SIGKILL while
// messages are in flight, and restarts it: sending resumes, no recipient
// gets two messages, the messages in flight at the kill are unknown (never
// resent), and the broadcast's totals add up exactly with its messages and
// with what the fake accepted.
func TestBroadcastSurvivesAKill(t *testing.T) {
	const total = 10000
	fk, err := wafake.Start(wafake.Options{Rate: wafake.Unlimited, PairSpacing: wafake.Unlimited, Window: wafake.WindowOff,
		NoStatuses: true, Templates: []wafake.Template{{Name: "promo_enero", Language: "es", Params: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer fk.Close()

	w := &bworld{t: t, fk: fk, srv: StartServer(t, "")}
	var setup struct{ Token string }
	w.must(call(t, "POST", w.srv.URL+"/api/pregon/setup", "", map[string]string{
		"email": "duena@tienda.mx", "password": "a-long-password-1", "name": "Dueña"}, &setup), 200, "setup")
	w.token = setup.Token
	o := fk.Options()
	var ch struct{ ID string }
	w.must(w.api("POST", "/api/collections/channels/records", map[string]any{
		"name": "WhatsApp ventas", "type": "whatsapp_cloud", "rate_per_second": 3000,
		"config": map[string]any{"base_url": fk.URL(), "phone_number_id": o.PhoneNumberID, "access_token": o.AccessToken,
			"app_secret": o.AppSecret, "verify_token": "verify-123"}}, &ch), 200, "creating the channel")
	w.ch = ch.ID
	var seg struct{ ID string }
	w.must(w.api("POST", "/api/collections/segments/records", map[string]any{"name": "Toda la clientela", "conditions": map[string]any{"groups": []any{}}},
		&seg), 200, "creating the segment")
	w.srv.Stop(t)

	// 10,000 customers with WhatsApp, written in bulk.
	withDB(t, w.srv.DataDir, func(app core.App) {
		err := app.RunInTransaction(func(tx core.App) error {
			cq := tx.DB().NewQuery(`INSERT INTO contacts (id, first_name, phone, created, updated) VALUES ({:id}, {:n}, {:p}, '', '')`).Prepare()
			iq := tx.DB().NewQuery(`INSERT INTO contact_identities (id, contact, kind, identifier, from_phone, created, updated)
				VALUES ({:id}, {:c}, 'whatsapp', {:p}, TRUE, '', '')`).Prepare()
			defer cq.Close()
			defer iq.Close()
			for i := range total {
				cid, phone := core.GenerateDefaultRandomId(), fmt.Sprintf("+5215540%06d", i)
				if _, err := cq.Bind(dbx.Params{"id": cid, "n": fmt.Sprintf("Cliente %d", i), "p": phone}).Execute(); err != nil {
					return err
				}
				if _, err := iq.Bind(dbx.Params{"id": core.GenerateDefaultRandomId(), "c": cid, "p": phone}).Execute(); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	w.srv = StartServer(t, w.srv.DataDir)
	id := w.newBroadcast("Promo para todos", seg.ID)
	w.must(w.api("POST", "/api/pregon/broadcasts/"+id+"/send", nil, nil), 200, "send")
	atKill := killMidFlight(t, w.srv, fk, total/4)

	w.srv = StartServer(t, w.srv.DataDir)
	b := w.waitFor(id, "the broadcast to finish after the restart", func(b bcast) bool { return b.Status != "sending" })
	w.srv.Stop(t)
	t.Logf("killed after the fake accepted %d; final counters %+v; the fake accepted %d in all", atKill, b, fk.Log.Accepted())

	if b.Status != "completed_with_failures" || b.Unknown == 0 {
		t.Fatalf("a kill mid-flight leaves messages unknown, and the broadcast completes with failures: %+v", b)
	}
	excluded := 0
	for _, n := range b.Excluded {
		excluded += n
	}
	if b.Targeted != total || b.Targeted != excluded+b.Queued || b.Queued != b.Sent+b.Failed+b.Unknown || b.Pending != 0 {
		t.Fatalf("the totals must add up: %+v", b)
	}
	counts := map[string]int{}
	withDB(t, w.srv.DataDir, func(app core.App) {
		var rows []struct {
			Status string `db:"status"`
			N      int    `db:"n"`
		}
		if err := app.DB().NewQuery("SELECT status, COUNT(*) AS n FROM messages WHERE source_id = {:id} GROUP BY status").
			Bind(dbx.Params{"id": id}).All(&rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			counts[r.Status] = r.N
		}
		var contacts int
		app.DB().NewQuery("SELECT COUNT(DISTINCT contact) FROM messages WHERE source_id = {:id}").Bind(dbx.Params{"id": id}).Row(&contacts)
		if contacts != b.Queued {
			t.Fatalf("%d contacts have a message, %d were queued: one has two", contacts, b.Queued)
		}
	})
	if counts["sent"] != b.Sent || counts["failed"] != b.Failed || counts["unknown"] != b.Unknown {
		t.Fatalf("counters %+v do not match the messages %v", b, counts)
	}
	checkAcceptedOnce(t, fk, b.Sent, b.Unknown)
}
