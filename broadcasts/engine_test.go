package broadcasts_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/broadcasts"
	"pregon/channels"
	"pregon/events"
	"pregon/outbox"
)

// people creates n contacts with a Mexican phone (hence an sms and a
// whatsapp identity) named Persona <i>, and returns their ids.
func (w *world) people(n int, offset int) []string {
	w.t.Helper()
	var ids []string
	for i := range n {
		ids = append(ids, w.contact(map[string]any{"first_name": fmt.Sprintf("Persona %d", offset+i),
			"phone": fmt.Sprintf("+52551%07d", offset+i)}))
	}
	return ids
}

func (w *world) send(id string) {
	w.t.Helper()
	if err := w.env.Broadcasts.Send(id, time.Time{}, "", "test"); err != nil {
		w.t.Fatal(err)
	}
}

var templateContent = map[string]any{"whatsapp_cloud": map[string]any{
	"template": map[string]any{"name": "promo", "language": "es", "params": []string{"{{contact.first_name|cliente}}"}}}}

// The seed's example: a WhatsApp number on the 1,000 tier sends a
// 1,500-recipient broadcast: 1,000 are sent and 500 fail with "daily limit
// reached", the counters say so, and the broadcast completes with failures.
func TestTierOf1000And1500RecipientsSends1000AndFails500(t *testing.T) {
	w := newWorld(t)
	wa := w.channel("WhatsApp", "whatsapp_cloud", map[string]any{"daily_limit": 1000, "rate_per_second": 100000})
	seg := w.everyone("Toda la clientela")
	w.people(1500, 0)
	id := w.broadcast(map[string]any{"name": "Promo", "segment": seg, "channel_mode": "specific", "channel": wa,
		"content": templateContent})

	br, err := w.env.Broadcasts.Audience(id)
	if err != nil {
		t.Fatal(err)
	}
	if br.Excluded["daily_limit"] != 500 || br.Recipients != 1000 || br.Channels[0].OverDailyLimit != 500 ||
		!strings.HasPrefix(br.Summary, "Sending a total of 1,000 messages to 1,000 recipients") {
		t.Fatalf("the audience must forecast the tier: %+v", br)
	}

	w.send(id)
	w.drain(id)
	r := w.record(id)
	if r.GetInt("sent") != 1000 || r.GetInt("failed") != 500 || r.GetString("status") != broadcasts.StatusCompletedWithFailures {
		t.Fatalf("want 1000 sent, 500 failed, completed_with_failures; got %d, %d, %s", r.GetInt("sent"), r.GetInt("failed"), r.GetString("status"))
	}
	var fbr map[string]int
	json.Unmarshal([]byte(r.GetString("failed_by_reason")), &fbr)
	if fbr["daily_limit"] != 500 {
		t.Fatalf("failed_by_reason: %v", fbr)
	}
	if n := w.count(`SELECT COUNT(*) FROM messages WHERE source_id = {:id} AND error_detail LIKE 'daily limit reached%'`, dbx.Params{"id": id}); n != 500 {
		t.Fatalf("%d failures say \"daily limit reached\"", n)
	}
	if len(w.callsTo()) != 1000 {
		t.Fatalf("the provider must see 1,000 calls, saw %d", len(w.callsTo()))
	}
	assertTotals(t, w, id)
}

// assertTotals checks that a broadcast's counters add up exactly and match
// its messages.
func assertTotals(t *testing.T, w *world, id string) {
	t.Helper()
	r := w.record(id)
	excluded := 0
	for _, n := range w.excluded(id) {
		excluded += n
	}
	if r.GetInt("targeted") != excluded+r.GetInt("queued") {
		t.Fatalf("targeted %d != excluded %d + queued %d", r.GetInt("targeted"), excluded, r.GetInt("queued"))
	}
	if q := r.GetInt("queued"); q != r.GetInt("pending")+r.GetInt("sent")+r.GetInt("failed")+r.GetInt("unknown") {
		t.Fatalf("queued %d != pending %d + sent %d + failed %d + unknown %d", q, r.GetInt("pending"), r.GetInt("sent"), r.GetInt("failed"), r.GetInt("unknown"))
	}
	if n := w.count("SELECT COUNT(*) FROM messages WHERE source_id = {:id}", dbx.Params{"id": id}); n != r.GetInt("queued") {
		t.Fatalf("%d messages, queued says %d", n, r.GetInt("queued"))
	}
	if n := w.count("SELECT COUNT(DISTINCT contact) FROM messages WHERE source_id = {:id}", dbx.Params{"id": id}); n != r.GetInt("queued") {
		t.Fatalf("a contact got two messages of one broadcast: %d contacts, %d messages", n, r.GetInt("queued"))
	}
	if n := w.count("SELECT COUNT(*) FROM broadcast_exclusions WHERE broadcast = {:id}", dbx.Params{"id": id}); n != excluded {
		t.Fatalf("%d exclusion rows, excluded says %d", n, excluded)
	}
}

