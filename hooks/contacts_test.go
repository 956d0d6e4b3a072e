package hooks_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"pregon/internal/testapp"
)

const (
	anaID  = "ctana0000000001"
	beaID  = "ctbea0000000002"
	anaTel = "+525512345678"
)

// contactsTemplate: a manager (token returned), three custom fields and Ana
// (phone anaTel), whose identities follow her phone.
func contactsTemplate(t *testing.T) (func(testing.TB) *tests.TestApp, string, string) {
	var tok, mgrID string
	factory := testapp.Template(t, func(t testing.TB, app *tests.TestApp) {
		mgr, tk := testapp.User(t, app, "mgr@tienda.mx", "manager")
		tok, mgrID = tk, mgr.Id
		fieldDef(t, app, "points", "number")
		fieldDef(t, app, "city", "list", "Lima", "Cusco", "Ciudad de México")
		fieldDef(t, app, "birthday", "date")
		newContact(t, app, map[string]any{"id": anaID, "first_name": "Ana", "phone": anaTel, "fields": map[string]any{"points": 10}})
	})
	return factory, tok, mgrID
}

func TestContactRulesOnRESTWrites(t *testing.T) {
	factory, tok, mgrID := contactsTemplate(t)
	hdr := map[string]string{"Authorization": tok}
	nothingStored := func(t testing.TB, app *tests.TestApp, _ *http.Response) {
		if n := countRows(t, app, "SELECT COUNT(*) FROM contacts"); n != 1 {
			t.Fatalf("a refused write stored a contact: %d contacts", n)
		}
		if n := countRows(t, app, "SELECT COUNT(*) FROM events WHERE contact != {:a}", dbx.Params{"a": anaID}); n != 0 {
			t.Fatalf("a refused write left %d events", n)
		}
	}
	scenarios := []tests.ApiScenario{
		{
			Name: "create normalizes every attribute", Method: http.MethodPost, URL: "/api/collections/contacts/records",
			Body: strings.NewReader(`{"first_name":" Bea ","phone":"55 8765 4321","email":" Bea@Tienda.MX ","country":"mx","language":"ES",
				"timezone":"America/Mexico_City","tags":[" VIP ","vip","Lima"],"fields":{"points":"12,5","city":"lima","birthday":"31/03/1990"}}`),
			Headers: hdr, ExpectedStatus: 200,
			ExpectedContent: []string{`"phone":"+525587654321"`, `"email":"bea@tienda.mx"`, `"tags":["vip","lima"]`,
				`"points":12.5`, `"city":"Lima"`, `"birthday":"1990-03-31"`, `"country":"MX"`, `"language":"es"`, `"first_name":"Bea"`},
			TestAppFactory: factory,
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				var body struct{ ID string }
				json.NewDecoder(res.Body).Decode(&body)
				if got := identityList(identitiesOf(t, app, body.ID)); got != "sms:+525587654321* whatsapp:+525587654321*" {
					t.Fatalf("identities = %q", got)
				}
				evs := eventsOf(t, app, body.ID)
				want := "contact.created,tag.added,tag.added,field.changed,field.changed,field.changed,identity.added,identity.added"
				if eventTypes(evs) != want {
					t.Fatalf("events = %s, want %s", eventTypes(evs), want)
				}
				for _, e := range evs {
					if e.Actor != "user:"+mgrID {
						t.Fatalf("event %s actor = %q, want user:%s", e.Type, e.Actor, mgrID)
					}
				}
			},
		},
		{
			Name: "a custom field of the wrong type is a 400 naming the field", Method: http.MethodPost, URL: "/api/collections/contacts/records",
			Body: strings.NewReader(`{"first_name":"Bea","fields":{"points":"doce"}}`), Headers: hdr,
			ExpectedStatus: 400, ExpectedContent: []string{`"fields":{"code":"invalid_fields","message":"Custom field \"points\" (number): \"doce\" is not a number`},
			TestAppFactory: factory, AfterTestFunc: nothingStored,
		},
		{
			Name: "an unknown custom field names it and the known ones", Method: http.MethodPost, URL: "/api/collections/contacts/records",
			Body: strings.NewReader(`{"fields":{"ciudad":"Lima"}}`), Headers: hdr,
			ExpectedStatus: 400, ExpectedContent: []string{`no custom field \"ciudad\"`, `birthday, city, points`},
			TestAppFactory: factory, AfterTestFunc: nothingStored,
		},
		{
			Name: "an invalid phone names the value", Method: http.MethodPost, URL: "/api/collections/contacts/records",
			Body: strings.NewReader(`{"phone":"55 1234","email":"nope@","country":"Mexico"}`), Headers: hdr,
			ExpectedStatus: 400, ExpectedContent: []string{`"phone":{"code":"invalid_phone"`, `55 1234`, `"email":{`, `"country":{`},
			TestAppFactory: factory, AfterTestFunc: nothingStored,
		},
		{
			Name: "tags must be words", Method: http.MethodPost, URL: "/api/collections/contacts/records",
			Body: strings.NewReader(`{"tags":["vip",3]}`), Headers: hdr,
			ExpectedStatus: 400, ExpectedContent: []string{`"tags":{`, `3 is not a word`},
			TestAppFactory: factory, AfterTestFunc: nothingStored,
		},
		{
			Name: "tags may be written as one string", Method: http.MethodPost, URL: "/api/collections/contacts/records",
			Body: strings.NewReader(`{"tags":"Nuevo, VIP|lima"}`), Headers: hdr,
			ExpectedStatus: 200, ExpectedContent: []string{`"tags":["nuevo","vip","lima"]`},
			TestAppFactory: factory,
		},
		{
			Name: "a phone that is another contact's identity names both", Method: http.MethodPost, URL: "/api/collections/contacts/records",
			Body: strings.NewReader(`{"first_name":"Bea","phone":"+52 55 1234 5678"}`), Headers: hdr,
			ExpectedStatus: 400, ExpectedContent: []string{`"phone":{`, anaTel, "contact " + anaID},
			TestAppFactory: factory, AfterTestFunc: nothingStored,
		},
		{
			Name: "a bad update keeps what is stored", Method: http.MethodPatch, URL: "/api/collections/contacts/records/" + anaID,
			Body: strings.NewReader(`{"first_name":"Anita","fields":{"points":"muchos"}}`), Headers: hdr,
			ExpectedStatus: 400, ExpectedContent: []string{`\"muchos\" is not a number`},
			TestAppFactory: factory,
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, _ *http.Response) {
				r, _ := app.FindRecordById("contacts", anaID)
				if r.GetString("first_name") != "Ana" || !strings.Contains(r.GetString("fields"), `"points":10`) {
					t.Fatalf("stored contact changed: %s %s", r.GetString("first_name"), r.GetString("fields"))
				}
				if eventTypes(eventsOf(t, app, anaID)) != "contact.created,field.changed,identity.added,identity.added" {
					t.Fatalf("refused update left events: %s", eventTypes(eventsOf(t, app, anaID)))
				}
			},
		},
	}
	for _, s := range scenarios {
		s.Test(t)
	}
}

