package inbound_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"pregon/channels"
	"pregon/channels/sandbox"
	"pregon/hooks"
	"pregon/inbound"
	"pregon/internal/testapp"
)

// testAdapter stands in for a provider whose deliveries are a JSON-encoded
// channels.WebhookBatch; "poison" is a body it refuses to parse. Provider
// adapters have their own tests; these are about what the pipeline does with
// what an adapter parsed.
type testAdapter struct{ caps channels.Capabilities }

func (a testAdapter) Type() channels.Type                 { return channels.WhatsAppCloud }
func (a testAdapter) Capabilities() channels.Capabilities { return a.caps }
func (a testAdapter) Verify(*channels.WebhookRequest) error {
	return nil
}
func (a testAdapter) Test(context.Context) error { return nil }
func (a testAdapter) Send(context.Context, channels.OutMessage) (channels.SendResult, error) {
	return channels.SendResult{}, nil
}
func (a testAdapter) Handshake(*channels.WebhookRequest) (int, []byte, bool) { return 0, nil, false }
func (a testAdapter) Parse(r *channels.WebhookRequest) (channels.WebhookBatch, error) {
	var b channels.WebhookBatch
	if string(r.Body) == "poison" {
		return b, errors.New("not a delivery")
	}
	return b, json.Unmarshal(r.Body, &b)
}

var waCaps = channels.Capabilities{IdentityKind: channels.KindWhatsApp, Broadcasts: true, Receipts: true, Window: 24 * time.Hour}

func registry() *channels.Registry {
	r := channels.NewRegistry()
	r.Register(channels.WhatsAppCloud, waCaps, func(channels.Config, channels.Deps) (channels.Adapter, error) {
		return testAdapter{caps: waCaps}, nil
	})
	sandbox.Register(r)
	return r
}

type fixture struct {
	t   testing.TB
	app *tests.TestApp
	env *hooks.Env
	ch  string // a whatsapp_cloud channel
}

func setup(t *testing.T) *fixture {
	t.Helper()
	app, env := testapp.New(t, hooks.Options{Registry: registry(), NoWorkers: true})
	f := &fixture{t: t, app: app, env: env}
	f.ch = f.channel("WhatsApp", "whatsapp_cloud", nil)
	return f
}

func (f *fixture) channel(name, typ string, cfg map[string]any) string {
	f.t.Helper()
	col, err := f.app.FindCollectionByNameOrId("channels")
	if err != nil {
		f.t.Fatal(err)
	}
	r := core.NewRecord(col)
	r.Set("name", name)
	r.Set("type", typ)
	r.Set("config", cfg)
	if err := f.app.Save(r); err != nil {
		f.t.Fatal(err)
	}
	return r.Id
}

// deliver stores one delivery for the test channel and processes the inbox.
func (f *fixture) deliver(batches ...any) inbound.Result {
	f.t.Helper()
	for _, b := range batches {
		body, ok := b.(string)
		if !ok {
			raw, err := json.Marshal(b)
			if err != nil {
				f.t.Fatal(err)
			}
			body = string(raw)
		}
		if err := f.env.Inbox.Store(context.Background(), inbound.Delivery{Channel: f.ch, Method: "POST",
			URL: "https://pregon.example/api/pregon/webhooks/" + f.ch, ContentType: "application/json", Body: []byte(body)}); err != nil {
			f.t.Fatal(err)
		}
	}
	return f.drain()
}

