package hooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"pregon/contactcsv"
	"pregon/contacts"
	"pregon/events"
	"pregon/internal/csvgen"
	"pregon/internal/testapp"
)

const importURL = "/api/pregon/contacts/import"

// importCase is one upload through the real endpoint.
type importCase struct {
	name     string
	role     string // "", "agent", "manager", "owner"
	filename string
	content  string
	form     map[string]string
	status   int
	contains []string
	setup    func(t testing.TB, a *importApp)
	after    func(t testing.TB, a *importApp)
}

func (c importCase) run(t *testing.T) {
	t.Helper()
	var a *importApp
	fn := c.filename
	if fn == "" {
		fn = "contactos.csv"
	}
	body, hdr := upload(t, fn, []byte(c.content), c.form)
	if c.filename == "-" {
		body, hdr = upload(t, "", nil, c.form)
	}
	s := tests.ApiScenario{
		Name: c.name, Method: http.MethodPost, URL: importURL, Body: body, Headers: hdr,
		ExpectedStatus: c.status, ExpectedContent: c.contains,
		TestAppFactory: func(t testing.TB) *tests.TestApp {
			a = newImportApp(t)
			switch c.role {
			case "agent":
				hdr["Authorization"] = a.agent
			case "manager":
				hdr["Authorization"] = a.manager
			case "owner":
				_, hdr["Authorization"] = testapp.User(t, a, "olga@tienda.mx", "owner")
			}
			if c.setup != nil {
				c.setup(t, a)
			}
			return a.TestApp
		},
		AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
			if c.after != nil {
				c.after(t, a)
			}
		},
	}
	s.Test(t)
}

func byPhoneForm(mode string) map[string]string {
	return map[string]string{"mode": mode, "identifier": "phone"}
}

func TestImportRoles(t *testing.T) {
	file := "phone,first_name\n55 1234 5678,Ana\n"
	for _, c := range []importCase{
		{name: "guest: 401", content: file, form: byPhoneForm("add_update"), status: 401, contains: []string{"Sign in as an owner or manager"}, after: func(t testing.TB, a *importApp) { noImportLeft(t, a.TestApp, nil) }},
		{name: "agent: 403", role: "agent", content: file, form: byPhoneForm("add_update"), status: 403, contains: []string{"Only owners and managers"}, after: func(t testing.TB, a *importApp) { noImportLeft(t, a.TestApp, nil) }},
		{name: "manager: accepted, queued", role: "manager", content: file, form: byPhoneForm("add_update"), status: 202, contains: []string{`"status":"queued"`, `"filename":"contactos.csv"`, `"format":"utf-8, comma-delimited"`}},
		{name: "owner: accepted", role: "owner", content: file, form: byPhoneForm("add_update"), status: 202, contains: []string{`"status":"queued"`}},
	} {
		c.run(t)
	}
	for _, s := range []struct {
		name, url, role string
		status          int
	}{
		{"export guest", "/api/pregon/contacts/export", "", 401},
		{"export agent", "/api/pregon/contacts/export", "agent", 403},
		{"import status agent", "/api/pregon/imports/abcdefghijklmno", "agent", 403},
		{"rejected rows guest", "/api/pregon/imports/abcdefghijklmno/rejected.csv", "", 401},
		{"import status manager, unknown id", "/api/pregon/imports/abcdefghijklmno", "manager", 404},
	} {
		hdr := map[string]string{}
		sc := tests.ApiScenario{Name: s.name, Method: http.MethodGet, URL: s.url, Headers: hdr, ExpectedStatus: s.status,
			ExpectedContent: []string{`"status":`},
			TestAppFactory: func(t testing.TB) *tests.TestApp {
				a := newImportApp(t)
				if s.role == "agent" {
					hdr["Authorization"] = a.agent
				} else if s.role == "manager" {
					hdr["Authorization"] = a.manager
				}
				return a.TestApp
			}}
		sc.Test(t)
	}
}

func TestImportRefusesBadFilesAndChangesNothing(t *testing.T) {
	after := func(t testing.TB, a *importApp) { noImportLeft(t, a.TestApp, nil) }
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
	xlsx := "PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml"
	for _, c := range []importCase{
		{name: "empty file", content: "", form: byPhoneForm("add_update"), contains: []string{"The file is empty"}},
		{name: "blank file with a BOM", content: "\xEF\xBB\xBF\r\n", form: byPhoneForm("add_update"), contains: []string{"The file is empty"}},
		{name: "a PNG", filename: "foto.png", content: png, form: byPhoneForm("add_update"), contains: []string{"This is an image (PNG), not CSV"}},
		{name: "an Excel file", filename: "contactos.xlsx", content: xlsx, form: byPhoneForm("add_update"), contains: []string{"This is an Excel file", "save it as CSV (UTF-8)"}},
		{name: "binary data", content: "phone\n\x00\x01\x02\x03\x04", form: byPhoneForm("add_update"), contains: []string{"binary data"}},
		{name: "no identifier column", content: "first_name,email\nAna,ana@x.mx\n", form: byPhoneForm("add_update"), contains: []string{`no \"phone\" column`, "choose another identifier"}},
		{name: "no id column when importing by id", content: "phone,first_name\n55 1234 5678,Ana\n", form: map[string]string{"mode": "update_only", "identifier": "id"}, contains: []string{`no \"id\" column`, "contact_id"}},
		{name: "unknown custom field", content: "phone,field:nivel\n55 1234 5678,oro\n", form: byPhoneForm("add_update"), contains: []string{`custom field \"nivel\"`, "create the custom field first"}},
		{name: "a column twice", content: "phone,Phone\n1,2\n", form: byPhoneForm("add_update"), contains: []string{"appears twice"}},
		{name: "header only", content: "phone,first_name\r\n", form: byPhoneForm("add_update"), contains: []string{"no contacts under it"}},
		{name: "bad mode", content: "phone\n1\n", form: byPhoneForm("replace"), contains: []string{`Mode \"replace\" is not one of add_update, add_only, update_only`}},
		{name: "missing mode", content: "phone\n1\n", form: map[string]string{"identifier": "phone"}, contains: []string{"Mode is required"}},
		{name: "bad identifier", content: "phone\n1\n", form: map[string]string{"mode": "add_only", "identifier": "name"}, contains: []string{`Identifier \"name\" is not one of id, phone, email`}},
		{name: "bad tags", content: "phone\n1\n", form: map[string]string{"mode": "add_only", "identifier": "phone", "tags": strings.Repeat("x", 80)}, contains: []string{"Tags: tag", "longer than 64"}},
		{name: "missing file", filename: "-", form: byPhoneForm("add_update"), contains: []string{"File is required"}},
	} {
		c.role, c.status, c.after = "manager", 400, after
		c.run(t)
	}
	hdr := map[string]string{}
	(&tests.ApiScenario{Name: "not multipart", Method: http.MethodPost, URL: importURL, Body: strings.NewReader(`{"mode":"add_update"}`),
		Headers: hdr, ExpectedStatus: 400, ExpectedContent: []string{"Send multipart/form-data"},
		TestAppFactory: func(t testing.TB) *tests.TestApp {
			a := newImportApp(t)
			hdr["Authorization"] = a.manager
			return a.TestApp
		}}).Test(t)
}

