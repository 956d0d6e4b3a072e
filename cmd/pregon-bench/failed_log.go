package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/clock"
	"pregon/deliveries"
	"pregon/failedlog"
	"pregon/hooks"
	"pregon/internal/contactgen"
	"pregon/segments"
)

func init() { commands["failed-log"] = failedLogBench }

// The failed-log data set: one big broadcast that hit the daily limit
// (the seed's example, scaled), many ordinary ones, and messages from
// agents, journeys and the API, spread over 30 days before failedNow.
const (
	failedBig        = "bcbench0000big0"
	failedBigSize    = 150_000
	failedBigFailed  = 50_000
	failedBroadcasts = 49
)

var failedNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// failedLogBench times the failed-messages log and its CSV export over a
// generated data set (made once in -dir and reused).
func failedLogBench(args []string) error {
	fs := flag.NewFlagSet("failed-log", flag.ExitOnError)
	dir := fs.String("dir", "/tmp/pregon-bench-failed", "data dir; the data set is generated once and reused")
	nContacts := fs.Int("contacts", 200_000, "contacts to generate")
	nMessages := fs.Int("messages", 1_000_000, "messages to generate")
	nFailed := fs.Int("failed", 100_000, "how many of them failed")
	runs := fs.Int("runs", 5, "timed runs per query (after one warm-up)")
	fs.Parse(args)

	app, err := contactgen.Open(*dir)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if generated, err := contactgen.Ensure(app, contactgen.Options{Contacts: *nContacts, Seed: 1}); err != nil {
		return err
	} else if generated {
		fmt.Printf("generated %d contacts in %s\n", *nContacts, time.Since(t0).Round(time.Second))
	}
	if err := ensureFailedMessages(app, *nContacts, *nMessages, *nFailed); err != nil {
		return err
	}
	env := hooks.Bind(app, hooks.Options{Clock: clock.NewFake(failedNow), NoWorkers: true})
	mx, _ := time.LoadLocation("America/Mexico_City")

	day := failedNow.Add(-10 * 24 * time.Hour)
	filters := []struct {
		name string
		f    failedlog.Filter
	}{
		{"all failed", failedlog.Filter{}},
		{"one day", failedlog.Filter{From: day, To: day.Add(24 * time.Hour)}},
		{"big broadcast (50,000 failed)", failedlog.Filter{Broadcasts: []string{failedBig}}},
		{"small broadcast (~800 failed)", failedlog.Filter{Broadcasts: []string{"bcbench00000007"}}},
		{"big + small broadcast", failedlog.Filter{Broadcasts: []string{failedBig, "bcbench00000007"}}},
		{"code 131026 on WhatsApp", failedlog.Filter{Codes: []string{"131026"}, Channels: []string{contactgen.ChannelWhatsApp}}},
		{"agents, journeys, api", failedlog.Filter{Sources: []string{"agent", "journey", "api"}}},
		{"failed and unknown", failedlog.Filter{Statuses: []string{"failed", "unknown"}}},
	}
	for _, x := range filters {
		q, p := x.f.PageQuery(0, 30)
		fmt.Printf("plan, %s: %s\n", x.name, queryPlan(app, q, p))
	}
	fmt.Printf("%-58s %8s %8s %8s %9s  %s\n", "measurement", "min ms", "median", "max", "cpu ms", "result")
	measure := func(suffix string) {
		for _, x := range filters {
			f := x.f
			timeIt("count: "+x.name+suffix, *runs, func() string {
				n, err := failedlog.Count(app, f)
				return fmt.Sprint(n, err)
			})
			timeIt("page 1 (30 rows): "+x.name+suffix, *runs, func() string {
				rows, err := failedlog.Page(app, f, 0, 30)
				return fmt.Sprint(len(rows), err)
			})
		}
		timeIt("page 100 (offset 2,970): all failed"+suffix, *runs, func() string {
			rows, err := failedlog.Page(app, failedlog.Filter{}, 2970, 30)
			return fmt.Sprint(len(rows), err)
		})
	}
	measure("")
	for _, x := range []struct {
		name string
		f    failedlog.Filter
	}{{"all failed", failedlog.Filter{}}, {"big broadcast", failedlog.Filter{Broadcasts: []string{failedBig}}}} {
		c0, w0 := cpuTime(), time.Now()
		n, err := failedlog.WriteCSV(io.Discard, app, x.f, "es", mx, true)
		if err != nil {
			return err
		}
		wall, cpu := time.Since(w0), cpuTime()-c0
		fmt.Printf("CSV export, %s: %d rows in %s (cpu %s): %.0f rows/s\n", x.name, n,
			wall.Round(time.Millisecond), cpu.Round(time.Millisecond), float64(n)/wall.Seconds())
	}

	asker := deliveries.Asker{App: app, Now: failedNow, Loc: mx, Lang: "es", ReplyWindow: 72 * time.Hour,
		Caps: env.Registry.Capabilities, Segments: segments.Resolver{Clock: env.Clock}}
	var someone string
	if err := app.DB().NewQuery(`SELECT contact FROM messages WHERE source_id = {:b} AND source_id != ''
		AND status = 'failed' LIMIT 1`).Bind(dbx.Params{"b": failedBig}).Row(&someone); err != nil {
		return err
	}
	timeIt("deliveries: one contact, big broadcast", *runs, func() string {
		a, err := asker.ForBroadcast(someone, failedBig)
		return fmt.Sprint(len(a), err)
	})
	timeIt("deliveries: one contact, 20 recent", *runs, func() string {
		a, err := asker.Recent(someone, 20)
		return fmt.Sprint(len(a), err)
	})

	// What the two partial indexes buy, and what they cost a failure.
	cost := func(label string) error {
		var seqs []int64
		if err := app.DB().NewQuery(`SELECT rowid FROM messages WHERE status = 'sent' LIMIT 20000`).Column(&seqs); err != nil {
			return err
		}
		t := time.Now()
		err := app.RunInTransaction(func(tx core.App) error {
			q := tx.DB().NewQuery(`UPDATE messages SET status = 'failed', failed_at = {:t}, error_code = '30008'
				WHERE rowid = {:r}`).Prepare()
			defer q.Close()
			for _, r := range seqs {
				if _, err := q.Bind(dbx.Params{"t": failedlog.FormatTime(failedNow), "r": r}).Execute(); err != nil {
					return err
				}
			}
			return nil
		})
		fmt.Printf("marking 20,000 sent messages failed (%s): %s\n", label, time.Since(t).Round(time.Millisecond))
		if err != nil {
			return err
		}
		_, err = app.DB().NewQuery(`UPDATE messages SET status = 'sent', failed_at = '', error_code = ''
			WHERE failed_at = {:t} AND error_code = '30008'`).Bind(dbx.Params{"t": failedlog.FormatTime(failedNow)}).Execute()
		return err
	}
	if err := cost("with the failed-log indexes"); err != nil {
		return err
	}
	var defs []string
	if err := app.DB().NewQuery(`SELECT sql FROM sqlite_master WHERE name IN ('idx_messages_failed_time','idx_messages_failed_source')`).
		Column(&defs); err != nil {
		return err
	}
	for _, q := range []string{"DROP INDEX idx_messages_failed_time", "DROP INDEX idx_messages_failed_source"} {
		if _, err := app.DB().NewQuery(q).Execute(); err != nil {
			return err
		}
	}
	if err := cost("without them"); err != nil {
		return err
	}
	measure(" [no failed-log indexes]")
	for _, q := range defs {
		if _, err := app.DB().NewQuery(q).Execute(); err != nil {
			return err
		}
	}
	fmt.Printf("peak RSS %.0f MiB\n", peakRSSMiB())
	return nil
}