// A WhatsApp broadcast with text and a template: contacts whose window is
// open get the text, the others the template, decided when each message
// leaves; a text-only one leaves the closed windows out and says why.
func TestWindowDecidesTextOrTemplateAtSendTime(t *testing.T) {
	w := newWorld(t)
	wa := w.channel("WhatsApp", "whatsapp_cloud", map[string]any{"rate_per_second": 100000})
	seg := w.everyone("Toda la clientela")
	ps := w.people(4, 0)
	w.wrote(ps[0], "whatsapp", wa, epoch.Add(-time.Hour))
	w.wrote(ps[1], "whatsapp", wa, epoch.Add(-23*time.Hour))
	content := map[string]any{"whatsapp_cloud": map[string]any{"text": "Hola {{contact.first_name}}",
		"template": map[string]any{"name": "promo", "language": "es", "params": []string{"{{contact.first_name}}"}}}}
	id := w.broadcast(map[string]any{"name": "Mixta", "segment": seg, "channel_mode": "specific", "channel": wa, "content": content})
	w.send(id)
	w.step() // planned while both windows are open
	if r := w.record(id); r.GetInt("queued") != 4 {
		t.Fatalf("with a template everyone is reachable: queued %d, excluded %s", r.GetInt("queued"), r.GetString("excluded"))
	}
	// Two hours later, Persona 1's window (23 h old) has closed.
	w.clock.Advance(2 * time.Hour)
	w.drain(id)
	got := w.callsTo()
	want := map[string]string{"+525510000000": "text", "+525510000001": "template", "+525510000002": "template", "+525510000003": "template"}
	for to, typ := range want {
		if len(got[to]) != 1 || string(got[to][0].Type()) != typ {
			t.Fatalf("%s: want one %s, got %+v", to, typ, got[to])
		}
	}
	if got["+525510000000"][0].Text != "Hola Persona 0" || got["+525510000001"][0].Template.Params[0] != "Persona 1" {
		t.Fatalf("personalised: %+v", got)
	}

	textOnly := w.broadcast(map[string]any{"name": "Solo texto", "segment": seg, "channel_mode": "specific", "channel": wa,
		"content": map[string]any{"whatsapp_cloud": map[string]any{"text": "Hola"}}})
	w.send(textOnly)
	w.step()
	if ex := w.excluded(textOnly); ex["window_closed"] != 3 {
		t.Fatalf("a text-only WhatsApp broadcast leaves closed windows out as window_closed: %v", ex)
	}
}

// Pausing holds what is queued and stops planning; resuming plans the rest
// and sends; cancelling fails what is left; a paused broadcast never
// completes.
func TestPauseResumeCancelWhilePlanningAndSending(t *testing.T) {
	w := newWorld(t)
	w.env.Broadcasts = broadcasts.New(w.app, w.clock, w.env.Registry, w.env.Outbox, broadcasts.Options{ChunkRows: 3})
	wa := w.channel("WhatsApp", "whatsapp_cloud", nil)
	seg := w.everyone("Toda la clientela")
	w.people(10, 0)
	id := w.broadcast(map[string]any{"name": "Promo", "segment": seg, "channel_mode": "specific", "channel": wa, "content": templateContent})
	w.send(id)

	// Plan one chunk, then pause: the next chunk sees the pause in its own
	// transaction and plans nothing.
	w.planSome(id)
	if err := w.env.Broadcasts.Pause(id, "test"); err != nil {
		t.Fatal(err)
	}
	planned := w.record(id).GetInt("queued")
	if planned == 0 || planned == 10 {
		t.Fatalf("the test needs a pause in the middle of planning; %d planned", planned)
	}
	w.step()
	if r := w.record(id); r.GetInt("queued") != planned || r.GetString("status") != broadcasts.StatusPaused {
		t.Fatalf("a paused broadcast must not plan on: queued %d → %d, status %s", planned, r.GetInt("queued"), r.GetString("status"))
	}
	if n := w.count("SELECT COUNT(*) FROM messages WHERE source_id = {:id} AND status = 'held'", dbx.Params{"id": id}); n != planned {
		t.Fatalf("paused: %d held of %d planned", n, planned)
	}
	if err := w.env.Broadcasts.Pause(id, "test"); err == nil {
		t.Fatal("pausing a paused broadcast must be refused")
	}

	if err := w.env.Broadcasts.Resume(id, "test"); err != nil {
		t.Fatal(err)
	}
	w.drain(id)
	if r := w.record(id); r.GetInt("sent") != 10 || r.GetString("status") != broadcasts.StatusCompleted {
		t.Fatalf("after resume: sent %d status %s", r.GetInt("sent"), r.GetString("status"))
	}
	assertTotals(t, w, id)

	// Cancel a second one mid-plan: what was queued fails "cancelled".
	id2 := w.broadcast(map[string]any{"name": "Promo 2", "segment": seg, "channel_mode": "specific", "channel": wa, "content": templateContent})
	w.send(id2)
	w.env.Outbox.Stop(context.Background())
	w.planSome(id2)
	if err := w.env.Broadcasts.Cancel(id2, "test"); err != nil {
		t.Fatal(err)
	}
	w.step()
	r := w.record(id2)
	if r.GetString("status") != broadcasts.StatusCancelled || r.GetInt("failed") != r.GetInt("queued") || r.GetInt("pending") != 0 {
		t.Fatalf("cancelled: status %s failed %d queued %d pending %d", r.GetString("status"), r.GetInt("failed"), r.GetInt("queued"), r.GetInt("pending"))
	}
	if err := w.env.Broadcasts.Resume(id2, "test"); err == nil {
		t.Fatal("a cancelled broadcast must not resume")
	}
	assertTotals(t, w, id2)
}

