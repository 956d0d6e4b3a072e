package segments

import (
	"fmt"
	"sort"

	"github.com/pocketbase/pocketbase/core"

	"pregon/contacts"
)

// FieldIndexPrefix names the expression indexes segments keep on custom
// fields: idx_segf_<key>.
const FieldIndexPrefix = "idx_segf_"

// FieldIndexSQL is the CREATE INDEX statement for custom field d, written
// the way SQLite stores it in sqlite_master so an existing index can be
// compared with the wanted one. The indexed expression is FieldExpr's, so
// conditions on the field use it.
func FieldIndexSQL(d contacts.FieldDef) string {
	expr := FieldExpr(d, "")
	if stringTyped(d.Type) {
		expr += " COLLATE NOCASE"
	}
	return "CREATE INDEX " + FieldIndexPrefix + d.Key + " ON contacts (" + expr + ")"
}

// SyncFieldIndexes makes the custom-field indexes on contacts match the
// fields that saved segments filter on: it creates the missing ones,
// recreates those whose field changed type, and drops the rest. An index
// costs every contact write (about 15% of import speed each, see
// BENCHMARKS.md), so only fields in use get one. Creating one reads every
// contact (a few seconds at a million) while holding the write lock; it
// runs when a segment or a custom field is saved or deleted.
func SyncFieldIndexes(app core.App) error {
	defs, err := contacts.LoadFieldDefs(app)
	if err != nil {
		return err
	}
	want, err := usedFields(app, defs)
	if err != nil {
		return err
	}
	var have []struct {
		Name string `db:"name"`
		SQL  string `db:"sql"`
	}
	if err := app.DB().NewQuery(`SELECT name, COALESCE(sql, '') AS sql FROM sqlite_master
		WHERE type = 'index' AND tbl_name = 'contacts' AND substr(name, 1, 9) = 'idx_segf_'`).All(&have); err != nil {
		return fmt.Errorf("listing custom field indexes: %w", err)
	}
	existing := map[string]string{}
	for _, h := range have {
		existing[h.Name] = h.SQL
	}
	for name, stmt := range existing {
		if want[name] == stmt {
			continue
		}
		// The name comes from sqlite_master and matched our prefix; quote it anyway.
		if _, err := app.DB().NewQuery(`DROP INDEX IF EXISTS "` + name + `"`).Execute(); err != nil {
			return fmt.Errorf("dropping index %s: %w", name, err)
		}
	}
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if existing[name] == want[name] {
			continue
		}
		if _, err := app.DB().NewQuery(want[name]).Execute(); err != nil {
			return fmt.Errorf("creating index %s: %w", name, err)
		}
	}
	return nil
}

// usedFields maps index name to CREATE statement for every defined custom
// field that a saved segment's conditions name.
func usedFields(app core.App, defs contacts.FieldDefs) (map[string]string, error) {
	var raws []string
	if err := app.DB().NewQuery("SELECT COALESCE(conditions, '') FROM segments").Column(&raws); err != nil {
		return nil, fmt.Errorf("reading segments: %w", err)
	}
	want := map[string]string{}
	for _, raw := range raws {
		t, err := Parse([]byte(raw))
		if err != nil {
			continue // a segment that no longer parses filters on nothing
		}
		for _, g := range t.Groups {
			for _, c := range g.Conditions {
				d, ok := defs[c.Field]
				if c.Category != CatField || !ok || !fieldKey.MatchString(d.Key) || fieldOps[d.Type] == nil {
					continue
				}
				want[FieldIndexPrefix+d.Key] = FieldIndexSQL(d)
			}
		}
	}
	return want, nil
}
