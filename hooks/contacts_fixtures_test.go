package hooks_test

import (
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"pregon/contacts"
	"pregon/events"
)

// Helpers shared by the contact tests.

func fieldDef(t testing.TB, app core.App, key, typ string, options ...string) *core.Record {
	t.Helper()
	return fieldDefWithID(t, app, "", key, typ, options...)
}

func fieldDefWithID(t testing.TB, app core.App, id, key, typ string, options ...string) *core.Record {
	t.Helper()
	col, err := app.FindCollectionByNameOrId("contact_fields")
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(col)
	if id != "" {
		r.Set("id", id)
	}
	r.Set("key", key)
	r.Set("label", strings.ToUpper(key[:1])+key[1:])
	r.Set("type", typ)
	if len(options) > 0 {
		r.Set("options", options)
	}
	if err := app.Save(r); err != nil {
		t.Fatalf("defining field %s: %v", key, err)
	}
	return r
}

// newContact saves a contact from Go; data may set "id".
func newContact(t testing.TB, app core.App, data map[string]any) *core.Record {
	t.Helper()
	col, err := app.FindCollectionByNameOrId("contacts")
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(col)
	r.Load(data)
	if err := app.Save(r); err != nil {
		t.Fatalf("creating contact %v: %v", data, err)
	}
	return r
}

func newIdentity(t testing.TB, app core.App, contact, kind, identifier string) *core.Record {
	t.Helper()
	col, err := app.FindCollectionByNameOrId("contact_identities")
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(col)
	r.Set("contact", contact)
	r.Set("kind", kind)
	r.Set("identifier", identifier)
	if err := app.Save(r); err != nil {
		t.Fatalf("creating %s identity %s: %v", kind, identifier, err)
	}
	return r
}

// eventsOf returns a contact's events, oldest first.
func eventsOf(t testing.TB, app core.App, contact string) []events.Row {
	t.Helper()
	var rows []events.Row
	err := app.DB().NewQuery(`SELECT ` + events.RowColumns + `
		FROM events WHERE contact = {:c} ORDER BY rowid`).Bind(dbx.Params{"c": contact}).All(&rows)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func eventTypes(rows []events.Row) string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Type
	}
	return strings.Join(out, ",")
}

func countRows(t testing.TB, app core.App, query string, params ...dbx.Params) int {
	t.Helper()
	var n int
	q := app.DB().NewQuery(query)
	if len(params) > 0 {
		q.Bind(params[0])
	}
	if err := q.Row(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

type identityRow struct {
	ID         string `db:"id"`
	Kind       string `db:"kind"`
	Identifier string `db:"identifier"`
	FromPhone  bool   `db:"from_phone"`
	Consent    string `db:"consent"`
	Source     string `db:"consent_source"`
	Wording    string `db:"consent_wording"`
	At         string `db:"consent_at"`
}

func identitiesOf(t testing.TB, app core.App, contact string) []identityRow {
	t.Helper()
	var rows []identityRow
	err := app.DB().NewQuery(`SELECT id, kind, identifier, from_phone, consent, consent_source, consent_wording, consent_at
		FROM contact_identities WHERE contact = {:c} ORDER BY kind, identifier`).Bind(dbx.Params{"c": contact}).All(&rows)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func identityList(rows []identityRow) string {
	out := make([]string, len(rows))
	for i, r := range rows {
		s := r.Kind + ":" + r.Identifier
		if r.FromPhone {
			s += "*"
		}
		out[i] = s
	}
	return strings.Join(out, " ")
}

func contactsMerge(app core.App, survivor, other string) (contacts.MergeOutcome, error) {
	_, out, err := contacts.Merge(app, survivor, other, "system")
	return out, err
}