func TestContactRulesOnGoSaves(t *testing.T) {
	app, _ := testapp.New(t)
	fieldDef(t, app, "vip", "boolean")
	col, _ := app.FindCollectionByNameOrId("contacts")

	r := core.NewRecord(col)
	r.Set("phone", "987 654 321")
	r.Set("country", "pe")
	r.Set("fields", map[string]any{"vip": "sí"})
	if err := app.Save(r); err == nil {
		t.Fatal("a Peruvian number without its country code parsed against MX")
	} else if !strings.Contains(err.Error(), "987 654 321") {
		t.Fatalf("error does not name the phone: %v", err)
	}

	r.Set("phone", "+51 987 654 321")
	if err := app.Save(r); err != nil {
		t.Fatal(err)
	}
	if r.GetString("phone") != "+51987654321" || r.GetString("country") != "PE" || r.GetString("fields") != `{"vip":true}` {
		t.Fatalf("not normalized: %s %s %s", r.GetString("phone"), r.GetString("country"), r.GetString("fields"))
	}
	if got := eventsOf(t, app, r.Id); got[0].Actor != "system" {
		t.Fatalf("a Go save without an actor is the system's, got %q", got[0].Actor)
	}

	// SaveNoValidate skips PocketBase's validators, not the contact rules.
	r.Set("fields", map[string]any{"vip": "tal vez"})
	if err := app.SaveNoValidate(r); err == nil || !strings.Contains(err.Error(), `"vip"`) {
		t.Fatalf("SaveNoValidate stored a bad value: %v", err)
	}
}