// planSome plans one chunk of broadcast id: Plan stops after the first
// chunk when its context is already done.
func (w *world) planSome(id string) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.env.Broadcasts.Plan(ctx, id); err != nil {
		w.t.Fatal(err)
	}
}

// A broadcast with its own rate spreads its messages over time from when
// planning starts.
func TestOwnRatePacesThePlannedMessages(t *testing.T) {
	w := newWorld(t)
	wa := w.channel("WhatsApp", "whatsapp_cloud", nil)
	seg := w.everyone("Toda la clientela")
	w.people(5, 0)
	id := w.broadcast(map[string]any{"name": "Lenta", "segment": seg, "channel_mode": "specific", "channel": wa,
		"content": templateContent, "rate_count": 2, "rate_unit": "minute"})
	w.send(id)
	w.step()
	var due []string
	w.app.DB().NewQuery("SELECT next_attempt_at FROM messages WHERE source_id = {:id} ORDER BY next_attempt_at").
		Bind(dbx.Params{"id": id}).Column(&due)
	want := []string{"10:00:00.000", "10:00:30.000", "10:01:00.000", "10:01:30.000", "10:02:00.000"}
	for i, d := range due {
		if !strings.Contains(d, want[i]) {
			t.Fatalf("2 per minute from 10:00: got %v", due)
		}
	}
}

// Scheduled broadcasts start when their time comes (in the zone chosen),
// after a restart too: the schedule is in the database.
func TestScheduleStartsAtItsTime(t *testing.T) {
	w := newWorld(t)
	wa := w.channel("WhatsApp", "whatsapp_cloud", nil)
	seg := w.everyone("Toda la clientela")
	w.people(2, 0)
	id := w.broadcast(map[string]any{"name": "Mañana", "segment": seg, "channel_mode": "specific", "channel": wa, "content": templateContent})
	at, err := broadcasts.ParseSchedule("2026-03-02T09:00", "America/Lima") // 14:00 UTC
	if err != nil {
		t.Fatal(err)
	}
	if err := w.env.Broadcasts.Send(id, at, "America/Lima", "test"); err != nil {
		t.Fatal(err)
	}
	if r := w.record(id); r.GetString("status") != broadcasts.StatusScheduled || r.GetString("timezone") != "America/Lima" ||
		!strings.HasPrefix(r.GetString("scheduled_at"), "2026-03-02 14:00:00") {
		t.Fatalf("scheduled: %s %s %s", r.GetString("status"), r.GetString("scheduled_at"), r.GetString("timezone"))
	}
	w.step()
	if w.record(id).GetString("status") != broadcasts.StatusScheduled {
		t.Fatal("started before its time")
	}
	// A new engine (a restarted process) finds it and starts it on time.
	eng := broadcasts.New(w.app, w.clock, w.env.Registry, w.env.Outbox, broadcasts.Options{})
	w.clock.Set(time.Date(2026, 3, 2, 14, 0, 1, 0, time.UTC))
	eng.Step(context.Background())
	if r := w.record(id); r.GetString("status") != broadcasts.StatusSending || r.GetInt("queued") != 2 {
		t.Fatalf("at 14:00 UTC it must be sending: %s, queued %d", r.GetString("status"), r.GetInt("queued"))
	}
	if err := w.env.Broadcasts.Send(id, at, "", "test"); err == nil {
		t.Fatal("a sending broadcast cannot be sent again")
	}
}

