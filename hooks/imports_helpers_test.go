package hooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"pregon/contactcsv"
	"pregon/hooks"
	"pregon/internal/testapp"
)

// upload builds a multipart import request body.
func upload(t testing.TB, filename string, content []byte, form map[string]string) (*bytes.Buffer, map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range form {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if filename != "" {
		fw, err := mw.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(content)
	}
	mw.Close()
	return &buf, map[string]string{"Content-Type": mw.FormDataContentType()}
}

// importApp is a test app whose imports run only when the test says so
// (runImports), with tiny batches so that every file spans several.
type importApp struct {
	*tests.TestApp
	env     *hooks.Env
	manager string
	agent   string
}

func newImportApp(t testing.TB) *importApp {
	app, env := testapp.New(t, hooks.Options{NoWorkers: true})
	a := &importApp{TestApp: app, env: env}
	_, a.manager = testapp.User(t, app, "mara@tienda.mx", "manager")
	_, a.agent = testapp.User(t, app, "alex@tienda.mx", "agent")
	return a
}

func runImports(t testing.TB, app core.App) {
	t.Helper()
	if err := contactcsv.RunPending(context.Background(), app, contactcsv.Options{BatchSize: 3, Workers: 2}); err != nil {
		t.Fatalf("running imports: %v", err)
	}
}

// importRecord returns the only import, run to its end.
func lastImport(t testing.TB, app core.App) *core.Record {
	t.Helper()
	recs, err := app.FindRecordsByFilter("imports", "", "-created", 1, 0)
	if err != nil || len(recs) != 1 {
		t.Fatalf("want an import, got %d (%v)", len(recs), err)
	}
	return recs[0]
}

func counts(t testing.TB, rec *core.Record) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, k := range []string{"rows_read", "created_count", "updated_count", "unchanged_count", "skipped_count", "rejected_count"} {
		out[k] = rec.GetInt(k)
	}
	return out
}

func wantCounts(t testing.TB, rec *core.Record, read, created, updated, unchanged, skipped, rejected int) {
	t.Helper()
	want := map[string]int{"rows_read": read, "created_count": created, "updated_count": updated,
		"unchanged_count": unchanged, "skipped_count": skipped, "rejected_count": rejected}
	if got := counts(t, rec); !equalMaps(got, want) {
		t.Fatalf("counts = %v, want %v (status %s, error %q)", got, want, rec.GetString("status"), rec.GetString("error"))
	}
}

func equalMaps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// contact is a contact with its identities, as stored.
type contact struct {
	ID, FirstName, LastName, Phone, Email, Language, Country, Timezone string
	Tags                                                               []string
	Fields                                                             map[string]any
	Idents                                                             map[string]ident // by kind
	Updated                                                            string
}

type ident struct {
	Identifier, Consent, ConsentAt, Source, Wording string
	FromPhone                                       bool
}

func loadContacts(t testing.TB, app core.App) map[string]contact {
	t.Helper()
	recs, err := app.FindAllRecords("contacts")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]contact{}
	for _, r := range recs {
		c := contact{ID: r.Id, FirstName: r.GetString("first_name"), LastName: r.GetString("last_name"), Phone: r.GetString("phone"),
			Email: r.GetString("email"), Language: r.GetString("language"), Country: r.GetString("country"), Timezone: r.GetString("timezone"),
			Idents: map[string]ident{}, Updated: r.GetString("updated")}
		_ = r.UnmarshalJSONField("tags", &c.Tags)
		_ = r.UnmarshalJSONField("fields", &c.Fields)
		ids, err := app.FindAllRecords("contact_identities", dbx.HashExp{"contact": r.Id})
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range ids {
			c.Idents[i.GetString("kind")] = ident{Identifier: i.GetString("identifier"), Consent: i.GetString("consent"),
				ConsentAt: i.GetString("consent_at"), Source: i.GetString("consent_source"), Wording: i.GetString("consent_wording"),
				FromPhone: i.GetBool("from_phone")}
		}
		out[r.Id] = c
	}
	return out
}

func byPhone(cs map[string]contact, phone string) (contact, bool) {
	for _, c := range cs {
		if c.Phone == phone {
			return c, true
		}
	}
	return contact{}, false
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// noImportLeft checks that a refused upload stored nothing.
func noImportLeft(t testing.TB, app *tests.TestApp, _ *http.Response) {
	t.Helper()
	n, err := app.CountRecords("imports")
	if err != nil || n != 0 {
		t.Fatalf("a refused upload created %d imports (%v)", n, err)
	}
	entries, _ := os.ReadDir(filepath.Join(app.DataDir(), "imports"))
	if len(entries) != 0 {
		t.Fatalf("a refused upload left files: %v", entries)
	}
	if n, _ := app.CountRecords("contacts"); n != 0 {
		t.Fatalf("a refused upload created %d contacts", n)
	}
}

// seedContact creates a contact through the contacts hook, which gives it
// its phone identities.
func seedContact(t testing.TB, app core.App, id, first, phone, email string) {
	t.Helper()
	col, _ := app.FindCollectionByNameOrId("contacts")
	r := core.NewRecord(col)
	r.Id = id
	r.Set("first_name", first)
	r.Set("phone", phone)
	r.Set("email", email)
	if err := app.Save(r); err != nil {
		t.Fatal(err)
	}
}

// defineField creates a custom field definition (options: a JSON list for
// list fields, or "").
func defineField(t testing.TB, app core.App, key, typ, options string) {
	t.Helper()
	col, _ := app.FindCollectionByNameOrId("contact_fields")
	r := core.NewRecord(col)
	r.Set("key", key)
	r.Set("label", key)
	r.Set("type", typ)
	if options != "" {
		r.Set("options", options)
	}
	if err := app.Save(r); err != nil {
		t.Fatalf("defining custom field %s: %v", key, err)
	}
}
