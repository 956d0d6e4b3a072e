package outbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/pocketbase/dbx"

	"pregon/channels"
	"pregon/outbox"
)

func TestStartMarksInFlightMessagesUnknownAndNeverResendsThem(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	cs, ids := f.recipients(3, epoch)
	q := f.enqueue(f.item(cs[0], ids[0], text("in flight"), outbox.SourceAPI),
		f.item(cs[1], ids[1], text("in flight"), outbox.SourceAPI),
		f.item(cs[2], ids[2], text("queued"), outbox.SourceAPI))
	// As a killed process leaves them: claimed, provider call unanswered.
	if _, err := f.app.DB().NewQuery("UPDATE messages SET status = 'sending', attempts = 1 WHERE id IN ({:a}, {:b})").
		Bind(dbx.Params{"a": q[0].ID, "b": q[1].ID}).Execute(); err != nil {
		t.Fatal(err)
	}
	f.start()
	f.waitFor("the queued one sent", func() bool { return f.msg(q[2].ID).Status == outbox.StatusSent })
	for _, id := range []string{q[0].ID, q[1].ID} {
		if m := f.msg(id); m.Status != outbox.StatusUnknown {
			t.Fatalf("a message in flight at the crash must become unknown, got %+v", m)
		}
	}
	if f.adapter.callCount() != 1 || f.eventCount(outbox.EventStatus) != 3 {
		t.Fatalf("want 1 call and 3 status events (2 unknown, 1 sent), got %d and %d", f.adapter.callCount(), f.eventCount(outbox.EventStatus))
	}
}

func TestStopDrainsCallsInFlightAndLeavesTheRestQueued(t *testing.T) {
	caps := waCaps
	caps.MaxInFlight = 2
	f := newFixture(t, caps, nil)
	cs, ids := f.recipients(20, epoch)
	inCall := make(chan struct{}, 20)
	release := make(chan struct{})
	f.adapter.setAnswer(func(m channels.OutMessage, n int) (channels.SendResult, error) {
		inCall <- struct{}{}
		<-release
		return channels.SendResult{ProviderID: "ok." + m.ID}, nil
	})
	f.enqueue(f.each(cs, ids, text("hola"), outbox.SourceBroadcast, "")...)
	f.start()
	<-inCall
	<-inCall // both workers are inside a provider call
	stopped := make(chan struct{})
	go func() { f.env.Outbox.Stop(context.Background()); close(stopped) }()
	time.Sleep(20 * time.Millisecond)
	close(release)
	<-stopped
	if s := f.count("status = 'sent'", nil); s != f.adapter.callCount() || s < 2 {
		t.Fatalf("every call that was made must be recorded sent: %d sent, %d calls", s, f.adapter.callCount())
	}
	if n := f.count("status = 'sending'", nil); n != 0 {
		t.Fatalf("a clean stop must leave nothing in flight, %d are", n)
	}
	if q := f.count("status = 'queued' AND attempts = 0", nil); q+f.count("status = 'sent'", nil) != 20 {
		t.Fatalf("unsent messages must go back to the queue untouched: %v", f.statusCounts())
	}
}

func TestStopCutsOffCallsPastTheDrainDeadlineAsUnknown(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	cs, ids := f.recipients(1, epoch)
	entered := make(chan struct{})
	f.adapter.mu.Lock()
	f.adapter.answerCtx = func(ctx context.Context, m channels.OutMessage) (channels.SendResult, error) {
		close(entered)
		<-ctx.Done() // answers only when the drain deadline has cut the call off
		return channels.SendResult{}, ctx.Err()
	}
	f.adapter.mu.Unlock()
	q := f.enqueue(f.item(cs[0], ids[0], text("slow"), outbox.SourceAPI))
	f.start()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	f.env.Outbox.Stop(ctx)
	if m := f.msg(q[0].ID); m.Status != outbox.StatusUnknown {
		t.Fatalf("a call cut off at shutdown may have reached the provider: want unknown, got %+v", m)
	}
}

func TestSentNeverMovesADeliveredMessageBack(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	cs, ids := f.recipients(1, epoch)
	q := f.enqueue(f.item(cs[0], ids[0], text("hola"), outbox.SourceAPI))
	// Twilio's callback (keyed by our id) reported delivered before our batch landed.
	f.app.DB().NewQuery("UPDATE messages SET status = 'delivered' WHERE id = {:id}").Bind(dbx.Params{"id": q[0].ID}).Execute()
	if err := outbox.WriteSentForTest(f.app, f.channel, q[0].ID, "SM123", epoch); err != nil {
		t.Fatal(err)
	}
	m := f.msg(q[0].ID)
	if m.Status != outbox.StatusDelivered || m.ProviderID != "SM123" || m.SentAt == "" {
		t.Fatalf("want delivered kept with provider id and sent_at written, got %+v", m)
	}
}

