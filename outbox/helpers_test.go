package outbox_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"pregon/channels"
	"pregon/clock"
	"pregon/hooks"
	"pregon/internal/testapp"
	"pregon/outbox"
)

// waCaps mirror WhatsApp Cloud's limits; tests change what they need.
var waCaps = channels.Capabilities{
	IdentityKind: channels.KindWhatsApp, Broadcasts: true,
	ContentTypes: []channels.ContentType{channels.ContentText, channels.ContentTemplate, channels.ContentMedia},
	MaxTextLen:   4096, MaxCaption: 1024, DefaultRate: 80, RecipientSpacing: 0,
	Window: 24 * time.Hour, TemplatesOutsideWindow: true, Receipts: true, DailyTier: true,
}

// outcome decides what one call returns; n counts calls to that recipient.
type outcome func(m channels.OutMessage, n int) (channels.SendResult, error)

// testAdapter is an in-process provider: it records every call and answers
// with the test's outcome. The dispatcher cannot tell it from a real one.
type testAdapter struct {
	caps channels.Capabilities

	mu     sync.Mutex
	calls  []channels.OutMessage
	perTo  map[string]int
	answer outcome
	// answerCtx, when set, answers instead of answer and sees the call's
	// context, as a real HTTP client does.
	answerCtx func(ctx context.Context, m channels.OutMessage) (channels.SendResult, error)
	seq       int
}

func (a *testAdapter) Type() channels.Type                                    { return channels.WhatsAppCloud }
func (a *testAdapter) Capabilities() channels.Capabilities                    { return a.caps }
func (a *testAdapter) Verify(*channels.WebhookRequest) error                  { return nil }
func (a *testAdapter) Test(context.Context) error                             { return nil }
func (a *testAdapter) Handshake(*channels.WebhookRequest) (int, []byte, bool) { return 0, nil, false }
func (a *testAdapter) Parse(*channels.WebhookRequest) (channels.WebhookBatch, error) {
	return channels.WebhookBatch{}, nil
}

func (a *testAdapter) Send(ctx context.Context, m channels.OutMessage) (channels.SendResult, error) {
	a.mu.Lock()
	a.calls = append(a.calls, m)
	a.perTo[m.To]++
	n := a.perTo[m.To]
	a.seq++
	seq := a.seq
	answer, answerCtx := a.answer, a.answerCtx
	a.mu.Unlock()
	if answerCtx != nil {
		return answerCtx(ctx, m)
	}
	if answer != nil {
		return answer(m, n)
	}
	return channels.SendResult{ProviderID: fmt.Sprintf("wamid.T%06d", seq)}, nil
}

func (a *testAdapter) setAnswer(o outcome) {
	a.mu.Lock()
	a.answer = o
	a.mu.Unlock()
}

func (a *testAdapter) callCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.calls)
}

func (a *testAdapter) callsTo() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int{}
	for k, v := range a.perTo {
		out[k] = v
	}
	return out
}

// fixture is a test app with one WhatsApp-like channel served by a testAdapter.
type fixture struct {
	t       testing.TB
	app     *tests.TestApp
	env     *hooks.Env
	clock   *clock.Fake
	adapter *testAdapter
	channel string
}

var epoch = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func fastOptions() outbox.Options {
	return outbox.Options{PollInterval: 5 * time.Millisecond, BackoffBase: time.Second, BackoffMax: time.Minute,
		MaxAttempts: 4, FlushLinger: time.Millisecond, DrainTimeout: 5 * time.Second, ResyncInterval: time.Hour}
}

func newFixture(t testing.TB, caps channels.Capabilities, chanFields map[string]any) *fixture {
	t.Helper()
	ad := &testAdapter{caps: caps, perTo: map[string]int{}}
	reg := channels.NewRegistry()
	reg.Register(channels.WhatsAppCloud, caps, func(channels.Config, channels.Deps) (channels.Adapter, error) { return ad, nil })
	reg.Register(channels.Telegram, caps, func(channels.Config, channels.Deps) (channels.Adapter, error) { return ad, nil })
	clk := clock.NewFake(epoch)
	app, env := testapp.New(t, hooks.Options{Registry: reg, Clock: clk, NoWorkers: true, Outbox: fastOptions()})
	f := &fixture{t: t, app: app, env: env, clock: clk, adapter: ad}
	f.channel = f.newChannel("WhatsApp", chanFields)
	return f
}

func (f *fixture) newChannel(name string, fields map[string]any) string {
	f.t.Helper()
	col, err := f.app.FindCollectionByNameOrId("channels")
	if err != nil {
		f.t.Fatal(err)
	}
	rec := core.NewRecord(col)
	rec.Set("name", name)
	rec.Set("type", "whatsapp_cloud")
	rec.Set("config", map[string]any{})
	for k, v := range fields {
		rec.Set(k, v)
	}
	if err := f.app.Save(rec); err != nil {
		f.t.Fatal(err)
	}
	return rec.Id
}