// The seed's broadcast errors.
func TestSeedErrorsEndTheBroadcastAsFailed(t *testing.T) {
	w := newWorld(t)
	wa := w.channel("WhatsApp", "whatsapp_cloud", nil)
	nobody := w.segment("Nadie", `{"groups":[{"conditions":[{"category":"tag","operator":"has_any","value":["no-existe"]}]}]}`)
	id := w.broadcast(map[string]any{"name": "Vacía", "segment": nobody, "channel_mode": "specific", "channel": wa, "content": templateContent})
	w.send(id)
	w.step()
	if r := w.record(id); r.GetString("status") != broadcasts.StatusFailed || r.GetString("error") != broadcasts.ErrSegmentEmpty {
		t.Fatalf("empty segment: %s %q", r.GetString("status"), r.GetString("error"))
	}

	gone := w.everyone("Se va")
	w.people(1, 0)
	id2 := w.broadcast(map[string]any{"name": "Huérfana", "segment": gone, "channel_mode": "specific", "channel": wa, "content": templateContent})
	at := epoch.Add(time.Hour)
	if err := w.env.Broadcasts.Send(id2, at, "UTC", "test"); err != nil {
		t.Fatal(err)
	}
	// The segments area refuses to delete a segment a scheduled broadcast
	// uses; one paused before its time does not hold it.
	if err := w.env.Broadcasts.Pause(id2, "test"); err != nil {
		t.Fatal(err)
	}
	seg, _ := w.app.FindRecordById("segments", gone)
	if err := w.app.Delete(seg); err != nil {
		t.Fatal(err)
	}
	if err := w.env.Broadcasts.Resume(id2, "test"); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(2 * time.Hour)
	w.step()
	if r := w.record(id2); r.GetString("status") != broadcasts.StatusFailed || !strings.HasPrefix(r.GetString("error"), broadcasts.ErrSegmentNotFound) {
		t.Fatalf("deleted segment: %s %q", r.GetString("status"), r.GetString("error"))
	}
}

// Planning tells apart what a person must fix from what passes: a channel
// gone ends the broadcast with the reason, while a read that fails for
// another cause (here the channels table briefly unreadable, as a busy or
// broken database would be) is returned and leaves the broadcast sending,
// so the next step plans it.
func TestPlanFailsOnlyOnWhatAPersonMustFix(t *testing.T) {
	w := newWorld(t)
	wa := w.channel("WhatsApp", "whatsapp_cloud", nil)
	seg := w.everyone("Toda la clientela")
	w.people(3, 0)
	ctx := context.Background()

	id := w.broadcast(map[string]any{"name": "Reintenta", "segment": seg, "channel_mode": "specific", "channel": wa, "content": templateContent})
	w.send(id)
	w.exec("ALTER TABLE channels RENAME TO channels_away", nil)
	err := w.env.Broadcasts.Plan(ctx, id)
	w.exec("ALTER TABLE channels_away RENAME TO channels", nil)
	if err == nil {
		t.Fatal("a failed read must be returned to be retried")
	}
	if r := w.record(id); r.GetString("status") != broadcasts.StatusSending || r.GetString("error") != "" {
		t.Fatalf("a failed read must not end the broadcast: %s %q", r.GetString("status"), r.GetString("error"))
	}
	if err := w.env.Broadcasts.Plan(ctx, id); err != nil {
		t.Fatal(err)
	}
	if r := w.record(id); !r.GetBool("plan_done") || r.GetInt("queued") != 3 {
		t.Fatalf("the retry must plan: done %v queued %d", r.GetBool("plan_done"), r.GetInt("queued"))
	}

	id2 := w.broadcast(map[string]any{"name": "Sin canal", "segment": seg, "channel_mode": "specific", "channel": wa, "content": templateContent})
	w.send(id2)
	w.exec("UPDATE broadcasts SET channel = 'gone00000000000' WHERE id = {:id}", dbx.Params{"id": id2})
	if err := w.env.Broadcasts.Plan(ctx, id2); err != nil {
		t.Fatalf("what a person must fix ends the broadcast, it is not an error to retry: %v", err)
	}
	if r := w.record(id2); r.GetString("status") != broadcasts.StatusFailed || !strings.Contains(r.GetString("error"), "channel no longer exists") {
		t.Fatalf("channel gone: %s %q", r.GetString("status"), r.GetString("error"))
	}
}