func (f *fixture) drain() inbound.Result {
	f.t.Helper()
	res, err := f.env.Inbox.Drain(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *fixture) count(sql string, params dbx.Params) int {
	f.t.Helper()
	var n int
	if err := f.app.DB().NewQuery(sql).Bind(params).Row(&n); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func (f *fixture) value(sql string, params dbx.Params) string {
	f.t.Helper()
	var s string
	if err := f.app.DB().NewQuery(sql).Bind(params).Row(&s); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func msgIn(pid, from, name, text string) channels.WebhookBatch {
	return channels.WebhookBatch{Messages: []channels.Inbound{{ProviderID: pid, From: from, Name: name,
		Content: channels.Content{Text: text}, Timestamp: time.Now().Add(-time.Minute)}}}
}

func TestInboundMessageCreatesContactIdentityMessageAndEvent(t *testing.T) {
	f := setup(t)
	// WhatsApp still writes Mexican mobiles with the old "1" (52 1 55...):
	// the identity and the phone are the E.164 number.
	res := f.deliver(msgIn("wamid.1", "+5215512345678", "Ana María López", "Hola, ¿tienen envío?"))
	if res.Processed != 1 || res.Parked != 0 {
		t.Fatalf("result %+v", res)
	}
	var c struct {
		ID, First, Last, Phone, LastChannel, LastInbound string
	}
	if err := f.app.DB().NewQuery(`SELECT id, first_name AS first, last_name AS last, phone, last_channel AS lastchannel,
		last_inbound_at AS lastinbound FROM contacts`).Row(&c.ID, &c.First, &c.Last, &c.Phone, &c.LastChannel, &c.LastInbound); err != nil {
		t.Fatal(err)
	}
	if c.First != "Ana" || c.Last != "María López" || c.Phone != "+525512345678" || c.LastChannel != f.ch || c.LastInbound == "" {
		t.Fatalf("contact %+v", c)
	}
	if n := f.count(`SELECT COUNT(*) FROM contact_identities WHERE contact = {:c} AND kind = 'whatsapp'
		AND identifier = '+525512345678' AND channel = {:ch} AND last_inbound_at != '' AND from_phone = 1`,
		dbx.Params{"c": c.ID, "ch": f.ch}); n != 1 {
		t.Fatalf("identity not created as expected (%d)", n)
	}
	if n := f.count(`SELECT COUNT(*) FROM messages WHERE direction = 'in' AND status = 'received' AND provider_id = 'wamid.1'
		AND contact = {:c} AND json_extract(content, '$.text') = 'Hola, ¿tienen envío?'`, dbx.Params{"c": c.ID}); n != 1 {
		t.Fatalf("message not stored (%d)", n)
	}
	payload := f.value(`SELECT payload FROM events WHERE type = 'message.received' AND contact = {:c}`, dbx.Params{"c": c.ID})
	var p map[string]any
	if err := json.Unmarshal([]byte(payload), &p); err != nil || p["new_contact"] != true || p["channel"] != f.ch {
		t.Fatalf("event payload %s", payload)
	}

	// The provider delivers the same message again, and a second one.
	res = f.deliver(msgIn("wamid.1", "+5215512345678", "Ana María López", "Hola, ¿tienen envío?"),
		msgIn("wamid.2", "+5215512345678", "Ana", "¿Y a Puebla?"))
	if res.Processed != 2 {
		t.Fatalf("result %+v", res)
	}
	if n := f.count(`SELECT COUNT(*) FROM messages`, nil); n != 2 {
		t.Fatalf("duplicate delivery made a second row: %d messages", n)
	}
	if n := f.count(`SELECT COUNT(*) FROM contacts`, nil); n != 1 {
		t.Fatalf("%d contacts", n)
	}
	if n := f.count(`SELECT COUNT(*) FROM events WHERE type = 'message.received'`, nil); n != 2 {
		t.Fatalf("%d message.received events", n)
	}
	if n := f.count(`SELECT COUNT(*) FROM webhook_inbox WHERE status = 'processed'`, nil); n != 3 {
		t.Fatalf("%d processed inbox rows", n)
	}
}

func TestInboundFindsContactByPhoneAndKeepsUserIDOnlySenders(t *testing.T) {
	f := setup(t)
	col, _ := f.app.FindCollectionByNameOrId("contacts")
	imported := core.NewRecord(col)
	imported.Set("first_name", "Luis")
	imported.Set("phone", "+525598765432")
	if err := f.app.Save(imported); err != nil {
		t.Fatal(err)
	}
	// An imported contact may have an identity already (the contacts hook);
	// either way the inbound message lands on that contact.
	f.deliver(msgIn("wamid.9", "+525598765432", "Luis P", "hola"))
	if n := f.count(`SELECT COUNT(*) FROM contacts`, nil); n != 1 {
		t.Fatalf("a second contact was created for a known phone: %d", n)
	}
	if got := f.value(`SELECT contact FROM contact_identities WHERE identifier = '+525598765432' AND kind = 'whatsapp'`, nil); got != imported.Id {
		t.Fatalf("identity on %s, want %s", got, imported.Id)
	}
	if got := f.value(`SELECT first_name FROM contacts WHERE id = {:id}`, dbx.Params{"id": imported.Id}); got != "Luis" {
		t.Fatalf("the profile name overwrote the contact's name: %q", got)
	}

	f.deliver(msgIn("wamid.10", "US.13491208655302741918", "Bea", "hola"))
	if got := f.value(`SELECT COALESCE(c.phone, '') FROM contacts c JOIN contact_identities i ON i.contact = c.id
		WHERE i.identifier = 'US.13491208655302741918'`, nil); got != "" {
		t.Fatalf("a user-id-only sender got phone %q", got)
	}
}

func TestConsentKeywordsAndSignals(t *testing.T) {
	f := setup(t)
	from := "+525511112222"
	consent := func() (string, string, string) {
		var c, src, wording string
		if err := f.app.DB().NewQuery(`SELECT COALESCE(consent, ''), consent_source, consent_wording FROM contact_identities
			WHERE kind = 'whatsapp' AND identifier = {:id}`).Bind(dbx.Params{"id": from}).Row(&c, &src, &wording); err != nil {
			t.Fatal(err)
		}
		return c, src, wording
	}
	f.deliver(msgIn("w1", from, "Eva", "stop sending me offers"))
	if c, _, _ := consent(); c != "" {
		t.Fatalf("a sentence that starts with stop changed consent to %q", c)
	}
	f.deliver(msgIn("w2", from, "Eva", "¿Bajó el precio?"))
	if c, src, _ := consent(); c != "" {
		t.Fatalf("a non-keyword changed consent: %s %s", c, src)
	}
	f.deliver(msgIn("w3", from, "Eva", " ¡Baja! "))
	if c, src, w := consent(); c != "opted_out" || src != "keyword:BAJA" || w != "¡Baja!" {
		t.Fatalf("after BAJA: %q %q %q", c, src, w)
	}
	f.deliver(msgIn("w4", from, "Eva", "STOP"))
	if _, src, _ := consent(); src != "keyword:BAJA" {
		t.Fatalf("a repeated opt-out replaced the first evidence: %s", src)
	}
	f.deliver(msgIn("w5", from, "Eva", "Alta"))
	if c, src, _ := consent(); c != "opted_in" || src != "keyword:ALTA" {
		t.Fatalf("after ALTA: %q %q", c, src)
	}
	if n := f.count(`SELECT COUNT(*) FROM events WHERE type = 'consent.changed'`, nil); n != 2 {
		t.Fatalf("%d consent events, want 2", n)
	}
	f.deliver(channels.WebhookBatch{Consents: []channels.ConsentSignal{{From: from, Source: "test:blocked"}}})
	if c, src, _ := consent(); c != "opted_out" || src != "test:blocked" {
		t.Fatalf("after a provider signal: %q %q", c, src)
	}
	// A signal for someone never seen is kept: a later import finds the opt-out.
	f.deliver(channels.WebhookBatch{Consents: []channels.ConsentSignal{{From: "+525533334444", Source: "test:blocked"}}})
	if got := f.value(`SELECT consent FROM contact_identities WHERE kind = 'whatsapp' AND identifier = '+525533334444'`, nil); got != "opted_out" {
		t.Fatalf("unknown sender's opt-out: %q", got)
	}
}

func TestKeyword(t *testing.T) {
	cases := []struct {
		in    string
		word  string
		optIn bool
		ok    bool
	}{
		{"STOP", "STOP", false, true},
		{"stop.", "STOP", false, true},
		{"Cancelár", "CANCELAR", false, true},
		{"dar de baja", "DAR DE BAJA", false, true},
		{"unsubscribe 🙏", "UNSUBSCRIBE", false, true},
		{"/start", "START", true, true},
		{"/start promo-julio", "START", true, true},
		{"/stop@TiendaBot", "STOP", false, true},
		{"ALTA", "ALTA", true, true},
		{"stop it please", "", false, false},
		{"quiero darme de baja del club", "", false, false},
		{"/", "", false, false},
		{"", "", false, false},
	}
	for _, c := range cases {
		w, in, ok := inbound.Keyword(c.in)
		if w != c.word || in != c.optIn || ok != c.ok {
			t.Errorf("Keyword(%q) = %q %v %v, want %q %v %v", c.in, w, in, ok, c.word, c.optIn, c.ok)
		}
	}
}

// outbound inserts an outbound message as the outbox would.
func (f *fixture) outbound(status, providerID string) (msgID, identity string) {
	f.t.Helper()
	f.deliver(msgIn("in-"+providerID+status, "+525500000001", "Olga", "hola"))
	var contact string
	if err := f.app.DB().NewQuery(`SELECT id, contact FROM contact_identities WHERE kind = 'whatsapp' AND identifier = '+525500000001'`).
		Row(&identity, &contact); err != nil {
		f.t.Fatal(err)
	}
	col, _ := f.app.FindCollectionByNameOrId("messages")
	m := core.NewRecord(col)
	m.Set("direction", "out")
	m.Set("channel", f.ch)
	m.Set("contact", contact)
	m.Set("identity", identity)
	m.Set("content", map[string]any{"text": "¡Gracias!"})
	m.Set("status", status)
	m.Set("provider_id", providerID)
	if err := f.app.Save(m); err != nil {
		f.t.Fatal(err)
	}
	return m.Id, identity
}

func st(pid string, s channels.Status) channels.WebhookBatch {
	return channels.WebhookBatch{Statuses: []channels.StatusUpdate{{ProviderID: pid, Status: s, Timestamp: time.Now()}}}
}

func (f *fixture) msg(id string) map[string]string {
	f.t.Helper()
	var r struct {
		Status, Sent, Delivered, Read, Failed, Code, Class string
	}
	if err := f.app.DB().NewQuery(`SELECT status, sent_at, delivered_at, read_at, failed_at, error_code, COALESCE(error_class, '')
		FROM messages WHERE id = {:id}`).Bind(dbx.Params{"id": id}).
		Row(&r.Status, &r.Sent, &r.Delivered, &r.Read, &r.Failed, &r.Code, &r.Class); err != nil {
		f.t.Fatal(err)
	}
	set := func(s string) string {
		if s == "" {
			return ""
		}
		return "set"
	}
	return map[string]string{"status": r.Status, "sent": set(r.Sent), "delivered": set(r.Delivered), "read": set(r.Read),
		"failed": set(r.Failed), "code": r.Code, "class": r.Class}
}

func TestStatusesOnlyMoveForwardAndRecordEachTime(t *testing.T) {
	f := setup(t)
	id, _ := f.outbound("sent", "wamid.OUT1")
	events := func() int {
		return f.count(`SELECT COUNT(*) FROM events WHERE type = 'message.status' AND actor LIKE 'webhook:%' AND subject = {:id}`, dbx.Params{"id": id})
	}
	// Read arrives before delivered (reordered), then delivered, then a duplicate read.
	f.deliver(st("wamid.OUT1", channels.StatusRead))
	m := f.msg(id)
	if m["status"] != "read" || m["read"] == "" || m["delivered"] == "" || m["sent"] == "" {
		t.Fatalf("after read: %v", m)
	}
	readAt := f.value(`SELECT read_at FROM messages WHERE id = {:id}`, dbx.Params{"id": id})
	f.deliver(st("wamid.OUT1", channels.StatusDelivered), st("wamid.OUT1", channels.StatusRead), st("wamid.OUT1", channels.StatusSent))
	if m := f.msg(id); m["status"] != "read" {
		t.Fatalf("a late status moved the message back: %v", m)
	}
	if got := f.value(`SELECT read_at FROM messages WHERE id = {:id}`, dbx.Params{"id": id}); got != readAt {
		t.Fatalf("a duplicate read changed read_at: %s -> %s", readAt, got)
	}
	if n := events(); n != 1 {
		t.Fatalf("%d status events, want 1 (duplicates and late reports are no-ops)", n)
	}
	// Failed is final, with its classified error.
	f.deliver(channels.WebhookBatch{Statuses: []channels.StatusUpdate{{ProviderID: "wamid.OUT1", Status: channels.StatusFailed,
		Err: &channels.Error{Class: channels.ClassPermanent, Code: "131026", Detail: "Message undeliverable"}}}})
	f.deliver(st("wamid.OUT1", channels.StatusRead))
	if m := f.msg(id); m["status"] != "failed" || m["code"] != "131026" || m["class"] != "permanent" || m["failed"] == "" {
		t.Fatalf("after failed: %v", m)
	}
	if n := events(); n != 2 {
		t.Fatalf("%d status events, want 2", n)
	}
}

func TestStatusBeforeProviderIDIsKeptAndAppliedWhenTheIDAppears(t *testing.T) {
	f := setup(t)
	// The outbox has called the provider but not yet recorded its answer.
	id, _ := f.outbound("sending", "")
	f.deliver(st("wamid.RACE", channels.StatusDelivered))
	if n := f.count(`SELECT COUNT(*) FROM pending_statuses WHERE provider_id = 'wamid.RACE'`, nil); n != 1 {
		t.Fatalf("the early status was not kept (%d)", n)
	}
	if m := f.msg(id); m["status"] != "sending" {
		t.Fatalf("%v", m)
	}
	// The outbox records the send result: sent + provider id, monotonically.
	if _, err := f.app.DB().NewQuery(`UPDATE messages SET provider_id = 'wamid.RACE', status = 'sent' WHERE id = {:id}`).
		Bind(dbx.Params{"id": id}).Execute(); err != nil {
		t.Fatal(err)
	}
	res := f.drain()
	if res.Statuses != 1 {
		t.Fatalf("result %+v", res)
	}
	if m := f.msg(id); m["status"] != "delivered" || m["delivered"] == "" {
		t.Fatalf("the kept status was not applied: %v", m)
	}
	if n := f.count(`SELECT COUNT(*) FROM pending_statuses`, nil); n != 0 {
		t.Fatalf("%d pending statuses left", n)
	}
}

func TestStatusByOurMessageIDFillsTheProviderID(t *testing.T) {
	f := setup(t)
	id, _ := f.outbound("sending", "")
	f.deliver(channels.WebhookBatch{Statuses: []channels.StatusUpdate{{MessageID: id, ProviderID: "SM123", Status: channels.StatusSent}}})
	if m := f.msg(id); m["status"] != "sent" {
		t.Fatalf("%v", m)
	}
	if got := f.value(`SELECT provider_id FROM messages WHERE id = {:id}`, dbx.Params{"id": id}); got != "SM123" {
		t.Fatalf("provider id %q", got)
	}
}

func TestOptOutFailureChangesConsent(t *testing.T) {
	f := setup(t)
	id, identity := f.outbound("sent", "wamid.MKT")
	f.deliver(channels.WebhookBatch{Statuses: []channels.StatusUpdate{{ProviderID: "wamid.MKT", Status: channels.StatusFailed,
		Err: &channels.Error{Class: channels.ClassPermanent, Code: "131050", Detail: "User stopped marketing messages", OptOut: true}}}})
	if m := f.msg(id); m["status"] != "failed" {
		t.Fatalf("%v", m)
	}
	var c, src, wording string
	if err := f.app.DB().NewQuery(`SELECT consent, consent_source, consent_wording FROM contact_identities WHERE id = {:id}`).
		Bind(dbx.Params{"id": identity}).Row(&c, &src, &wording); err != nil {
		t.Fatal(err)
	}
	if c != "opted_out" || src != "provider_error:131050" || wording != "User stopped marketing messages" {
		t.Fatalf("consent %q %q %q", c, src, wording)
	}
}

func TestPoisonDeliveriesAreParkedAndDoNotBlockOthers(t *testing.T) {
	f := setup(t)
	good1 := msgIn("p1", "+525500000011", "Uno", "hola")
	noSender := msgIn("p2", "", "", "who am I")
	// Content over the messages column's 64 KB: the save fails, which could
	// be anything (a full disk...), so it is retried before it is parked.
	tooBig := msgIn("p3", "+525500000013", "Tres", strings.Repeat("a", 70<<10))
	good2 := msgIn("p4", "+525500000012", "Dos", "hola")
	res := f.deliver(good1, "poison", noSender, tooBig, good2)
	// The unparseable row and the sender-less one are parked at once; the
	// row whose save fails stays pending for another attempt and holds the
	// rows after it; the row before it applied exactly once.
	if res.Parked != 2 || res.Processed != 1 || res.Retried != 1 {
		t.Fatalf("first drain %+v", res)
	}
	for i := 0; i < 3; i++ {
		f.drain()
	}
	if n := f.count(`SELECT COUNT(*) FROM messages`, nil); n != 2 {
		t.Fatalf("%d messages, want 2 (each good delivery once)", n)
	}
	if n := f.count(`SELECT COUNT(*) FROM webhook_inbox WHERE status = 'parked'`, nil); n != 3 {
		t.Fatalf("%d parked rows, want 3", n)
	}
	if got := f.value(`SELECT error FROM webhook_inbox WHERE body = 'poison'`, nil); got == "" {
		t.Fatal("the parked row does not say why")
	}
	if got := f.count(`SELECT attempts FROM webhook_inbox WHERE status = 'parked' AND body LIKE '%p3%'`, nil); got != 3 {
		t.Fatalf("parked after %d attempts, want 3", got)
	}
	if n := f.count(`SELECT COUNT(*) FROM webhook_inbox WHERE status = 'pending'`, nil); n != 0 {
		t.Fatalf("%d rows still pending", n)
	}
}

func TestGroupCommitStoresConcurrentDeliveries(t *testing.T) {
	f := setup(t)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- f.env.Inbox.Store(context.Background(), inbound.Delivery{Channel: f.ch, Method: http.MethodPost,
				URL: "https://x/", Body: []byte(`{}`)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count(`SELECT COUNT(*) FROM webhook_inbox WHERE status = 'pending'`, nil); n != 200 {
		t.Fatalf("%d rows stored, want 200", n)
	}
	f.env.Inbox.Close()
	if err := f.env.Inbox.Store(context.Background(), inbound.Delivery{Channel: f.ch}); !errors.Is(err, inbound.ErrClosed) {
		t.Fatalf("Store after Close: %v", err)
	}
}

func TestPurgeKeepsParkedAndRecentRows(t *testing.T) {
	f := setup(t)
	f.deliver(msgIn("a", "+525500000021", "", "hola"), "poison")
	n, err := f.env.Inbox.Purge(time.Now().Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("purged %d, %v", n, err)
	}
	if n := f.count(`SELECT COUNT(*) FROM webhook_inbox WHERE status = 'parked'`, nil); n != 1 {
		t.Fatal("a parked row was purged")
	}
}
