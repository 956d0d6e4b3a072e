package outbox_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"

	"pregon/channels"
	"pregon/outbox"
)

func TestDispatchSendsEveryMessageOnceAndRecordsIt(t *testing.T) {
	f := newFixture(t, waCaps, map[string]any{"rate_per_second": 100000})
	cs, ids := f.recipients(300, epoch)
	f.enqueue(f.each(cs, ids, text("hola"), outbox.SourceBroadcast, "")...)
	f.start()
	f.waitFor("all sent", func() bool { return f.count("status = 'sent'", nil) == 300 })

	for to, n := range f.adapter.callsTo() {
		if n != 1 {
			t.Fatalf("%s received %d messages", to, n)
		}
	}
	if n := f.count("provider_id LIKE 'wamid.T%' AND sent_at != '' AND attempts = 1", nil); n != 300 {
		t.Fatalf("every sent row needs its provider id, sent_at and one attempt; %d do", n)
	}
	if n := f.eventCount(outbox.EventStatus); n != 300 {
		t.Fatalf("want 300 message.status events, got %d", n)
	}
	var touched int
	f.app.DB().NewQuery("SELECT COUNT(*) FROM contacts WHERE last_outbound_at != ''").Row(&touched)
	if touched != 300 {
		t.Fatalf("every contact reached needs its last_outbound_at, %d have it", touched)
	}
}

func TestAgentMessagesJumpAheadOfABroadcast(t *testing.T) {
	caps := waCaps
	caps.MaxInFlight = 1
	f := newFixture(t, caps, map[string]any{"rate_per_second": 100000})
	cs, ids := f.recipients(6, epoch)
	var items []outbox.Item
	for i := range 5 {
		items = append(items, f.item(cs[i], ids[i], text("promo"), outbox.SourceBroadcast))
	}
	items = append(items, f.item(cs[5], ids[5], text("reply"), outbox.SourceAgent))
	f.enqueue(items...)
	f.start()
	f.waitFor("all sent", func() bool { return f.count("status = 'sent'", nil) == 6 })
	f.adapter.mu.Lock()
	first := f.adapter.calls[0].Content.Text
	f.adapter.mu.Unlock()
	if first != "reply" {
		t.Fatalf("the agent's reply must go first, got %q first", first)
	}
}

func TestRetryClassBacksOffThenSends(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	cs, ids := f.recipients(1, epoch)
	f.adapter.setAnswer(func(m channels.OutMessage, n int) (channels.SendResult, error) {
		if n <= 2 {
			return channels.SendResult{}, &channels.Error{Class: channels.ClassRetry, Code: "131000", Detail: "something went wrong"}
		}
		return channels.SendResult{ProviderID: "wamid.OK"}, nil
	})
	q := f.enqueue(f.item(cs[0], ids[0], text("hola"), outbox.SourceAPI))
	f.start()
	for try := 1; try <= 2; try++ {
		f.waitFor("requeued after a retry error", func() bool {
			m := f.msg(q[0].ID)
			return m.Status == outbox.StatusQueued && m.Attempts == try
		})
		m := f.msg(q[0].ID)
		next := parse(t, m.NextAttempt)
		// Attempt n waits between half and all of base·2^(n-1).
		lo, hi := time.Duration(1<<(try-1))*time.Second/2, time.Duration(1<<(try-1))*time.Second
		if wait := next.Sub(f.clock.Now()); wait < lo || wait > hi || m.ErrorClass != "retry" || m.ErrorCode != "131000" {
			t.Fatalf("attempt %d: wait %s (want %s..%s), class %q code %q", try, wait, lo, hi, m.ErrorClass, m.ErrorCode)
		}
		if f.adapter.callCount() != try {
			t.Fatalf("a requeued message was sent before it was due")
		}
		f.clock.Advance(hi)
	}
	f.waitFor("sent on the third attempt", func() bool { return f.msg(q[0].ID).Status == outbox.StatusSent })
	if m := f.msg(q[0].ID); m.Attempts != 3 || m.ErrorCode != "" || m.ProviderID != "wamid.OK" {
		t.Fatalf("after success: %+v", m)
	}
}

