package outbox_test

import (
	"testing"

	"pregon/outbox"
)

// BenchmarkWriteResults measures one group commit of 2,000 sent results,
// with and without their message.status events: the cost the event log adds
// to the dispatcher's hot path (docs/ARCHITECTURE.md, Outbox).
func BenchmarkWriteResults(b *testing.B) {
	for _, withEvents := range []bool{false, true} {
		name := "messages-only"
		if withEvents {
			name = "with-events"
		}
		b.Run(name, func(b *testing.B) {
			f := newFixture(b, waCaps, nil)
			cs, ids := f.recipients(2000, epoch)
			var msgIDs []string
			for _, q := range f.enqueue(f.each(cs, ids, tmpl("promo"), outbox.SourceBroadcast, "bench")...) {
				msgIDs = append(msgIDs, q.ID)
			}
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				f.app.DB().NewQuery("UPDATE messages SET status = 'sending', provider_id = ''").Execute()
				b.StartTimer()
				if err := outbox.WriteResultsBench(f.app, f.channel, msgIDs, epoch, withEvents); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(msgIDs)), "µs/msg")
		})
	}
}
