package hooks_test

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"pregon/hooks"
	"pregon/internal/testapp"
)

// Fixed ids of the roles fixture, so that scenarios can name them in URLs.
const (
	ownerID   = "usowner00000001"
	managerID = "usmanager000001"
	agentID   = "usagent00000001"
	agent2ID  = "usagent00000002"
	teamID    = "tmventas0000001"
	idAnaID   = "idana0000000001" // Ana's telegram identity; Ana is assigned to the agent
	idBeaID   = "idbea0000000002" // Bea's; Bea is assigned to nobody
	fieldID   = "fdcity000000001"
	channelID = "chbot0000000001"
	segmentID = "sgvip0000000001"
	msgAnaID  = "msana0000000001"
	msgBeaID  = "msbea0000000002"
	bcastID   = "bcpromo00000001"
	eventID   = "evfixture000001"
	importID  = "imfixture000001"
)

type rolesFixture struct {
	factory    func(testing.TB) *tests.TestApp
	tokens     map[string]string // role -> token ("guest" has none)
	superuser  string
	settingsID string
}

func staffUser(t testing.TB, app core.App, id, role string) string {
	t.Helper()
	col, _ := app.FindCollectionByNameOrId("users")
	u := core.NewRecord(col)
	u.Set("id", id)
	u.SetEmail(id + "@tienda.mx")
	u.SetPassword("password-123456")
	u.SetVerified(true)
	u.Set("name", id)
	u.Set("role", role)
	if err := app.Save(u); err != nil {
		t.Fatalf("creating %s: %v", id, err)
	}
	tok, err := u.NewAuthToken()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func saveRecord(t testing.TB, app core.App, collection string, data map[string]any) {
	t.Helper()
	col, err := app.FindCollectionByNameOrId(collection)
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(col)
	r.Load(data)
	if err := app.Save(r); err != nil {
		t.Fatalf("creating %s %v: %v", collection, data, err)
	}
}

func rolesTemplate(t *testing.T) *rolesFixture {
	f := &rolesFixture{tokens: map[string]string{}}
	f.factory = testapp.Template(t, func(t testing.TB, app *tests.TestApp) {
		f.tokens["owner"] = staffUser(t, app, ownerID, "owner")
		f.tokens["manager"] = staffUser(t, app, managerID, "manager")
		f.tokens["agent"] = staffUser(t, app, agentID, "agent")
		staffUser(t, app, agent2ID, "agent")
		f.superuser = testapp.Superuser(t, app)
		saveRecord(t, app, "teams", map[string]any{"id": teamID, "name": "Ventas", "members": []string{managerID, agentID}})
		saveRecord(t, app, "contact_fields", map[string]any{"id": fieldID, "key": "city", "label": "City", "type": "text"})
		newContact(t, app, map[string]any{"id": anaID, "first_name": "Ana", "phone": anaTel, "assignee": agentID})
		newContact(t, app, map[string]any{"id": beaID, "first_name": "Bea", "phone": beaTel})
		saveRecord(t, app, "contact_identities", map[string]any{"id": idAnaID, "contact": anaID, "kind": "telegram", "identifier": "111"})
		saveRecord(t, app, "contact_identities", map[string]any{"id": idBeaID, "contact": beaID, "kind": "telegram", "identifier": "222"})
		saveRecord(t, app, "channels", map[string]any{"id": channelID, "name": "Bot", "type": "telegram", "config": map[string]any{"bot_token": "1:SECRET"}})
		saveRecord(t, app, "segments", map[string]any{"id": segmentID, "name": "VIP"})
		saveRecord(t, app, "messages", map[string]any{"id": msgAnaID, "direction": "in", "status": "received", "contact": anaID})
		saveRecord(t, app, "messages", map[string]any{"id": msgBeaID, "direction": "in", "status": "received", "contact": beaID})
		saveRecord(t, app, "broadcasts", map[string]any{"id": bcastID, "name": "Promo", "status": "draft"})
		saveRecord(t, app, "imports", map[string]any{"id": importID, "mode": "add_update", "identifier": "phone", "status": "done"})
		if _, err := app.DB().Insert("events", dbx.Params{"id": eventID, "type": "test.fixture", "contact": beaID,
			"payload": "{}", "actor": "system", "created": "2026-01-01 00:00:00.000Z"}).Execute(); err != nil {
			t.Fatal(err)
		}
		s, err := app.FindFirstRecordByFilter("settings", "id != ''")
		if err != nil {
			t.Fatal(err)
		}
		f.settingsID = s.Id
	}, hooks.Options{Registry: stubRegistry()})
	return f
}

// access lists, per operation, the roles a collection's rules let through.
// "-" marks an operation with no rule (superusers only): everyone else gets
// a 403 instead of the 400/404 of a rule that does not match.
type access struct {
	list, view, create, update, delete string
}

type collectionCase struct {
	name           string
	target         string // id used by view, update and delete
	createBody     string
	updateBody     string
	access         access
	agentSeesOther string // an id of the same collection the agent must not see ("" when n/a)
}

func TestRolesOnEveryCollection(t *testing.T) {
	f := rolesTemplate(t)
	all, managers := "owner manager agent", "owner manager"
	cases := []collectionCase{
		{"users", agent2ID, `{"email":"new@tienda.mx","password":"password-123456","passwordConfirm":"password-123456","role":"agent","name":"Nuevo"}`,
			`{"name":"Renamed"}`, access{all, all, managers, "owner", "owner"}, ""},
		{"teams", teamID, `{"name":"Soporte"}`, `{"name":"Ventas MX"}`, access{all, all, managers, managers, managers}, ""},
		{"contacts", anaID, `{"first_name":"Nuevo"}`, `{"first_name":"Ana María"}`, access{all, all, managers, all, managers}, beaID},
		{"contact_identities", idAnaID, `{"contact":"` + beaID + `","kind":"telegram","identifier":"333"}`, `{"identifier":"444"}`,
			access{all, all, managers, managers, managers}, idBeaID},
		{"contact_fields", fieldID, `{"key":"vip","label":"VIP","type":"boolean"}`, `{"label":"Ciudad"}`, access{all, all, managers, managers, managers}, ""},
		{"channels", channelID, `{"name":"Bot 2","type":"telegram","config":{"bot_token":"2:x"}}`, `{"name":"Bot renamed"}`,
			access{all, all, managers, managers, managers}, ""},
		{"segments", segmentID, `{"name":"Lima"}`, `{"name":"VIP 2"}`, access{managers, managers, managers, managers, managers}, ""},
		{"messages", msgAnaID, `{"direction":"out","status":"queued","contact":"` + anaID + `"}`, `{"status":"sent"}`,
			access{all, all, "-", "-", "-"}, msgBeaID},
		{"broadcasts", bcastID, `{"name":"Promo 2","status":"draft"}`, `{"name":"Promo renamed"}`, access{managers, managers, managers, managers, managers}, ""},
		{"events", eventID, `{"type":"forged"}`, `{"type":"forged"}`, access{managers, managers, "-", "-", "-"}, ""},
		{"imports", importID, `{"mode":"add_update","identifier":"phone","status":"queued"}`, `{"status":"failed"}`,
			access{managers, managers, "-", "-", "-"}, ""},
		{"settings", "SETTINGS", `{"default_region":"PE","timezone":"America/Lima"}`, `{"workspace_name":"Tienda"}`,
			access{all, all, "-", "owner", "-"}, ""},
	}
	for _, c := range cases {
		if c.target == "SETTINGS" {
			c.target = f.settingsID
		}
		for _, role := range []string{"owner", "manager", "agent", "guest"} {
			for _, s := range roleScenarios(f, c, role) {
				s.Test(t)
			}
		}
	}
}

func roleScenarios(f *rolesFixture, c collectionCase, role string) []tests.ApiScenario {
	hdr := map[string]string{}
	if tok := f.tokens[role]; tok != "" {
		hdr["Authorization"] = tok
	}
	base := "/api/collections/" + c.name + "/records"
	item := base + "/" + c.target
	allowed := func(rule string) bool { return strings.Contains(rule, role) }
	denied := func(rule string, ruleStatus int) int {
		if rule == "-" {
			return 403
		}
		return ruleStatus
	}
	name := func(op string, ok bool) string {
		verdict := "denied"
		if ok {
			verdict = "allowed"
		}
		return fmt.Sprintf("%s %s %s: %s", role, op, c.name, verdict)
	}
	sc := func(op, method, url, body string) tests.ApiScenario {
		s := tests.ApiScenario{Method: method, URL: url, Headers: hdr, TestAppFactory: f.factory}
		if body != "" {
			s.Body = strings.NewReader(body)
		}
		return s
	}
	var out []tests.ApiScenario

	s := sc("list", http.MethodGet, base+"?perPage=100", "")
	s.Name = name("list", allowed(c.access.list))
	s.ExpectedStatus = 200
	if allowed(c.access.list) {
		s.ExpectedContent = []string{`"id":"` + c.target + `"`}
		if role == "agent" && c.agentSeesOther != "" {
			s.NotExpectedContent = []string{`"id":"` + c.agentSeesOther + `"`}
		}
	} else {
		s.ExpectedContent = []string{`"items":[]`}
	}
	out = append(out, s)

	s = sc("view", http.MethodGet, item, "")
	s.Name = name("view", allowed(c.access.view))
	if allowed(c.access.view) {
		s.ExpectedStatus, s.ExpectedContent = 200, []string{`"id":"` + c.target + `"`}
	} else {
		s.ExpectedStatus, s.ExpectedContent = denied(c.access.view, 404), []string{`"data":{}`}
	}
	out = append(out, s)
	if role == "agent" && c.agentSeesOther != "" {
		s = sc("view", http.MethodGet, base+"/"+c.agentSeesOther, "")
		s.Name = fmt.Sprintf("agent view %s of an unassigned contact: 404", c.name)
		s.ExpectedStatus, s.ExpectedContent = 404, []string{`"data":{}`}
		out = append(out, s)
	}

	s = sc("create", http.MethodPost, base, c.createBody)
	s.Name = name("create", allowed(c.access.create))
	if allowed(c.access.create) {
		s.ExpectedStatus, s.ExpectedContent = 200, []string{`"id":"`}
	} else {
		s.ExpectedStatus, s.ExpectedContent = denied(c.access.create, 400), []string{`"status":`}
		s.AfterTestFunc = countUnchanged(c.name)
	}
	out = append(out, s)

	s = sc("update", http.MethodPatch, item, c.updateBody)
	s.Name = name("update", allowed(c.access.update))
	if allowed(c.access.update) {
		s.ExpectedStatus, s.ExpectedContent = 200, []string{`"id":"` + c.target + `"`}
	} else {
		s.ExpectedStatus, s.ExpectedContent = denied(c.access.update, 404), []string{`"data":{}`}
		recordUnchanged(&s, c.name, c.target)
	}
	out = append(out, s)

	s = sc("delete", http.MethodDelete, item, "")
	s.Name = name("delete", allowed(c.access.delete))
	if allowed(c.access.delete) {
		s.ExpectedStatus = 204
	} else {
		s.ExpectedStatus, s.ExpectedContent = denied(c.access.delete, 404), []string{`"data":{}`}
		recordUnchanged(&s, c.name, c.target)
	}
	out = append(out, s)
	return out
}

// countUnchanged checks a refused create stored nothing.
func countUnchanged(collection string) func(testing.TB, *tests.TestApp, *http.Response) {
	return func(t testing.TB, app *tests.TestApp, _ *http.Response) {
		want := map[string]int{"users": 4, "teams": 1, "contacts": 2, "contact_identities": 6, "contact_fields": 1, "channels": 1,
			"segments": 1, "messages": 2, "broadcasts": 1, "events": -1, "imports": 1, "settings": 1}[collection]
		if want < 0 {
			return // the fixture's own writes appended events; refused writes are checked by id
		}
		if n := countRows(t, app, "SELECT COUNT(*) FROM "+collection); n != want {
			t.Fatalf("a refused create changed %s: %d rows, want %d", collection, n, want)
		}
	}
}

// recordUnchanged checks a refused update or delete left the record as it
// was: the whole row, read before the request on the same app, must read the
// same after it. (Comparing "created" with "updated" is not enough: the two
// autodate fields are stamped one after the other and can differ by a
// millisecond on a loaded machine.)
func recordUnchanged(s *tests.ApiScenario, collection, id string) {
	read := func(t testing.TB, app *tests.TestApp) dbx.NullStringMap {
		row := dbx.NullStringMap{}
		err := app.DB().NewQuery("SELECT * FROM " + collection + " WHERE id = {:id}").Bind(dbx.Params{"id": id}).One(&row)
		if err != nil {
			t.Fatalf("%s %s: %v", collection, id, err)
		}
		return row
	}
	var before dbx.NullStringMap
	s.BeforeTestFunc = func(t testing.TB, app *tests.TestApp, _ *core.ServeEvent) {
		before = read(t, app)
	}
	s.AfterTestFunc = func(t testing.TB, app *tests.TestApp, _ *http.Response) {
		if after := read(t, app); !reflect.DeepEqual(before, after) {
			t.Fatalf("%s %s was changed by a refused write:\nbefore %v\nafter  %v", collection, id, before, after)
		}
	}
}

func TestNobodyEscalatesAndTheWorkspaceKeepsItsOwnerAndSettings(t *testing.T) {
	f := rolesTemplate(t)
	as := func(role string) map[string]string {
		if role == "superuser" {
			return map[string]string{"Authorization": f.superuser}
		}
		return map[string]string{"Authorization": f.tokens[role]}
	}
	roleOf := func(id, want string) func(testing.TB, *tests.TestApp, *http.Response) {
		return func(t testing.TB, app *tests.TestApp, _ *http.Response) {
			u, err := app.FindRecordById("users", id)
			if err != nil {
				if want == "" {
					return
				}
				t.Fatalf("user %s: %v", id, err)
			}
			if want == "" || u.GetString("role") != want {
				t.Fatalf("user %s role = %q, want %q", id, u.GetString("role"), want)
			}
		}
	}
	newUser := func(role string) string {
		return `{"email":"nuevo@tienda.mx","password":"password-123456","passwordConfirm":"password-123456","name":"Nuevo","role":"` + role + `"}`
	}
	secondOwner := func(t testing.TB) *tests.TestApp {
		app := f.factory(t)
		staffUser(t, app, "usowner00000002", "owner")
		return app
	}
	for _, s := range []tests.ApiScenario{
		{Name: "a manager cannot create an owner", Method: http.MethodPost, URL: "/api/collections/users/records",
			Body: strings.NewReader(newUser("owner")), Headers: as("manager"), ExpectedStatus: 400, ExpectedContent: []string{`"status":400`}},
		{Name: "a manager creates a manager", Method: http.MethodPost, URL: "/api/collections/users/records",
			Body: strings.NewReader(newUser("manager")), Headers: as("manager"), ExpectedStatus: 200, ExpectedContent: []string{`"role":"manager"`}},
		{Name: "an owner creates an owner", Method: http.MethodPost, URL: "/api/collections/users/records",
			Body: strings.NewReader(newUser("owner")), Headers: as("owner"), ExpectedStatus: 200, ExpectedContent: []string{`"role":"owner"`}},
		{Name: "an agent cannot raise their own role", Method: http.MethodPatch, URL: "/api/collections/users/records/" + agentID,
			Body: strings.NewReader(`{"role":"owner"}`), Headers: as("agent"), ExpectedStatus: 404, ExpectedContent: []string{`"data":{}`},
			AfterTestFunc: roleOf(agentID, "agent")},
		{Name: "a manager cannot raise their own role", Method: http.MethodPatch, URL: "/api/collections/users/records/" + managerID,
			Body: strings.NewReader(`{"role":"owner"}`), Headers: as("manager"), ExpectedStatus: 404, ExpectedContent: []string{`"data":{}`},
			AfterTestFunc: roleOf(managerID, "manager")},
		{Name: "a manager cannot promote an agent", Method: http.MethodPatch, URL: "/api/collections/users/records/" + agentID,
			Body: strings.NewReader(`{"role":"manager"}`), Headers: as("manager"), ExpectedStatus: 404, ExpectedContent: []string{`"data":{}`},
			AfterTestFunc: roleOf(agentID, "agent")},
		{Name: "an agent edits their own name", Method: http.MethodPatch, URL: "/api/collections/users/records/" + agentID,
			Body: strings.NewReader(`{"name":"Agente Uno"}`), Headers: as("agent"), ExpectedStatus: 200, ExpectedContent: []string{`"name":"Agente Uno"`}},
		{Name: "an owner promotes an agent", Method: http.MethodPatch, URL: "/api/collections/users/records/" + agentID,
			Body: strings.NewReader(`{"role":"manager"}`), Headers: as("owner"), ExpectedStatus: 200, AfterTestFunc: roleOf(agentID, "manager"),
			ExpectedContent: []string{`"role":"manager"`}},
		{Name: "the last owner cannot step down", Method: http.MethodPatch, URL: "/api/collections/users/records/" + ownerID,
			Body: strings.NewReader(`{"role":"manager"}`), Headers: as("owner"), ExpectedStatus: 400,
			ExpectedContent: []string{`"role":{"code":"last_owner"`, "needs at least one owner"}, AfterTestFunc: roleOf(ownerID, "owner")},
		{Name: "an owner steps down when another owner remains", Method: http.MethodPatch, URL: "/api/collections/users/records/" + ownerID,
			Body: strings.NewReader(`{"role":"manager"}`), Headers: as("owner"), ExpectedStatus: 200, TestAppFactory: secondOwner,
			ExpectedContent: []string{`"role":"manager"`}, AfterTestFunc: roleOf(ownerID, "manager")},
		{Name: "an owner cannot delete themselves", Method: http.MethodDelete, URL: "/api/collections/users/records/" + ownerID,
			Headers: as("owner"), ExpectedStatus: 404, ExpectedContent: []string{`"data":{}`}, AfterTestFunc: roleOf(ownerID, "owner")},
		{Name: "not even a superuser deletes the last owner", Method: http.MethodDelete, URL: "/api/collections/users/records/" + ownerID,
			Headers: as("superuser"), ExpectedStatus: 400, ExpectedContent: []string{"needs at least one owner"}, AfterTestFunc: roleOf(ownerID, "owner")},
		{Name: "an owner deletes another owner", Method: http.MethodDelete, URL: "/api/collections/users/records/usowner00000002",
			Headers: as("owner"), ExpectedStatus: 204, TestAppFactory: secondOwner, AfterTestFunc: roleOf("usowner00000002", "")},
		{Name: "an agent cannot reassign their contact", Method: http.MethodPatch, URL: "/api/collections/contacts/records/" + anaID,
			Body: strings.NewReader(`{"assignee":"` + agent2ID + `"}`), Headers: as("agent"), ExpectedStatus: 404, ExpectedContent: []string{`"data":{}`},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, _ *http.Response) {
				if r, _ := app.FindRecordById("contacts", anaID); r.GetString("assignee") != agentID {
					t.Fatalf("assignee = %s", r.GetString("assignee"))
				}
			}},
		{Name: "an agent cannot reassign with a field modifier", Method: http.MethodPatch, URL: "/api/collections/contacts/records/" + anaID,
			Body: strings.NewReader(`{"assignee+":"` + agent2ID + `"}`), Headers: as("agent"), ExpectedStatus: 404, ExpectedContent: []string{`"data":{}`}},
		{Name: "an agent cannot unassign with a field modifier", Method: http.MethodPatch, URL: "/api/collections/contacts/records/" + anaID,
			Body: strings.NewReader(`{"assignee-":"` + agentID + `"}`), Headers: as("agent"), ExpectedStatus: 404, ExpectedContent: []string{`"data":{}`}},
		{Name: "an agent cannot raise their role with a field modifier", Method: http.MethodPatch, URL: "/api/collections/users/records/" + agentID,
			Body: strings.NewReader(`{"role+":"owner"}`), Headers: as("agent"), ExpectedStatus: 404, ExpectedContent: []string{`"data":{}`},
			AfterTestFunc: roleOf(agentID, "agent")},
		{Name: "an agent cannot unassign their contact", Method: http.MethodPatch, URL: "/api/collections/contacts/records/" + anaID,
			Body: strings.NewReader(`{"assignee":""}`), Headers: as("agent"), ExpectedStatus: 404, ExpectedContent: []string{`"data":{}`}},
		{Name: "an agent cannot edit an unassigned contact", Method: http.MethodPatch, URL: "/api/collections/contacts/records/" + beaID,
			Body: strings.NewReader(`{"first_name":"X"}`), Headers: as("agent"), ExpectedStatus: 404, ExpectedContent: []string{`"data":{}`}},
		{Name: "a manager reassigns", Method: http.MethodPatch, URL: "/api/collections/contacts/records/" + anaID,
			Body: strings.NewReader(`{"assignee":"` + agent2ID + `"}`), Headers: as("manager"), ExpectedStatus: 200,
			ExpectedContent: []string{`"assignee":"` + agent2ID + `"`},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, _ *http.Response) {
				evs := eventsOf(t, app, anaID)
				if last := evs[len(evs)-1]; last.Type != "contact.assigned" || last.Actor != "user:"+managerID {
					t.Fatalf("last event = %s by %s", last.Type, last.Actor)
				}
			}},
		{Name: "the settings row cannot be deleted, even by a superuser", Method: http.MethodDelete, URL: "/api/collections/settings/records/" + f.settingsID,
			Headers: as("superuser"), ExpectedStatus: 400, ExpectedContent: []string{"settings row cannot be deleted"},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, _ *http.Response) {
				if n := countRows(t, app, "SELECT COUNT(*) FROM settings"); n != 1 {
					t.Fatalf("%d settings rows", n)
				}
			}},
		{Name: "the settings row cannot be duplicated, even by a superuser", Method: http.MethodPost, URL: "/api/collections/settings/records",
			Body: strings.NewReader(`{"default_region":"PE","timezone":"America/Lima"}`), Headers: as("superuser"), ExpectedStatus: 400,
			ExpectedContent: []string{"one settings row"},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, _ *http.Response) {
				if n := countRows(t, app, "SELECT COUNT(*) FROM settings"); n != 1 {
					t.Fatalf("%d settings rows", n)
				}
			}},
		{Name: "agents read no secrets of channels", Method: http.MethodGet, URL: "/api/collections/channels/records/" + channelID,
			Headers: as("agent"), ExpectedStatus: 200, ExpectedContent: []string{`"bot_token":"********"`}, NotExpectedContent: []string{"SECRET", `"secrets"`}},
	} {
		if s.TestAppFactory == nil {
			s.TestAppFactory = f.factory
		}
		s.Test(t)
	}
}