func TestTransientErrorsFailAfterMaxAttempts(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	cs, ids := f.recipients(1, epoch)
	f.adapter.setAnswer(func(channels.OutMessage, int) (channels.SendResult, error) {
		return channels.SendResult{}, errors.New("read tcp: connection reset by peer")
	})
	q := f.enqueue(f.item(cs[0], ids[0], text("hola"), outbox.SourceAPI))
	f.start()
	f.waitFor("failed after 4 attempts", func() bool {
		f.clock.Advance(time.Minute)
		return f.msg(q[0].ID).Status == outbox.StatusFailed
	})
	m := f.msg(q[0].ID)
	if m.Attempts != 4 || f.adapter.callCount() != 4 || m.ErrorClass != "retry" || !strings.Contains(m.ErrorDetail, "gave up after 4 attempts") {
		t.Fatalf("want failure after exactly 4 calls with the last error, got %+v (%d calls)", m, f.adapter.callCount())
	}
}

func TestThrottleWaitIsHonouredExactlyForItsScope(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	cs, ids := f.recipients(3, epoch)
	// The first call is refused for the whole bot with retry_after=30 (Telegram).
	f.adapter.setAnswer(func(m channels.OutMessage, n int) (channels.SendResult, error) {
		if m.Content.Text == "first" && n == 1 {
			return channels.SendResult{}, &channels.Error{Class: channels.ClassThrottle, Scope: channels.ScopeChannel,
				Wait: 30 * time.Second, Code: "429", Detail: "Too Many Requests: retry after 30"}
		}
		return channels.SendResult{ProviderID: "ok." + m.ID}, nil
	})
	q := f.enqueue(f.item(cs[0], ids[0], text("first"), outbox.SourceAgent))
	f.start()
	f.waitFor("throttled", func() bool { m := f.msg(q[0].ID); return m.Status == outbox.StatusQueued && m.ErrorClass == "throttle" })
	m := f.msg(q[0].ID)
	if got := parse(t, m.NextAttempt).Sub(epoch); got != 30*time.Second || m.ErrorClass != "throttle" {
		t.Fatalf("retry_after 30 must requeue exactly 30 s later, got %s (%+v)", got, m)
	}
	// The channel is closed for 30 s: new messages to others wait too.
	q2 := f.enqueue(f.item(cs[1], ids[1], text("second"), outbox.SourceAgent))
	time.Sleep(50 * time.Millisecond)
	if f.adapter.callCount() != 1 || f.msg(q2[0].ID).Status != outbox.StatusQueued {
		t.Fatalf("a call went out during the channel's retry_after")
	}
	f.clock.Advance(30 * time.Second)
	f.waitFor("both sent after the wait", func() bool { return f.count("status = 'sent'", nil) == 2 })

	// A recipient-scoped throttle (WhatsApp 131056) delays only that recipient.
	f.adapter.setAnswer(func(m channels.OutMessage, n int) (channels.SendResult, error) {
		if m.Content.Text == "pair" && n == 1 {
			return channels.SendResult{}, &channels.Error{Class: channels.ClassThrottle, Scope: channels.ScopeRecipient,
				Wait: 6 * time.Second, Code: "131056", Detail: "pair rate limit hit"}
		}
		return channels.SendResult{ProviderID: "ok." + m.ID}, nil
	})
	q3 := f.enqueue(f.item(cs[2], ids[2], text("pair"), outbox.SourceAgent))
	f.waitFor("pair throttled", func() bool { return f.msg(q3[0].ID).ErrorCode == "131056" })
	q4 := f.enqueue(f.item(cs[0], ids[0], text("other recipient"), outbox.SourceAgent))
	f.waitFor("the other recipient is not held back", func() bool { return f.msg(q4[0].ID).Status == outbox.StatusSent })
	if got := parse(t, f.msg(q3[0].ID).NextAttempt).Sub(f.clock.Now()); got != 6*time.Second {
		t.Fatalf("pair throttle must wait 6 s, got %s", got)
	}
	f.clock.Advance(6 * time.Second)
	f.waitFor("pair sent after its wait", func() bool { return f.msg(q3[0].ID).Status == outbox.StatusSent })
}

