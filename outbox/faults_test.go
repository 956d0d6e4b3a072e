package outbox_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/channels/fakekit"
	tgfake "pregon/channels/telegram/fake"
	"pregon/channels/whatsapp"
	wafake "pregon/channels/whatsapp/fake"
	"pregon/clock"
	"pregon/hooks"
	"pregon/internal/testapp"
	"pregon/outbox"
)

// These tests drive the dispatcher against the providers' fakes over real
// HTTP, through the real adapters: every fault is played by the fake's
// transport or error injection, never simulated in Go.

type httpFixture struct {
	*fixture
	kit *fakekit.Kit
}

func newWhatsAppFixture(t *testing.T, o wafake.Options, cfgChange map[string]any) (*httpFixture, *wafake.Fake) {
	t.Helper()
	if o.Rate == 0 {
		o.Rate = wafake.Unlimited
	}
	if o.PairSpacing == 0 {
		o.PairSpacing = wafake.Unlimited
	}
	o.Window, o.NoStatuses = wafake.WindowOff, true
	o.Templates = append(o.Templates, wafake.Template{Name: "promo", Language: "es"})
	fk, err := wafake.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fk.Close)
	opts := fk.Options()
	cfg := map[string]any{whatsapp.KeyBaseURL: fk.URL(), whatsapp.KeyPhoneNumberID: opts.PhoneNumberID,
		whatsapp.KeyAccessToken: opts.AccessToken, whatsapp.KeyAppSecret: opts.AppSecret, whatsapp.KeyVerifyToken: "verify-123"}
	for k, v := range cfgChange {
		cfg[k] = v
	}
	return newHTTPFixture(t, "whatsapp_cloud", cfg, clock.NewFake(epoch), fk.Kit, 0), fk
}

func newHTTPFixture(t *testing.T, typ string, cfg map[string]any, clk clock.Clock, kit *fakekit.Kit, inflight int) *httpFixture {
	t.Helper()
	opts := fastOptions()
	opts.MaxAttempts, opts.CallTimeout, opts.MaxInFlight = 10, 300*time.Millisecond, inflight
	app, env := testapp.New(t, hooks.Options{Registry: hooks.DefaultRegistry(), Clock: clk, NoWorkers: true, Outbox: opts})
	f := &fixture{t: t, app: app, env: env}
	if fc, ok := clk.(*clock.Fake); ok {
		f.clock = fc
	}
	col, _ := app.FindCollectionByNameOrId("channels")
	rec := core.NewRecord(col)
	rec.Set("name", "fake "+typ)
	rec.Set("type", typ)
	rec.Set("config", cfg)
	rec.Set("rate_per_second", 1000)
	if err := app.Save(rec); err != nil {
		t.Fatal(err)
	}
	f.channel = rec.Id
	return &httpFixture{fixture: f, kit: kit}
}

