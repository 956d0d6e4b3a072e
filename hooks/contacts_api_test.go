package hooks_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"pregon/events"
	"pregon/internal/testapp"
)

const (
	beaTel = "+51987654321"
	carID  = "ctcar0000000003"
)

type apiFixture struct {
	factory                   func(testing.TB) *tests.TestApp
	owner, manager, agent     string // tokens
	ownerID, mgrID, agentID   string
	superuser                 string // token
	anaEvents, beaEventsCount int
}

// apiTemplate: Ana (assigned to the agent, phone anaTel, tag vip, points 10),
// Bea (unassigned, phone beaTel, a telegram identity, a message, tag nuevo,
// points 99 and city Lima) and Carla (same e-mail as Ana, written by raw
// SQL in upper case as an import might).
func apiTemplate(t *testing.T) *apiFixture {
	f := &apiFixture{}
	f.factory = testapp.Template(t, func(t testing.TB, app *tests.TestApp) {
		o, ot := testapp.User(t, app, "owner@tienda.mx", "owner")
		m, mt := testapp.User(t, app, "mgr@tienda.mx", "manager")
		a, at := testapp.User(t, app, "agente@tienda.mx", "agent")
		f.owner, f.manager, f.agent, f.ownerID, f.mgrID, f.agentID = ot, mt, at, o.Id, m.Id, a.Id
		f.superuser = testapp.Superuser(t, app)
		fieldDef(t, app, "points", "number")
		fieldDef(t, app, "city", "text")
		newContact(t, app, map[string]any{"id": anaID, "first_name": "Ana", "phone": anaTel, "email": "ana@tienda.mx",
			"tags": []string{"vip"}, "fields": map[string]any{"points": 10}, "assignee": a.Id})
		newContact(t, app, map[string]any{"id": beaID, "first_name": "Bea", "last_name": "Quispe", "phone": beaTel,
			"language": "es", "tags": []string{"nuevo", "vip"}, "fields": map[string]any{"points": 99, "city": "Lima"}})
		newIdentity(t, app, beaID, "telegram", "12345")
		msgs, _ := app.FindCollectionByNameOrId("messages")
		msg := core.NewRecord(msgs)
		msg.Load(map[string]any{"direction": "in", "status": "received", "contact": beaID, "content": map[string]any{"text": "hola"}})
		if err := app.Save(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := app.DB().NewQuery(`INSERT INTO contacts (id, first_name, email, tags, fields, created, updated)
			VALUES ({:id}, 'Carla', 'ANA@tienda.mx', '[]', '{}', '2026-01-01 00:00:00.000Z', '2026-01-01 00:00:00.000Z')`).
			Bind(dbx.Params{"id": carID}).Execute(); err != nil {
			t.Fatal(err)
		}
		f.anaEvents = len(eventsOf(t, app, anaID))
		f.beaEventsCount = len(eventsOf(t, app, beaID))
	})
	return f
}

type timelinePage struct {
	Items      []events.Row `json:"items"`
	NextBefore *int64       `json:"next_before"`
}

func decodePage(t testing.TB, res *http.Response) timelinePage {
	var p timelinePage
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return p
}

func TestTimeline(t *testing.T) {
	f := apiTemplate(t)
	url := "/api/pregon/contacts/" + anaID + "/timeline"
	notAssigned := `does not exist or is not assigned to you`
	for _, s := range []tests.ApiScenario{
		{
			Name: "manager: newest first", Method: http.MethodGet, URL: url,
			Headers: map[string]string{"Authorization": f.manager}, ExpectedStatus: 200,
			ExpectedContent: []string{`"type":"identity.added"`, `"next_before":null`},
			TestAppFactory:  f.factory,
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				p := decodePage(t, res)
				if len(p.Items) != f.anaEvents {
					t.Fatalf("%d events, want %d", len(p.Items), f.anaEvents)
				}
				for i := 1; i < len(p.Items); i++ {
					if p.Items[i].Seq >= p.Items[i-1].Seq {
						t.Fatalf("not newest first: %d then %d", p.Items[i-1].Seq, p.Items[i].Seq)
					}
				}
				if last := p.Items[len(p.Items)-1]; last.Type != "contact.created" {
					t.Fatalf("oldest event is %s", last.Type)
				}
			},
		},
		{
			Name: "agent: an assigned contact", Method: http.MethodGet, URL: url,
			Headers: map[string]string{"Authorization": f.agent}, ExpectedStatus: 200,
			ExpectedContent: []string{`"type":"contact.created"`}, TestAppFactory: f.factory,
		},
		{
			Name: "agent: a contact not assigned to them is a 404", Method: http.MethodGet, URL: "/api/pregon/contacts/" + beaID + "/timeline",
			Headers: map[string]string{"Authorization": f.agent}, ExpectedStatus: 404,
			ExpectedContent: []string{notAssigned}, NotExpectedContent: []string{`"items"`}, TestAppFactory: f.factory,
		},
		{
			Name: "unknown contact: the same 404", Method: http.MethodGet, URL: "/api/pregon/contacts/nope/timeline",
			Headers: map[string]string{"Authorization": f.manager}, ExpectedStatus: 404,
			ExpectedContent: []string{notAssigned}, TestAppFactory: f.factory,
		},
		{
			Name: "guest: 401", Method: http.MethodGet, URL: url, ExpectedStatus: 401,
			ExpectedContent: []string{`"status":401`}, TestAppFactory: f.factory,
		},
		{
			Name: "superuser", Method: http.MethodGet, URL: url, Headers: map[string]string{"Authorization": f.superuser},
			ExpectedStatus: 200, ExpectedContent: []string{`"items":[`}, TestAppFactory: f.factory,
		},
		{
			Name: "bad limit", Method: http.MethodGet, URL: url + "?limit=5000",
			Headers: map[string]string{"Authorization": f.manager}, ExpectedStatus: 400,
			ExpectedContent: []string{"Limit must be a whole number from 1 to 200"}, TestAppFactory: f.factory,
		},
		{
			Name: "bad before", Method: http.MethodGet, URL: url + "?before=yesterday",
			Headers: map[string]string{"Authorization": f.manager}, ExpectedStatus: 400,
			ExpectedContent: []string{"Before must be the seq of an event"}, TestAppFactory: f.factory,
		},
	} {
		s.Test(t)
	}

	// Paging by seq: pages do not overlap and end with next_before null.
	app := f.factory(t)
	defer app.Cleanup()
	var seen []int64
	before := ""
	for page := 0; page < 10; page++ {
		var got timelinePage
		s := tests.ApiScenario{
			Name: fmt.Sprintf("page %d", page), Method: http.MethodGet, URL: url + "?limit=2" + before,
			Headers: map[string]string{"Authorization": f.manager}, ExpectedStatus: 200, ExpectedContent: []string{`"items"`},
			TestAppFactory: func(testing.TB) *tests.TestApp { return app }, DisableTestAppCleanup: true,
			AfterTestFunc: func(t testing.TB, _ *tests.TestApp, res *http.Response) { got = decodePage(t, res) },
		}
		s.Test(t)
		for _, it := range got.Items {
			if len(seen) > 0 && it.Seq >= seen[len(seen)-1] {
				t.Fatalf("page %d repeats or reorders: %d after %v", page, it.Seq, seen)
			}
			seen = append(seen, it.Seq)
		}
		if got.NextBefore == nil {
			break
		}
		before = fmt.Sprintf("&before=%d", *got.NextBefore)
	}
	if len(seen) != f.anaEvents {
		t.Fatalf("paging returned %d events, want %d", len(seen), f.anaEvents)
	}
}