func TestPermanentErrorFailsAndOptOutRecordsConsent(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	cs, ids := f.recipients(2, epoch)
	f.adapter.setAnswer(func(m channels.OutMessage, n int) (channels.SendResult, error) {
		if m.Content.Template.Name == "optout" {
			return channels.SendResult{}, &channels.Error{Class: channels.ClassPermanent, Code: "131050", OptOut: true,
				Detail: "user stopped marketing messages"}
		}
		return channels.SendResult{}, &channels.Error{Class: channels.ClassPermanent, Code: "131026", Detail: "message undeliverable"}
	})
	q := f.enqueue(f.item(cs[0], ids[0], tmpl("optout"), outbox.SourceBroadcast), f.item(cs[1], ids[1], tmpl("promo"), outbox.SourceBroadcast))
	f.start()
	f.waitFor("both failed", func() bool { return f.count("status = 'failed'", nil) == 2 })
	for i, code := range []string{"131050", "131026"} {
		m := f.msg(q[i].ID)
		if m.ErrorCode != code || m.ErrorClass != "permanent" || m.Attempts != 1 || m.ErrorDetail == "" {
			t.Fatalf("message %d: %+v", i, m)
		}
	}
	if f.adapter.callCount() != 2 {
		t.Fatalf("permanent errors must never be retried; %d calls", f.adapter.callCount())
	}
	var consent, src string
	f.app.DB().NewQuery("SELECT consent, consent_source FROM contact_identities WHERE id = {:id}").
		Bind(dbx.Params{"id": ids[0]}).Row(&consent, &src)
	if consent != "opted_out" || src != "provider_error:131050" || f.eventCount(outbox.EventConsentChanged) != 1 {
		t.Fatalf("opt-out not recorded: consent %q source %q events %d", consent, src, f.eventCount(outbox.EventConsentChanged))
	}
	var payload, actor string
	f.app.DB().NewQuery("SELECT payload, actor FROM events WHERE type = 'consent.changed'").Row(&payload, &actor)
	if !strings.Contains(payload, `"identifier"`) || !strings.Contains(payload, `"to":"opted_out"`) || actor != "outbox" {
		t.Fatalf("the opt-out must go through the contacts hooks (their event shape), got %s by %s", payload, actor)
	}
	f.app.DB().NewQuery("SELECT consent FROM contact_identities WHERE id = {:id}").Bind(dbx.Params{"id": ids[1]}).Row(&consent)
	if consent != "" {
		t.Fatalf("an undeliverable number is not an opt-out: consent %q", consent)
	}
}

func TestConfigErrorPausesTheChannelAndKeepsMessagesQueued(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	cs, ids := f.recipients(5, epoch)
	f.adapter.setAnswer(func(channels.OutMessage, int) (channels.SendResult, error) {
		return channels.SendResult{}, &channels.Error{Class: channels.ClassConfig, Code: "190", Detail: "access token has expired"}
	})
	f.enqueue(f.each(cs, ids, text("hola"), outbox.SourceAPI, "")...)
	f.start()
	f.waitFor("channel paused", func() bool {
		rec, _ := f.app.FindRecordById("channels", f.channel)
		return rec.GetString("status") == "paused"
	})
	f.waitFor("nothing left in flight", func() bool { return f.count("status = 'sending'", nil) == 0 })
	rec, _ := f.app.FindRecordById("channels", f.channel)
	if !strings.Contains(rec.GetString("last_error"), "access token has expired") || f.eventCount(outbox.EventChannelPaused) != 1 {
		t.Fatalf("the admin must be told: last_error %q, events %d", rec.GetString("last_error"), f.eventCount(outbox.EventChannelPaused))
	}
	if n := f.count("status = 'queued' AND attempts = 0", nil); n != 5 {
		t.Fatalf("a config error must leave every message queued with its attempt refunded; statuses %v", f.statusCounts())
	}
	calls := f.adapter.callCount()
	time.Sleep(50 * time.Millisecond)
	if f.adapter.callCount() != calls {
		t.Fatal("a paused channel kept sending")
	}

	// The admin fixes the token and resumes the channel.
	f.adapter.setAnswer(nil)
	rec.Set("status", "active")
	if err := f.app.Save(rec); err != nil {
		t.Fatal(err)
	}
	f.waitFor("all sent after resume", func() bool { return f.count("status = 'sent'", nil) == 5 })
}