// recipients creates n contacts, each with one whatsapp identity, in bulk;
// lastInbound (zero: never) opens their window.
func (f *fixture) recipients(n int, lastInbound time.Time) (contacts, identities []string) {
	f.t.Helper()
	li := ""
	if !lastInbound.IsZero() {
		li = lastInbound.UTC().Format("2006-01-02 15:04:05.000Z")
	}
	err := f.app.RunInTransaction(func(tx core.App) error {
		cq := tx.DB().NewQuery(`INSERT INTO contacts (id, first_name, created, updated) VALUES ({:id}, {:n}, '', '')`).Prepare()
		iq := tx.DB().NewQuery(`INSERT INTO contact_identities (id, contact, kind, identifier, last_inbound_at, created, updated)
			VALUES ({:id}, {:c}, 'whatsapp', {:ident}, {:li}, '', '')`).Prepare()
		defer cq.Close()
		defer iq.Close()
		var count int // keeps identifiers unique across calls
		if err := tx.DB().NewQuery("SELECT COUNT(*) FROM contact_identities").Row(&count); err != nil {
			return err
		}
		for i := range n {
			cid, iid := core.GenerateDefaultRandomId(), core.GenerateDefaultRandomId()
			if _, err := cq.Bind(dbx.Params{"id": cid, "n": fmt.Sprintf("C%d", i)}).Execute(); err != nil {
				return err
			}
			ident := fmt.Sprintf("+5255%08d", count+i)
			if _, err := iq.Bind(dbx.Params{"id": iid, "c": cid, "ident": ident, "li": li}).Execute(); err != nil {
				return err
			}
			contacts, identities = append(contacts, cid), append(identities, iid)
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return contacts, identities
}

func (f *fixture) enqueue(items ...outbox.Item) []outbox.Queued {
	f.t.Helper()
	q, err := f.env.Outbox.Enqueue(items)
	if err != nil {
		f.t.Fatal(err)
	}
	return q
}

func (f *fixture) item(contact, identity string, c channels.Content, source string) outbox.Item {
	return outbox.Item{Channel: f.channel, Contact: contact, Identity: identity, Content: c, Source: source}
}

// each builds one item per recipient from one content and source.
func (f *fixture) each(cs, ids []string, c channels.Content, source, sourceID string) []outbox.Item {
	items := make([]outbox.Item, len(cs))
	for i := range cs {
		items[i] = outbox.Item{Channel: f.channel, Contact: cs[i], Identity: ids[i], Content: c, Source: source, SourceID: sourceID}
	}
	return items
}

func (f *fixture) start() {
	f.t.Helper()
	if err := f.env.Outbox.Start(); err != nil {
		f.t.Fatal(err)
	}
}

// waitFor polls cond until it holds or 30 s pass; it asserts an outcome,
// not a duration.
func (f *fixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s; statuses: %v", what, f.statusCounts())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fixture) statusCounts() map[string]int {
	var rows []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	f.app.DB().NewQuery("SELECT status, COUNT(*) AS n FROM messages GROUP BY status").All(&rows)
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out
}

func (f *fixture) count(where string, p dbx.Params) int {
	var n int
	if err := f.app.DB().NewQuery("SELECT COUNT(*) FROM messages WHERE " + where).Bind(p).Row(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// msg is a message row as tests read it.
type msg struct {
	ID          string `db:"id"`
	Status      string `db:"status"`
	Attempts    int    `db:"attempts"`
	ProviderID  string `db:"provider_id"`
	ErrorCode   string `db:"error_code"`
	ErrorClass  string `db:"error_class"`
	ErrorDetail string `db:"error_detail"`
	NextAttempt string `db:"next_attempt_at"`
	SentAt      string `db:"sent_at"`
	Priority    int    `db:"priority"`
}

func (f *fixture) msg(id string) msg {
	f.t.Helper()
	var m msg
	if err := f.app.DB().NewQuery(`SELECT id, status, attempts, provider_id, error_code, error_class, error_detail,
		next_attempt_at, sent_at, priority FROM messages WHERE id = {:id}`).Bind(dbx.Params{"id": id}).One(&m); err != nil {
		f.t.Fatal(err)
	}
	return m
}

func (f *fixture) eventCount(typ string) int {
	var n int
	f.app.DB().NewQuery("SELECT COUNT(*) FROM events WHERE type = {:t}").Bind(dbx.Params{"t": typ}).Row(&n)
	return n
}

func text(s string) channels.Content { return channels.Content{Text: s} }

func tmpl(name string) channels.Content {
	return channels.Content{Template: &channels.Template{Name: name, Language: "es"}}
}