// identities creates n contacts with one identity of kind each.
func (f *httpFixture) identities(kind string, n int, ident func(i int) string) (cs, ids []string) {
	err := f.app.RunInTransaction(func(tx core.App) error {
		for i := range n {
			cid, iid := core.GenerateDefaultRandomId(), core.GenerateDefaultRandomId()
			if _, err := tx.DB().NewQuery("INSERT INTO contacts (id, created, updated) VALUES ({:id}, '', '')").Bind(dbx.Params{"id": cid}).Execute(); err != nil {
				return err
			}
			if _, err := tx.DB().NewQuery(`INSERT INTO contact_identities (id, contact, kind, identifier, created, updated)
				VALUES ({:id}, {:c}, {:k}, {:i}, '', '')`).Bind(dbx.Params{"id": iid, "c": cid, "k": kind, "i": ident(i)}).Execute(); err != nil {
				return err
			}
			cs, ids = append(cs, cid), append(ids, iid)
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return cs, ids
}

// settle runs until every message is sent or failed, moving the app clock
// on when only backoffs are left.
func (f *httpFixture) settle(n int) {
	f.waitFor("every message settled", func() bool {
		if f.clock != nil && f.count("status = 'queued' AND next_attempt_at > {:now}", dbx.Params{"now": f.clock.Now().Format("2006-01-02 15:04:05.000Z")}) > 0 {
			f.clock.Advance(time.Minute)
		}
		return f.count("status IN ('sent','failed')", nil) == n
	})
}

// acceptedOncePerRecipient checks the fake's log: no recipient got two.
func (f *httpFixture) acceptedOncePerRecipient(want int) {
	f.t.Helper()
	per := map[string]int{}
	for _, e := range f.kit.Log.Entries() {
		if e.OK() && e.Op == "messages" || e.OK() && e.Op == "sendMessage" {
			per[e.Recipient]++
		}
	}
	if len(per) != want {
		f.t.Fatalf("the fake accepted messages for %d recipients, want %d", len(per), want)
	}
	for to, n := range per {
		if n != 1 {
			f.t.Fatalf("recipient %s received %d messages", to, n)
		}
	}
}

func waNumber(i int) string { return fmt.Sprintf("+5215530%06d", i) }

func TestWhatsAppFakeFaultsEndWithEveryMessageSentOnce(t *testing.T) {
	for _, c := range []struct {
		name string
		in   fakekit.Injection
	}{
		{"429 throughput (130429)", fakekit.Injection{Count: 6, Code: "130429"}},
		{"500 from a load balancer", fakekit.Injection{Count: 6, Fault: fakekit.FaultServerError}},
		{"connection closed", fakekit.Injection{Count: 6, Fault: fakekit.FaultClose}},
		{"timeout", fakekit.Injection{Count: 3, Fault: fakekit.FaultHang}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, fk := newWhatsAppFixture(t, wafake.Options{}, nil)
			if err := fk.Inject.Add(c.in); err != nil {
				t.Fatal(err)
			}
			cs, ids := f.identities("whatsapp", 20, waNumber)
			f.enqueue(f.each(cs, ids, tmpl("promo"), outbox.SourceBroadcast, "b1")...)
			f.start()
			f.settle(20)
			if s := f.count("status = 'sent'", nil); s != 20 {
				t.Fatalf("want all 20 sent, got %v", f.statusCounts())
			}
			if f.count("attempts > 1", nil) == 0 {
				t.Fatal("the injected faults never reached the dispatcher")
			}
			f.acceptedOncePerRecipient(20)
		})
	}
}

func TestWhatsAppFakePermanentErrorFailsOnlyThatRecipient(t *testing.T) {
	f, fk := newWhatsAppFixture(t, wafake.Options{}, nil)
	cs, ids := f.identities("whatsapp", 5, waNumber)
	if err := fk.Rules.Set("5215530000002", fakekit.Rule{Outcome: fakekit.FailSync, Code: "131026"}); err != nil {
		t.Fatal(err)
	}
	q := f.enqueue(f.each(cs, ids, tmpl("promo"), outbox.SourceBroadcast, "b1")...)
	f.start()
	f.settle(5)
	m := f.msg(q[2].ID)
	if m.Status != "failed" || m.ErrorCode != "131026" || m.ErrorClass != "permanent" || m.Attempts != 1 {
		t.Fatalf("the undeliverable recipient: %+v", m)
	}
	if f.count("status = 'sent'", nil) != 4 || fk.Log.Total() != 5 {
		t.Fatalf("others must be sent and nothing retried: %v, %d requests", f.statusCounts(), fk.Log.Total())
	}
}

func TestWhatsAppFakeRevokedTokenPausesTheChannel(t *testing.T) {
	f, fk := newWhatsAppFixture(t, wafake.Options{}, map[string]any{whatsapp.KeyAccessToken: "revoked-token"})
	cs, ids := f.identities("whatsapp", 10, waNumber)
	f.enqueue(f.each(cs, ids, tmpl("promo"), outbox.SourceBroadcast, "b1")...)
	f.start()
	f.waitFor("paused", func() bool {
		rec, _ := f.app.FindRecordById("channels", f.channel)
		return rec.GetString("status") == "paused" && f.count("status = 'sending'", nil) == 0
	})
	rec, _ := f.app.FindRecordById("channels", f.channel)
	if f.count("status = 'queued'", nil) != 10 || fk.Log.Accepted() != 0 {
		t.Fatalf("a revoked token must leave every message queued: %v", f.statusCounts())
	}
	if last := rec.GetString("last_error"); last == "" || strings.Contains(last, "revoked-token") || strings.Contains(last, "fake-access-token") {
		t.Fatalf("last_error must say why without the token: %q", last)
	}
	calls := fk.Log.Total()
	time.Sleep(50 * time.Millisecond)
	if fk.Log.Total() != calls {
		t.Fatal("a paused channel kept calling the provider")
	}
}

func TestTelegramFakeRetryAfterIsHonoured(t *testing.T) {
	fk, err := tgfake.Start(tgfake.Options{RetryAfter: 2, GlobalRate: 1000, ChatRate: 1000, ChatBurst: 1000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fk.Close)
	if err := fk.Inject.Add(fakekit.Injection{Count: 1, Code: tgfake.Code429}); err != nil {
		t.Fatal(err)
	}
	f := newHTTPFixture(t, "telegram", map[string]any{"base_url": fk.URL(), "bot_token": fk.Options().Token, "secret_token": "s3cret"},
		clock.Real{}, fk.Kit, 1) // one call at a time: none is in flight when the 429 comes back
	cs, ids := f.identities("telegram", 5, func(i int) string { return fmt.Sprint(3527065 + i) })
	f.enqueue(f.each(cs, ids, text("hola"), outbox.SourceAgent, "")...)
	f.start()
	f.settle(5)
	if f.count("status = 'sent'", nil) != 5 || f.count("error_code = '429'", nil) != 0 {
		t.Fatalf("all must be sent after the wait: %v", f.statusCounts())
	}
	if n := fk.Log.IgnoredWaits(nil); n != 0 {
		t.Fatalf("%d requests ignored Telegram's retry_after", n)
	}
	var refused, firstAfter time.Time
	for _, e := range fk.Log.Entries() {
		if e.Status == 429 && refused.IsZero() {
			refused = e.At
		} else if !refused.IsZero() && firstAfter.IsZero() && e.At.After(refused) {
			firstAfter = e.At
		}
	}
	if refused.IsZero() || firstAfter.Sub(refused) < 2*time.Second {
		t.Fatalf("after a 429 with retry_after=2 the next call came %s later", firstAfter.Sub(refused))
	}
	f.acceptedOncePerRecipient(5)
}