func TestWindowClosedFailsWithoutACall(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	cs, ids := f.recipients(2, time.Time{})             // never wrote
	cs2, ids2 := f.recipients(1, epoch.Add(-time.Hour)) // wrote an hour ago
	q := f.enqueue(
		f.item(cs[0], ids[0], text("free text"), outbox.SourceJourney),
		f.item(cs[1], ids[1], tmpl("welcome"), outbox.SourceJourney),
		f.item(cs2[0], ids2[0], text("inside the window"), outbox.SourceJourney),
	)
	f.start()
	f.waitFor("all settled", func() bool { return f.count("status IN ('sent','failed')", nil) == 3 })
	if m := f.msg(q[0].ID); m.Status != "failed" || m.ErrorCode != "window_closed" || !strings.Contains(m.ErrorDetail, "send a template") {
		t.Fatalf("text outside the window: %+v", m)
	}
	if f.msg(q[1].ID).Status != "sent" || f.msg(q[2].ID).Status != "sent" || f.adapter.callCount() != 2 {
		t.Fatalf("templates and in-window text must go: %v, %d calls", f.statusCounts(), f.adapter.callCount())
	}
}

func TestDailyTierSendsUpToTheLimitAndSurvivesRestart(t *testing.T) {
	f := newFixture(t, waCaps, map[string]any{"daily_limit": 1000, "rate_per_second": 100000})
	cs, ids := f.recipients(1500, time.Time{})
	f.enqueue(f.each(cs, ids, tmpl("promo"), outbox.SourceBroadcast, "")...)
	f.start()
	f.waitFor("all settled", func() bool { return f.count("status IN ('sent','failed')", nil) == 1500 })
	if s, fl := f.count("status = 'sent'", nil), f.count("status = 'failed' AND error_code = 'daily_limit' AND error_detail LIKE 'daily limit reached%'", nil); s != 1000 || fl != 500 {
		t.Fatalf("a 1,000 tier and 1,500 recipients: want 1000 sent and 500 failed \"daily limit reached\", got %d and %d", s, fl)
	}
	if f.adapter.callCount() != 1000 {
		t.Fatalf("the provider must never see messages over the tier: %d calls", f.adapter.callCount())
	}

	// A restart rebuilds the tier from the database.
	f.env.Outbox.Stop(t.Context())
	var sentIdx int
	for i := range ids {
		if f.adapter.callsTo()[identifier(t, f, ids[i])] == 1 {
			sentIdx = i
			break
		}
	}
	newC, newI := f.recipients(1, time.Time{})
	q := f.enqueue(f.item(newC[0], newI[0], tmpl("promo"), outbox.SourceBroadcast),
		f.item(cs[sentIdx], ids[sentIdx], tmpl("again"), outbox.SourceBroadcast))
	f.start()
	f.waitFor("settled after restart", func() bool { return f.count("status IN ('sent','failed')", nil) == 1502 })
	if f.msg(q[0].ID).ErrorCode != "daily_limit" || f.msg(q[1].ID).Status != "sent" {
		t.Fatalf("after a restart: a new recipient must be refused (%+v) and a counted one served (%+v)", f.msg(q[0].ID), f.msg(q[1].ID))
	}
	// A day later the window has rolled: new recipients go again.
	f.clock.Advance(25 * time.Hour)
	q = f.enqueue(f.item(newC[0], newI[0], tmpl("next day"), outbox.SourceBroadcast))
	f.waitFor("sent the next day", func() bool { return f.msg(q[0].ID).Status == outbox.StatusSent })
}

