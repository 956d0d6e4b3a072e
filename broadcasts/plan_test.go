package broadcasts_test

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"

	"pregon/broadcasts"
	"pregon/outbox"
)

// Every exclusion reason of a specific-channel broadcast, counted once per
// contact in the planning pass, each left-out contact recorded with its
// reason, and one outbox row per recipient with its content rendered.
func TestPlanCountsEveryExclusionAndQueuesTheRest(t *testing.T) {
	w := newWorld(t)
	wa := w.channel("WhatsApp ventas", "whatsapp_cloud", nil)
	hourAgo := epoch.Add(-time.Hour)

	ana := w.contact(map[string]any{"first_name": "Ana", "phone": "+525512345001"})
	w.wrote(ana, "whatsapp", wa, hourAgo)
	nameless := w.contact(map[string]any{"phone": "+525512345002"})
	w.wrote(nameless, "whatsapp", wa, hourAgo)
	closed := w.contact(map[string]any{"first_name": "Luis", "phone": "+525512345003"}) // never wrote
	out := w.contact(map[string]any{"first_name": "Olga", "phone": "+525512345004"})
	w.wrote(out, "whatsapp", wa, hourAgo)
	w.exec("UPDATE contact_identities SET consent = 'opted_out' WHERE contact = {:c}", dbx.Params{"c": out})
	w.contact(map[string]any{"first_name": "Nadie"}) // no identity at all
	bad := w.contact(map[string]any{"first_name": "Bad"})
	w.exec(`INSERT INTO contact_identities (id, contact, kind, identifier, last_inbound_at, created, updated)
		VALUES ('badidentity0001', {:c}, 'whatsapp', '+52 55 1234', {:t}, '', '')`,
		dbx.Params{"c": bad, "t": hourAgo.Format("2006-01-02 15:04:05.000Z")})
	// Two contacts for one person (same e-mail): the older one gets it.
	older := w.contact(map[string]any{"first_name": "Eva", "phone": "+525512345005", "email": "eva@tienda.mx"})
	w.wrote(older, "whatsapp", wa, hourAgo)
	younger := w.contact(map[string]any{"first_name": "Eva M.", "phone": "+525512345006", "email": "eva@tienda.mx"})
	w.wrote(younger, "whatsapp", wa, hourAgo)

	seg := w.everyone("Toda la clientela")
	id := w.broadcast(map[string]any{"name": "Promo", "segment": seg, "channel_mode": "specific", "channel": wa,
		"content": map[string]any{"whatsapp_cloud": map[string]any{"text": "Hola {{contact.first_name|cliente}}, 20% hoy"}}})
	if err := w.env.Broadcasts.Send(id, time.Time{}, "", "test"); err != nil {
		t.Fatal(err)
	}
	w.step()

	r := w.record(id)
	if r.GetString("status") != broadcasts.StatusSending || !r.GetBool("plan_done") {
		t.Fatalf("after planning: status %s, plan_done %v, error %q", r.GetString("status"), r.GetBool("plan_done"), r.GetString("error"))
	}
	want := map[string]int{"window_closed": 1, "opted_out": 1, "no_identity": 1, "invalid_identifier": 1, "duplicate_identity": 1}
	if got := w.excluded(id); !maps.Equal(got, want) {
		t.Fatalf("excluded: got %v, want %v", got, want)
	}
	if r.GetInt("targeted") != 8 || r.GetInt("queued") != 3 || r.GetInt("pending") != 3 {
		t.Fatalf("targeted %d queued %d pending %d; want 8, 3, 3", r.GetInt("targeted"), r.GetInt("queued"), r.GetInt("pending"))
	}
	for contact, reason := range map[string]string{closed: "window_closed", out: "opted_out", bad: "invalid_identifier", younger: "duplicate_identity"} {
		if n := w.count("SELECT COUNT(*) FROM broadcast_exclusions WHERE broadcast = {:b} AND contact = {:c} AND reason = {:r}",
			dbx.Params{"b": id, "c": contact, "r": reason}); n != 1 {
			t.Errorf("contact %s must be recorded as left out for %s", contact, reason)
		}
	}

	texts := map[string]string{}
	var rows []struct {
		Contact  string `db:"contact"`
		Content  string `db:"content"`
		Dedupe   string `db:"dedupe_key"`
		Status   string `db:"status"`
		Priority int    `db:"priority"`
		Source   string `db:"source"`
	}
	if err := w.app.DB().NewQuery("SELECT contact, content, dedupe_key, status, priority, source FROM messages WHERE source_id = {:b}").
		Bind(dbx.Params{"b": id}).All(&rows); err != nil {
		t.Fatal(err)
	}
	for _, m := range rows {
		var sc outbox.StoredContent
		if err := json.Unmarshal([]byte(m.Content), &sc); err != nil {
			t.Fatalf("content %s: %v", m.Content, err)
		}
		texts[m.Contact] = sc.Text
		if m.Dedupe != "b:"+id+":"+m.Contact || m.Status != "queued" || m.Priority != 10 || m.Source != "broadcast" {
			t.Fatalf("outbox row: %+v", m)
		}
	}
	if texts[ana] != "Hola Ana, 20% hoy" || texts[nameless] != "Hola cliente, 20% hoy" || texts[older] != "Hola Eva, 20% hoy" || len(texts) != 3 {
		t.Fatalf("rendered texts: %v", texts)
	}
}

