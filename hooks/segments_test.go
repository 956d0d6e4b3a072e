package hooks_test

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/pocketbase/pocketbase/tools/router"

	"pregon/clock"
	"pregon/hooks"
	"pregon/internal/testapp"
	"pregon/segments"
)

var segNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// segWorld is one fresh app with users of every role, a custom field,
// 25 contacts (the last 21 tagged vip, the first 10 in Lima) and a segment.
type segWorld struct {
	app                       *tests.TestApp
	env                       *hooks.Env
	clock                     *clock.Fake
	owner, manager, agent, su string
	segment                   *core.Record
	contacts                  []*core.Record
}

func newSegWorld(t testing.TB) *segWorld {
	t.Helper()
	fake := clock.NewFake(segNow)
	app, env := testapp.New(t, hooks.Options{Clock: fake})
	w := &segWorld{app: app, env: env, clock: fake}
	_, w.owner = testapp.User(t, app, "owner@tienda.mx", "owner")
	_, w.manager = testapp.User(t, app, "mgr@tienda.mx", "manager")
	_, w.agent = testapp.User(t, app, "agent@tienda.mx", "agent")
	w.su = testapp.Superuser(t, app)

	fields, _ := app.FindCollectionByNameOrId("contact_fields")
	f := core.NewRecord(fields)
	f.Set("key", "city")
	f.Set("label", "City")
	f.Set("type", "text")
	if err := app.Save(f); err != nil {
		t.Fatal(err)
	}
	col, _ := app.FindCollectionByNameOrId("contacts")
	for i := 0; i < 25; i++ {
		c := core.NewRecord(col)
		c.Set("first_name", fmt.Sprintf("Contact %02d", i))
		c.Set("phone", fmt.Sprintf("+5255100000%02d", i))
		tags := []string{"lead"}
		if i >= 4 {
			tags = append(tags, "vip")
		}
		c.Set("tags", tags)
		city := "Cusco"
		if i < 10 {
			city = "Lima"
		}
		c.Set("fields", map[string]any{"city": city})
		if i%5 == 0 { // 0, 5, 10, 15, 20 wrote to us 3 days ago
			c.Set("last_inbound_at", segNow.Add(-72*time.Hour))
		}
		if err := app.Save(c); err != nil {
			t.Fatal(err)
		}
		w.contacts = append(w.contacts, c)
	}
	w.segment = w.saveSegment(t, "VIP Lima", `{"groups":[{"conditions":[
		{"category":"tag","operator":"has_any","value":["vip"]},
		{"category":"field","field":"city","operator":"is","value":"lima"}]},
		{"conditions":[{"category":"last_inbound","operator":"within_last_days","value":7}]}]}`)
	return w
}

func (w *segWorld) saveSegment(t testing.TB, name, conditions string) *core.Record {
	t.Helper()
	col, _ := w.app.FindCollectionByNameOrId("segments")
	s := core.NewRecord(col)
	s.Set("name", name)
	s.Set("conditions", conditions)
	if err := w.app.Save(s); err != nil {
		var ae *router.ApiError
		if errors.As(err, &ae) {
			t.Logf("raw: %v", ae.RawData())
		}
		t.Fatalf("saving segment %s: %v", name, err)
	}
	return s
}

// segScenario runs s against a fresh world: prepare may change the world
// and returns the token to send ("" for none); url builds the path from it.
func segScenario(t *testing.T, s tests.ApiScenario, url func(w *segWorld) string, prepare func(t testing.TB, w *segWorld) string) {
	t.Helper()
	hdr := map[string]string{}
	s.Headers = hdr
	sc := &s
	s.TestAppFactory = func(t testing.TB) *tests.TestApp {
		w := newSegWorld(t)
		if tok := prepare(t, w); tok != "" {
			hdr["Authorization"] = tok
		}
		sc.URL = url(w) // the factory runs before the request is built
		return w.app
	}
	sc.Test(t)
}

func fixedURL(u string) func(*segWorld) string { return func(*segWorld) string { return u } }