func identifier(t *testing.T, f *fixture, identity string) string {
	var s string
	if err := f.app.DB().NewQuery("SELECT identifier FROM contact_identities WHERE id = {:id}").Bind(dbx.Params{"id": identity}).Row(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRecipientSpacingDelaysOnlyThatRecipient(t *testing.T) {
	caps := waCaps
	caps.RecipientSpacing = 6 * time.Second
	f := newFixture(t, caps, nil)
	cs, ids := f.recipients(2, epoch)
	q := f.enqueue(
		f.item(cs[0], ids[0], text("one"), outbox.SourceAgent),
		f.item(cs[0], ids[0], text("two"), outbox.SourceAgent),
		f.item(cs[0], ids[0], text("three"), outbox.SourceAgent),
		f.item(cs[1], ids[1], text("other"), outbox.SourceAgent),
	)
	f.start()
	f.waitFor("first and other sent", func() bool {
		return f.msg(q[0].ID).Status == "sent" && f.msg(q[3].ID).Status == "sent"
	})
	f.waitFor("two and three deferred", func() bool { return f.count("status = 'queued'", nil) == 2 })
	for _, id := range []string{q[1].ID, q[2].ID} {
		m := f.msg(id)
		if got := parse(t, m.NextAttempt).Sub(epoch); got < 6*time.Second || m.Attempts != 0 {
			t.Fatalf("a spaced message must wait ≥6 s without spending an attempt: %s, %+v", got, m)
		}
	}
	f.clock.Advance(6 * time.Second)
	f.waitFor("two sent", func() bool { return f.msg(q[1].ID).Status == "sent" })
	f.clock.Advance(6 * time.Second)
	f.waitFor("three sent", func() bool { return f.msg(q[2].ID).Status == "sent" })
	f.adapter.mu.Lock()
	var order []string
	for _, c := range f.adapter.calls {
		if c.Content.Text != "other" {
			order = append(order, c.Content.Text)
		}
	}
	f.adapter.mu.Unlock()
	if strings.Join(order, ",") != "one,two,three" {
		t.Fatalf("messages to one recipient must keep their order, got %v", order)
	}
}

func parse(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse("2006-01-02 15:04:05.000Z", s)
	if err != nil {
		t.Fatalf("bad time %q: %v", s, err)
	}
	return tm
}

func TestMigratedChatIsRetriedAtItsNewID(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	cs, ids := f.recipients(1, epoch)
	old := identifier(t, f, ids[0])
	f.adapter.setAnswer(func(m channels.OutMessage, n int) (channels.SendResult, error) {
		if m.To == old {
			return channels.SendResult{}, &channels.Error{Class: channels.ClassRetry, Code: "400", MigrateTo: "-1001234567890",
				Detail: "Bad Request: group chat was upgraded to a supergroup chat"}
		}
		return channels.SendResult{ProviderID: "-1001234567890:7"}, nil
	})
	q := f.enqueue(f.item(cs[0], ids[0], text("hola grupo"), outbox.SourceAgent))
	f.start()
	f.waitFor("sent to the new chat", func() bool { return f.msg(q[0].ID).Status == outbox.StatusSent })
	if got := identifier(t, f, ids[0]); got != "-1001234567890" || f.msg(q[0].ID).Attempts != 2 {
		t.Fatalf("identity now %q, attempts %d", got, f.msg(q[0].ID).Attempts)
	}
}

func TestAPanickingAdapterLeavesTheMessageUnknownAndTheRestGoing(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	cs, ids := f.recipients(3, epoch)
	f.adapter.setAnswer(func(m channels.OutMessage, n int) (channels.SendResult, error) {
		if m.Content.Text == "boom" {
			panic("nil map in the adapter")
		}
		return channels.SendResult{ProviderID: "ok." + m.ID}, nil
	})
	q := f.enqueue(f.item(cs[0], ids[0], text("boom"), outbox.SourceAPI),
		f.item(cs[1], ids[1], text("fine"), outbox.SourceAPI), f.item(cs[2], ids[2], text("fine"), outbox.SourceAPI))
	f.start()
	f.waitFor("settled", func() bool { return f.count("status IN ('sent','unknown')", nil) == 3 })
	if f.msg(q[0].ID).Status != outbox.StatusUnknown || f.count("status = 'sent'", nil) != 2 {
		t.Fatalf("want the panicking call unknown and the others sent: %v", f.statusCounts())
	}
}
