//go:build linux

package outbox

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	_ "github.com/pocketbase/pocketbase/migrations"

	"pregon/channels"
	_ "pregon/pb_migrations"
)

// BenchmarkClaimAndRecord measures the database side of dispatching, what
// the single SQLite writer does per message: claims of 500 (queued →
// sending) and group commits of 500 sent results with their message.status
// events and last_outbound_at, on 50,000 queued messages, in one goroutine
// and without any provider call. It reports the CPU of that goroutine's
// thread per message for the claim and for the results. Sub-benchmarks take
// one piece away each, to show what it costs: the sent event; the writes
// keyed by contact (messages without a contact: no last_outbound_at update,
// events without a contact entry in idx_events_contact_seq);
// idx_messages_source; idx_messages_provider.
//
//	go test -run='^$' -bench=ClaimAndRecord -benchtime=1x ./outbox
func BenchmarkClaimAndRecord(b *testing.B) {
	for _, v := range []struct {
		name      string
		noEvents  bool
		noContact bool
		drop      string
	}{
		{name: "as-is"},
		{name: "without-sent-events", noEvents: true},
		{name: "without-contact-writes", noContact: true},
		{name: "without-idx_messages_source", drop: "idx_messages_source"},
		{name: "without-idx_messages_provider", drop: "idx_messages_provider"},
	} {
		b.Run(v.name, func(b *testing.B) {
			var claimCPU, writeCPU time.Duration
			var done int
			for range b.N {
				c, w, n := claimAndRecordOnce(b, 50000, v.noEvents, v.noContact, v.drop)
				claimCPU, writeCPU, done = claimCPU+c, writeCPU+w, done+n
			}
			b.ReportMetric(float64(claimCPU.Nanoseconds())/1e3/float64(done), "claim-µs/msg")
			b.ReportMetric(float64(writeCPU.Nanoseconds())/1e3/float64(done), "record-µs/msg")
		})
	}
}

func claimAndRecordOnce(b *testing.B, n int, noEvents, noContact bool, drop string) (claimCPU, writeCPU time.Duration, done int) {
	b.StopTimer()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: b.TempDir()})
	if err := app.Bootstrap(); err != nil {
		b.Fatal(err)
	}
	defer app.ResetBootstrapState()
	if err := app.RunAllMigrations(); err != nil {
		b.Fatal(err)
	}
	if drop != "" {
		if _, err := app.DB().NewQuery("DROP INDEX " + drop).Execute(); err != nil {
			b.Fatal(err)
		}
	}
	ch := benchChannelAndQueue(b, app, n)
	rec := newRecorder(app)
	defer rec.close()
	b.StartTimer()
	seq := 0
	for {
		c0 := threadCPU()
		batch, err := claim(app, ch, time.Now(), 500)
		if err != nil {
			b.Fatal(err)
		}
		claimCPU += threadCPU() - c0
		if len(batch) == 0 {
			return claimCPU, writeCPU, done
		}
		rs := make([]result, len(batch))
		for i, m := range batch {
			seq++
			if noContact {
				m.Contact = ""
			}
			rs[i] = result{msg: m, kind: resultSent, providerID: fmt.Sprintf("wamid.FAKE%07d", seq)}
		}
		c0 = threadCPU()
		if err := rec.write(app, ch, time.Now(), rs, !noEvents); err != nil {
			b.Fatal(err)
		}
		writeCPU += threadCPU() - c0
		done += len(batch)
	}
}

// benchChannelAndQueue creates a WhatsApp channel and n contacts, each with
// an identity and one queued template message, as a broadcast leaves them.
func benchChannelAndQueue(b *testing.B, app core.App, n int) string {
	col, err := app.FindCollectionByNameOrId("channels")
	if err != nil {
		b.Fatal(err)
	}
	rec := core.NewRecord(col)
	rec.Set("name", "bench")
	rec.Set("type", "whatsapp_cloud")
	rec.Set("config", map[string]any{})
	if err := app.Save(rec); err != nil {
		b.Fatal(err)
	}
	items := make([]Item, 0, n)
	err = app.RunInTransaction(func(tx core.App) error {
		cq := tx.DB().NewQuery(`INSERT INTO contacts (id, first_name, created, updated) VALUES ({:id}, 'bench', '', '')`).Prepare()
		iq := tx.DB().NewQuery(`INSERT INTO contact_identities (id, contact, kind, identifier, created, updated)
			VALUES ({:id}, {:c}, 'whatsapp', {:ident}, '', '')`).Prepare()
		defer cq.Close()
		defer iq.Close()
		for i := range n {
			cid, iid := core.GenerateDefaultRandomId(), core.GenerateDefaultRandomId()
			if _, err := cq.Bind(dbx.Params{"id": cid}).Execute(); err != nil {
				return err
			}
			if _, err := iq.Bind(dbx.Params{"id": iid, "c": cid, "ident": fmt.Sprintf("+5215%09d", i)}).Execute(); err != nil {
				return err
			}
			items = append(items, Item{Channel: rec.Id, Contact: cid, Identity: iid, Source: SourceBroadcast, SourceID: "bench",
				Content: channels.Content{Template: &channels.Template{Name: "promo", Language: "es"}}, DedupeKey: "b:bench:" + cid})
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := Enqueue(app, time.Now(), items); err != nil {
		b.Fatal(err)
	}
	if _, err := app.NonconcurrentDB().NewQuery("PRAGMA wal_checkpoint(TRUNCATE)").Execute(); err != nil {
		b.Fatal(err)
	}
	return rec.Id
}

// threadCPU is the CPU time of the calling OS thread (modernc SQLite runs
// on the calling goroutine, which the benchmark locks to its thread).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD, Linux
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