func TestSegmentCountAndPreview(t *testing.T) {
	// VIP Lima: vip (4..24) AND Lima (0..9) = 4..9; OR inbound in 7 days = 0,5,10,15,20 → 0,4..10,15,20 = 10.
	cases := []struct {
		name   string
		method string
		path   func(w *segWorld) string
		body   string
		token  func(w *segWorld) string
		status int
		want   []string
		not    []string
	}{
		{"count as owner", "GET", func(w *segWorld) string { return "/api/pregon/segments/" + w.segment.Id + "/count" }, "",
			func(w *segWorld) string { return w.owner }, 200, []string{`{"count":10}`}, nil},
		{"count as superuser", "GET", func(w *segWorld) string { return "/api/pregon/segments/" + w.segment.Id + "/count" }, "",
			func(w *segWorld) string { return w.su }, 200, []string{`{"count":10}`}, nil},
		{"count as agent is forbidden", "GET", func(w *segWorld) string { return "/api/pregon/segments/" + w.segment.Id + "/count" }, "",
			func(w *segWorld) string { return w.agent }, 403, []string{"Only owners and managers work with segments."}, []string{"count"}},
		{"count as guest", "GET", func(w *segWorld) string { return "/api/pregon/segments/" + w.segment.Id + "/count" }, "",
			func(w *segWorld) string { return "" }, 401, []string{"Sign in as an owner or a manager."}, nil},
		{"count of an unknown segment", "GET", func(w *segWorld) string { return "/api/pregon/segments/nosuchsegment01/count" }, "",
			func(w *segWorld) string { return w.manager }, 404, []string{`"message":"Segment not found."`}, nil},
		{"preview: count and the first 20, newest first", "POST", func(w *segWorld) string { return "/api/pregon/segments/preview" },
			`{"conditions":{"groups":[{"conditions":[{"category":"tag","operator":"has_any","value":["VIP"]}]}]}}`,
			func(w *segWorld) string { return w.manager }, 200,
			[]string{`"count":21`, `"first_name":"Contact 24"`, `"first_name":"Contact 05"`, `"tags":["lead","vip"]`, `"phone":"+525510000024"`},
			[]string{`"first_name":"Contact 04"`, `"first_name":"Contact 03"`}},
		{"preview of an empty tree is everyone", "POST", func(w *segWorld) string { return "/api/pregon/segments/preview" },
			`{"conditions":{"groups":[]}}`, func(w *segWorld) string { return w.manager }, 200, []string{`"count":25`}, nil},
		{"preview names the bad condition", "POST", func(w *segWorld) string { return "/api/pregon/segments/preview" },
			`{"conditions":{"groups":[{"conditions":[{"category":"tag","operator":"has_any","value":["vip"]}]},{"conditions":[{"category":"field","field":"ciudad","operator":"is","value":"Lima"}]}]}}`,
			func(w *segWorld) string { return w.manager }, 400,
			[]string{`Group 2, condition 1 (field \"ciudad\"): there is no custom field \"ciudad\"; known fields: city`, `"code":"invalid_condition"`}, nil},
		{"preview refuses a wrong-typed value", "POST", func(w *segWorld) string { return "/api/pregon/segments/preview" },
			`{"conditions":{"groups":[{"conditions":[{"category":"last_inbound","operator":"within_last_days","value":"thirty"}]}]}}`,
			func(w *segWorld) string { return w.manager }, 400,
			[]string{`Group 1, condition 1 (last_inbound): operator within_last_days takes a whole number of days`}, nil},
		{"preview refuses conversation conditions", "POST", func(w *segWorld) string { return "/api/pregon/segments/preview" },
			`{"conditions":{"groups":[{"conditions":[{"category":"conversation_status","operator":"is","value":"open"}]}]}}`,
			func(w *segWorld) string { return w.manager }, 400, []string{`conversation conditions are not available yet`}, nil},
		{"preview without conditions", "POST", func(w *segWorld) string { return "/api/pregon/segments/preview" },
			`{}`, func(w *segWorld) string { return w.manager }, 400, []string{`\"conditions\" is missing`}, nil},
		{"preview as agent is forbidden", "POST", func(w *segWorld) string { return "/api/pregon/segments/preview" },
			`{"conditions":{"groups":[]}}`, func(w *segWorld) string { return w.agent }, 403, []string{"Only owners and managers"}, []string{`"count"`}},
		{"count of a segment whose field was deleted", "GET", func(w *segWorld) string { return "/api/pregon/segments/" + w.segment.Id + "/count" }, "",
			func(w *segWorld) string {
				f, _ := w.app.FindFirstRecordByFilter("contact_fields", "key = 'city'")
				if err := w.app.Delete(f); err != nil {
					panic(err)
				}
				return w.manager
			}, 400, []string{`Segment \"VIP Lima\" no longer applies: group 1, condition 2 (field \"city\"): there is no custom field \"city\"`}, nil},
	}
	for _, c := range cases {
		s := tests.ApiScenario{Name: c.name, Method: c.method, ExpectedStatus: c.status, ExpectedContent: c.want, NotExpectedContent: c.not}
		if c.body != "" {
			s.Body = strings.NewReader(c.body)
		}
		segScenario(t, s, c.path, func(t testing.TB, w *segWorld) string { return c.token(w) })
	}
}

