package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"pregon/contacts"
	"pregon/internal/contactgen"
	"pregon/segments"
)

func init() { commands["segment-insert-cost"] = segmentInsertCost }

// segmentInsertCost measures what segment storage costs the contact writes
// that every path (CSV import, REST, webhooks) makes: contacts are inserted
// with raw prepared statements in 5,000-row transactions, as the importer
// does, into a fresh database per variant. Rows are generated before the
// clock starts, so only the database work is timed.
func segmentInsertCost(args []string) error {
	fs := flag.NewFlagSet("segment-insert-cost", flag.ExitOnError)
	n := fs.Int("contacts", 100_000, "contacts inserted per run")
	reps := fs.Int("runs", 3, "runs per variant (the median is printed)")
	fs.Parse(args)

	fieldIdx := func(keys ...string) []string {
		var out []string
		for _, k := range keys {
			for _, f := range contactgen.Fields {
				if f.Key == k {
					out = append(out, segments.FieldIndexSQL(contacts.FieldDef{Key: f.Key, Type: contacts.FieldType(f.Type)}))
				}
			}
		}
		return out
	}
	noActivity := []string{"DROP INDEX idx_contacts_last_inbound", "DROP INDEX idx_contacts_last_outbound"}
	variants := []struct {
		name string
		ddl  []string
	}{
		{"without the segments' partial indexes", noActivity},
		{"as migrated (+ last_inbound/last_outbound partial indexes)", nil},
		{"+ 1 custom-field index (city)", fieldIdx("city")},
		{"+ 3 custom-field indexes", fieldIdx("city", "plan", "points")},
		{"+ 6 custom-field indexes", fieldIdx("city", "plan", "points", "birthday", "newsletter", "company")},
		{"+ contact_tags table kept by triggers (rejected)", contactTagsDDL},
	}
	rows := contactgen.NewSource(7).Rows(0, *n)
	fmt.Printf("%-60s %12s %14s\n", "contacts table", "rows/s", "rows/cpu-s")
	for _, v := range variants {
		var walls, cpus []float64
		for r := 0; r < *reps; r++ {
			w, c, err := insertRun(rows, v.ddl)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			walls, cpus = append(walls, w), append(cpus, c)
		}
		sort.Float64s(walls)
		sort.Float64s(cpus)
		fmt.Printf("%-60s %12.0f %14.0f\n", v.name, walls[len(walls)/2], cpus[len(cpus)/2])
	}
	return nil
}

// contactTagsDDL is the tag side table measured and rejected (see
// docs/ARCHITECTURE.md, Segments).
var contactTagsDDL = []string{
	`CREATE TABLE contact_tags (tag TEXT NOT NULL, contact TEXT NOT NULL, PRIMARY KEY (tag, contact)) WITHOUT ROWID`,
	`CREATE INDEX idx_contact_tags_contact ON contact_tags (contact)`,
	`CREATE TRIGGER contacts_tags_ai AFTER INSERT ON contacts BEGIN
		INSERT OR IGNORE INTO contact_tags (tag, contact) SELECT value, new.id
		FROM json_each(CASE WHEN json_valid(new.tags) AND json_type(new.tags) = 'array' THEN new.tags ELSE '[]' END)
		WHERE type = 'text'; END`,
}

func insertRun(rows []contactgen.Row, ddl []string) (perSec, perCPUSec float64, err error) {
	dir, err := os.MkdirTemp("", "pregon-insert-cost")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	app, err := contactgen.Open(dir)
	if err != nil {
		return 0, 0, err
	}
	defer app.ResetBootstrapState()
	if err := contactgen.Setup(app); err != nil {
		return 0, 0, err
	}
	for _, q := range ddl {
		if _, err := app.DB().NewQuery(q).Execute(); err != nil {
			return 0, 0, fmt.Errorf("%s: %w", q, err)
		}
	}
	c0, t0 := cpuTime(), time.Now()
	for start := 0; start < len(rows); start += 5000 {
		if err := contactgen.Insert(app, rows[start:min(start+5000, len(rows))], false); err != nil {
			return 0, 0, err
		}
	}
	wall, cpu := time.Since(t0), cpuTime()-c0
	return float64(len(rows)) / wall.Seconds(), float64(len(rows)) / cpu.Seconds(), nil
}
