package failedlog_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/tests"

	"pregon/clock"
	"pregon/failedlog"
	"pregon/hooks"
	fx "pregon/internal/deliveryfixture"
	"pregon/internal/testapp"
)

func seeded(t *testing.T) *tests.TestApp {
	app, _ := testapp.New(t, hooks.Options{NoWorkers: true, Clock: clock.NewFake(fx.Now)})
	fx.Seed(t, app)
	return app
}

func TestPlansUseTheFailedIndexes(t *testing.T) {
	app := seeded(t)
	for _, c := range []struct {
		name    string
		f       failedlog.Filter
		indexes []string
	}{
		{"all, newest first", failedlog.Filter{}, []string{"SCAN m USING INDEX idx_messages_failed_time"}},
		{"all, oldest first", failedlog.Filter{Ascending: true}, []string{"SCAN m USING INDEX idx_messages_failed_time"}},
		{"dates", failedlog.Filter{From: fx.Now.Add(-48 * time.Hour), To: fx.Now}, []string{"SEARCH m USING INDEX idx_messages_failed_time"}},
		{"channel and code", failedlog.Filter{Channels: []string{fx.ChWA}, Codes: []string{"131047"}}, []string{"idx_messages_failed_time"}},
		{"one broadcast", failedlog.Filter{Broadcasts: []string{fx.BPromo}}, []string{"SEARCH m USING INDEX idx_messages_failed_source (source_id=?)"}},
		// Several broadcasts are merged and sorted whichever index SQLite picks.
		{"two broadcasts", failedlog.Filter{Broadcasts: []string{fx.BPromo, fx.BNews}}, []string{"idx_messages_failed_source", "idx_messages_source"}},
		{"failed and unknown", failedlog.Filter{Statuses: []string{"failed", "unknown"}}, []string{"SCAN m USING INDEX idx_messages_failed_time"}},
	} {
		plan := failedlog.Explain(app, c.f)
		ok := false
		for _, ix := range c.indexes {
			ok = ok || strings.Contains(plan, ix)
		}
		if !ok {
			t.Errorf("%s: the plan uses none of %v: %s", c.name, c.indexes, plan)
		}
		if len(c.f.Broadcasts) <= 1 && strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: the plan sorts instead of reading the index in order: %s", c.name, plan)
		}
	}
}

// Each reads in keyset chunks; with any chunk size it must give exactly the
// rows Page gives, in the same order, in both directions.
func TestEachMatchesPageWithAnyChunk(t *testing.T) {
	app := seeded(t)
	for _, f := range []failedlog.Filter{
		{}, {Ascending: true}, {Statuses: []string{"failed", "unknown"}},
		{Broadcasts: []string{fx.BPromo}}, {Broadcasts: []string{fx.BPromo, fx.BNews}, Ascending: true},
	} {
		want, err := failedlog.Page(app, f, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n, err := failedlog.Count(app, f)
		if err != nil || n != len(want) {
			t.Fatalf("%+v: count %d, %v; page has %d", f, n, err, len(want))
		}
		for _, chunk := range []int{1, 2, 3, 1000} {
			var got []string
			if err := failedlog.Each(app, f, chunk, func(r failedlog.Row) error {
				got = append(got, r.ID)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%+v chunk %d: %d rows, want %d", f, chunk, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i].ID {
					t.Fatalf("%+v chunk %d: row %d is %s, want %s", f, chunk, i, got[i], want[i].ID)
				}
			}
		}
	}
}

func TestOrderIsStableForTies(t *testing.T) {
	app := seeded(t)
	// Elena's and Fer's failures share a millisecond: rowid breaks the tie.
	rows, err := failedlog.Page(app, failedlog.Filter{Broadcasts: []string{fx.BPromo}, Ascending: true}, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(rows); i++ {
		a, b := rows[i-1], rows[i]
		if a.Time > b.Time || (a.Time == b.Time && a.Seq > b.Seq) {
			t.Fatalf("rows %d and %d out of order: %+v / %+v", i-1, i, a, b)
		}
	}
	if len(rows) != fx.FailedPromo {
		t.Fatalf("%d failed in Promo, want %d", len(rows), fx.FailedPromo)
	}
}
