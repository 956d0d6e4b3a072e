package outbox_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/pocketbase/dbx"

	"pregon/outbox"
)

func TestEnqueueIsBulkIdempotentAndPrioritised(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	cs, ids := f.recipients(3, epoch)

	first := f.enqueue(
		outbox.Item{Channel: f.channel, Contact: cs[0], Identity: ids[0], Content: text("hola"), Source: outbox.SourceBroadcast, SourceID: "b1", DedupeKey: "b:b1:" + cs[0]},
		outbox.Item{Channel: f.channel, Contact: cs[1], Identity: ids[1], Content: text("hola"), Source: outbox.SourceAgent},
		outbox.Item{Channel: f.channel, Contact: cs[2], Identity: ids[2], Content: tmpl("promo"), Source: outbox.SourceJourney},
	)
	again := f.enqueue(outbox.Item{Channel: f.channel, Contact: cs[0], Identity: ids[0], Content: text("other"),
		Source: outbox.SourceBroadcast, SourceID: "b1", DedupeKey: "b:b1:" + cs[0]})
	if !again[0].Duplicate || again[0].ID != first[0].ID {
		t.Fatalf("duplicate dedupe key: got %+v, want the first id %s", again[0], first[0].ID)
	}
	if n := f.count("direction = 'out'", nil); n != 3 {
		t.Fatalf("want 3 rows after a duplicate, got %d", n)
	}
	for i, want := range []int{10, 30, 20} {
		if m := f.msg(first[i].ID); m.Priority != want || m.Status != outbox.StatusQueued {
			t.Errorf("item %d: priority %d status %s, want %d queued", i, m.Priority, m.Status, want)
		}
	}

	// A plan larger than one transaction chunk, with duplicates inside it.
	var items []outbox.Item
	for i := range 12000 {
		items = append(items, outbox.Item{Channel: f.channel, Contact: cs[i%3], Identity: ids[i%3], Content: text("x"),
			Source: outbox.SourceBroadcast, SourceID: "b2", DedupeKey: "b:b2:" + strconv.Itoa(i%7000)})
	}
	res := f.enqueue(items...)
	dups := 0
	for _, q := range res {
		if q.Duplicate {
			dups++
		}
	}
	if dups != 5000 || f.count("source_id = 'b2'", nil) != 7000 {
		t.Fatalf("want 7000 rows and 5000 duplicates, got %d rows and %d duplicates", f.count("source_id = 'b2'", nil), dups)
	}

	if _, err := outbox.Enqueue(f.app, epoch, []outbox.Item{{Channel: f.channel, Identity: ids[0], Content: text("x"), Source: "spam"}}); err == nil {
		t.Fatal("an unknown source must be refused")
	}
	if _, err := outbox.Enqueue(f.app, epoch, []outbox.Item{{Channel: f.channel, Identity: ids[0], Source: "api"}}); err == nil {
		t.Fatal("empty content must be refused")
	}
}

func TestClaimTakesPriorityFirstAndOnlyDueRows(t *testing.T) {
	f := newFixture(t, waCaps, nil)
	cs, ids := f.recipients(4, epoch)
	q := f.enqueue(
		f.item(cs[0], ids[0], text("bulk"), outbox.SourceBroadcast),
		f.item(cs[1], ids[1], text("journey"), outbox.SourceJourney),
		f.item(cs[2], ids[2], text("agent"), outbox.SourceAgent),
	)
	later := f.item(cs[3], ids[3], text("later"), outbox.SourceAgent)
	later.NotBefore = epoch.Add(time.Hour)
	f.enqueue(later)

	got, err := outbox.ClaimForTest(f.app, f.channel, epoch, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{q[2].ID, q[1].ID, q[0].ID}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("claim order %v, want agent, journey, broadcast %v (and not the one due later)", got, want)
	}
	if n := f.count("status = 'sending' AND attempts = 1", nil); n != 3 {
		t.Fatalf("claimed rows must be sending with attempts 1; got %d", n)
	}
	if more, _ := outbox.ClaimForTest(f.app, f.channel, epoch, 10); len(more) != 0 {
		t.Fatalf("a claimed row was claimed again: %v", more)
	}
	if n := f.count("status = 'queued' AND next_attempt_at > {:t}", dbx.Params{"t": "2026-03-02 10:00:00.000Z"}); n != 1 {
		t.Fatalf("the future row must stay queued, got %d", n)
	}
}