func TestConsentEndpoint(t *testing.T) {
	f := apiTemplate(t)
	url := "/api/pregon/contacts/" + anaID + "/consent"
	for _, s := range []tests.ApiScenario{
		{
			Name: "opt-in with evidence on every whatsapp identity", Method: http.MethodPost, URL: url,
			Body:    strings.NewReader(`{"kind":"whatsapp","status":"opted_in","source":"web form /registro","wording":"Acepto recibir ofertas por WhatsApp"}`),
			Headers: map[string]string{"Authorization": f.manager}, ExpectedStatus: 200,
			ExpectedContent: []string{`"identifier":"` + anaTel + `"`, `"consent":"opted_in"`, `"consent_source":"web form /registro"`},
			TestAppFactory:  f.factory,
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, _ *http.Response) {
				evs := eventsOf(t, app, anaID)
				last := evs[len(evs)-1]
				if last.Type != "consent.changed" || last.Actor != "user:"+f.mgrID ||
					!strings.Contains(string(last.Payload), `"wording":"Acepto recibir ofertas por WhatsApp"`) ||
					!strings.Contains(string(last.Payload), `"to":"opted_in"`) {
					t.Fatalf("last event = %s %s %s", last.Type, last.Actor, last.Payload)
				}
				for _, id := range identitiesOf(t, app, anaID) {
					if id.Kind == "sms" && id.Consent != "" {
						t.Fatal("sms consent changed by a whatsapp decision")
					}
				}
			},
		},
		{
			Name: "opt-in without a source is refused", Method: http.MethodPost, URL: url,
			Body:    strings.NewReader(`{"kind":"whatsapp","status":"opted_in"}`),
			Headers: map[string]string{"Authorization": f.manager}, ExpectedStatus: 400,
			ExpectedContent: []string{`"source":{`, "n opt-in needs its evidence"}, TestAppFactory: f.factory,
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, _ *http.Response) {
				if n := countRows(t, app, "SELECT COUNT(*) FROM events WHERE type = 'consent.changed'"); n != 0 {
					t.Fatalf("%d consent events after a refusal", n)
				}
			},
		},
		{
			Name: "bad kind and status name both", Method: http.MethodPost, URL: url,
			Body:    strings.NewReader(`{"kind":"fax","status":"yes"}`),
			Headers: map[string]string{"Authorization": f.manager}, ExpectedStatus: 400,
			ExpectedContent: []string{`"kind":{`, `"status":{`, "use opted_in or opted_out"}, TestAppFactory: f.factory,
		},
		{
			Name: "a kind the contact has no identity of", Method: http.MethodPost, URL: url,
			Body:    strings.NewReader(`{"kind":"telegram","status":"opted_out"}`),
			Headers: map[string]string{"Authorization": f.manager}, ExpectedStatus: 400,
			ExpectedContent: []string{`"kind":{`, "has no telegram identity"}, TestAppFactory: f.factory,
		},
		{
			Name: "not JSON", Method: http.MethodPost, URL: url, Body: strings.NewReader(`{"kind":`),
			Headers: map[string]string{"Authorization": f.manager}, ExpectedStatus: 400,
			ExpectedContent: []string{`Send JSON`}, TestAppFactory: f.factory,
		},
		{
			Name: "the assigned agent records an opt-out (no source needed)", Method: http.MethodPost, URL: url,
			Body:    strings.NewReader(`{"kind":"sms","status":"opted_out"}`),
			Headers: map[string]string{"Authorization": f.agent}, ExpectedStatus: 200,
			ExpectedContent: []string{`"consent":"opted_out"`}, TestAppFactory: f.factory,
		},
		{
			Name: "an agent on another's contact: 404", Method: http.MethodPost, URL: "/api/pregon/contacts/" + beaID + "/consent",
			Body:    strings.NewReader(`{"kind":"sms","status":"opted_out"}`),
			Headers: map[string]string{"Authorization": f.agent}, ExpectedStatus: 404,
			ExpectedContent: []string{`not assigned to you`}, TestAppFactory: f.factory,
		},
		{
			Name: "guest: 401", Method: http.MethodPost, URL: url, Body: strings.NewReader(`{"kind":"sms","status":"opted_out"}`),
			ExpectedStatus: 401, ExpectedContent: []string{`"status":401`}, TestAppFactory: f.factory,
		},
	} {
		s.Test(t)
	}
}