func TestIdentitiesFollowThePhone(t *testing.T) {
	app, _ := testapp.New(t)
	ana := newContact(t, app, map[string]any{"first_name": "Ana", "phone": anaTel})
	before := identitiesOf(t, app, ana.Id)
	if identityList(before) != "sms:+525512345678* whatsapp:+525512345678*" {
		t.Fatalf("identities = %s", identityList(before))
	}

	// Changing the phone moves the same identities (their ids, hence their
	// messages and consent, stay).
	ana.Set("phone", "+52 55 0000 1111")
	if err := app.Save(ana); err != nil {
		t.Fatal(err)
	}
	after := identitiesOf(t, app, ana.Id)
	if identityList(after) != "sms:+525500001111* whatsapp:+525500001111*" || after[0].ID != before[0].ID || after[1].ID != before[1].ID {
		t.Fatalf("phone change did not move the identities: %+v", after)
	}

	// Clearing it removes them.
	ana.Set("phone", "")
	if err := app.Save(ana); err != nil {
		t.Fatal(err)
	}
	if got := identitiesOf(t, app, ana.Id); len(got) != 0 {
		t.Fatalf("clearing the phone left %s", identityList(got))
	}

	// An explicit WhatsApp identity with another number keeps WhatsApp off the phone.
	newIdentity(t, app, ana.Id, "whatsapp", "+51 987 654 321")
	ana.Set("phone", "+525512345678")
	if err := app.Save(ana); err != nil {
		t.Fatal(err)
	}
	if got := identityList(identitiesOf(t, app, ana.Id)); got != "sms:+525512345678* whatsapp:+51987654321" {
		t.Fatalf("identities = %s", got)
	}

	// Another contact cannot take Ana's number, and nothing of it is stored.
	col, _ := app.FindCollectionByNameOrId("contacts")
	bea := core.NewRecord(col)
	bea.Set("first_name", "Bea")
	bea.Set("phone", "55 1234 5678")
	err := app.Save(bea)
	if err == nil || !strings.Contains(err.Error(), anaTel) || !strings.Contains(err.Error(), ana.Id) {
		t.Fatalf("conflict error should name the phone and the owner: %v", err)
	}
	if n := countRows(t, app, "SELECT COUNT(*) FROM contacts"); n != 1 {
		t.Fatalf("refused contact stored: %d contacts", n)
	}

	// An identity marked as following the phone must be the phone.
	idRec, _ := app.FindFirstRecordByFilter("contact_identities", "kind = 'sms'")
	idRec.Set("identifier", "+525599998888")
	if err := app.Save(idRec); err == nil || !strings.Contains(err.Error(), "change the contact's phone instead") {
		t.Fatalf("editing a from_phone identifier directly: %v", err)
	}
}

func TestIdentityIdentifiersAreValidatedPerKind(t *testing.T) {
	factory, tok, _ := contactsTemplate(t)
	hdr := map[string]string{"Authorization": tok}
	cases := []struct {
		name, kind, identifier string
		status                 int
		want                   string
	}{
		{"whatsapp user id kept as given", "whatsapp", "US.13491208655302741918", 200, `"identifier":"US.13491208655302741918"`},
		{"whatsapp phone to E.164", "whatsapp", "+51 987 654 321", 200, `"identifier":"+51987654321"`},
		{"whatsapp neither", "whatsapp", "hola", 400, `neither a phone number nor a WhatsApp user id`},
		{"sms must be a phone", "sms", "US.1234", 400, `ms identifiers are phone numbers`},
		{"telegram chat id", "telegram", " 123456789 ", 200, `"identifier":"123456789"`},
		{"telegram username refused", "telegram", "@ana", 400, `is not a chat id`},
		{"email lower-cased", "email", "Ana@Tienda.MX", 200, `"identifier":"ana@tienda.mx"`},
		{"email invalid", "email", "ana@", 400, `is not an e-mail address`},
		{"messenger opaque", "messenger", "6543219870123", 200, `"identifier":"6543219870123"`},
		{"empty", "webchat", "  ", 400, `cannot be empty`},
		{"unique per kind, names the owner", "sms", "55 1234 5678", 400, "contact " + anaID},
	}
	for _, c := range cases {
		body, _ := json.Marshal(map[string]any{"contact": anaID, "kind": c.kind, "identifier": c.identifier})
		s := tests.ApiScenario{
			Name: c.name, Method: http.MethodPost, URL: "/api/collections/contact_identities/records",
			Body: strings.NewReader(string(body)), Headers: hdr,
			ExpectedStatus: c.status, ExpectedContent: []string{c.want},
			TestAppFactory: factory,
		}
		if c.status == 400 {
			s.ExpectedContent = append(s.ExpectedContent, `"identifier":{`)
		}
		s.Test(t)
	}
}

