package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/channels"
	wafake "pregon/channels/whatsapp/fake"
	"pregon/outbox"
)

// TestCrashMidDispatchNeitherDuplicatesNorLoses queues 10,000 WhatsApp
// messages, kills the real binary with SIGKILL while they are being sent to
// the WhatsApp fake (hosted here, over HTTP), restarts it and waits: no
// recipient may receive two messages, every message must end sent, failed
// or unknown, and the totals must add up with what the fake accepted.
func TestCrashMidDispatchNeitherDuplicatesNorLoses(t *testing.T) {
	const total = 10000
	fk, dir, token := outboxScenario(t, total, 3000)
	defer fk.Close()

	// Start, let a good part go out, and kill the process mid-flight.
	srv := StartServer(t, dir)
	atKill := killMidFlight(t, srv, fk, total/4)

	// Restart and wait until nothing is queued or in flight.
	srv = StartServer(t, dir)
	waitDrained(t, srv, token)
	srv.Stop(t)

	counts := statusCounts(t, dir)
	accepted := int(fk.Log.Accepted())
	t.Logf("killed after the fake accepted %d; final statuses %v; the fake accepted %d in all", atKill, counts, accepted)
	if counts["sent"]+counts["failed"]+counts["unknown"] != total || len(counts) > 3 {
		t.Fatalf("every message must end sent, failed or unknown: %v", counts)
	}
	if counts["unknown"] == 0 {
		t.Fatal("a kill mid-flight must leave some messages unknown (or the test did not kill mid-flight)")
	}
	// Each accepted request is a sent message or one that was in flight at
	// the kill (unknown); nothing was sent twice.
	checkAcceptedOnce(t, fk, counts["sent"], counts["unknown"])
}

// checkAcceptedOnce checks what the fake accepted against the server's
// outcome: every sent message was accepted, the only others accepted were in
// flight at the kill (unknown), and no recipient got two.
func checkAcceptedOnce(t *testing.T, fk *wafake.Fake, sent, unknown int) {
	t.Helper()
	if accepted := int(fk.Log.Accepted()); accepted < sent || accepted > sent+unknown {
		t.Fatalf("the fake accepted %d, but %d are sent and %d unknown", accepted, sent, unknown)
	}
	per := map[string]int{}
	for _, e := range fk.Log.Entries() {
		if e.OK() {
			per[e.Recipient]++
		}
	}
	for to, n := range per {
		if n > 1 {
			t.Fatalf("recipient %s received %d messages", to, n)
		}
	}
}

// killMidFlight waits until the fake has accepted at least n messages, then
// makes sure calls are in flight when the server dies: the fake holds every
// new request, and the SIGKILL comes once the requests answered before that
// are done and at least one is held (their messages are 'sending' in the
// server's database). A kill timed only by a count could land after the
// last message on a slow machine, with nothing in flight. The fake answers
// at once again afterwards. It returns what the fake had accepted.
func killMidFlight(t *testing.T, srv *Server, fk *wafake.Fake, n int64) int64 {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for fk.Log.Accepted() < n {
		if time.Now().After(deadline) {
			t.Fatalf("sending did not start: the fake accepted %d; log:\n%s", fk.Log.Accepted(), srv.Log())
		}
		time.Sleep(5 * time.Millisecond)
	}
	fk.SetLatency(10 * time.Minute) // held until the client goes away
	defer fk.SetLatency(0)
	last := fk.Log.Accepted()
	for {
		time.Sleep(20 * time.Millisecond)
		now := fk.Log.Accepted()
		if now == last && fk.InFlight.Current() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no call was held in flight: the fake accepted %d, %d in flight; log:\n%s",
				now, fk.InFlight.Current(), srv.Log())
		}
		last = now
	}
	srv.Kill()
	return fk.Log.Accepted()
}