func TestMergeEndpoint(t *testing.T) {
	f := apiTemplate(t)
	merge := func(name, token, body string, status int, want ...string) tests.ApiScenario {
		hdr := map[string]string{}
		if token != "" {
			hdr["Authorization"] = token
		}
		return tests.ApiScenario{Name: name, Method: http.MethodPost, URL: "/api/pregon/contacts/merge",
			Body: strings.NewReader(body), Headers: hdr, ExpectedStatus: status, ExpectedContent: want, TestAppFactory: f.factory}
	}
	unchanged := func(t testing.TB, app *tests.TestApp, _ *http.Response) {
		if n := countRows(t, app, "SELECT COUNT(*) FROM contacts"); n != 3 {
			t.Fatalf("a refused merge changed the contacts: %d", n)
		}
		if n := countRows(t, app, "SELECT COUNT(*) FROM events WHERE type = 'contact.merged'"); n != 0 {
			t.Fatal("a refused merge left an event")
		}
	}
	ok := merge("manager merges Bea into Ana", f.manager, `{"survivor":"`+anaID+`","other":"`+beaID+`"}`, 200,
		`"survivor":{`, `"id":"`+anaID+`"`, `"tags":["vip","nuevo"]`, `"messages":1`, `"attributes":["last_name","language"]`)
	ok.AfterTestFunc = func(t testing.TB, app *tests.TestApp, _ *http.Response) {
		if _, err := app.FindRecordById("contacts", beaID); err == nil {
			t.Fatal("the other contact still exists")
		}
		ana, _ := app.FindRecordById("contacts", anaID)
		if ana.GetString("fields") != `{"city":"Lima","points":10}` || ana.GetString("last_name") != "Quispe" ||
			ana.GetString("phone") != anaTel || ana.GetString("assignee") != f.agentID {
			t.Fatalf("survivor = %s %s %s %s", ana.GetString("fields"), ana.GetString("last_name"), ana.GetString("phone"), ana.GetString("assignee"))
		}
		// Bea's numbers stay reachable, now as explicit identities of Ana.
		want := "sms:" + beaTel + " sms:" + anaTel + "* telegram:12345 whatsapp:" + beaTel + " whatsapp:" + anaTel + "*"
		if got := identityList(identitiesOf(t, app, anaID)); got != want {
			t.Fatalf("identities = %s\nwant        %s", got, want)
		}
		if n := countRows(t, app, "SELECT COUNT(*) FROM messages WHERE contact = {:c}", dbx.Params{"c": anaID}); n != 1 {
			t.Fatal("the message did not move")
		}
		// The survivor's timeline tells the whole story, Bea's past included.
		rows, err := timelineOf(app, anaID)
		if err != nil {
			t.Fatal(err)
		}
		if rows[0] != "contact.merged" || !contains(rows, "contact.deleted") || count(rows, "contact.created") != 2 {
			t.Fatalf("timeline = %v", rows)
		}
		var p string
		app.DB().NewQuery("SELECT payload FROM events WHERE type = 'contact.merged'").Row(&p)
		if !strings.Contains(p, `"other":"`+beaID+`"`) || !strings.Contains(p, `"identifier":"12345"`) {
			t.Fatalf("merged payload = %s", p)
		}
	}
	for _, s := range []tests.ApiScenario{
		ok,
		merge("a contact with itself", f.manager, `{"survivor":"`+anaID+`","other":"`+anaID+`"}`, 400, `"other":{`, "cannot be merged with itself"),
		merge("unknown other", f.manager, `{"survivor":"`+anaID+`","other":"nope"}`, 404, `Other contact \"nope\" does not exist`),
		merge("unknown survivor", f.owner, `{"survivor":"nope","other":"`+anaID+`"}`, 404, `Survivor contact \"nope\" does not exist`),
		merge("missing ids", f.manager, `{}`, 400, `"survivor":{`, `"other":{`),
		merge("agent: 403", f.agent, `{"survivor":"`+anaID+`","other":"`+beaID+`"}`, 403, "Only owners and managers merge contacts"),
		merge("guest: 401", "", `{"survivor":"`+anaID+`","other":"`+beaID+`"}`, 401, `"status":401`),
	} {
		if s.ExpectedStatus != 200 {
			s.AfterTestFunc = unchanged
		}
		s.Test(t)
	}
}

