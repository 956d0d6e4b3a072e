package hooks_test

import (
	"fmt"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"pregon/contacts"
	"pregon/internal/testapp"
)

// BenchmarkContactCreate: one contact saved from Go through every rule:
// normalization, custom fields, two identities following the phone and
// eight events, in one transaction.
func BenchmarkContactCreate(b *testing.B) {
	app, _ := testapp.New(b)
	fieldDef(b, app, "points", "number")
	fieldDef(b, app, "city", "text")
	col, _ := app.FindCollectionByNameOrId("contacts")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := core.NewRecord(col)
		r.Load(map[string]any{"first_name": "Ana", "phone": fmt.Sprintf("+52 55 %04d %04d", i/10000, i%10000),
			"tags": []string{"vip", "lima"}, "fields": map[string]any{"points": "12,5", "city": "Lima"}})
		if err := app.Save(r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "contacts/s")
}

// seedLog appends n events spread over contacts, the one under test
// holding every hundredth.
func seedLog(b *testing.B, app core.App, n int, contact string) {
	b.Helper()
	err := app.RunInTransaction(func(tx core.App) error {
		q := tx.DB().NewQuery(`INSERT INTO events (id, type, contact, subject, payload, actor, created)
			VALUES ({:id}, 'tag.added', {:c}, '', '{"tag":"vip"}', 'system', {:t})`).Prepare()
		defer q.Close()
		now := types.NowDateTime().String()
		for i := 0; i < n; i++ {
			c := fmt.Sprintf("c%05d", i%997)
			if i%100 == 0 {
				c = contact
			}
			if _, err := q.Bind(dbx.Params{"id": core.GenerateDefaultRandomId(), "c": c, "t": now}).Execute(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkTimelinePage: the newest 50 events of a contact holding 5,000 of
// a 500,000-event log, and a page deep in its history.
func BenchmarkTimelinePage(b *testing.B) {
	app, _ := testapp.New(b)
	seedLog(b, app, 500_000, anaID)
	for _, bc := range []struct {
		name   string
		before int64
	}{{"newest", 0}, {"deep", 100_000}} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rows, err := contacts.Timeline(app, anaID, bc.before, 50)
				if err != nil || len(rows) != 50 {
					b.Fatalf("%d rows, %v", len(rows), err)
				}
			}
		})
	}
}

// BenchmarkFieldDefinitionDelete: deleting a custom field 20,000 contacts
// hold: the values are removed and one event per contact appended, in one
// transaction.
func BenchmarkFieldDefinitionDelete(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		app, _ := testapp.New(b)
		def := fieldDef(b, app, "points", "number")
		err := app.RunInTransaction(func(tx core.App) error {
			q := tx.DB().NewQuery(`INSERT INTO contacts (id, first_name, tags, fields, created, updated)
				VALUES ({:id}, 'Ana', '[]', '{"points":10}', '', '')`).Prepare()
			defer q.Close()
			for j := 0; j < 20_000; j++ {
				if _, err := q.Bind(dbx.Params{"id": core.GenerateDefaultRandomId()}).Execute(); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := app.Delete(def); err != nil {
			b.Fatal(err)
		}
	}
}
