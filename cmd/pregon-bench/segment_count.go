package main

import (
	"flag"
	"fmt"
	"sort"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"pregon/clock"
	"pregon/hooks"
	"pregon/internal/contactgen"
	"pregon/internal/sqlplan"
	"pregon/segments"
)

func init() { commands["segment-count"] = segmentCount }

// benchSegment is BENCHMARKS.md's segment: (tag AND field) OR last inbound
// within 30 days.
const benchSegment = `{"groups":[
	{"conditions":[{"category":"tag","operator":"has_any","value":["vip"]},
	               {"category":"field","field":"city","operator":"is","value":"Lima"}]},
	{"conditions":[{"category":"last_inbound","operator":"within_last_days","value":30}]}]}`

// segmentCount times segment counts and previews over a generated contact
// set (made once in -dir and reused).
func segmentCount(args []string) error {
	fs := flag.NewFlagSet("segment-count", flag.ExitOnError)
	dir := fs.String("dir", "/tmp/pregon-bench-segments", "data dir; the contact set is generated once and reused")
	n := fs.Int("contacts", 1_000_000, "contacts to generate")
	runs := fs.Int("runs", 7, "timed runs per query (after one warm-up)")
	fs.Parse(args)

	app, err := contactgen.Open(*dir)
	if err != nil {
		return err
	}
	t0 := time.Now()
	generated, err := contactgen.Ensure(app, contactgen.Options{Contacts: *n, Seed: 1})
	if err != nil {
		return err
	}
	if generated {
		fmt.Printf("generated %d contacts with identities in %s\n", *n, time.Since(t0).Round(time.Second))
	}
	env := hooks.Bind(app, hooks.Options{Clock: clock.NewFake(contactgen.Now), NoWorkers: true})
	seg, err := findOrSaveSegment(app, "Benchmark: VIP Lima or active", benchSegment)
	if err != nil {
		return err
	}
	now := env.Clock.Now()
	_, plan, err := segments.ForID(app, seg.Id)
	if err != nil {
		return err
	}
	where, params := plan.SQL(now)
	fmt.Println("query plan:", queryPlan(app, "SELECT COUNT(*) FROM contacts c WHERE "+where, params))

	fmt.Printf("%-58s %8s %8s %8s %9s  %s\n", "measurement", "min ms", "median", "max", "cpu ms", "result")
	timeIt("count: vip AND city=Lima OR last inbound < 30 days", *runs, func() string {
		c, err := segments.Count(app, plan, now)
		return fmt.Sprint(c, err)
	})
	timeIt("preview: count + first 20", *runs, func() string {
		c, first, err := segments.Preview(app, plan, now)
		return fmt.Sprint(c, len(first), err)
	})
	for _, q := range []struct{ name, tree string }{
		{"count: tag vip", `{"category":"tag","operator":"has_any","value":["vip"]}`},
		{"count: tag has_none vip", `{"category":"tag","operator":"has_none","value":["vip"]}`},
		{"count: city is Cusco (indexed field)", `{"category":"field","field":"city","operator":"is","value":"cusco"}`},
		{"count: plan is Gold (field without index)", `{"category":"field","field":"plan","operator":"is","value":"Gold"}`},
		{"count: city contains 'ma' (scan)", `{"category":"field","field":"city","operator":"contains","value":"ma"}`},
		{"count: last inbound within 7 days", `{"category":"last_inbound","operator":"within_last_days","value":7}`},
		{"count: country is PE", `{"category":"country","operator":"is","value":"PE"}`},
		{"count: opted out on whatsapp", `{"category":"consent","kind":"whatsapp","operator":"is","value":"opted_out"}`},
	} {
		tree, err := segments.Parse([]byte(`{"groups":[{"conditions":[` + q.tree + `]}]}`))
		if err != nil {
			return err
		}
		s, err := segments.LoadSchema(app, tree)
		if err != nil {
			return err
		}
		p, err := segments.Check(s, tree)
		if err != nil {
			return err
		}
		timeIt(q.name, *runs, func() string {
			c, err := segments.Count(app, p, now)
			return fmt.Sprint(c, err)
		})
	}

	// The same count without the field's expression index: what the index buys.
	if _, err := app.DB().NewQuery("DROP INDEX IF EXISTS idx_segf_city").Execute(); err != nil {
		return err
	}
	timeIt("count, city index dropped", *runs, func() string {
		c, err := segments.Count(app, plan, now)
		return fmt.Sprint(c, err)
	})
	t1 := time.Now()
	if err := segments.SyncFieldIndexes(app); err != nil {
		return err
	}
	fmt.Printf("rebuilding idx_segf_city over %d contacts: %s\n", *n, time.Since(t1).Round(time.Millisecond))
	fmt.Printf("peak RSS %.0f MiB\n", peakRSSMiB())
	return nil
}

func findOrSaveSegment(app core.App, name, conditions string) (*core.Record, error) {
	if r, err := app.FindFirstRecordByData("segments", "name", name); err == nil {
		return r, nil
	}
	col, err := app.FindCollectionByNameOrId("segments")
	if err != nil {
		return nil, err
	}
	r := core.NewRecord(col)
	r.Set("name", name)
	r.Set("conditions", conditions)
	t := time.Now()
	if err := app.Save(r); err != nil {
		return nil, fmt.Errorf("saving the benchmark segment: %w", err)
	}
	fmt.Printf("saved the segment (builds its field index) in %s\n", time.Since(t).Round(time.Millisecond))
	return r, nil
}

// timeIt runs f once to warm up, then runs times, and prints wall-clock
// min/median/max and the median process CPU time (the machine is shared:
// CPU time is the steadier figure).
func timeIt(name string, runs int, f func() string) {
	res := f()
	var walls, cpus []time.Duration
	for i := 0; i < runs; i++ {
		c0, t0 := cpuTime(), time.Now()
		res = f()
		walls = append(walls, time.Since(t0))
		cpus = append(cpus, cpuTime()-c0)
	}
	sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
	sort.Slice(cpus, func(i, j int) bool { return cpus[i] < cpus[j] })
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	fmt.Printf("%-58s %8s %8s %8s %9s  %s\n", name, ms(walls[0]), ms(walls[len(walls)/2]), ms(walls[len(walls)-1]), ms(cpus[len(cpus)/2]), res)
}

func queryPlan(app core.App, q string, params map[string]any) string {
	return sqlplan.Explain(app, q, params)
}