// outboxScenario starts the WhatsApp fake, makes a data dir with an owner
// and an active WhatsApp channel (at rate msg/s) pointed at the fake, and n
// broadcast messages queued in bulk with the outbox's Go API. The server is
// stopped when it returns.
func outboxScenario(t *testing.T, total int, rate float64) (*wafake.Fake, string, string) {
	fk, err := wafake.Start(wafake.Options{Rate: wafake.Unlimited, PairSpacing: wafake.Unlimited,
		Window: wafake.WindowOff, NoStatuses: true, Templates: []wafake.Template{{Name: "promo", Language: "es"}}})
	if err != nil {
		t.Fatal(err)
	}

	// First start: migrations, the owner, and a paused WhatsApp channel
	// pointed at the fake (its secrets sealed by the server).
	dir := t.TempDir()
	srv := StartServer(t, dir)
	var setup struct {
		Token string `json:"token"`
	}
	demoCall(t, http.MethodPost, srv.URL+"/api/pregon/setup", "",
		`{"email":"owner@tienda.mx","password":"a-long-password-1","name":"Owner"}`, &setup)
	token := setup.Token
	o := fk.Options()
	body, _ := json.Marshal(map[string]any{
		"name": "WhatsApp", "type": "whatsapp_cloud", "status": "paused", "rate_per_second": rate,
		"config": map[string]any{"base_url": fk.URL(), "phone_number_id": o.PhoneNumberID, "access_token": o.AccessToken,
			"app_secret": o.AppSecret, "verify_token": "verify-123"}})
	var created struct {
		ID string `json:"id"`
	}
	demoCall(t, http.MethodPost, srv.URL+"/api/collections/channels/records", token, string(body), &created)
	ch := created.ID
	srv.Stop(t)

	// Queue 10,000 messages in bulk with the outbox's own Go API, then
	// make the channel active.
	withDB(t, dir, func(app core.App) {
		var items []outbox.Item
		err := app.RunInTransaction(func(tx core.App) error {
			for i := range total {
				cid, iid := core.GenerateDefaultRandomId(), core.GenerateDefaultRandomId()
				if _, err := tx.DB().NewQuery("INSERT INTO contacts (id, created, updated) VALUES ({:id}, '', '')").
					Bind(dbx.Params{"id": cid}).Execute(); err != nil {
					return err
				}
				if _, err := tx.DB().NewQuery(`INSERT INTO contact_identities (id, contact, kind, identifier, created, updated)
					VALUES ({:id}, {:c}, 'whatsapp', {:n}, '', '')`).
					Bind(dbx.Params{"id": iid, "c": cid, "n": fmt.Sprintf("+5215540%06d", i)}).Execute(); err != nil {
					return err
				}
				items = append(items, outbox.Item{Channel: ch, Contact: cid, Identity: iid, Source: outbox.SourceBroadcast,
					SourceID: "crash", DedupeKey: "b:crash:" + cid,
					Content: channels.Content{Template: &channels.Template{Name: "promo", Language: "es"}}})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := outbox.Enqueue(app, time.Now(), items); err != nil {
			t.Fatal(err)
		}
		if _, err := app.DB().NewQuery("UPDATE channels SET status = 'active' WHERE id = {:id}").Bind(dbx.Params{"id": ch}).Execute(); err != nil {
			t.Fatal(err)
		}
	})

	return fk, dir, token
}

// withDB opens the stopped server's data dir with PocketBase's core and no
// Pregón hooks (the raw state, as the process left it).
func withDB(t *testing.T, dir string, fn func(app core.App)) {
	t.Helper()
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir})
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	defer app.ResetBootstrapState()
	fn(app)
}

// waitDrained waits until the running server has nothing queued or sending.
func waitDrained(t *testing.T, srv *Server, token string) {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for {
		var left int
		pendingMessages(t, srv, token, &left)
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still queued or sending; log:\n%s", left, srv.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pendingMessages counts messages still queued or sending through the REST
// API of the running server.
func pendingMessages(t *testing.T, srv *Server, token string, left *int) {
	t.Helper()
	var page struct {
		TotalItems int `json:"totalItems"`
	}
	filter := url.QueryEscape("status='queued'||status='sending'")
	demoCall(t, http.MethodGet, srv.URL+"/api/collections/messages/records?perPage=1&filter="+filter, token, "", &page)
	*left = page.TotalItems
}

// statusCounts reads the stopped server's messages by status.
func statusCounts(t *testing.T, dir string) map[string]int {
	counts := map[string]int{}
	withDB(t, dir, func(app core.App) {
		var rows []struct {
			Status string `db:"status"`
			N      int    `db:"n"`
		}
		if err := app.DB().NewQuery("SELECT status, COUNT(*) AS n FROM messages GROUP BY status").All(&rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			counts[r.Status] = r.N
		}
	})
	return counts
}

// TestSIGTERMDrainsTheOutbox stops the real binary with SIGTERM while it
// sends: calls in flight finish and are recorded, the rest stays queued,
// nothing is left in flight or unknown, and a restart finishes the job.
func TestSIGTERMDrainsTheOutbox(t *testing.T) {
	const total = 3000
	fk, dir, token := outboxScenario(t, total, 500)
	defer fk.Close()
	srv := StartServer(t, dir)
	for fk.Log.Accepted() < 500 {
		time.Sleep(5 * time.Millisecond)
	}
	srv.Stop(t)
	counts := statusCounts(t, dir)
	if counts["sending"] != 0 || counts["unknown"] != 0 || counts["sent"] != int(fk.Log.Accepted()) || counts["queued"] == 0 {
		t.Fatalf("after SIGTERM: %v with %d accepted by the fake; want no sending or unknown, sent = accepted, the rest queued", counts, fk.Log.Accepted())
	}
	srv = StartServer(t, dir)
	waitDrained(t, srv, token)
	srv.Stop(t)
	if counts = statusCounts(t, dir); counts["sent"] != total {
		t.Fatalf("after the restart: %v", counts)
	}
	if int(fk.Log.Accepted()) != total {
		t.Fatalf("the fake accepted %d for %d messages", fk.Log.Accepted(), total)
	}
}