func TestEveryChangeAppendsItsEvent(t *testing.T) {
	app, _ := testapp.New(t)
	agent, _ := testapp.User(t, app, "agente@tienda.mx", "agent")
	fieldDef(t, app, "city", "text")
	ana := newContact(t, app, map[string]any{"first_name": "Ana", "tags": []string{"vip", "lima"}})
	start := len(eventsOf(t, app, ana.Id))

	ana.Set("first_name", "Ana María")
	ana.Set("email", "ana@tienda.mx")
	ana.Set("tags", []string{"lima", "mayorista"})
	ana.Set("fields", map[string]any{"city": "Lima"})
	ana.Set("assignee", agent.Id)
	if err := app.Save(ana); err != nil {
		t.Fatal(err)
	}
	evs := eventsOf(t, app, ana.Id)[start:]
	if got := eventTypes(evs); got != "contact.updated,tag.added,tag.removed,field.changed,contact.assigned" {
		t.Fatalf("events = %s", got)
	}
	payloads := map[string]string{}
	for _, e := range evs {
		payloads[e.Type] += string(e.Payload)
	}
	for typ, want := range map[string]string{
		"contact.updated":  `{"changes":{"email":{"from":"","to":"ana@tienda.mx"},"first_name":{"from":"Ana","to":"Ana María"}}}`,
		"tag.added":        `{"tag":"mayorista"}`,
		"tag.removed":      `{"tag":"vip"}`,
		"field.changed":    `{"from":null,"key":"city","to":"Lima"}`,
		"contact.assigned": `{"from":"","to":"` + agent.Id + `"}`,
	} {
		if payloads[typ] != want {
			t.Errorf("%s payload = %s, want %s", typ, payloads[typ], want)
		}
	}

	// A save that changes nothing records nothing.
	n := len(eventsOf(t, app, ana.Id))
	if err := app.Save(ana); err != nil {
		t.Fatal(err)
	}
	if len(eventsOf(t, app, ana.Id)) != n {
		t.Fatal("an unchanged save appended events")
	}

	ana.Set("phone", anaTel)
	if err := app.Save(ana); err != nil {
		t.Fatal(err)
	}
	if err := app.Delete(ana); err != nil {
		t.Fatal(err)
	}
	evs = eventsOf(t, app, ana.Id)
	if got := eventTypes(evs[len(evs)-5:]); got != "identity.added,identity.added,identity.removed,identity.removed,contact.deleted" {
		t.Fatalf("phone and delete events = %s", got)
	}
	if n := countRows(t, app, "SELECT COUNT(*) FROM contact_identities"); n != 0 {
		t.Fatalf("%d identities outlived their contact", n)
	}
}

func TestEventsCommitWithTheirChangeOrNotAtAll(t *testing.T) {
	t.Run("a write that fails after its SQL leaves neither row nor event", func(t *testing.T) {
		app, _ := testapp.New(t)
		app.OnRecordCreateExecute("contacts").BindFunc(func(e *core.RecordEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			return errBoom
		})
		saveFailsLeavingNothing(t, app)
	})
	t.Run("an event that cannot be written undoes its change", func(t *testing.T) {
		app, _ := testapp.New(t)
		ana := newContact(t, app, map[string]any{"first_name": "Ana", "tags": []string{"vip"}})
		if _, err := app.DB().NewQuery(`CREATE TRIGGER no_tag_events BEFORE INSERT ON events
			WHEN NEW.type = 'tag.added' BEGIN SELECT RAISE(ABORT, 'log unavailable'); END`).Execute(); err != nil {
			t.Fatal(err)
		}
		ana.Set("first_name", "Ana María")
		ana.Set("tags", []string{"vip", "nuevo"})
		if err := app.Save(ana); err == nil {
			t.Fatal("save should fail when its events cannot be written")
		}
		stored, _ := app.FindRecordById("contacts", ana.Id)
		if stored.GetString("first_name") != "Ana" || stored.GetString("tags") != `["vip"]` {
			t.Fatalf("change committed without its events: %s %s", stored.GetString("first_name"), stored.GetString("tags"))
		}
		if got := eventTypes(eventsOf(t, app, ana.Id)); got != "contact.created,tag.added" {
			t.Fatalf("events = %s", got)
		}
	})
	t.Run("a failing identity write undoes the contact write", func(t *testing.T) {
		app, _ := testapp.New(t)
		app.OnRecordCreate("contact_identities").BindFunc(func(e *core.RecordEvent) error {
			if e.Record.GetString("kind") == "whatsapp" {
				return errBoom
			}
			return e.Next()
		})
		saveFailsLeavingNothing(t, app)
	})
}

