package broadcasts_test

import (
	"fmt"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/events"
)

// BenchmarkConsumeStatusEvents measures the engine's share of a status
// webhook: reading message.status events (four
// per message: sent by the outbox; sent, delivered and read by webhooks)
// and recounting the broadcast they touch.
func BenchmarkConsumeStatusEvents(b *testing.B) {
	const msgs = 5000
	for range b.N {
		b.StopTimer()
		w := newWorld(b)
		err := w.app.RunInTransaction(func(tx core.App) error {
			ins := tx.DB().NewQuery(`INSERT INTO messages (id, direction, channel, contact, identity, status, source, source_id, created, updated)
				VALUES ({:id}, 'out', 'ch', {:c}, 'i', 'read', 'broadcast', 'bcast', '', '')`).Prepare()
			defer ins.Close()
			var evs []events.Event
			for i := range msgs {
				id := fmt.Sprintf("m%014d", i)
				if _, err := ins.Bind(dbx.Params{"id": id, "c": fmt.Sprintf("c%014d", i)}).Execute(); err != nil {
					return err
				}
				evs = append(evs, events.Event{Type: "message.status", Subject: id, Payload: map[string]any{"status": "sent", "source_id": "bcast"}})
				for _, s := range []string{"sent", "delivered", "read"} {
					evs = append(evs, events.Event{Type: "message.status", Subject: id, Payload: map[string]any{"status": s}})
				}
			}
			return events.AppendMany(tx, evs)
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := w.env.Broadcasts.ConsumeEvents(); err != nil {
			b.Fatal(err)
		}
		if err := w.env.Broadcasts.RefreshActive(true); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*msgs), "µs/message")
}