func TestImportModes(t *testing.T) {
	// Ana exists; Luis does not. The file writes Ana's phone nationally.
	file := "phone,first_name,tags\n55 1234 5678,Ana María,vip\n+51 987 654 321,Luis,\n"
	setup := func(t testing.TB, a *importApp) {
		seedContact(t, a, "anaaaaaaaaaaaaa", "Ana", "+525512345678", "ana@tienda.mx")
	}
	cases := []struct {
		mode                      string
		created, updated, skipped int
		anaName                   string
		luisExists                bool
	}{
		{"add_update", 1, 1, 0, "Ana María", true},
		{"add_only", 1, 0, 1, "Ana", true},
		{"update_only", 0, 1, 1, "Ana María", false},
	}
	for _, m := range cases {
		importCase{name: m.mode, role: "manager", content: file, form: byPhoneForm(m.mode), status: 202, contains: []string{`"mode":"` + m.mode + `"`},
			setup: setup,
			after: func(t testing.TB, a *importApp) {
				runImports(t, a)
				rec := lastImport(t, a)
				if rec.GetString("status") != "done" {
					t.Fatalf("status %s: %s", rec.GetString("status"), rec.GetString("error"))
				}
				wantCounts(t, rec, 2, m.created, m.updated, 0, m.skipped, 0)
				cs := loadContacts(t, a)
				ana := cs["anaaaaaaaaaaaaa"]
				if ana.FirstName != m.anaName {
					t.Fatalf("Ana is %q", ana.FirstName)
				}
				if _, ok := byPhone(cs, "+51987654321"); ok != m.luisExists {
					t.Fatalf("Luis exists = %v", ok)
				}
				if m.mode != "add_only" && (len(ana.Tags) != 1 || ana.Tags[0] != "vip" || ana.Email != "ana@tienda.mx") {
					t.Fatalf("update lost or missed data: %+v", ana)
				}
				// The same file again changes nothing.
				importFile(t, a, "again.csv", file, contactcsv.Request{Mode: contactcsv.Mode(m.mode), Identifier: contactcsv.ByPhone})
				rec = lastImport(t, a)
				if got := counts(t, rec); got["created_count"]+got["updated_count"] != 0 {
					t.Fatalf("re-import changed something: %v", got)
				}
			}}.run(t)
	}
}