func TestSegmentRelativeDatesFollowTheClock(t *testing.T) {
	w := newSegWorld(t)
	plan := func() int {
		_, p, err := segments.ForID(w.app, w.segment.Id)
		if err != nil {
			t.Fatal(err)
		}
		n, err := segments.Count(w.app, p, w.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	url := "/api/pregon/segments/" + w.segment.Id + "/count"
	s := tests.ApiScenario{Name: "count today", Method: "GET", URL: url, Headers: map[string]string{"Authorization": w.manager},
		ExpectedStatus: 200, ExpectedContent: []string{`{"count":10}`},
		TestAppFactory: func(testing.TB) *tests.TestApp { return w.app }, DisableTestAppCleanup: true}
	s.Test(t)
	// Five days later the inbound messages are 8 days old: only VIP Lima (4..9) remain.
	w.clock.Advance(5 * 24 * time.Hour)
	s.Name, s.ExpectedContent = "count five days later", []string{`{"count":6}`}
	s.Test(t)
	if n := plan(); n != 6 {
		t.Fatalf("Count with the env clock: %d, want 6", n)
	}
}

func TestSegmentRules(t *testing.T) {
	create := func(name, body string, status int, want []string, prepare func(t testing.TB, w *segWorld) string) {
		t.Helper()
		segScenario(t, tests.ApiScenario{
			Name: name, Method: http.MethodPost, URL: "/api/collections/segments/records",
			Body: strings.NewReader(body), ExpectedStatus: status, ExpectedContent: want,
		}, fixedURL("/api/collections/segments/records"), prepare)
	}
	asManager := func(t testing.TB, w *segWorld) string { return w.manager }

	create("create stores the canonical conditions", `{"name":"  Leads  ","conditions":{"groups":[{"conditions":[{"category":"tag","operator":"has_any","value":["lead"]}]}]}}`,
		200, []string{`"name":"Leads"`, `"conditions":{"groups":[{"conditions":[{"category":"tag","operator":"has_any","value":["lead"]}]}]}`}, asManager)
	create("a duplicate name, ignoring case", `{"name":"vip lima","conditions":{"groups":[]}}`,
		400, []string{`"message":"Segment name must be unique."`, `"name":{"code":"validation_not_unique","message":"Segment name must be unique."}`}, asManager)
	create("a bad condition is a 400 naming it", `{"name":"Bad","conditions":{"groups":[{"conditions":[{"category":"field","field":"city","operator":"gt","value":3}]}]}}`,
		400, []string{`Group 1, condition 1 (field \"city\"): operator \"gt\" is not valid for a text field`}, asManager)
	create("agents cannot create segments", `{"name":"Mine","conditions":{"groups":[]}}`,
		400, []string{`"status":400`}, func(t testing.TB, w *segWorld) string { return w.agent })
	create("the 501st segment is refused with the seed's message", `{"name":"One too many","conditions":{"groups":[]}}`,
		400, []string{`"message":"Limit reached: the maximum number of segments in a workspace is 500; delete a segment before creating a new one."`},
		func(t testing.TB, w *segWorld) string {
			fillSegments(t, w.app, segments.MaxSegments)
			return w.manager
		})
	create("the 500th segment is fine", `{"name":"Number 500","conditions":{"groups":[]}}`, 200, []string{`"name":"Number 500"`},
		func(t testing.TB, w *segWorld) string {
			fillSegments(t, w.app, segments.MaxSegments-1)
			return w.manager
		})

	var other string
	segScenario(t, tests.ApiScenario{
		Name: "renaming onto another segment's name", Method: http.MethodPatch,
		Body: strings.NewReader(`{"name":"VIP LIMA"}`), ExpectedStatus: 400, ExpectedContent: []string{"Segment name must be unique."},
	}, func(w *segWorld) string { return "/api/collections/segments/records/" + other },
		func(t testing.TB, w *segWorld) string {
			other = w.saveSegment(t, "Other", "").Id
			return w.manager
		})

	deleteCase := func(name, status string, code int, want []string) {
		t.Helper()
		var w *segWorld
		hdr := map[string]string{}
		s := tests.ApiScenario{
			Name: name, Method: http.MethodDelete, Headers: hdr, ExpectedStatus: code, ExpectedContent: want,
			TestAppFactory: func(testing.TB) *tests.TestApp { return w.app },
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				_, err := app.FindRecordById("segments", w.segment.Id)
				if gone := errors.Is(err, sql.ErrNoRows); gone != (code == 204) {
					t.Fatalf("segment deleted=%v after a %d answer", gone, code)
				}
			},
		}
		w = newSegWorld(t)
		s.URL = "/api/collections/segments/records/" + w.segment.Id
		hdr["Authorization"] = w.manager
		col, _ := w.app.FindCollectionByNameOrId("broadcasts")
		b := core.NewRecord(col)
		b.Set("name", "Promo enero")
		b.Set("segment", w.segment.Id)
		b.Set("status", status)
		b.Set("scheduled_at", segNow.Add(24*time.Hour))
		if err := w.app.Save(b); err != nil {
			t.Fatal(err)
		}
		s.Test(t)
	}
	deleteCase("deleting a segment a scheduled broadcast uses is refused", "scheduled", 409,
		[]string{`Segment \"VIP Lima\" is used by scheduled broadcast \"Promo enero\"; cancel that broadcast or give it another segment before deleting this one.`})
	deleteCase("a draft broadcast does not hold its segment", "draft", 204, nil)
}

// fillSegments inserts n segments with raw SQL (the hooks are not what is
// under test here, only the count they see).
func fillSegments(t testing.TB, app core.App, n int) {
	t.Helper()
	var have int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM segments").Row(&have); err != nil {
		t.Fatal(err)
	}
	q := app.DB().NewQuery(`INSERT INTO segments (id, name, conditions, created, updated)
		VALUES ({:id}, {:name}, '{"groups":[]}', '', '')`).Prepare()
	defer q.Close()
	for i := have; i < n; i++ {
		if _, err := q.Bind(dbx.Params{"id": fmt.Sprintf("fill%011d", i), "name": fmt.Sprintf("Filler %d", i)}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSegmentLimitHoldsForRawWrites(t *testing.T) {
	w := newSegWorld(t)
	fillSegments(t, w.app, segments.MaxSegments)
	_, err := w.app.DB().NewQuery(`INSERT INTO segments (id, name, conditions, created, updated)
		VALUES ('rawsegment00001', 'Raw', '{"groups":[]}', '', '')`).Execute()
	if err == nil || !strings.Contains(err.Error(), segments.LimitMessage) {
		t.Fatalf("raw insert past the limit: %v", err)
	}
}

func TestSegmentWhereForOtherAreas(t *testing.T) {
	w := newSegWorld(t)
	where, params, err := w.env.SegmentWhere(w.app, w.segment.Id)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := w.app.DB().NewQuery("SELECT COUNT(*) FROM contacts c WHERE " + where).Bind(params).Row(&n); err != nil {
		t.Fatal(err)
	}
	if n != 10 {
		t.Fatalf("SegmentWhere selects %d contacts, want 10", n)
	}
	_, _, err = w.env.SegmentWhere(w.app, "nosuchsegment01")
	var apiErr *router.ApiError
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Message != "Segment not found." ||
		!errors.Is(err, segments.ErrNotFound) || !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("unknown segment: %#v", err)
	}
}

func TestFieldIndexesFollowSegments(t *testing.T) {
	w := newSegWorld(t) // its segment filters on city
	index := func(key string) string {
		var s string
		err := w.app.DB().NewQuery("SELECT sql FROM sqlite_master WHERE name = {:n}").Bind(dbx.Params{"n": "idx_segf_" + key}).Row(&s)
		if errors.Is(err, sql.ErrNoRows) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if !strings.Contains(index("city"), "COLLATE NOCASE") {
		t.Fatalf("no text index on city after saving a segment that uses it: %q", index("city"))
	}
	where, params, err := w.env.SegmentWhere(w.app, w.segment.Id)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := w.app.DB().NewQuery("EXPLAIN QUERY PLAN SELECT COUNT(*) FROM contacts c WHERE " + where).Bind(params).Rows()
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	rows.Close()
	if !strings.Contains(strings.Join(plan, "|"), "idx_segf_city") {
		t.Fatalf("the segment's city condition does not use the index: %v", plan)
	}
	if index("score") != "" {
		t.Fatal("an index on a field no segment uses")
	}

	// A field's index follows its type; it goes with the last segment using it.
	fields, _ := w.app.FindCollectionByNameOrId("contact_fields")
	f := core.NewRecord(fields)
	f.Set("key", "score")
	f.Set("label", "Score")
	f.Set("type", "text")
	if err := w.app.Save(f); err != nil {
		t.Fatal(err)
	}
	seg := w.saveSegment(t, "Score five", `{"groups":[{"conditions":[{"category":"field","field":"score","operator":"is","value":"5"}]}]}`)
	if !strings.Contains(index("score"), "= 'text'") {
		t.Fatalf("no text index on score: %q", index("score"))
	}
	f.Set("type", "number")
	if err := w.app.Save(f); err != nil {
		t.Fatal(err)
	}
	if got := index("score"); !strings.Contains(got, "'integer', 'real'") {
		t.Fatalf("index not rebuilt for a number field: %q", got)
	}
	if err := w.app.Delete(seg); err != nil {
		t.Fatal(err)
	}
	if got := index("score"); got != "" {
		t.Fatalf("index kept after the last segment using the field went: %q", got)
	}
	if index("city") == "" {
		t.Fatal("deleting one segment dropped another segment's field index")
	}
}