// Last-interacted mode: each contact gets the message on the channel they
// last wrote on, with that type's content; contacts who never wrote, or
// last wrote on a deselected type, are left out with their own reasons. The
// workspace's explicit opt-in and the broadcast's "only contacts who
// interacted with this channel" leave out who they must.
func TestLastInteractedModeAndConsentRules(t *testing.T) {
	w := newWorld(t)
	wa := w.channel("WhatsApp", "whatsapp_cloud", nil)
	tg := w.channel("Telegram", "telegram", nil)
	sms := w.channel("SMS", "twilio_sms", nil)
	hourAgo := epoch.Add(-time.Hour)
	onWA := w.contact(map[string]any{"first_name": "Ana", "phone": "+525512340001"})
	w.wrote(onWA, "whatsapp", wa, hourAgo)
	onTG := w.contact(map[string]any{"first_name": "Beto"})
	w.save("contact_identities", map[string]any{"contact": onTG, "kind": "telegram", "identifier": "3527065"})
	w.wrote(onTG, "telegram", tg, hourAgo)
	onSMS := w.contact(map[string]any{"first_name": "Caro", "phone": "+525512340003"})
	w.wrote(onSMS, "sms", sms, hourAgo)
	never := w.contact(map[string]any{"first_name": "Dora", "phone": "+525512340004"})
	seg := w.everyone("Toda la clientela")
	content := map[string]any{
		"whatsapp_cloud": map[string]any{"text": "Hola {{contact.first_name}} por WhatsApp"},
		"telegram":       map[string]any{"text": "Hola {{contact.first_name}} por Telegram"},
	}
	id := w.broadcast(map[string]any{"name": "Última", "segment": seg, "channel_mode": "last_interacted",
		"channel_types": []string{"whatsapp_cloud", "telegram"}, "content": content})
	w.send(id)
	w.step()
	if got, want := w.excluded(id), map[string]int{"no_last_channel": 1, "channel_not_selected": 1}; !maps.Equal(got, want) {
		t.Fatalf("excluded %v, want %v", got, want)
	}
	var rows []struct {
		Contact string `db:"contact"`
		Channel string `db:"channel"`
		Text    string `db:"text"`
	}
	w.app.DB().NewQuery("SELECT contact, channel, json_extract(content, '$.text') AS text FROM messages WHERE source_id = {:id} ORDER BY text").
		Bind(dbx.Params{"id": id}).All(&rows)
	if len(rows) != 2 || rows[0].Contact != onWA || rows[0].Channel != wa || rows[0].Text != "Hola Ana por WhatsApp" ||
		rows[1].Contact != onTG || rows[1].Channel != tg || rows[1].Text != "Hola Beto por Telegram" {
		t.Fatalf("messages: %+v", rows)
	}
	for c, reason := range map[string]string{never: "no_last_channel", onSMS: "channel_not_selected"} {
		if w.count("SELECT COUNT(*) FROM broadcast_exclusions WHERE broadcast = {:b} AND contact = {:c} AND reason = {:r}",
			dbx.Params{"b": id, "c": c, "r": reason}) != 1 {
			t.Fatalf("%s must be left out as %s", c, reason)
		}
	}

	// No types selected: every type that can broadcast is, as in the seed;
	// SMS has no content, which is named.
	all := w.broadcast(map[string]any{"name": "Todas", "segment": seg, "channel_mode": "last_interacted", "content": content})
	if err := w.env.Broadcasts.Send(all, time.Time{}, "", "test"); err == nil || !strings.Contains(err.Error(), "content.twilio_sms is missing") {
		t.Fatalf("default types need content for SMS too: %v", err)
	}

	// Explicit opt-in required, and only contacts who wrote on this channel.
	w.exec("UPDATE settings SET require_opt_in = TRUE", nil)
	w.exec("UPDATE contact_identities SET consent = 'opted_in', consent_source = 'form' WHERE contact = {:c} AND kind = 'whatsapp'", dbx.Params{"c": never})
	specific := w.broadcast(map[string]any{"name": "Opt-in", "segment": seg, "channel_mode": "specific", "channel": wa,
		"only_previously_interacted": true, "content": templateContent})
	w.send(specific)
	w.step()
	if got, want := w.excluded(specific), map[string]int{"not_opted_in": 2, "no_identity": 1, "not_previously_interacted": 1}; !maps.Equal(got, want) {
		t.Fatalf("excluded %v, want %v", got, want)
	}
}