// importFile queues and runs an import the way the endpoint does, for
// tests whose subject is not the upload itself.
func importFile(t testing.TB, a *importApp, filename, content string, req contactcsv.Request) *core.Record {
	t.Helper()
	id := core.GenerateDefaultRandomId()
	path := filepath.Join(contactcsv.Dir(a, id), contactcsv.UploadName)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	tags := ""
	for _, tg := range req.Tags {
		tags += tg + ","
	}
	r, err := contactcsv.ParseRequest(string(req.Mode), string(req.Identifier), tags, req.ConsentSource, req.ConsentWording, filename)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := contactcsv.Check(a, path, r)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	if _, err := contactcsv.Queue(a, id, r, plan, ""); err != nil {
		t.Fatal(err)
	}
	runImports(t, a)
	rec, err := a.FindRecordById("imports", id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestImportRejectsRowsAndListsThem(t *testing.T) {
	a := newImportApp(t)
	seedContact(t, a, "berthaaaaaaaaaa", "Bertha", "+525587654321", "")
	defineField(t, a, "puntos", "number", "")
	file := "email,phone,opt_in,field:puntos,notes\n" +
		"ana@tienda.mx,55 1111 2222,yes,\"12,5\",ok\n" + // line 2: good
		"luis@tienda.mx,12ab,,,\n" + // line 3: bad phone
		"ANA@tienda.mx,,,,\n" + // line 4: duplicate of line 2
		"carla@tienda.mx,55 8765 4321,,,\n" + // line 5: Bertha's phone
		"dora@tienda.mx,,maybe,,\n" + // line 6: bad opt_in
		"eva@tienda.mx,,,muchos,\n" + // line 7: bad number
		"fer@tienda.mx,,yes,,\n" + // line 8: opt-in without any identity
		",55 3333 4444,,,\n" // line 9: no identifier
	rec := importFile(t, a, "clientes.csv", file, contactcsv.Request{Mode: contactcsv.AddUpdate, Identifier: contactcsv.ByEmail})
	wantCounts(t, rec, 8, 1, 0, 0, 0, 7)
	if got := rec.GetString("ignored_columns"); got != `["notes"]` {
		t.Fatalf("ignored_columns = %s", got)
	}
	cs := loadContacts(t, a)
	if ana, ok := byPhone(cs, "+525511112222"); !ok || ana.Fields["puntos"] != 12.5 || ana.Idents["sms"].Consent != "opted_in" {
		t.Fatalf("line 2 not imported right: %+v", ana)
	}

	hdr := map[string]string{}
	(&tests.ApiScenario{
		Name: "rejected.csv lists every rejected row with line and reason", Method: http.MethodGet,
		URL: "/api/pregon/imports/" + rec.Id + "/rejected.csv", Headers: hdr, ExpectedStatus: 200,
		ExpectedContent: []string{
			"\uFEFFline,reason,email,phone,opt_in,field:puntos,notes\n",
			`3,"phone ""12ab"" contains 'a'`,
			"4,duplicate of line 2 (same email ana@tienda.mx)",
			"5,phone +525587654321 is already the sms identity of contact berthaaaaaaaaaa",
			`6,"opt_in ""maybe"" is not yes, no or a date`,
			`7,"custom field ""puntos"" (number): ""muchos"" is not a number`,
			"8,\"opt_in needs a phone, whatsapp or telegram",
			"9,email is empty; it is the identifier of this import",
		},
		TestAppFactory:        func(t testing.TB) *tests.TestApp { hdr["Authorization"] = a.manager; return a.TestApp },
		DisableTestAppCleanup: true,
		AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
			if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="rejected-clientes.csv"` {
				t.Fatalf("Content-Disposition = %q", cd)
			}
		},
	}).Test(t)
	(&tests.ApiScenario{
		Name: "status endpoint shows the counts", Method: http.MethodGet, URL: "/api/pregon/imports/" + rec.Id, Headers: hdr,
		ExpectedStatus:  200,
		ExpectedContent: []string{`"status":"done"`, `"rows_read":8`, `"created_count":1`, `"rejected_count":7`},
		TestAppFactory:  func(t testing.TB) *tests.TestApp { return a.TestApp }, DisableTestAppCleanup: true,
	}).Test(t)
	if _, err := os.Stat(filepath.Join(contactcsv.Dir(a, rec.Id), contactcsv.UploadName)); !os.IsNotExist(err) {
		t.Fatalf("the upload is kept after the import ended: %v", err)
	}
}

func TestImportReadsSpanishExcelFiles(t *testing.T) {
	a := newImportApp(t)
	// Windows-1252, semicolons, CRLF, a quoted cell with a line break.
	latin1 := "nombre;first_name;last_name;phone\r\nx;Jos\xe9;\"Pe\xf1a\r\nG\xf3mez\";55 1234 5678\r\n"
	rec := importFile(t, a, "excel.csv", latin1, contactcsv.Request{Mode: contactcsv.AddUpdate, Identifier: contactcsv.ByPhone})
	wantCounts(t, rec, 1, 1, 0, 0, 0, 0)
	if rec.GetString("format") != "windows-1252, semicolon-delimited" {
		t.Fatalf("format %q", rec.GetString("format"))
	}
	c, _ := byPhone(loadContacts(t, a), "+525512345678")
	if c.FirstName != "José" || c.LastName != "Peña\nGómez" {
		t.Fatalf("got %q %q", c.FirstName, c.LastName)
	}
	utf8bom := "\xEF\xBB\xBFFirst Name,Phone,Tags\r\nZoë,+51 987 654 321,\"lima, vip\"\r\n"
	rec = importFile(t, a, "bom.csv", utf8bom, contactcsv.Request{Mode: contactcsv.AddUpdate, Identifier: contactcsv.ByPhone})
	wantCounts(t, rec, 1, 1, 0, 0, 0, 0)
	c, _ = byPhone(loadContacts(t, a), "+51987654321")
	if c.FirstName != "Zoë" || mustJSON(c.Tags) != `["lima","vip"]` {
		t.Fatalf("got %+v", c)
	}
}

// The seed's manual recovery path: the failed-messages export, imported
// with "update existing only" by contact id, tags the contacts.
func TestImportFailedMessagesExportTagsContacts(t *testing.T) {
	a := newImportApp(t)
	seedContact(t, a, "anaaaaaaaaaaaaa", "Ana", "+525512345678", "")
	seedContact(t, a, "luisaaaaaaaaaaa", "Luis", "+525587654321", "")
	file := "date and time,sender id,sender type,contact id,message id,content type,content,channel id,type,subtype,error\r\n" +
		"2022-01-11 10:00:01,u7,user,anaaaaaaaaaaaaa,m1,text,\"Hola Ana,\r\n¡oferta!\",ch1,broadcast,,131049: daily limit reached\r\n" +
		"2022-01-11 10:00:02,u7,user,luisaaaaaaaaaaa,m2,text,\"Hola Luis\",ch1,broadcast,,131049: daily limit reached\r\n" +
		"2022-01-11 10:00:03,u7,user,anaaaaaaaaaaaaa,m3,text,\"Hola Ana\",ch1,broadcast,,131049: daily limit reached\r\n" +
		"2022-01-11 10:00:04,u7,user,goneaaaaaaaaaaa,m4,text,\"Hola\",ch1,broadcast,,131049: daily limit reached\r\n"
	var imp *core.Record
	importCase{name: "upload", role: "manager", content: file, filename: "failed-messages.csv",
		form: map[string]string{"mode": "update_only", "identifier": "id", "tags": "failed-110122"}, status: 202,
		contains: []string{`"ignored_columns":["date and time","sender id","sender type","message id","content type","content","channel id","type","subtype","error"]`},
		setup: func(t testing.TB, b *importApp) {
			seedContact(t, b, "anaaaaaaaaaaaaa", "Ana", "+525512345678", "")
			seedContact(t, b, "luisaaaaaaaaaaa", "Luis", "+525587654321", "")
		},
		after: func(t testing.TB, b *importApp) {
			runImports(t, b)
			imp = lastImport(t, b)
			wantCounts(t, imp, 4, 0, 2, 0, 1, 1)
			cs := loadContacts(t, b)
			for _, id := range []string{"anaaaaaaaaaaaaa", "luisaaaaaaaaaaa"} {
				if mustJSON(cs[id].Tags) != `["failed-110122"]` {
					t.Fatalf("%s tags %v", id, cs[id].Tags)
				}
			}
			if len(cs) != 2 {
				t.Fatalf("update_only created contacts: %d", len(cs))
			}
		}}.run(t)
}

func TestImportOptInAndIdentities(t *testing.T) {
	a := newImportApp(t)
	file := "phone,whatsapp,telegram,opt_in\n" +
		"55 1111 2222,,,yes\n" +
		"55 3333 4444,+51 987 654 321,,15/03/2024\n" +
		"55 5555 6666,,123456789,no\n" +
		"55 7777 8888,,,\n"
	rec := importFile(t, a, "optin.csv", file, contactcsv.Request{Mode: contactcsv.AddUpdate, Identifier: contactcsv.ByPhone, ConsentSource: "web form 2024"})
	wantCounts(t, rec, 4, 4, 0, 0, 0, 0)
	cs := loadContacts(t, a)
	c1, _ := byPhone(cs, "+525511112222")
	if c1.Idents["sms"] != (ident{Identifier: "+525511112222", FromPhone: true, Consent: "opted_in", ConsentAt: c1.Idents["sms"].ConsentAt, Source: "web form 2024", Wording: c1.Idents["sms"].Wording}) ||
		c1.Idents["whatsapp"].Identifier != "+525511112222" || !c1.Idents["whatsapp"].FromPhone || c1.Idents["sms"].ConsentAt == "" ||
		!strings.Contains(c1.Idents["sms"].Wording, `Opt-in declared by the business`) {
		t.Fatalf("c1 %+v", c1.Idents)
	}
	c2, _ := byPhone(cs, "+525533334444")
	if wa := c2.Idents["whatsapp"]; wa.Identifier != "+51987654321" || wa.FromPhone || wa.Consent != "opted_in" || !strings.HasPrefix(wa.ConsentAt, "2024-03-15") {
		t.Fatalf("c2 whatsapp %+v", wa)
	}
	c3, _ := byPhone(cs, "+525555556666")
	if tg := c3.Idents["telegram"]; tg.Identifier != "123456789" || tg.Consent != "opted_out" || c3.Idents["sms"].Consent != "opted_out" {
		t.Fatalf("c3 %+v", c3.Idents)
	}
	c4, _ := byPhone(cs, "+525577778888")
	if c4.Idents["sms"].Consent != "" || len(c4.Idents) != 2 {
		t.Fatalf("c4 %+v", c4.Idents)
	}

	// A phone change moves the identities that follow the phone; an
	// opt-out from a later file replaces the opt-in with new evidence.
	rec = importFile(t, a, "change.csv", "id,phone,opt_in\n"+c1.ID+",+51 912 345 678,no\n", contactcsv.Request{Mode: contactcsv.UpdateOnly, Identifier: contactcsv.ByID})
	wantCounts(t, rec, 1, 0, 1, 0, 0, 0)
	c1 = loadContacts(t, a)[c1.ID]
	if c1.Phone != "+51912345678" || c1.Idents["sms"].Identifier != "+51912345678" || c1.Idents["whatsapp"].Identifier != "+51912345678" ||
		c1.Idents["sms"].Consent != "opted_out" || c1.Idents["sms"].Source != "import:change.csv" {
		t.Fatalf("after change %+v", c1)
	}
}

// An import records one contact.imported event per contact a row created
// or changed, carrying everything the row did, and nothing for a row that
// changed nothing.
func TestImportWritesEvents(t *testing.T) {
	a := newImportApp(t)
	rec := importFile(t, a, "ev.csv", "phone,tags\n55 1111 2222,vip\n55 3333 4444,\n", contactcsv.Request{Mode: contactcsv.AddUpdate, Identifier: contactcsv.ByPhone})
	type ev struct {
		Type    string `db:"type"`
		Contact string `db:"contact"`
		Subject string `db:"subject"`
		Payload string `db:"payload"`
	}
	byActor := func(id string) []ev {
		var evs []ev
		if err := a.DB().NewQuery("SELECT type, contact, subject, payload FROM events WHERE actor = {:a} ORDER BY rowid").
			Bind(dbx.Params{"a": "import:" + id}).All(&evs); err != nil {
			t.Fatal(err)
		}
		return evs
	}
	evs := byActor(rec.Id)
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if strings.Join(types, " ") != "contact.imported contact.imported import.completed" {
		t.Fatalf("events %v", types)
	}
	cs := loadContacts(t, a)
	c1, _ := byPhone(cs, "+525511112222")
	var p contacts.Imported
	if err := json.Unmarshal([]byte(evs[0].Payload), &p); err != nil {
		t.Fatal(err)
	}
	if evs[0].Contact != c1.ID || p.Line != 2 || p.Action != "created" || mustJSON(p.Attributes) != `{"phone":"+525511112222"}` ||
		mustJSON(p.TagsAdded) != `["vip"]` || len(p.IdentitiesAdded) != 2 || p.IdentitiesAdded[0].Kind != "sms" ||
		p.IdentitiesAdded[0].Identifier != "+525511112222" || !p.IdentitiesAdded[0].FromPhone || p.IdentitiesAdded[0].Identity == "" {
		t.Fatalf("created payload %s", evs[0].Payload)
	}
	if evs[2].Subject != rec.Id || !strings.Contains(evs[2].Payload, `"created_count":2`) {
		t.Fatalf("import.completed %+v", evs[2])
	}

	// An update lists only what changed; an unchanged row records nothing.
	rec = importFile(t, a, "ev2.csv", "phone,first_name,tags\n55 3333 4444,Luz,nuevo\n55 1111 2222,,vip\n",
		contactcsv.Request{Mode: contactcsv.AddUpdate, Identifier: contactcsv.ByPhone})
	wantCounts(t, rec, 2, 0, 1, 1, 0, 0)
	evs = byActor(rec.Id)
	if len(evs) != 2 || evs[0].Type != "contact.imported" ||
		evs[0].Payload != `{"line":2,"action":"updated","changes":{"first_name":{"from":"","to":"Luz"}},"tags_added":["nuevo"]}` {
		t.Fatalf("update events %+v", evs)
	}
}

// An import running when the process stops resumes from its last committed
// batch: nothing applied twice, duplicates still found across the restart.
func TestImportResumesFromLastCommittedBatch(t *testing.T) {
	a := newImportApp(t)
	var b strings.Builder
	b.WriteString("phone,first_name\n")
	for i := 0; i < 10; i++ {
		b.WriteString("55 1234 " + string(rune('0'+i)) + "000,N" + string(rune('0'+i)) + "\n")
	}
	b.WriteString("55 1234 1000,dup of line 3\n55 1234 9999,x\nbad,x\n")
	id := core.GenerateDefaultRandomId()
	path := filepath.Join(contactcsv.Dir(a, id), contactcsv.UploadName)
	os.MkdirAll(filepath.Dir(path), 0o700)
	os.WriteFile(path, []byte(b.String()), 0o600)
	req, _ := contactcsv.ParseRequest("add_update", "phone", "", "", "", "big.csv")
	plan, err := contactcsv.Check(a, path, req)
	if err != nil {
		t.Fatal(err)
	}
	contactcsv.Queue(a, id, req, plan, "")

	// "Crash" after the second committed batch.
	ctx, cancel := context.WithCancel(context.Background())
	a.OnRecordAfterUpdateSuccess("imports").BindFunc(func(e *core.RecordEvent) error {
		if e.Record.GetInt("position") >= 6 {
			cancel()
		}
		return e.Next()
	})
	err = contactcsv.Run(ctx, a, id, contactcsv.Options{BatchSize: 3, Workers: 2})
	if err == nil {
		t.Fatal("the run was not interrupted")
	}
	rec, _ := a.FindRecordById("imports", id)
	if rec.GetString("status") != "running" || rec.GetInt("position") != 6 {
		t.Fatalf("after the stop: %s at %d", rec.GetString("status"), rec.GetInt("position"))
	}
	runImports(t, a)
	rec, _ = a.FindRecordById("imports", id)
	wantCounts(t, rec, 13, 11, 0, 0, 0, 2)
	if n, _ := a.CountRecords("contacts"); n != 11 {
		t.Fatalf("%d contacts", n)
	}
	data, _ := os.ReadFile(filepath.Join(contactcsv.Dir(a, id), contactcsv.RejectedName))
	if got := string(data); strings.Count(got, "\n") != 3 || !strings.Contains(got, "12,duplicate of line 3") || !strings.Contains(got, "14,") {
		t.Fatalf("rejected.csv:\n%s", got)
	}
}

func TestImportRunsInTheBackground(t *testing.T) {
	body, hdr := upload(t, "bg.csv", []byte("phone\n55 1234 5678\n"), byPhoneForm("add_update"))
	(&tests.ApiScenario{
		Name: "served app applies the import by itself", Method: http.MethodPost, URL: importURL, Body: body, Headers: hdr,
		ExpectedStatus: 202, ExpectedContent: []string{`"status":"queued"`},
		TestAppFactory: func(t testing.TB) *tests.TestApp {
			app, _ := testapp.New(t)
			_, hdr["Authorization"] = testapp.User(t, app, "m@tienda.mx", "manager")
			return app
		},
		AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if rec := lastImport(t, app); rec.GetString("status") == "done" {
					wantCounts(t, rec, 1, 1, 0, 0, 0, 0)
					return
				}
			}
			t.Fatal("the import did not run")
		},
	}).Test(t)
}

func TestExportRoundTripsThroughImport(t *testing.T) {
	a := newImportApp(t)
	fc, _ := a.FindCollectionByNameOrId("contact_fields")
	for _, f := range []struct{ key, typ, opts string }{{"puntos", "number", ""}, {"alta", "date", ""}, {"activo", "boolean", ""}, {"nivel", "list", `["oro","plata"]`}} {
		defineField(t, a, f.key, f.typ, f.opts)
	}
	file := "phone,first_name,last_name,email,language,country,timezone,tags,whatsapp,telegram,opt_in,field:puntos,field:alta,field:activo,field:nivel\n" +
		"55 1111 2222,=HYPERLINK(\"x\"),\"Peña, \"\"la\"\"\nGómez\",ana@tienda.mx,es-MX,mx,America/Mexico_City,\"vip, lima\",+51 987 654 321,123456789,2024-03-15,-12.5,31/12/2023,sí,Oro\n" +
		"55 3333 4444,Luis,,,,,,,,,no,,,,\n" +
		"55 5555 6666,@luz,+x,,,,,,,,,0,,no,\n"
	importFile(t, a, "orig.csv", file, contactcsv.Request{Mode: contactcsv.AddUpdate, Identifier: contactcsv.ByPhone})
	before := loadContacts(t, a)
	if len(before) != 3 {
		t.Fatalf("%d contacts", len(before))
	}

	var exported []byte
	hdr := map[string]string{}
	(&tests.ApiScenario{
		Name: "export", Method: http.MethodGet, URL: "/api/pregon/contacts/export", Headers: hdr, ExpectedStatus: 200,
		ExpectedContent: []string{"\uFEFFid,first_name,last_name,phone,email,language,country,timezone,tags,whatsapp,telegram,opt_in,field:activo,field:alta,field:nivel,field:puntos,created\n",
			`'=HYPERLINK(""x"")`, "vip, lima", "'+51987654321", "2024-03-15", "'-12.5", "2023-12-31", "true", "oro"},
		TestAppFactory: func(t testing.TB) *tests.TestApp { hdr["Authorization"] = a.manager; return a.TestApp }, DisableTestAppCleanup: true,
		AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
			if ct, cd := res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"); ct != "text/csv; charset=utf-8" || !strings.HasPrefix(cd, `attachment; filename="contacts-`) {
				t.Fatalf("headers %q %q", ct, cd)
			}
			exported, _ = io.ReadAll(res.Body)
		},
	}).Test(t)
	if len(exported) == 0 {
		// ApiScenario consumed the body for its checks: export again directly.
		var buf bytes.Buffer
		if _, err := contactcsv.Export(context.Background(), a, &buf, contactcsv.ExportOptions{}); err != nil {
			t.Fatal(err)
		}
		exported = buf.Bytes()
	}
	// Ranges read in parallel come out in the same order.
	var small bytes.Buffer
	if n, err := contactcsv.Export(context.Background(), a, &small, contactcsv.ExportOptions{ChunkRows: 1}); err != nil || n != 3 || small.String() != string(exported) {
		t.Fatalf("one-row chunks wrote %d rows (%v):\n%s\nwant\n%s", n, err, small.String(), exported)
	}
	rec := importFile(t, a, "export.csv", string(exported), contactcsv.Request{Mode: contactcsv.AddUpdate, Identifier: contactcsv.ByID})
	wantCounts(t, rec, 3, 0, 0, 3, 0, 0)
	if rec.GetString("ignored_columns") != `["created"]` {
		t.Fatalf("ignored %s", rec.GetString("ignored_columns"))
	}
	after := loadContacts(t, a)
	if mustJSON(after) != mustJSON(before) {
		t.Fatalf("round trip changed contacts:\n%s\n%s", mustJSON(before), mustJSON(after))
	}
	// Into an empty workspace, the export recreates the same contacts.
	b := newImportApp(t)
	for _, f := range []string{"puntos", "alta", "activo", "nivel"} {
		src, _ := a.FindFirstRecordByData("contact_fields", "key", f)
		r := core.NewRecord(fc)
		r.Load(src.FieldsData())
		r.Id = ""
		if err := b.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	rec = importFile(t, b, "export.csv", string(exported), contactcsv.Request{Mode: contactcsv.AddUpdate, Identifier: contactcsv.ByID})
	wantCounts(t, rec, 3, 3, 0, 0, 0, 0)
	moved := loadContacts(t, b)
	for id, c := range before {
		m := moved[id]
		m.Updated, c.Updated = "", ""
		for k, v := range m.Idents {
			v.Source, v.Wording, v.ConsentAt = "", "", v.ConsentAt[:min(10, len(v.ConsentAt))]
			m.Idents[k] = v
		}
		for k, v := range c.Idents {
			v.Source, v.Wording, v.ConsentAt = "", "", v.ConsentAt[:min(10, len(v.ConsentAt))]
			c.Idents[k] = v
		}
		if mustJSON(m) != mustJSON(c) {
			t.Fatalf("moved contact differs:\n%s\n%s", mustJSON(c), mustJSON(m))
		}
	}
}

func TestExportSegment(t *testing.T) {
	a := newImportApp(t)
	importFile(t, a, "x.csv", "phone,country\n55 1111 2222,MX\n+51 987 654 321,PE\n", contactcsv.Request{Mode: contactcsv.AddUpdate, Identifier: contactcsv.ByPhone})
	sc, _ := a.FindCollectionByNameOrId("segments")
	seg := core.NewRecord(sc)
	seg.Set("name", "Perú")
	seg.Set("conditions", `{"groups":[{"conditions":[{"category":"country","operator":"is","value":"PE"}]}]}`)
	if err := a.Save(seg); err != nil {
		t.Fatal(err)
	}
	// The segments area's compiler, through the real endpoint.
	get := func(name, url string, status int, want []string, after func(t testing.TB, app *tests.TestApp, res *http.Response)) {
		hdr := map[string]string{"Authorization": a.manager}
		(&tests.ApiScenario{Name: name, Method: http.MethodGet, URL: url, Headers: hdr, ExpectedStatus: status, ExpectedContent: want,
			NotExpectedContent: []string{"+525511112222"},
			TestAppFactory:     func(t testing.TB) *tests.TestApp { return a.TestApp }, DisableTestAppCleanup: true, AfterTestFunc: after}).Test(t)
	}
	get("segment export through the segments compiler", "/api/pregon/contacts/export?segment="+seg.Id, 200, []string{"+51987654321"}, nil)
	saved := a.env.SegmentWhere
	a.env.SegmentWhere = nil
	get("segments not available", "/api/pregon/contacts/export?segment="+seg.Id, 400, []string{"Segments are not available"}, nil)
	a.env.SegmentWhere = func(app core.App, id string) (string, dbx.Params, error) {
		return "c.country = {:cty}", dbx.Params{"cty": "PE"}, nil
	}
	get("segment export", "/api/pregon/contacts/export?segment="+seg.Id+"&bom=false", 200, []string{"id,first_name", "+51987654321"},
		func(t testing.TB, app *tests.TestApp, res *http.Response) {
			if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="segment-Per_-`) {
				t.Fatalf("Content-Disposition %q", cd)
			}
		})
	a.env.SegmentWhere = saved
	get("unknown segment", "/api/pregon/contacts/export?segment=nosuchsegment00", 404, []string{"segment not found"}, nil)
	var buf bytes.Buffer
	n, err := contactcsv.Export(context.Background(), a, &buf, contactcsv.ExportOptions{Where: "c.country = {:cty}", Params: dbx.Params{"cty": "PE"}})
	if err != nil || n != 1 || strings.Contains(buf.String(), "+525511112222") {
		t.Fatalf("segment export wrote %d rows (%v):\n%s", n, err, buf.String())
	}
}

// A file of many chunks goes through the parallel workers and back into
// file order, every row once (go test -race watches the hand-offs).
func TestImportManyChunksKeepsEveryRowInOrder(t *testing.T) {
	a := newImportApp(t)
	var b bytes.Buffer
	if err := csvgen.Write(&b, 2600, 3); err != nil {
		t.Fatal(err)
	}
	for _, f := range csvgen.Fields {
		defineField(t, a, f.Key, f.Type, f.Options)
	}
	// The last row repeats the first phone: found across all chunks.
	first := strings.SplitN(strings.SplitN(b.String(), "\r\n", 3)[1], ",", 2)[0]
	b.WriteString(first + ",Dup,,,,,,\r\n")
	id := core.GenerateDefaultRandomId()
	path := filepath.Join(contactcsv.Dir(a, id), contactcsv.UploadName)
	os.MkdirAll(filepath.Dir(path), 0o700)
	os.WriteFile(path, b.Bytes(), 0o600)
	req, _ := contactcsv.ParseRequest("add_update", "phone", "", "", "", "gen.csv")
	plan, err := contactcsv.Check(a, path, req)
	if err != nil {
		t.Fatal(err)
	}
	contactcsv.Queue(a, id, req, plan, "")
	if err := contactcsv.Run(context.Background(), a, id, contactcsv.Options{BatchSize: 700, Workers: 3}); err != nil {
		t.Fatal(err)
	}
	rec, _ := a.FindRecordById("imports", id)
	wantCounts(t, rec, 2601, 2600, 0, 0, 0, 1)
	data, _ := os.ReadFile(filepath.Join(contactcsv.Dir(a, id), contactcsv.RejectedName))
	if !strings.Contains(string(data), "2602,duplicate of line 2 ") {
		t.Fatalf("rejected.csv: %s", data)
	}
}

func TestImportFilesAreCleanedUp(t *testing.T) {
	a := newImportApp(t)
	old := importFile(t, a, "old.csv", "phone\n55 1111 2222\n", contactcsv.Request{Mode: contactcsv.AddUpdate, Identifier: contactcsv.ByPhone})
	recent := importFile(t, a, "recent.csv", "phone\n55 3333 4444\n", contactcsv.Request{Mode: contactcsv.AddUpdate, Identifier: contactcsv.ByPhone})
	orphan := filepath.Join(a.DataDir(), "imports", "orphanaaaaaaaaa")
	os.MkdirAll(orphan, 0o700)
	past := time.Now().Add(-48 * time.Hour)
	os.Chtimes(orphan, past, past)
	inFlight := filepath.Join(a.DataDir(), "imports", "uploadingaaaaaa")
	os.MkdirAll(inFlight, 0o700)

	old.Set("finished_at", time.Now().Add(-contactcsv.RejectedRetention-time.Hour))
	if err := a.Save(old); err != nil {
		t.Fatal(err)
	}
	if err := contactcsv.Cleanup(a, time.Now()); err != nil {
		t.Fatal(err)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	if exists(contactcsv.Dir(a, old.Id)) || exists(orphan) {
		t.Fatal("expired import files or an orphan were kept")
	}
	if !exists(contactcsv.Dir(a, recent.Id)) || !exists(inFlight) {
		t.Fatal("a recent import's files or an upload in flight were deleted")
	}
	if err := a.Delete(recent); err != nil {
		t.Fatal(err)
	}
	if exists(contactcsv.Dir(a, recent.Id)) {
		t.Fatal("deleting the import kept its files")
	}
}

func TestImportAmbiguousMatchesAskForAnID(t *testing.T) {
	a := newImportApp(t)
	seedContact(t, a, "onenaaaaaaaaaaa", "Uno", "+525512345678", "dup@tienda.mx")
	seedContact(t, a, "twonaaaaaaaaaaa", "Dos", "", "dup@tienda.mx")
	// A second contact with the same phone, as an old merge could leave.
	if _, err := a.DB().NewQuery("UPDATE contacts SET phone = '+525512345678' WHERE id = 'twonaaaaaaaaaaa'").Execute(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ident contactcsv.Identifier
		file  string
		want  string
	}{
		{contactcsv.ByPhone, "phone,first_name\n55 1234 5678,X\n", "2,2 contacts have phone +525512345678; import by id to say which one"},
		{contactcsv.ByEmail, "email,first_name\nDUP@tienda.mx,X\n", "2,2 contacts have email dup@tienda.mx; import by id to say which one"},
	} {
		rec := importFile(t, a, "amb.csv", c.file, contactcsv.Request{Mode: contactcsv.UpdateOnly, Identifier: c.ident})
		wantCounts(t, rec, 1, 0, 0, 0, 0, 1)
		data, _ := os.ReadFile(filepath.Join(contactcsv.Dir(a, rec.Id), contactcsv.RejectedName))
		if !strings.Contains(string(data), c.want) {
			t.Fatalf("rejected.csv:\n%s", data)
		}
	}
	// By id, each updates; add_only skips what exists, however many match.
	rec := importFile(t, a, "ids.csv", "contact id,first_name\nonenaaaaaaaaaaa,Uno bis\n", contactcsv.Request{Mode: contactcsv.UpdateOnly, Identifier: contactcsv.ByID})
	wantCounts(t, rec, 1, 0, 1, 0, 0, 0)
	rec = importFile(t, a, "new.csv", "email\nnueva@tienda.mx\nDUP@tienda.mx\n", contactcsv.Request{Mode: contactcsv.AddOnly, Identifier: contactcsv.ByEmail})
	wantCounts(t, rec, 2, 1, 0, 0, 1, 0)
}

// An imported contact is stored exactly as the contacts hook stores the
// same contact saved through the API or app.Save, and its contact.imported
// event carries every fact of the granular events the hooks record for the
// same writes: the create, then an update that renames, adds a tag, changes
// a custom field, moves the phone (and the identities that follow it) and
// records an opt-in.
func TestImportWritesWhatTheContactsHookWrites(t *testing.T) {
	a := newImportApp(t)
	defineField(t, a, "puntos", "number", "")
	col, _ := a.FindCollectionByNameOrId("contacts")
	viaHook := core.NewRecord(col)
	viaHook.Set("first_name", " Ana ")
	viaHook.Set("phone", "55 1111 2222")
	viaHook.Set("email", "Ana@Tienda.mx")
	viaHook.Set("country", "mx")
	viaHook.Set("tags", []string{"VIP", "lima"})
	viaHook.Set("fields", map[string]any{"puntos": "12,5"})
	if err := a.Save(viaHook); err != nil {
		t.Fatal(err)
	}
	rec := importFile(t, a, "same.csv", "phone,first_name,email,country,tags,field:puntos\n55 3333 4444, Ana ,Ana@Tienda2.mx,mx,\"VIP, lima\",\"12,5\"\n",
		contactcsv.Request{Mode: contactcsv.AddUpdate, Identifier: contactcsv.ByPhone})
	wantCounts(t, rec, 1, 1, 0, 0, 0, 0)
	imported, _ := a.FindFirstRecordByData("contacts", "phone", "+525533334444")

	// Phones and ids differ between the two contacts; the rest must not.
	same := strings.NewReplacer("tienda2", "tienda", viaHook.Id, "C", imported.Id, "C",
		"+525511112222", "OLD", "+525533334444", "OLD", "+51987654321", "NEW", "+51912345678", "NEW")
	row := func(id string) string {
		var s string
		a.DB().NewQuery(`SELECT first_name || '|' || phone || '|' || email || '|' || country || '|' || tags || '|' || fields || '|' ||
			(SELECT group_concat(kind || ':' || identifier || ':' || from_phone || ':' || consent || ':' || consent_source || ':' ||
				consent_wording || ':' || last_inbound_at, ',') FROM
				(SELECT * FROM contact_identities WHERE contact = {:id} ORDER BY kind))
			FROM contacts WHERE id = {:id}`).Bind(dbx.Params{"id": id}).Row(&s)
		return same.Replace(s)
	}
	ids := regexp.MustCompile(`"identity":"[a-z0-9]+"`)
	at := regexp.MustCompile(`"at":"[^"]*"`)
	canonical := func(typ string, payload any) string {
		b, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		json.Unmarshal(b, &v)
		b, _ = json.Marshal(v) // sorted keys at every level
		out := ids.ReplaceAllString(same.Replace(string(b)), `"identity":"I"`)
		return typ + " " + at.ReplaceAllString(out, `"at":"T"`)
	}
	type ev struct {
		Seq     int64  `db:"seq"`
		Type    string `db:"type"`
		Payload string `db:"payload"`
	}
	after := func(id string, seq int64) []ev {
		var list []ev
		a.DB().NewQuery(`SELECT rowid AS seq, type, payload FROM events WHERE contact = {:id} AND rowid > {:seq} ORDER BY rowid`).
			Bind(dbx.Params{"id": id, "seq": seq}).All(&list)
		return list
	}
	granular := func(id string, seq int64) []string {
		var out []string
		for _, e := range after(id, seq) {
			out = append(out, canonical(e.Type, json.RawMessage(e.Payload)))
		}
		sort.Strings(out)
		return out
	}
	// expanded returns the granular events the import's one event stands
	// for, and the last seq.
	expanded := func(id string, seq int64) ([]string, int64) {
		list := after(id, seq)
		if len(list) != 1 || list[0].Type != contacts.EventContactImported {
			t.Fatalf("want one contact.imported event, got %+v", list)
		}
		var p contacts.Imported
		if err := json.Unmarshal([]byte(list[0].Payload), &p); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range p.Events(id, "import") {
			if e.Contact != id || (strings.HasPrefix(e.Type, "identity.") || e.Type == contacts.EventConsentChanged) != (e.Subject != "") {
				t.Fatalf("expanded event %+v", e)
			}
			out = append(out, canonical(e.Type, e.Payload))
		}
		sort.Strings(out)
		return out, list[0].Seq
	}
	compare := func(step string, hookSeq, importSeq int64) int64 {
		t.Helper()
		if h, i := row(viaHook.Id), row(imported.Id); h != i {
			t.Fatalf("%s: stored differently:\nhook   %s\nimport %s", step, h, i)
		}
		h := granular(viaHook.Id, hookSeq)
		i, last := expanded(imported.Id, importSeq)
		if strings.Join(h, "\n") != strings.Join(i, "\n") {
			t.Fatalf("%s: the import's event does not carry the hook's facts:\nhook:\n%s\nimport (expanded):\n%s", step, strings.Join(h, "\n"), strings.Join(i, "\n"))
		}
		if len(h) < 4 {
			t.Fatalf("%s: too few events to compare: %v", step, h)
		}
		return last
	}
	maxSeq := func() int64 {
		var n int64
		a.DB().NewQuery("SELECT MAX(rowid) FROM events").Row(&n)
		return n
	}
	importSeq := compare("create", 0, 0)

	// The update, through the hooks: the contact, then consent on each identity.
	hookSeq := maxSeq()
	viaHook.Set("first_name", "Ana María")
	viaHook.Set("phone", "+51 987 654 321")
	viaHook.Set("tags", []string{"vip", "lima", "nuevo"})
	viaHook.Set("fields", map[string]any{"puntos": 20})
	if err := a.Save(viaHook); err != nil {
		t.Fatal(err)
	}
	idents, _ := a.FindAllRecords("contact_identities", dbx.HashExp{"contact": viaHook.Id})
	for _, it := range idents {
		it.Set("consent", "opted_in")
		it.Set("consent_source", "import:again.csv")
		it.Set("consent_wording", contactcsv.DefaultWording("again.csv", true))
		if err := a.Save(it); err != nil {
			t.Fatal(err)
		}
	}
	rec = importFile(t, a, "again.csv", "id,first_name,phone,tags,field:puntos,opt_in\n"+imported.Id+",Ana María,+51 912 345 678,nuevo,20,yes\n",
		contactcsv.Request{Mode: contactcsv.UpdateOnly, Identifier: contactcsv.ByID})
	wantCounts(t, rec, 1, 0, 1, 0, 0, 0)
	compare("update", hookSeq, importSeq)
}

// The timeline of an imported contact shows its one contact.imported event,
// whose payload says what the row did.
func TestImportedContactTimeline(t *testing.T) {
	const id = "impaaaaaaaaaaaa"
	var imp *core.Record
	headers := map[string]string{}
	s := tests.ApiScenario{
		Name: "manager", Method: http.MethodGet, URL: "/api/pregon/contacts/" + id + "/timeline",
		Headers: headers, ExpectedStatus: 200,
		ExpectedContent: []string{`"type":"contact.imported"`, `"contact":"` + id + `"`, `"line":2`, `"action":"created"`,
			`"attributes":{"first_name":"Ana","phone":"+525511112222"}`, `"tags_added":["vip","feria"]`,
			`"identities_added":[{"identity":"`, `"kind":"whatsapp","identifier":"+525511112222","from_phone":true}`},
		NotExpectedContent: []string{`"tag.added"`, `"identity.added"`, `"contact.created"`},
		TestAppFactory: func(t testing.TB) *tests.TestApp {
			a := newImportApp(t)
			imp = importFile(t, a, "feria.csv", "id,phone,first_name,tags\n"+id+",55 1111 2222,Ana,vip\n",
				contactcsv.Request{Mode: contactcsv.AddUpdate, Identifier: contactcsv.ByID, Tags: []string{"feria"}})
			wantCounts(t, imp, 1, 1, 0, 0, 0, 0)
			headers["Authorization"] = a.manager
			return a.TestApp
		},
		AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
			var rows []events.Row
			if err := app.DB().NewQuery(`SELECT ` + events.RowColumns + ` FROM events WHERE contact = {:c}`).
				Bind(dbx.Params{"c": id}).All(&rows); err != nil || len(rows) != 1 || rows[0].Actor != "import:"+imp.Id {
				t.Fatalf("events of the imported contact: %+v %v", rows, err)
			}
		},
	}
	s.Test(t)
}