// saveFailsLeavingNothing creates a contact with a phone, expects the save
// to fail and checks that no contact, identity or event was left.
func saveFailsLeavingNothing(t *testing.T, app core.App) {
	t.Helper()
	col, _ := app.FindCollectionByNameOrId("contacts")
	r := core.NewRecord(col)
	r.Set("first_name", "Ana")
	r.Set("phone", anaTel)
	if err := app.Save(r); err == nil {
		t.Fatal("save should fail")
	}
	for _, tbl := range []string{"contacts", "contact_identities", "events"} {
		if n := countRows(t, app, "SELECT COUNT(*) FROM "+tbl); n != 0 {
			t.Fatalf("%d rows left in %s", n, tbl)
		}
	}
}

type boom struct{}

func (boom) Error() string { return "boom" }

var errBoom error = boom{}

func TestConsentRulesOnDirectIdentityWrites(t *testing.T) {
	factory, tok, _ := contactsTemplate(t)
	smsOf := func(app core.App) *core.Record {
		r, err := app.FindFirstRecordByFilter("contact_identities", "contact = {:c} && kind = 'sms'", dbx.Params{"c": anaID})
		if err != nil {
			panic(err)
		}
		return r
	}
	// The identity ids are random; resolve them through a fixed-id contact.
	for _, c := range []struct {
		name, body string
		status     int
		want       []string
		prior      map[string]any
		check      func(t testing.TB, r *core.Record, evs string)
	}{
		{name: "opt-in without evidence is refused", body: `{"consent":"opted_in"}`, status: 400,
			want: []string{`"consent_source":{`, "n opt-in needs its evidence"}},
		{name: "opt-in with evidence is recorded with its time", body: `{"consent":"opted_in","consent_source":"web form /registro","consent_wording":"Acepto ofertas por SMS"}`, status: 200,
			want: []string{`"consent":"opted_in"`, `"consent_source":"web form /registro"`},
			check: func(t testing.TB, r *core.Record, evs string) {
				if r.GetDateTime("consent_at").IsZero() {
					t.Fatal("consent_at not defaulted to now")
				}
				if !strings.HasSuffix(evs, "consent.changed") {
					t.Fatalf("events = %s", evs)
				}
			}},
		{name: "opt-out needs no source and drops the opt-in's evidence", body: `{"consent":"opted_out"}`, status: 200,
			want:  []string{`"consent":"opted_out"`},
			prior: map[string]any{"consent": "opted_in", "consent_source": "web form", "consent_wording": "Acepto"},
			check: func(t testing.TB, r *core.Record, evs string) {
				if r.GetString("consent_source") != "" || r.GetString("consent_wording") != "" {
					t.Fatalf("opt-out inherited the opt-in's evidence: %q %q", r.GetString("consent_source"), r.GetString("consent_wording"))
				}
			}},
		{name: "recorded consent cannot be cleared", body: `{"consent":""}`, status: 400,
			prior: map[string]any{"consent": "opted_out"},
			want:  []string{`"consent":{`, "cannot be cleared"}},
		{name: "a consent time in the future is refused", body: `{"consent":"opted_in","consent_source":"form","consent_at":"2999-01-01 00:00:00.000Z"}`, status: 400,
			want: []string{`"consent_at":{`}},
		{name: "an unknown status is refused", body: `{"consent":"maybe"}`, status: 400,
			want: []string{`"consent":{`}},
	} {
		s := tests.ApiScenario{
			Name: c.name, Method: http.MethodPatch, Headers: map[string]string{"Authorization": tok}, ExpectedStatus: c.status, ExpectedContent: c.want,
			Body: strings.NewReader(c.body),
		}
		app := factory(t)
		sms := smsOf(app)
		if c.prior != nil {
			sms.Load(c.prior)
			if err := app.Save(sms); err != nil {
				t.Fatal(err)
			}
		}
		s.URL = "/api/collections/contact_identities/records/" + sms.Id
		s.TestAppFactory = func(testing.TB) *tests.TestApp { return app }
		s.DisableTestAppCleanup = true // app belongs to this test: testapp cleans it up
		s.AfterTestFunc = func(t testing.TB, app *tests.TestApp, _ *http.Response) {
			if c.check != nil {
				c.check(t, smsOf(app), eventTypes(eventsOf(t, app, anaID)))
			}
		}
		s.Test(t)
	}
}
