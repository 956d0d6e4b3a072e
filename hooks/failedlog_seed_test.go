package hooks_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/tests"

	"pregon/clock"
	"pregon/hooks"
	fx "pregon/internal/deliveryfixture"
	"pregon/internal/testapp"
)

// The seed's recommended recovery path ("Solución de problemas de una
// transmisión fallida", method 1), end to end over HTTP: export the failed
// messages as CSV, import that file with "update existing only" by contact
// id adding a tag, and build a segment "tag has any of" that tag: it holds
// exactly the contacts who did not get a message. (Step 4, sending the
// broadcast again to that segment, belongs to the broadcast engine.)
func TestSeedRecoveryPathExportImportSegment(t *testing.T) {
	const tag = "transmision-fallida-110122"
	app, _ := testapp.New(t, hooks.Options{NoWorkers: true, Clock: clock.NewFake(fx.Now)})
	w := fx.Seed(t, app)
	reuse := func(testing.TB) *tests.TestApp { return app }
	manager := map[string]string{"Authorization": w.Manager}

	var distinct int
	if err := app.DB().NewQuery(`SELECT COUNT(DISTINCT contact) FROM messages WHERE status = 'failed'`).Row(&distinct); err != nil {
		t.Fatal(err)
	}
	if distinct != 11 || distinct >= fx.FailedAll {
		t.Fatalf("the fixture should have contacts failing twice: %d distinct of %d", distinct, fx.FailedAll)
	}

	// Step 1: Settings → Data export → failed messages, as CSV.
	var csvFile []byte
	(&tests.ApiScenario{
		Name: "export", Method: http.MethodGet, URL: "/api/pregon/messages/failed?format=csv&lang=es",
		Headers: manager, ExpectedStatus: 200, ExpectedContent: []string{"contact id"},
		TestAppFactory: reuse, DisableTestAppCleanup: true,
		AfterTestFunc: func(t testing.TB, _ *tests.TestApp, res *http.Response) {
			csvFile, _ = io.ReadAll(res.Body)
		},
	}).Test(t)
	if n := len(readCSV(t, csvFile, true)) - 1; n != fx.FailedAll {
		t.Fatalf("the export has %d rows, want %d", n, fx.FailedAll)
	}

	// Step 2: import it, update existing contacts only, by contact id, adding the tag.
	body, hdr := upload(t, "failed-messages.csv", csvFile, map[string]string{
		"mode": "update_only", "identifier": "id", "tags": tag})
	hdr["Authorization"] = w.Manager
	(&tests.ApiScenario{
		Name: "import", Method: http.MethodPost, URL: "/api/pregon/contacts/import", Body: body, Headers: hdr,
		ExpectedStatus: 202, ExpectedContent: []string{`"status":"queued"`, `"identifier":"id"`},
		TestAppFactory: reuse, DisableTestAppCleanup: true,
	}).Test(t)
	runImports(t, app)
	imp := lastImport(t, app)
	// Every row is read; the two contacts who failed twice are on two lines,
	// and the second line of each is reported as a duplicate, not applied twice.
	wantCounts(t, imp, fx.FailedAll, 0, distinct, 0, 0, fx.FailedAll-distinct)
	// Everything but "contact id" is the log's own and is ignored.
	if got := imp.GetString("ignored_columns"); got != `["date and time","sender id","sender type","message id","content type","content","channel id","type","subtype","error"]` {
		t.Errorf("ignored columns %s", got)
	}

	// Step 3: a segment "contact tag has any of" the tag.
	var segID string
	(&tests.ApiScenario{
		Name: "segment", Method: http.MethodPost, URL: "/api/collections/segments/records", Headers: manager,
		Body: strings.NewReader(`{"name":"Transmisión fallida 11/01/22","conditions":{"groups":[{"conditions":[
			{"category":"tag","operator":"has_any","value":["` + tag + `"]}]}]}}`),
		ExpectedStatus: 200, ExpectedContent: []string{`"name":"Transmisión fallida 11/01/22"`},
		TestAppFactory: reuse, DisableTestAppCleanup: true,
		AfterTestFunc: func(t testing.TB, _ *tests.TestApp, res *http.Response) {
			var rec struct{ ID string }
			json.NewDecoder(res.Body).Decode(&rec)
			segID = rec.ID
		},
	}).Test(t)
	(&tests.ApiScenario{
		Name: "count", Method: http.MethodGet, URL: "/api/pregon/segments/" + segID + "/count", Headers: manager,
		ExpectedStatus: 200, ExpectedContent: []string{`{"count":11}`},
		TestAppFactory: reuse, DisableTestAppCleanup: true,
	}).Test(t)

	// The segment is exactly the contacts with a failed message: none who got
	// theirs, and the hostile-named contact kept her name.
	var tagged []string
	if err := app.DB().NewQuery(`SELECT c.id FROM contacts c, json_each(c.tags) t WHERE t.value = {:tag}
		EXCEPT SELECT contact FROM messages WHERE status = 'failed'`).Bind(map[string]any{"tag": tag}).Column(&tagged); err != nil {
		t.Fatal(err)
	}
	if len(tagged) != 0 {
		t.Errorf("tagged without a failure: %v", tagged)
	}
	paula, err := app.FindRecordById("contacts", fx.CtPaula)
	if err != nil || paula.GetString("first_name") != fx.HostileName || !bytes.Contains([]byte(paula.GetString("tags")), []byte(tag)) {
		t.Errorf("Paula after the import: %v %v", paula, err)
	}
}