// ensureFailedMessages generates the messages unless the data dir has them.
func ensureFailedMessages(app core.App, nContacts, nMessages, nFailed int) error {
	var have int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM messages").Row(&have); err != nil {
		return err
	}
	if have == nMessages {
		return nil
	}
	if have != 0 {
		return fmt.Errorf("the data dir holds %d messages, not %d: use an empty dir", have, nMessages)
	}
	t0 := time.Now()
	var contactIDs []string
	if err := app.DB().NewQuery("SELECT id FROM contacts ORDER BY rowid").Column(&contactIDs); err != nil {
		return err
	}
	if len(contactIDs) != nContacts {
		return fmt.Errorf("expected %d contacts, found %d", nContacts, len(contactIDs))
	}
	rng := rand.New(rand.NewPCG(7, 11))
	now := failedlog.FormatTime(failedNow)
	// Broadcasts: the big one and the others.
	ids := []string{failedBig}
	for i := 1; i <= failedBroadcasts; i++ {
		ids = append(ids, fmt.Sprintf("bcbench%08d", i))
	}
	for i, id := range ids {
		if _, err := app.DB().NewQuery(`INSERT INTO broadcasts (id, name, status, created, updated)
			VALUES ({:id}, {:name}, 'completed_with_failures', {:now}, {:now})`).
			Bind(dbx.Params{"id": id, "name": fmt.Sprintf("Benchmark broadcast %d", i), "now": now}).Execute(); err != nil {
			return err
		}
	}
	codes := []string{"131026", "131047", "131049", "131050", "21610", "30007", "30008", "opted_out", "window_closed", "retries_exhausted"}
	channelsByCode := map[string]string{"21610": contactgen.ChannelSMS, "30007": contactgen.ChannelSMS, "30008": contactgen.ChannelSMS}
	smallSize := (nMessages - failedBigSize) * 8 / 10 / failedBroadcasts
	others := nMessages - failedBigSize - smallSize*failedBroadcasts
	smallFailed := (nFailed - failedBigFailed) * 8 / 10 / failedBroadcasts
	othersFailed := nFailed - failedBigFailed - smallFailed*failedBroadcasts
	// The data set is a list of runs: n messages of one source, the first
	// failed of them failed, then a few unknown, the rest sent or delivered.
	type run struct {
		source, id string
		n, failed  int
	}
	plan := []run{{"broadcast", failedBig, failedBigSize, failedBigFailed}}
	for _, id := range ids[1:] {
		plan = append(plan, run{"broadcast", id, smallSize, smallFailed})
	}
	for i, src := range []string{"agent", "journey", "api"} {
		n, f := others/3, othersFailed/3
		if i == 2 {
			n, f = others-2*(others/3), othersFailed-2*(othersFailed/3)
		}
		plan = append(plan, run{src, "src" + src + "000000", n, f})
	}
	ri, i := 0, 0 // the current run and the position in it
	seq := 0
	next := func() dbx.Params {
		for i == plan[ri].n {
			ri, i = ri+1, 0
		}
		r := plan[ri]
		seq++
		at := failedNow.Add(-time.Duration(rng.Float64() * float64(30*24*time.Hour)))
		if r.id == failedBig { // sent in one go ten days ago, 20 messages a second
			at = failedNow.Add(-10*24*time.Hour + time.Duration(i)*50*time.Millisecond)
		}
		id := fmt.Sprintf("msgbench%07d", seq)
		p := dbx.Params{"id": id, "ch": contactgen.ChannelWhatsApp, "c": contactIDs[rng.IntN(len(contactIDs))],
			"src": r.source, "srcid": r.id, "dedupe": "", "t": failedlog.FormatTime(at.Add(-time.Minute)),
			"sent": "", "delivered": "", "failed": "", "unknown": "", "code": "", "class": "", "status": "delivered"}
		p["content"] = `{"text":"Hola, tenemos una oferta para ti: -20% en toda la tienda este fin de semana"}`
		if r.source == "broadcast" {
			p["dedupe"] = "b:" + r.id + ":" + id
		}
		switch {
		case i < r.failed:
			code := codes[rng.IntN(len(codes))]
			if r.id == failedBig {
				code = "daily_limit"
			}
			p["status"], p["code"], p["class"], p["failed"] = "failed", code, "permanent", failedlog.FormatTime(at)
			if ch := channelsByCode[code]; ch != "" {
				p["ch"] = ch
			}
		case i < r.failed+r.failed/200:
			p["status"], p["unknown"] = "unknown", failedlog.FormatTime(at)
		case i%3 == 0:
			p["status"], p["sent"] = "sent", failedlog.FormatTime(at)
		default:
			p["sent"], p["delivered"] = failedlog.FormatTime(at), failedlog.FormatTime(at.Add(time.Second))
		}
		i++
		return p
	}
	for seq < nMessages {
		err := app.RunInTransaction(func(tx core.App) error {
			q := tx.DB().NewQuery(`INSERT INTO messages (id, direction, channel, contact, content, status, error_code,
				error_class, error_detail, attempts, priority, source, source_id, dedupe_key, queued_at, sent_at,
				delivered_at, failed_at, unknown_at, created, updated)
				VALUES ({:id}, 'out', {:ch}, {:c}, {:content}, {:status}, {:code}, {:class}, '', 1, 10, {:src},
				{:srcid}, {:dedupe}, {:t}, {:sent}, {:delivered}, {:failed}, {:unknown}, {:t}, {:t})`).Prepare()
			defer q.Close()
			for k := 0; k < 10_000 && seq < nMessages; k++ {
				if _, err := q.Bind(next()).Execute(); err != nil {
					return fmt.Errorf("inserting message %d: %w", seq, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	rowsDone := seq
	fmt.Printf("generated %d messages (%d failed) in %s\n", rowsDone, nFailed, time.Since(t0).Round(time.Second))
	return nil
}
