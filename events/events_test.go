package events_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"pregon/events"
	"pregon/internal/testapp"
)

func TestAppendAfterAndCursorsRoundTrip(t *testing.T) {
	app, _ := testapp.New(t)
	base, err := events.After(app, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	start := int64(0)
	if len(base) > 0 {
		start = base[len(base)-1].Seq
	}
	if err := events.AppendMany(app, []events.Event{
		{Type: "tag.added", Contact: "c1", Payload: map[string]string{"tag": "vip"}, Actor: "user:u1"},
		{Type: "message.received", Contact: "c1", Subject: "m1"},
	}); err != nil {
		t.Fatal(err)
	}
	rows, err := events.After(app, start, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Type != "tag.added" || string(rows[0].Payload) != `{"tag":"vip"}` ||
		string(rows[1].Payload) != "null" || rows[1].Subject != "m1" || rows[0].Seq >= rows[1].Seq {
		t.Fatalf("rows = %+v", rows)
	}
	if err := events.SaveCursor(app, "journeys", rows[0].Seq); err != nil {
		t.Fatal(err)
	}
	if pos, err := events.Cursor(app, "journeys"); err != nil || pos != rows[0].Seq {
		t.Fatalf("cursor = %d, %v", pos, err)
	}
	if rest, _ := events.After(app, rows[0].Seq, 10); len(rest) != 1 || rest[0].Type != "message.received" {
		t.Fatalf("after the cursor: %+v", rest)
	}
}

// Event ids sort in log order within a batch and across batches written
// later, so inserts append to the primary-key index; an Appender writes the
// same rows as AppendMany.
func TestEventIDsFollowTheLogOrder(t *testing.T) {
	app, _ := testapp.New(t)
	ap := events.NewAppender(app)
	defer ap.Close()
	var evs []events.Event
	for i := range 37 {
		evs = append(evs, events.Event{Type: "message.status", Contact: "c", Subject: "m" + strconv.Itoa(i), Payload: map[string]int{"i": i}, Actor: "outbox"})
	}
	base, _ := events.After(app, 0, 1_000_000)
	start := int64(0)
	if len(base) > 0 {
		start = base[len(base)-1].Seq
	}
	if err := app.RunInTransaction(func(tx core.App) error { return ap.Append(tx, evs) }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // the next batch is a later millisecond
	if err := events.AppendMany(app, evs[:5]); err != nil {
		t.Fatal(err)
	}
	rows, err := events.After(app, start, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 42 {
		t.Fatalf("%d events written, want 42", len(rows))
	}
	for i, r := range rows {
		if len(r.ID) != 15 || strings.Trim(r.ID, "0123456789abcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("id %q is not 15 characters of [a-z0-9]", r.ID)
		}
		if i > 0 && r.ID <= rows[i-1].ID {
			t.Fatalf("id %q (seq %d) does not sort after %q", r.ID, r.Seq, rows[i-1].ID)
		}
		if want := "m" + strconv.Itoa(i%37); r.Subject != want || string(r.Payload) != `{"i":`+strconv.Itoa(i%37)+`}` {
			t.Fatalf("event %d: subject %q payload %s, want %s", i, r.Subject, r.Payload, want)
		}
	}
}
