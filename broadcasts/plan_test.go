package broadcasts_test

import (
	"encoding/json"
	"maps"
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

	seg := w.segment("Todos", `{"groups":[]}`)
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