// A chunk's messages are queued by a statement of their own, before the
// transaction that records the chunk's exclusions, counts and cursor. A crash
// between the two plans the chunk again: nobody is queued twice, and every
// contact is counted once.
func TestChunkPlannedAgainAfterACrashCountsOnce(t *testing.T) {
	w := newWorld(t)
	wa := w.channel("WhatsApp", "whatsapp_cloud", nil)
	hourAgo := epoch.Add(-time.Hour)
	for i, name := range []string{"Ana", "Beto", "Caro"} {
		c := w.contact(map[string]any{"first_name": name, "phone": "+52551234700" + string(rune('1'+i))})
		w.wrote(c, "whatsapp", wa, hourAgo)
	}
	out := w.contact(map[string]any{"first_name": "Olga", "phone": "+525512347009"})
	w.wrote(out, "whatsapp", wa, hourAgo)
	w.exec("UPDATE contact_identities SET consent = 'opted_out' WHERE contact = {:c}", dbx.Params{"c": out})
	id := w.broadcast(map[string]any{"name": "Promo", "segment": w.everyone("Toda la clientela"), "channel_mode": "specific",
		"channel": wa, "content": map[string]any{"whatsapp_cloud": map[string]any{"text": "Hola {{contact.first_name}}"}}})
	w.send(id)
	w.step()

	// What a crash after the messages and before the counts leaves: the
	// messages, and the broadcast as it was before the chunk.
	w.exec(`DELETE FROM broadcast_exclusions WHERE broadcast = {:b}`, dbx.Params{"b": id})
	w.exec(`UPDATE broadcasts SET plan_done = FALSE, plan_cursor = 0, targeted = 0, queued = 0, pending = 0,
		excluded = '{}', planned_by_channel = '{}' WHERE id = {:b}`, dbx.Params{"b": id})
	w.step()

	r := w.record(id)
	if !r.GetBool("plan_done") || r.GetInt("targeted") != 4 || r.GetInt("queued") != 3 || r.GetInt("pending") != 3 {
		t.Fatalf("planned again: plan_done %v, targeted %d, queued %d, pending %d; want true, 4, 3, 3",
			r.GetBool("plan_done"), r.GetInt("targeted"), r.GetInt("queued"), r.GetInt("pending"))
	}
	if got := w.excluded(id); !maps.Equal(got, map[string]int{"opted_out": 1}) {
		t.Fatalf("excluded %v, want opted_out 1", got)
	}
	if n := w.count("SELECT COUNT(*) FROM messages WHERE source_id = {:b}", dbx.Params{"b": id}); n != 3 {
		t.Fatalf("%d messages, want 3 (one per recipient)", n)
	}
	if n := w.count("SELECT COUNT(*) FROM broadcast_exclusions WHERE broadcast = {:b}", dbx.Params{"b": id}); n != 1 {
		t.Fatalf("%d exclusions recorded, want 1", n)
	}
}

// A broadcast paused before a chunk's messages are queued gets none of them
// and none counted; it is planned when it sends again.
func TestPausedBeforeAChunkQueuesNothing(t *testing.T) {
	w := newWorld(t)
	wa := w.channel("WhatsApp", "whatsapp_cloud", nil)
	c := w.contact(map[string]any{"first_name": "Ana", "phone": "+525512347101"})
	w.wrote(c, "whatsapp", wa, epoch.Add(-time.Hour))
	id := w.broadcast(map[string]any{"name": "Promo", "segment": w.everyone("Toda la clientela"), "channel_mode": "specific",
		"channel": wa, "content": map[string]any{"whatsapp_cloud": map[string]any{"text": "Hola {{contact.first_name}}"}}})
	w.send(id)
	w.exec(`UPDATE broadcasts SET status = 'paused' WHERE id = {:b}`, dbx.Params{"b": id})
	if err := w.env.Broadcasts.Plan(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if n := w.count("SELECT COUNT(*) FROM messages WHERE source_id = {:b}", dbx.Params{"b": id}); n != 0 {
		t.Fatalf("%d messages queued for a paused broadcast", n)
	}
	if r := w.record(id); r.GetInt("queued") != 0 || r.GetInt("plan_cursor") != 0 {
		t.Fatalf("paused broadcast counted: queued %d, cursor %d", r.GetInt("queued"), r.GetInt("plan_cursor"))
	}
}
