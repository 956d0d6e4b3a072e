package hooks_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/tests"

	"pregon/internal/testapp"
)

const (
	pointsDefID = "fdpoints0000001"
	levelDefID  = "fdlevel00000001"
	notesDefID  = "fdnotes00000001"
)

// Ana holds points 10 and level Gold; Bea holds notes "12" and level
// Silver; Carla holds notes "doce".
func fieldsTemplate(t *testing.T) (func(testing.TB) *tests.TestApp, string) {
	var tok string
	factory := testapp.Template(t, func(t testing.TB, app *tests.TestApp) {
		_, tok = testapp.User(t, app, "mgr@tienda.mx", "manager")
		fieldDefWithID(t, app, pointsDefID, "points", "number")
		fieldDefWithID(t, app, levelDefID, "level", "list", "Gold", "Silver")
		fieldDefWithID(t, app, notesDefID, "notes", "text")
		newContact(t, app, map[string]any{"id": anaID, "first_name": "Ana", "fields": map[string]any{"points": 10, "level": "gold"}})
		newContact(t, app, map[string]any{"id": beaID, "first_name": "Bea", "fields": map[string]any{"notes": "12", "level": "Silver"}})
		newContact(t, app, map[string]any{"id": carID, "first_name": "Carla", "fields": map[string]any{"notes": "doce"}})
	})
	return factory, tok
}

func fieldsOf(t testing.TB, app *tests.TestApp, id string) string {
	r, err := app.FindRecordById("contacts", id)
	if err != nil {
		t.Fatal(err)
	}
	return r.GetString("fields")
}

func TestCustomFieldDefinitionLifecycle(t *testing.T) {
	factory, tok := fieldsTemplate(t)
	hdr := map[string]string{"Authorization": tok}
	url := "/api/collections/contact_fields/records/"
	unchanged := func(t testing.TB, app *tests.TestApp, _ *http.Response) {
		if got := fieldsOf(t, app, anaID) + fieldsOf(t, app, beaID) + fieldsOf(t, app, carID); got != `{"level":"Gold","points":10}{"level":"Silver","notes":"12"}{"notes":"doce"}` {
			t.Fatalf("values changed by a refused change: %s", got)
		}
	}
	for _, s := range []tests.ApiScenario{
		{
			Name: "deleting a definition removes its values and keeps them in the log", Method: http.MethodDelete, URL: url + pointsDefID,
			Headers: hdr, ExpectedStatus: 204, TestAppFactory: factory,
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, _ *http.Response) {
				if got := fieldsOf(t, app, anaID); got != `{"level":"Gold"}` {
					t.Fatalf("Ana's fields = %s", got)
				}
				evs := eventsOf(t, app, anaID)
				last := evs[len(evs)-1]
				if last.Type != "field.changed" || string(last.Payload) != `{"from":10,"key":"points","reason":"definition deleted","to":null}` ||
					!strings.HasPrefix(last.Actor, "user:") {
					t.Fatalf("last event = %s %s %s", last.Type, last.Payload, last.Actor)
				}
			},
		},
		{
			Name: "a type change converts every value when all convert", Method: http.MethodPatch, URL: url + pointsDefID,
			Body: strings.NewReader(`{"type":"text"}`), Headers: hdr, ExpectedStatus: 200, TestAppFactory: factory,
			ExpectedContent: []string{`"type":"text"`},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, _ *http.Response) {
				if got := fieldsOf(t, app, anaID); got != `{"level":"Gold","points":"10"}` {
					t.Fatalf("Ana's fields = %s", got)
				}
				// The contact rules now accept text and refuse numbers.
				r, _ := app.FindRecordById("contacts", anaID)
				r.Set("first_name", "Ana María")
				if err := app.Save(r); err != nil {
					t.Fatalf("a converted value no longer validates: %v", err)
				}
			},
		},
		{
			Name: "a type change some values cannot take is refused with counts and examples", Method: http.MethodPatch, URL: url + notesDefID,
			Body: strings.NewReader(`{"type":"number"}`), Headers: hdr, ExpectedStatus: 400, TestAppFactory: factory,
			ExpectedContent: []string{`"type":{`, `1 of the 2 contacts holding custom field \"notes\"`, `contact ` + carID + ` has \"doce\"`},
			AfterTestFunc:   unchanged,
		},
		{
			Name: "removing a list option in use is refused", Method: http.MethodPatch, URL: url + levelDefID,
			Body: strings.NewReader(`{"options":["Gold","Bronze"]}`), Headers: hdr, ExpectedStatus: 400, TestAppFactory: factory,
			ExpectedContent: []string{`"options":{`, `not a valid one of the options Gold, Bronze`, `contact ` + beaID + ` has \"Silver\"`},
			AfterTestFunc:   unchanged,
		},
		{
			Name: "adding a list option is fine", Method: http.MethodPatch, URL: url + levelDefID,
			Body: strings.NewReader(`{"options":["Gold","Silver","Bronze"]}`), Headers: hdr, ExpectedStatus: 200, TestAppFactory: factory,
			ExpectedContent: []string{`"options":["Gold","Silver","Bronze"]`}, AfterTestFunc: unchanged,
		},
		{
			Name: "renaming a key in use is refused", Method: http.MethodPatch, URL: url + pointsDefID,
			Body: strings.NewReader(`{"key":"puntos"}`), Headers: hdr, ExpectedStatus: 400, TestAppFactory: factory,
			ExpectedContent: []string{`"key":{`, `is set on 1 contacts`, `change its label instead`}, AfterTestFunc: unchanged,
		},
		{
			Name: "a list without options is refused", Method: http.MethodPost, URL: "/api/collections/contact_fields/records",
			Body: strings.NewReader(`{"key":"size","label":"Size","type":"list"}`), Headers: hdr, ExpectedStatus: 400, TestAppFactory: factory,
			ExpectedContent: []string{`"options":{`, `needs its options`},
		},
		{
			Name: "options on a non-list field are refused", Method: http.MethodPost, URL: "/api/collections/contact_fields/records",
			Body: strings.NewReader(`{"key":"age","label":"Age","type":"number","options":["1"]}`), Headers: hdr, ExpectedStatus: 400, TestAppFactory: factory,
			ExpectedContent: []string{`"options":{`, `ptions apply to list fields only`},
		},
	} {
		s.Test(t)
	}
}