func TestHoldReleaseCancelAndPaceASource(t *testing.T) {
	f := newFixture(t, waCaps, map[string]any{"rate_per_second": 100000})
	cs, ids := f.recipients(10, epoch)
	f.enqueue(f.each(cs, ids, tmpl("promo"), outbox.SourceBroadcast, "bc1")...)
	if n, err := f.env.Outbox.HoldSource("bc1"); err != nil || n != 10 {
		t.Fatalf("hold: %d, %v", n, err)
	}
	f.start()
	other := f.enqueue(f.item(cs[0], ids[0], text("agent reply"), outbox.SourceAgent))
	f.waitFor("the agent's message goes while the broadcast is held", func() bool { return f.msg(other[0].ID).Status == "sent" })
	if n := f.count("status = 'held'", nil); n != 10 || f.adapter.callCount() != 1 {
		t.Fatalf("held messages must not be sent: %v", f.statusCounts())
	}

	// Pace: 2 per second from a start time, in queue order, held ones included.
	if n, err := outbox.Pace(f.app, "bc1", 2, epoch.Add(time.Minute)); err != nil || n != 10 {
		t.Fatalf("pace: %d, %v", n, err)
	}
	var times []string
	f.app.DB().NewQuery("SELECT next_attempt_at FROM messages WHERE source_id = 'bc1' ORDER BY rowid").Column(&times)
	for k, s := range times {
		if got := parse(t, s).Sub(epoch.Add(time.Minute)); got != time.Duration(k)*500*time.Millisecond {
			t.Fatalf("row %d due at +%s, want +%s", k, got, time.Duration(k)*500*time.Millisecond)
		}
	}

	if n, err := f.env.Outbox.ReleaseSource("bc1"); err != nil || n != 10 {
		t.Fatalf("release: %d, %v", n, err)
	}
	f.clock.Advance(time.Minute + 2*time.Second) // the first five are due
	f.waitFor("five sent", func() bool { return f.count("source_id = 'bc1' AND status = 'sent'", nil) == 5 })
	if n, err := f.env.Outbox.CancelSource("bc1", "broadcast cancelled by ana@tienda.mx"); err != nil || n != 5 {
		t.Fatalf("cancel: %d, %v", n, err)
	}
	f.clock.Advance(time.Hour)
	time.Sleep(30 * time.Millisecond)
	if n := f.count("source_id = 'bc1' AND status = 'failed' AND error_code = 'cancelled'", nil); n != 5 || f.adapter.callCount() != 6 {
		t.Fatalf("cancel must fail the five unsent and send nothing more: %v, %d calls", f.statusCounts(), f.adapter.callCount())
	}
}

func TestSourceRateSpreadsABacklogInsteadOfSendingItAtOnce(t *testing.T) {
	f := newFixture(t, waCaps, map[string]any{"rate_per_second": 100000})
	cs, ids := f.recipients(5, epoch)
	f.env.Outbox.SetSourceRate("slow", 0.1) // one every 10 s
	f.enqueue(f.each(cs, ids, tmpl("promo"), outbox.SourceBroadcast, "slow")...)
	f.start()
	f.waitFor("one sent, four deferred", func() bool {
		return f.count("status = 'sent'", nil) == 1 && f.count("status = 'queued' AND next_attempt_at > {:t}", dbx.Params{"t": "2026-03-02 10:00:00.000Z"}) == 4
	})
	var times []string
	f.app.DB().NewQuery("SELECT next_attempt_at FROM messages WHERE status = 'queued' ORDER BY next_attempt_at").Column(&times)
	for k := 1; k < len(times); k++ {
		if gap := parse(t, times[k]).Sub(parse(t, times[k-1])); gap < 10*time.Second-time.Millisecond {
			t.Fatalf("deferred messages must be spread one step apart, gap %s", gap)
		}
	}
	if n := f.count("attempts = 0", nil); n != 4 {
		t.Fatalf("deferral must not spend attempts: %d rows with 0", n)
	}
}

func TestManagerFollowsChannelsCreatedAndPausedAtRuntime(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	f.start()
	second := f.newChannel("Second number", map[string]any{"status": "paused"})
	cs, ids := f.recipients(1, epoch)
	it := f.item(cs[0], ids[0], text("hola"), outbox.SourceAPI)
	it.Channel = second
	q := f.enqueue(it)
	time.Sleep(30 * time.Millisecond)
	if f.msg(q[0].ID).Status != outbox.StatusQueued {
		t.Fatal("a paused channel must not send")
	}
	rec, _ := f.app.FindRecordById("channels", second)
	rec.Set("status", "active")
	if err := f.app.Save(rec); err != nil {
		t.Fatal(err)
	}
	f.waitFor("sent once the channel is active", func() bool { return f.msg(q[0].ID).Status == outbox.StatusSent })
}