func timelineOf(app core.App, id string) ([]string, error) {
	var out []string
	err := app.DB().NewQuery("SELECT type FROM events WHERE contact IN ({:a}, {:b}) ORDER BY rowid DESC").
		Bind(dbx.Params{"a": id, "b": beaID}).Column(&out)
	return out, err
}

func contains(xs []string, s string) bool { return count(xs, s) > 0 }

func count(xs []string, s string) int {
	n := 0
	for _, x := range xs {
		if x == s {
			n++
		}
	}
	return n
}

func TestMergeAdoptsTheOthersPhone(t *testing.T) {
	app, _ := testapp.New(t)
	ana := newContact(t, app, map[string]any{"first_name": "Ana"})
	bea := newContact(t, app, map[string]any{"first_name": "Bea", "phone": beaTel})
	ids := identitiesOf(t, app, bea.Id)
	if _, err := contactsMerge(app, ana.Id, bea.Id); err != nil {
		t.Fatal(err)
	}
	after := identitiesOf(t, app, ana.Id)
	// Same rows, still following the (now the survivor's) phone.
	if identityList(after) != "sms:"+beaTel+"* whatsapp:"+beaTel+"*" || after[0].ID != ids[0].ID {
		t.Fatalf("identities = %s", identityList(after))
	}
	// The survivor's phone now moves them.
	ana, _ = app.FindRecordById("contacts", ana.Id)
	ana.Set("phone", "+51 912 345 678")
	if err := app.Save(ana); err != nil {
		t.Fatal(err)
	}
	if got := identityList(identitiesOf(t, app, ana.Id)); got != "sms:+51912345678* whatsapp:+51912345678*" {
		t.Fatalf("identities after phone change = %s", got)
	}
}

