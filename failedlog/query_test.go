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
	"pregon/internal/sqlplan"
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
		name  string
		f     failedlog.Filter
		index string
	}{
		{"all, newest first", failedlog.Filter{}, "SEARCH m USING INDEX idx_messages_failed_time (status=?)"},
		{"all, oldest first", failedlog.Filter{Ascending: true}, "SEARCH m USING INDEX idx_messages_failed_time (status=?)"},
		{"dates", failedlog.Filter{From: fx.Now.Add(-48 * time.Hour), To: fx.Now},
			"SEARCH m USING INDEX idx_messages_failed_time (status=? AND <expr>>? AND <expr><?)"},
		{"channel, code and source", failedlog.Filter{Channels: []string{fx.ChWA}, Codes: []string{"131047"}, Sources: []string{"agent"}},
			"SEARCH m USING INDEX idx_messages_failed_time (status=?)"},
		{"one broadcast", failedlog.Filter{Broadcasts: []string{fx.BPromo}},
			"SEARCH m USING INDEX idx_messages_failed_source (source_id=? AND status=?)"},
		// Several statuses or broadcasts: one ordered range each, merged.
		{"two broadcasts", failedlog.Filter{Broadcasts: []string{fx.BPromo, fx.BNews}},
			"SEARCH m USING COVERING INDEX idx_messages_failed_source (source_id=? AND status=?) | SCAN (subquery-1) | UNION ALL"},
		{"failed and unknown", failedlog.Filter{Statuses: []string{"failed", "unknown"}},
			"SEARCH m USING COVERING INDEX idx_messages_failed_time (status=?) | SCAN (subquery-1) | UNION ALL"},
	} {
		q, p := c.f.PageQuery(0, 10)
		plan := sqlplan.Explain(app, q, p)
		if !strings.Contains(plan, c.index) {
			t.Errorf("%s: the plan does not use %s: %s", c.name, c.index, plan)
		}
		// A range is read in index order; only a merge of ranges is sorted,
		// and only the picks each range limits itself to.
		merged := strings.Contains(plan, "UNION ALL")
		if strings.Count(plan, "TEMP B-TREE") > 0 && (!merged || strings.Count(plan, "TEMP B-TREE") > 1) {
			t.Errorf("%s: the plan sorts a range instead of reading the index in order: %s", c.name, plan)
		}
		// A later page skips on the index alone.
		q, p = c.f.PageQuery(100, 10)
		if plan := sqlplan.Explain(app, q, p); !strings.Contains(plan, "COVERING INDEX idx_messages_failed_") {
			t.Errorf("%s: page 11 does not skip on the index: %s", c.name, plan)
		}
		// Each's next chunk starts where the last one stopped.
		q, p = c.f.NextQuery(failedlog.Row{Time: "2025-11-21 16:05:03.000Z", Status: "failed", Seq: 5}, 10)
		if plan := sqlplan.Explain(app, q, p); !strings.Contains(plan, "<expr><?") && !strings.Contains(plan, "<expr>>?") {
			t.Errorf("%s: the next chunk is not an index range: %s", c.name, plan)
		}
		// Counts read an index alone.
		q, p = c.f.CountQuery()
		if plan := sqlplan.Explain(app, q, p); !strings.Contains(plan, "USING COVERING INDEX idx_messages_") {
			t.Errorf("%s: the count is not index-only: %s", c.name, plan)
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
		// Every page, read with offsets, gives the same rows.
		for off := 0; off < len(want); off += 3 {
			page, err := failedlog.Page(app, f, off, 3)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range page {
				if r.ID != want[off+i].ID {
					t.Fatalf("%+v: offset %d row %d is %s, want %s", f, off, i, r.ID, want[off+i].ID)
				}
			}
		}
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
