package events_test

import (
	"testing"

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