func TestDuplicatesEndpoint(t *testing.T) {
	f := apiTemplate(t)
	for _, s := range []tests.ApiScenario{
		{
			Name: "manager: same e-mail regardless of case", Method: http.MethodGet, URL: "/api/pregon/contacts/duplicates",
			Headers: map[string]string{"Authorization": f.manager}, ExpectedStatus: 200,
			ExpectedContent:    []string{`"by":"email","value":"ana@tienda.mx"`, `"id":"` + carID + `"`, `"id":"` + anaID + `"`},
			NotExpectedContent: []string{`"by":"phone"`}, TestAppFactory: f.factory,
		},
		{
			Name: "agent: 403", Method: http.MethodGet, URL: "/api/pregon/contacts/duplicates",
			Headers: map[string]string{"Authorization": f.agent}, ExpectedStatus: 403,
			ExpectedContent: []string{"Only owners and managers"}, TestAppFactory: f.factory,
		},
		{
			Name: "bad limit", Method: http.MethodGet, URL: "/api/pregon/contacts/duplicates?limit=0",
			Headers: map[string]string{"Authorization": f.manager}, ExpectedStatus: 400,
			ExpectedContent: []string{"Limit must be"}, TestAppFactory: f.factory,
		},
	} {
		s.Test(t)
	}
}
