package broadcasts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"pregon/channels"
	"pregon/channels/telegram"
	"pregon/channels/twilio"
	"pregon/channels/whatsapp"
	"pregon/clock"
	"pregon/hooks"
	"pregon/internal/testapp"
	"pregon/outbox"
	"pregon/segments"
)

var epoch = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// recorder is an in-process provider for every channel type: it accepts
// each call and records it.
type recorder struct {
	typ  channels.Type
	caps channels.Capabilities

	mu    *sync.Mutex
	calls *[]channels.OutMessage
}

func (a recorder) Type() channels.Type                                    { return a.typ }
func (a recorder) Capabilities() channels.Capabilities                    { return a.caps }
func (a recorder) Verify(*channels.WebhookRequest) error                  { return nil }
func (a recorder) Test(context.Context) error                             { return nil }
func (a recorder) Handshake(*channels.WebhookRequest) (int, []byte, bool) { return 0, nil, false }
func (a recorder) Parse(*channels.WebhookRequest) (channels.WebhookBatch, error) {
	return channels.WebhookBatch{}, nil
}
func (a recorder) Send(_ context.Context, m channels.OutMessage) (channels.SendResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	*a.calls = append(*a.calls, m)
	return channels.SendResult{ProviderID: fmt.Sprintf("p.%s.%d", a.typ, len(*a.calls))}, nil
}

// world is a test app with WhatsApp, Telegram and SMS channel types whose
// providers are recorders, a web-chat type that cannot broadcast, a fake
// clock, and no background workers: tests drive the engine step by step.
type world struct {
	t     testing.TB
	app   *tests.TestApp
	env   *hooks.Env
	clock *clock.Fake

	mu    sync.Mutex
	calls []channels.OutMessage
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{t: t}
	reg := channels.NewRegistry()
	for typ, caps := range map[channels.Type]channels.Capabilities{
		channels.WhatsAppCloud: whatsapp.Capabilities(),
		channels.Telegram:      telegram.Capabilities(),
		channels.TwilioSMS:     twilio.SMSCapabilities(),
		channels.WebChat: {IdentityKind: channels.KindWebChat, ContentTypes: []channels.ContentType{channels.ContentText},
			MaxTextLen: 4096, DefaultRate: 100},
	} {
		caps.RecipientSpacing, caps.MaxInFlight = 0, 0
		caps.RequiredKeys, caps.SecretKeys, caps.ConfigKeys = nil, nil, nil
		reg.Register(typ, caps, func(channels.Config, channels.Deps) (channels.Adapter, error) {
			return recorder{typ: typ, caps: caps, mu: &w.mu, calls: &w.calls}, nil
		})
	}
	w.clock = clock.NewFake(epoch)
	w.app, w.env = testapp.New(t, hooks.Options{Registry: reg, Clock: w.clock, NoWorkers: true,
		Outbox: outbox.Options{PollInterval: 5 * time.Millisecond, FlushLinger: time.Millisecond, ResyncInterval: time.Hour}})
	return w
}

func (w *world) save(col string, fields map[string]any) *core.Record {
	w.t.Helper()
	c, err := w.app.FindCollectionByNameOrId(col)
	if err != nil {
		w.t.Fatal(err)
	}
	r := core.NewRecord(c)
	for k, v := range fields {
		r.Set(k, v)
	}
	if err := w.app.Save(r); err != nil {
		w.t.Fatalf("saving %s %v: %v", col, fields, err)
	}
	return r
}

func (w *world) channel(name, typ string, fields map[string]any) string {
	w.t.Helper()
	f := map[string]any{"name": name, "type": typ, "config": map[string]any{}}
	for k, v := range fields {
		f[k] = v
	}
	return w.save("channels", f).Id
}

func (w *world) contact(fields map[string]any) string {
	w.t.Helper()
	return w.save("contacts", fields).Id
}

// wrote records that the contact's identity of kind last wrote at t
// through channel (what inbound messages do).
func (w *world) wrote(contact, kind, channel string, t time.Time) {
	w.t.Helper()
	ts := t.UTC().Format("2006-01-02 15:04:05.000Z")
	w.exec("UPDATE contact_identities SET last_inbound_at = {:t}, channel = {:ch} WHERE contact = {:c} AND kind = {:k}",
		dbx.Params{"t": ts, "ch": channel, "c": contact, "k": kind})
	w.exec("UPDATE contacts SET last_inbound_at = {:t}, last_channel = {:ch} WHERE id = {:c}",
		dbx.Params{"t": ts, "ch": channel, "c": contact})
}

func (w *world) exec(sql string, p dbx.Params) {
	w.t.Helper()
	if _, err := w.app.DB().NewQuery(sql).Bind(p).Execute(); err != nil {
		w.t.Fatalf("%s: %v", sql, err)
	}
}

func (w *world) count(sql string, p dbx.Params) int {
	w.t.Helper()
	var n int
	if err := w.app.DB().NewQuery(sql).Bind(p).Row(&n); err != nil {
		w.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func (w *world) segment(name, conditions string) string {
	w.t.Helper()
	var c any
	if err := json.Unmarshal([]byte(conditions), &c); err != nil {
		w.t.Fatal(err)
	}
	return w.save("segments", map[string]any{"name": name, "conditions": c}).Id
}

// everyone saves a segment of every contact.
func (w *world) everyone(name string) string { return w.segment(name, segments.Everyone) }

func (w *world) broadcast(fields map[string]any) string {
	w.t.Helper()
	f := map[string]any{"status": "draft"}
	for k, v := range fields {
		f[k] = v
	}
	return w.save("broadcasts", f).Id
}

// run plans and counts until nothing changes: the engine's loop, by hand.
func (w *world) step() {
	w.t.Helper()
	w.env.Broadcasts.Step(context.Background())
}

// drain starts the outbox, waits until broadcast id has nothing pending,
// and refreshes its counters.
func (w *world) drain(id string) {
	w.t.Helper()
	if err := w.env.Outbox.Start(); err != nil {
		w.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		w.step()
		if w.count("SELECT COUNT(*) FROM messages WHERE source_id = {:id} AND status IN ('queued','held','sending')", dbx.Params{"id": id}) == 0 &&
			w.count("SELECT COUNT(*) FROM broadcasts WHERE id = {:id} AND plan_done", dbx.Params{"id": id}) == 1 {
			if err := w.env.Broadcasts.Refresh(id); err != nil {
				w.t.Fatal(err)
			}
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("broadcast %s did not drain: %+v", id, w.record(id).FieldsData())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (w *world) record(id string) *core.Record {
	w.t.Helper()
	r, err := w.app.FindRecordById("broadcasts", id)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

func (w *world) excluded(id string) map[string]int {
	w.t.Helper()
	m := map[string]int{}
	if err := json.Unmarshal([]byte(w.record(id).GetString("excluded")), &m); err != nil {
		w.t.Fatalf("excluded of %s: %v", id, err)
	}
	return m
}

// callsTo returns what each recipient identifier received.
func (w *world) callsTo() map[string][]channels.Content {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string][]channels.Content{}
	for _, c := range w.calls {
		out[c.To] = append(out[c.To], c.Content)
	}
	return out
}