// A reply on the broadcast's channel within the workspace's reply window
// counts once per contact and appends broadcast.replied; replies outside
// the window or on another channel do not.
func TestRepliesWithinTheWindowCountOnce(t *testing.T) {
	w := newWorld(t)
	wa := w.channel("WhatsApp", "whatsapp_cloud", map[string]any{"rate_per_second": 100000})
	tg := w.channel("Telegram", "telegram", nil)
	seg := w.everyone("Toda la clientela")
	ps := w.people(3, 0)
	id := w.broadcast(map[string]any{"name": "Promo", "segment": seg, "channel_mode": "specific", "channel": wa, "content": templateContent})
	w.send(id)
	w.drain(id)

	reply := func(contact, channel string, at time.Time) {
		err := w.app.RunInTransaction(func(tx core.App) error {
			return events.Append(tx, events.Event{Type: "message.received", Contact: contact, Subject: core.GenerateDefaultRandomId(),
				Actor: "webhook:" + channel, Payload: map[string]any{"channel": channel, "at": at.Format("2006-01-02 15:04:05.000Z")}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	reply(ps[0], wa, epoch.Add(time.Hour))    // counts
	reply(ps[0], wa, epoch.Add(2*time.Hour))  // same contact again: once
	reply(ps[1], tg, epoch.Add(time.Hour))    // another channel
	reply(ps[2], wa, epoch.Add(80*time.Hour)) // after the 72 h window
	reply(ps[2], wa, epoch.Add(-time.Hour))   // before the broadcast
	w.step()
	if err := w.env.Broadcasts.RefreshActive(true); err != nil {
		t.Fatal(err)
	}
	if r := w.record(id); r.GetInt("replied") != 1 {
		t.Fatalf("replied %d, want 1", r.GetInt("replied"))
	}
	var evs []events.Row
	w.app.DB().NewQuery("SELECT " + events.RowColumns + " FROM events WHERE type = 'broadcast.replied'").All(&evs)
	if len(evs) != 1 || evs[0].Contact != ps[0] || evs[0].Subject != id {
		t.Fatalf("broadcast.replied events: %+v", evs)
	}
	// Read twice, counted once: the cursor moved on.
	w.step()
	if r := w.record(id); r.GetInt("replied") != 1 {
		t.Fatalf("replied after a second read: %d", r.GetInt("replied"))
	}
}

// A resend goes to the retryable failures only (daily limit reached), as a
// new broadcast linked to the first; include_permanent adds the others;
// opted-out contacts never get it.
func TestResendRetriesRetryableFailuresAsALinkedBroadcast(t *testing.T) {
	w := newWorld(t)
	wa := w.channel("WhatsApp", "whatsapp_cloud", map[string]any{"daily_limit": 3, "rate_per_second": 100000})
	seg := w.everyone("Toda la clientela")
	ps := w.people(6, 0)
	id := w.broadcast(map[string]any{"name": "Promo", "segment": seg, "channel_mode": "specific", "channel": wa, "content": templateContent})
	w.send(id)
	w.drain(id)
	if r := w.record(id); r.GetInt("sent") != 3 || r.GetInt("failed") != 3 {
		t.Fatalf("tier of 3: sent %d failed %d", r.GetInt("sent"), r.GetInt("failed"))
	}
	// One of the failed ones failed permanently; another opted out since.
	var failed []string
	w.app.DB().NewQuery("SELECT contact FROM messages WHERE source_id = {:id} AND status = 'failed' ORDER BY contact").
		Bind(dbx.Params{"id": id}).Column(&failed)
	w.exec("UPDATE messages SET error_code = '131026', error_class = 'permanent' WHERE source_id = {:id} AND contact = {:c}",
		dbx.Params{"id": id, "c": failed[0]})
	w.exec("UPDATE contact_identities SET consent = 'opted_out' WHERE contact = {:c}", dbx.Params{"c": failed[1]})
	// A message whose outcome is unknown (in flight at a crash) may have
	// arrived: it is never resent, even with a retryable code.
	var inFlight string
	w.app.DB().NewQuery("SELECT contact FROM messages WHERE source_id = {:id} AND status = 'sent' ORDER BY contact LIMIT 1").
		Bind(dbx.Params{"id": id}).Row(&inFlight)
	w.exec("UPDATE messages SET status = 'unknown', error_code = 'daily_limit', error_class = 'retry' WHERE source_id = {:id} AND contact = {:c}",
		dbx.Params{"id": id, "c": inFlight})
	_ = ps

	if _, err := w.env.Broadcasts.Resend(ps[0], false, "test", ""); err == nil {
		t.Fatal("resending an unknown broadcast must fail")
	}
	// A day later the tier has room again.
	w.clock.Advance(25 * time.Hour)
	rid, err := w.env.Broadcasts.Resend(id, false, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	w.drain(rid)
	r := w.record(rid)
	if r.GetString("name") != "Promo (reenvío)" {
		t.Fatalf("a resend in a Spanish workspace is named %q, want \"Promo (reenvío)\"", r.GetString("name"))
	}
	if r.GetString("resend_of") != id || r.GetInt("targeted") != 2 || r.GetInt("sent") != 1 || w.excluded(rid)["opted_out"] != 1 {
		t.Fatalf("resend: resend_of %s targeted %d sent %d excluded %s", r.GetString("resend_of"), r.GetInt("targeted"), r.GetInt("sent"), r.GetString("excluded"))
	}
	if o := w.record(id); o.GetInt("sent") != 3 {
		t.Fatalf("the original's counters must not change: sent %d", o.GetInt("sent"))
	}
	var toUnknown int
	w.app.DB().NewQuery("SELECT COUNT(*) FROM messages WHERE source_id = {:r} AND contact = {:c}").
		Bind(dbx.Params{"r": rid, "c": inFlight}).Row(&toUnknown)
	if toUnknown != 0 {
		t.Fatal("a message whose outcome is unknown must not be resent")
	}

	// With include_permanent the permanent failure is tried too, but not
	// the contact the first resend already reached.
	w.exec("UPDATE settings SET language = 'en'", nil)
	rid2, err := w.env.Broadcasts.Resend(id, true, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	if n := w.record(rid2).GetString("name"); n != "Promo (resend)" {
		t.Fatalf("a resend in an English workspace is named %q, want \"Promo (resend)\"", n)
	}
	w.drain(rid2)
	if r := w.record(rid2); r.GetInt("targeted") != 2 || r.GetInt("sent") != 1 || w.excluded(rid2)["opted_out"] != 1 {
		t.Fatalf("resend with permanent: targeted %d sent %d excluded %s", r.GetInt("targeted"), r.GetInt("sent"), r.GetString("excluded"))
	}
	for to, got := range w.callsTo() {
		if len(got) > 1 {
			t.Fatalf("%s got %d messages of one promotion", to, len(got))
		}
	}
}

// While a resend is still sending, another resend of the same broadcast is
// refused: it could not yet tell whom the first one covers. Once it has
// finished, a second click finds nobody left: the failures it retried (sent
// or failed again) belong to that resend now.
func TestResendIsRefusedWhileSendingAndCoversItsRecipientsOnce(t *testing.T) {
	w := newWorld(t)
	wa := w.channel("WhatsApp", "whatsapp_cloud", map[string]any{"daily_limit": 1, "rate_per_second": 100000})
	seg := w.everyone("Toda la clientela")
	w.people(3, 0)
	id := w.broadcast(map[string]any{"name": "Promo", "segment": seg, "channel_mode": "specific", "channel": wa, "content": templateContent})
	w.send(id)
	w.drain(id)
	w.clock.Advance(25 * time.Hour)
	if _, err := w.env.Broadcasts.Resend(id, false, "test", ""); err != nil {
		t.Fatal(err)
	}
	_, err := w.env.Broadcasts.Resend(id, false, "test", "")
	var se *broadcasts.StateError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "is already being resent") {
		t.Fatalf("a resend while the first is sending: %v", err)
	}
	var rid string
	w.app.DB().NewQuery("SELECT id FROM broadcasts WHERE resend_of = {:id}").Bind(dbx.Params{"id": id}).Row(&rid)
	w.drain(rid)
	_, err = w.env.Broadcasts.Resend(id, true, "test", "")
	var fe *broadcasts.FieldError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "(2) was already sent to again by an earlier resend") {
		t.Fatalf("a second resend after the first finished: %v", err)
	}
	for to, got := range w.callsTo() {
		if len(got) > 1 {
			t.Fatalf("%s got %d messages of one promotion", to, len(got))
		}
	}
}

// Preview renders exactly what the planner writes into the message row.
func TestPreviewIsWhatIsSent(t *testing.T) {
	w := newWorld(t)
	wa := w.channel("WhatsApp", "whatsapp_cloud", nil)
	tg := w.channel("Telegram", "telegram", nil)
	field := w.save("contact_fields", map[string]any{"key": "puntos", "label": "Puntos", "type": "number"})
	_ = field
	w.save("contact_fields", map[string]any{"key": "cumple", "label": "Cumpleaños", "type": "date"})
	w.save("contact_fields", map[string]any{"key": "vip", "label": "VIP", "type": "boolean"})
	seg := w.everyone("Toda la clientela")
	ana := w.contact(map[string]any{"first_name": "Ana", "last_name": "Quispe", "phone": "+51987654321",
		"fields": map[string]any{"puntos": 120.5, "cumple": "1990-03-31", "vip": true}})
	w.wrote(ana, "whatsapp", wa, epoch.Add(-time.Hour))
	luis := w.contact(map[string]any{"first_name": "Luis"})
	w.save("contact_identities", map[string]any{"contact": luis, "kind": "telegram", "identifier": "3527065"})
	w.wrote(luis, "telegram", tg, epoch.Add(-time.Hour))
	content := map[string]any{
		"whatsapp_cloud": map[string]any{"text": `Hola {{contact.name}} "<&>": {{contact.fields.puntos}} puntos, cumple {{contact.fields.cumple}}, vip {{contact.fields.vip}}`,
			"template": map[string]any{"name": "puntos", "language": "es", "params": []string{"{{contact.first_name}}", "{{contact.fields.puntos|0}}"}}},
		"telegram": map[string]any{"media": map[string]any{"url": "https://tienda.mx/p.jpg", "caption": "Para ti, {{ contact.first_name | amigo }}"}},
	}
	id := w.broadcast(map[string]any{"name": "Puntos", "segment": seg, "channel_mode": "last_interacted",
		"channel_types": []string{"whatsapp_cloud", "telegram"}, "content": content})
	previews := map[string]*broadcasts.Preview{}
	for _, c := range []string{ana, luis} {
		pv, err := w.env.Broadcasts.Preview(id, c)
		if err != nil {
			t.Fatal(err)
		}
		previews[c] = pv
	}
	var sc outbox.StoredContent
	json.Unmarshal(previews[ana].Content, &sc)
	if sc.Text != `Hola Ana Quispe "<&>": 120.5 puntos, cumple 31/03/1990, vip sí` || sc.OutsideWindow.Template.Params[1] != "120.5" {
		t.Fatalf("rendered for Ana: %s", previews[ana].Content)
	}
	if previews[ana].Sends.Type() != channels.ContentText || *previews[ana].Identity.WindowOpen != true {
		t.Fatalf("Ana's window is open: the text goes: %+v", previews[ana].Sends)
	}
	if previews[luis].Sends.Media.Caption != "Para ti, Luis" || previews[luis].Channel.ID != tg {
		t.Fatalf("Luis on Telegram: %+v", previews[luis])
	}

	w.send(id)
	w.step()
	for c, pv := range previews {
		var stored string
		w.app.DB().NewQuery("SELECT content FROM messages WHERE source_id = {:id} AND contact = {:c}").
			Bind(dbx.Params{"id": id, "c": c}).Row(&stored)
		if stored != string(pv.Content) {
			t.Fatalf("preview and message differ for %s:\npreview %s\nsent    %s", c, pv.Content, stored)
		}
	}
}

// A process that dies between planning chunks (each chunk commits its
// messages, exclusions and counts with the cursor, or nothing) resumes at
// the cursor after a restart: nobody is planned twice or forgotten.
func TestPlanningResumesAfterARestart(t *testing.T) {
	w := newWorld(t)
	w.env.Broadcasts = broadcasts.New(w.app, w.clock, w.env.Registry, w.env.Outbox, broadcasts.Options{ChunkRows: 4})
	wa := w.channel("WhatsApp", "whatsapp_cloud", nil)
	seg := w.everyone("Toda la clientela")
	w.people(9, 0)
	w.contact(map[string]any{"first_name": "Sin teléfono"})
	id := w.broadcast(map[string]any{"name": "Promo", "segment": seg, "channel_mode": "specific", "channel": wa, "content": templateContent})
	w.send(id)
	w.planSome(id)
	if r := w.record(id); r.GetBool("plan_done") || r.GetInt("plan_cursor") == 0 {
		t.Fatalf("the test needs planning cut half-way: cursor %d done %v", r.GetInt("plan_cursor"), r.GetBool("plan_done"))
	}
	restarted := broadcasts.New(w.app, w.clock, w.env.Registry, w.env.Outbox, broadcasts.Options{ChunkRows: 4})
	if err := restarted.Start(); err != nil {
		t.Fatal(err)
	}
	restarted.Stop()
	restarted.Step(context.Background())
	if r := w.record(id); !r.GetBool("plan_done") || r.GetInt("targeted") != 10 || r.GetInt("queued") != 9 {
		t.Fatalf("after the restart: done %v targeted %d queued %d", r.GetBool("plan_done"), r.GetInt("targeted"), r.GetInt("queued"))
	}
	assertTotals(t, w, id)
}

// The preview and the test send leave a duplicate out exactly as the
// audience does: the seed walk found the audience counting Ana's second
// contact as duplicate_identity while its preview promised it the message
// and a test send went out to it.
func TestPreviewAndTestSendLeaveDuplicatesOut(t *testing.T) {
	w := newWorld(t)
	wa := w.channel("WhatsApp", "whatsapp_cloud", nil)
	older := w.contact(map[string]any{"first_name": "Ana", "phone": "+525512345678", "email": "ana@correo.mx"})
	w.wrote(older, "whatsapp", wa, epoch.Add(-time.Hour))
	younger := w.contact(map[string]any{"first_name": "Ana Duplicada", "phone": "+525588889999", "email": "ANA@correo.mx"})
	w.wrote(younger, "whatsapp", wa, epoch.Add(-time.Hour))
	id := w.broadcast(map[string]any{"name": "Promo Buen Fin", "segment": w.everyone("Toda la clientela"), "channel_mode": "specific", "channel": wa,
		"content": map[string]any{"whatsapp_cloud": map[string]any{"text": "Hola {{contact.first_name|cliente}}"}}})

	br, err := w.env.Broadcasts.Audience(id)
	if err != nil {
		t.Fatal(err)
	}
	if br.Excluded["duplicate_identity"] != 1 || br.Recipients != 1 {
		t.Fatalf("audience: %+v", br)
	}
	pv, err := w.env.Broadcasts.Preview(id, younger)
	if err != nil {
		t.Fatal(err)
	}
	if pv.Excluded == nil || pv.Excluded.Code != "duplicate_identity" {
		t.Fatalf("preview of the younger duplicate: excluded %+v, want duplicate_identity", pv.Excluded)
	}
	if pv, err := w.env.Broadcasts.Preview(id, older); err != nil || pv.Excluded != nil {
		t.Fatalf("preview of the older contact: %+v, %v; want it to get the message", pv, err)
	}
	if _, err := w.env.Broadcasts.TestSend(id, younger); err == nil || !strings.Contains(err.Error(), "same phone or e-mail") {
		t.Fatalf("test send to the duplicate: %v, want a refusal naming the reason", err)
	}
	if _, err := w.env.Broadcasts.TestSend(id, older); err != nil {
		t.Fatalf("test send to the older contact: %v", err)
	}
}

// The audience breakdown speaks the seed's Spanish too ("Enviando un total
// de N mensajes a M destinatarios"), beside the English, and a rate of one
// reads "1 message per second", not "1 messages".
func TestAudienceSummaryInSpanish(t *testing.T) {
	w := newWorld(t)
	sms := w.channel("SMS Twilio", "twilio_sms", map[string]any{"rate_per_second": 1})
	w.people(2, 0)
	w.contact(map[string]any{"first_name": "Eva", "email": "eva@correo.mx"}) // no phone: no SMS identity
	id := w.broadcast(map[string]any{"name": "Promo Buen Fin", "segment": w.everyone("Toda la clientela"), "channel_mode": "specific", "channel": sms,
		"content": map[string]any{"twilio_sms": map[string]any{"text": "Hola {{contact.first_name|cliente}}"}}})
	br, err := w.env.Broadcasts.Audience(id)
	if err != nil {
		t.Fatal(err)
	}
	en := `Sending a total of 2 messages to 2 recipients; 1 of the 3 contacts in the audience is left out; it will take less than a minute, limited by channel "SMS Twilio" at 1 message per second`
	es := `Enviando un total de 2 mensajes a 2 destinatarios; 1 de 3 contactos de la audiencia queda fuera; tardará menos de un minuto, limitada por el canal "SMS Twilio", a 1 mensaje por segundo`
	if br.Summary != en || br.SummaryES != es {
		t.Fatalf("summary:\n got %s\nwant %s\nsummary_es:\n got %s\nwant %s", br.Summary, en, br.SummaryES, es)
	}

	w.exec("UPDATE broadcasts SET rate_count = 1, rate_unit = 'hour' WHERE id = {:id}", dbx.Params{"id": id})
	if br, err = w.env.Broadcasts.Audience(id); err != nil {
		t.Fatal(err)
	}
	if want := "tardará unas 2 horas 0 minutos, limitada por la velocidad de envío de la propia transmisión"; !strings.HasSuffix(br.SummaryES, want) {
		t.Fatalf("summary_es %q, want it to end %q", br.SummaryES, want)
	}
}
