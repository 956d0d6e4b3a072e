package hooks_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/tests"

	"pregon/clock"
	"pregon/failedlog"
	"pregon/hooks"
	fx "pregon/internal/deliveryfixture"
	"pregon/internal/testapp"
)

// failedFactory seeds the delivery fixture once for the calling test and
// returns a factory that gives each scenario its own copy.
func failedFactory(t *testing.T) (func(testing.TB) *tests.TestApp, fx.World) {
	t.Helper()
	var w fx.World
	factory := testapp.Template(t, func(t testing.TB, app *tests.TestApp) {
		w = fx.Seed(t, app)
	}, hooks.Options{NoWorkers: true, Clock: clock.NewFake(fx.Now)})
	return factory, w
}

type failedEnv struct {
	factory func(testing.TB) *tests.TestApp
	w       fx.World
}

func newFailedEnv(t *testing.T) failedEnv {
	f, w := failedFactory(t)
	return failedEnv{f, w}
}

type failedPage struct {
	Page       int              `json:"page"`
	PerPage    int              `json:"perPage"`
	TotalItems int              `json:"totalItems"`
	TotalPages int              `json:"totalPages"`
	Lang       string           `json:"lang"`
	Timezone   string           `json:"timezone"`
	Items      []failedlog.Item `json:"items"`
}

// getFailed runs one GET as the manager (or with tok) and decodes the page.
func getFailed(t *testing.T, env failedEnv, query string, hdr map[string]string, status int, check func(t testing.TB, p failedPage, body []byte)) {
	t.Helper()
	factory, w := env.factory, env.w
	h := map[string]string{"Authorization": w.Manager}
	for k, v := range hdr {
		h[k] = v
	}
	if h["Authorization"] == "" {
		delete(h, "Authorization")
	}
	(&tests.ApiScenario{
		Name: query, Method: http.MethodGet, URL: "/api/pregon/messages/failed?" + query, Headers: h,
		ExpectedStatus: status, ExpectedContent: []string{""}, TestAppFactory: factory,
		AfterTestFunc: func(t testing.TB, _ *tests.TestApp, res *http.Response) {
			body, _ := io.ReadAll(res.Body)
			var p failedPage
			if status == http.StatusOK && res.Header.Get("Content-Type") == "application/json" {
				if err := json.Unmarshal(body, &p); err != nil {
					t.Fatalf("decoding %s: %v", body, err)
				}
			}
			if check != nil {
				check(t, p, body)
			}
		},
	}).Test(t)
}

func TestFailedLogRoles(t *testing.T) {
	env := newFailedEnv(t)
	w := env.w
	for _, c := range []struct {
		who, tok string
		status   int
		says     string
	}{
		{"guest", "", 401, "Sign in as an owner or manager to see the failed-messages log"},
		{"agent", w.Agent, 403, "Only owners and managers can see the failed-messages log"},
		{"manager", w.Manager, 200, `"totalItems":13`},
		{"owner", w.Owner, 200, `"totalItems":13`},
		{"superuser", w.Superuser, 200, `"totalItems":13`},
	} {
		getFailed(t, env, "", map[string]string{"Authorization": c.tok}, c.status, func(t testing.TB, _ failedPage, body []byte) {
			if !strings.Contains(string(body), c.says) {
				t.Errorf("%s: %s lacks %q", c.who, body, c.says)
			}
		})
	}
}

func TestFailedLogFilters(t *testing.T) {
	env := newFailedEnv(t)
	for _, c := range []struct {
		query string
		total int
		each  func(failedlog.Item) bool
	}{
		{"", fx.FailedAll, func(it failedlog.Item) bool { return it.Type == "failed" }},
		{"broadcast=" + fx.BPromo, fx.FailedPromo, func(it failedlog.Item) bool {
			return it.BroadcastID == fx.BPromo && it.BroadcastName == "Promo Buen Fin" && it.SenderType == "broadcast" &&
				it.SenderID == fx.BPromo && it.ChannelID == fx.ChWA && it.ChannelName == "WhatsApp Ventas" &&
				it.ContentType == "template" && it.Content == "promo_buen_fin (es_MX): Ana | 20%"
		}},
		{"broadcast=" + fx.BPromo + "," + fx.BNews, fx.FailedPromo + fx.FailedNews, func(it failedlog.Item) bool {
			return it.BroadcastID == fx.BPromo || it.BroadcastID == fx.BNews
		}},
		{"broadcast=" + fx.BPromo + ",+" + fx.BPromo + ",", fx.FailedPromo, nil}, // blanks and repeats are ignored
		{"broadcast=" + fx.BDraft, 0, nil},
		{"source=journey,agent,api", fx.FailedOther, func(it failedlog.Item) bool { return it.BroadcastID == "" && it.BroadcastName == "" }},
		{"source=agent", 1, func(it failedlog.Item) bool {
			return it.ContactID == fx.CtAna && it.SenderType == "agent" && it.ErrorCode == "131047"
		}},
		{"source=journey", 1, func(it failedlog.Item) bool {
			return it.ErrorCode == "blocked" && it.ContentType == "media" && it.Content == "Catálogo (https://tienda.mx/catalogo.pdf)" &&
				it.SenderID == "jrnwelcome00001"
		}},
		{"channel=" + fx.ChSMS, fx.FailedNews + 1, func(it failedlog.Item) bool { return it.ChannelID == fx.ChSMS && it.ChannelType == "twilio_sms" }},
		{"channel=" + fx.ChSMS + "&source=api", 1, func(it failedlog.Item) bool { return it.ErrorCode == "retries_exhausted" }},
		{"code=131047", 2, func(it failedlog.Item) bool {
			return it.ErrorCode == "131047" && !it.Retryable && it.Subtype == "permanent"
		}},
		{"code=131047,21610,daily_limit", 4, nil},
		{"code=nope", 0, nil},
		{"status=unknown", 1, func(it failedlog.Item) bool {
			return it.ContactID == fx.CtKaren && it.Type == "unknown" && it.Subtype == "review" && it.ErrorCode == "unknown_outcome"
		}},
		{"status=failed,unknown", fx.FailedAll + 1, nil},
		{"status=failed,unknown&broadcast=" + fx.BPromo, fx.FailedPromo + 1, nil},
		// Bare dates are days in the workspace's zone (Mexico City, UTC-6):
		// News failed at 03:00Z on the 22nd, 21:00 on the 21st there.
		{"from=2025-11-21&to=2025-11-21", fx.FailedPromo + fx.FailedNews, nil},
		{"from=2025-11-22", fx.FailedOther, nil},
		{"to=2025-11-20", 0, nil},
		{"from=2025-11-21T21:00&to=2025-11-21T21:00", fx.FailedNews, func(it failedlog.Item) bool { return it.BroadcastID == fx.BNews }},
		{"from=" + url.QueryEscape("2025-11-22T03:00:01Z") + "&to=" + url.QueryEscape("2025-11-22T03:00:01Z"), 1,
			func(it failedlog.Item) bool { return it.ContactID == fx.CtOscar }},
		{"from=2025-11-21&to=2025-11-21&broadcast=" + fx.BNews + "&code=30007", 1, nil},
	} {
		getFailed(t, env, c.query, nil, 200, func(t testing.TB, p failedPage, _ []byte) {
			if p.TotalItems != c.total || len(p.Items) != c.total {
				t.Errorf("%q: total %d with %d items, want %d", c.query, p.TotalItems, len(p.Items), c.total)
			}
			for _, it := range p.Items {
				if c.each != nil && !c.each(it) {
					t.Errorf("%q: unexpected row %+v", c.query, it)
				}
			}
		})
	}
}

func TestFailedLogPagingAndOrder(t *testing.T) {
	env := newFailedEnv(t)
	var all []failedlog.Item
	getFailed(t, env, "perPage=100", nil, 200, func(t testing.TB, p failedPage, _ []byte) {
		all = p.Items
		if p.Page != 1 || p.PerPage != 100 || p.TotalPages != 1 || p.Timezone != "America/Mexico_City" {
			t.Errorf("page header: %+v", p)
		}
		for i := 1; i < len(all); i++ {
			if all[i-1].DateTime < all[i].DateTime {
				t.Errorf("not newest first at %d: %s < %s", i, all[i-1].DateTime, all[i].DateTime)
			}
		}
		// The newest failure is the API's, two hours before the fixture's now.
		if all[0].ErrorCode != "retries_exhausted" || all[0].DateTime != "2025-11-22 16:00:00.000Z" || all[0].DateTimeLocal != "2025-11-22 10:00:00" {
			t.Errorf("first row: %+v", all[0])
		}
	})
	var pages []string
	for page := 1; page <= 4; page++ {
		getFailed(t, env, "perPage=4&page="+string(rune('0'+page)), nil, 200, func(t testing.TB, p failedPage, _ []byte) {
			if p.TotalItems != fx.FailedAll || p.TotalPages != 4 || p.Page != page {
				t.Errorf("page %d: %+v", page, p)
			}
			want := 4
			if page == 4 {
				want = 1
			}
			if len(p.Items) != want {
				t.Errorf("page %d has %d items, want %d", page, len(p.Items), want)
			}
			for _, it := range p.Items {
				pages = append(pages, it.MessageID)
			}
		})
	}
	for i := range all {
		if i >= len(pages) || pages[i] != all[i].MessageID {
			t.Fatalf("paging does not follow the single page's order at %d: %v vs %v", i, pages, all)
		}
	}
	getFailed(t, env, "perPage=4&page=5", nil, 200, func(t testing.TB, p failedPage, _ []byte) {
		if len(p.Items) != 0 || p.TotalItems != fx.FailedAll {
			t.Errorf("past the end: %+v", p)
		}
	})
	getFailed(t, env, "perPage=4&skipTotal=true", nil, 200, func(t testing.TB, p failedPage, _ []byte) {
		if p.TotalItems != -1 || p.TotalPages != -1 || len(p.Items) != 4 {
			t.Errorf("skipTotal: %+v", p)
		}
	})
	getFailed(t, env, "sort=date_time&perPage=100", nil, 200, func(t testing.TB, p failedPage, _ []byte) {
		for i := range p.Items {
			if p.Items[i].MessageID != all[len(all)-1-i].MessageID {
				t.Fatalf("oldest first is not the reverse of newest first at %d", i)
			}
		}
		if p.Items[0].ContactID != fx.CtBeto || p.Items[0].ErrorCode != "131047" {
			t.Errorf("oldest: %+v", p.Items[0])
		}
	})
}

func TestFailedLogReasonsInBothLanguages(t *testing.T) {
	env := newFailedEnv(t)
	for _, c := range []struct {
		query, acceptLang, lang, reasonHas string
	}{
		{"code=131026", "", "es", "No entregable"}, // the workspace's language
		{"code=131026&lang=en", "", "en", "Undeliverable"},
		{"code=131026", "en-US,en;q=0.9", "en", "Undeliverable"},
		{"code=131026", "fr-FR, es-MX;q=0.8", "es", "No entregable"},
		{"code=131026&lang=es", "en-US", "es", "No entregable"},
		{"code=21610&lang=en", "", "en", "replied STOP"},
		{"code=30007&lang=es", "", "es", "spam"},
		{"code=daily_limit&lang=en", "", "en", "Daily limit reached"},
		{"code=window_closed&lang=es", "", "es", "ventana de 24 horas"},
		{"code=opted_out&lang=en", "", "en", "opted out"},
		{"code=131049&lang=es", "", "es", "marketing"},
		{"code=131050&lang=en", "", "en", "turned off marketing"},
		{"status=unknown&lang=es", "", "es", "Revíselo antes de reenviar"},
	} {
		getFailed(t, env, c.query, map[string]string{"Accept-Language": c.acceptLang}, 200, func(t testing.TB, p failedPage, _ []byte) {
			if p.Lang != c.lang || len(p.Items) != 1 {
				t.Fatalf("%q: lang %s, %d items", c.query, p.Lang, len(p.Items))
			}
			it := p.Items[0]
			if !strings.Contains(it.Reason, c.reasonHas) || !strings.Contains(it.Error, c.reasonHas) ||
				it.ReasonEN == "" || it.ReasonES == "" || it.ReasonEN == it.ReasonES {
				t.Errorf("%q: %+v", c.query, it)
			}
		})
	}
}

func TestFailedLogBadInput(t *testing.T) {
	env := newFailedEnv(t)
	for _, c := range []struct {
		query  string
		status int
		says   []string
	}{
		{"from=11/21/2025", 400, []string{`"from"`, `11/21/2025`, `is not a date (2025-11-21 or 21/11/2025)`}},
		{"to=ayer", 400, []string{`"to"`, `ayer`}},
		{"from=2025-11-22&to=2025-11-21", 400, []string{`"to"`, "must be later than from"}},
		{"page=0", 400, []string{`"page"`, "from 1"}},
		{"perPage=5000", 400, []string{`"perPage"`, "from 1 to 1000"}},
		{"perPage=diez", 400, []string{`"perPage"`}},
		{"skipTotal=maybe", 400, []string{`"skipTotal"`}},
		{"lang=fr", 400, []string{`"lang"`, `not es or en`}},
		{"format=xlsx", 400, []string{`"format"`, "not json or csv"}},
		{"status=sent", 400, []string{`"status"`, `\"sent\" is not one of failed, unknown`}},
		{"source=robot", 400, []string{`"source"`, "robot"}},
		{"sort=name", 400, []string{`"sort"`}},
		{"bom=quizas&format=csv", 400, []string{`"bom"`}},
		{"code=" + strings.Repeat("x", 51), 400, []string{`"code"`, "longer than 50"}},
		{"broadcast=" + fx.BPromo + ",nosuchbroadcast", 404, []string{`No broadcast has the id \"nosuchbroadcast\"`}},
		{"channel=nosuchchannel01", 404, []string{`No channel has the id \"nosuchchannel01\"`}},
	} {
		getFailed(t, env, c.query, nil, c.status, func(t testing.TB, _ failedPage, body []byte) {
			for _, s := range c.says {
				if !strings.Contains(string(body), s) {
					t.Errorf("%q: %s lacks %s", c.query, body, s)
				}
			}
		})
	}
}

// readCSV checks the BOM and parses the file back with encoding/csv.
func readCSV(t testing.TB, body []byte, wantBOM bool) [][]string {
	t.Helper()
	hasBOM := bytes.HasPrefix(body, []byte("\ufeff"))
	if hasBOM != wantBOM {
		t.Fatalf("BOM present: %v, want %v", hasBOM, wantBOM)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v\n%s", err, body)
	}
	return recs
}

func TestFailedLogCSV(t *testing.T) {
	factory, w := failedFactory(t)
	(&tests.ApiScenario{
		Name: "csv of every failure", Method: http.MethodGet, URL: "/api/pregon/messages/failed?format=csv&lang=en",
		Headers: map[string]string{"Authorization": w.Manager}, ExpectedStatus: 200, ExpectedContent: []string{"date and time"},
		TestAppFactory: factory,
		AfterTestFunc: func(t testing.TB, _ *tests.TestApp, res *http.Response) {
			if ct := res.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="failed-messages-2025-11-22.csv"` {
				t.Errorf("Content-Disposition %q", cd)
			}
			body, _ := io.ReadAll(res.Body)
			if !bytes.Contains(body, []byte("\r\n")) {
				t.Error("rows do not end in CRLF")
			}
			recs := readCSV(t, body, true)
			if strings.Join(recs[0], ",") != "date and time,sender id,sender type,contact id,message id,content type,content,channel id,type,subtype,error" {
				t.Fatalf("header %q", recs[0])
			}
			if len(recs) != fx.FailedAll+1 {
				t.Fatalf("%d rows, want %d", len(recs)-1, fx.FailedAll)
			}
			var paula []string
			for _, r := range recs[1:] {
				if len(r) != 11 {
					t.Fatalf("row with %d cells: %q", len(r), r)
				}
				if r[4] == fx.MsgPaula {
					paula = r
				}
				for _, cell := range r {
					if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
						t.Errorf("a cell starts a formula: %q", cell)
					}
				}
			}
			want := []string{"2025-11-21 21:00:02", fx.BNews, "broadcast", fx.CtPaula, fx.MsgPaula, "text", "'" + fx.HostileText,
				fx.ChSMS, "failed", "retryable", "Unknown delivery error at the carrier. (30008)"}
			for i := range want {
				if paula == nil || paula[i] != want[i] {
					t.Fatalf("Paula's row %q, want %q", paula, want)
				}
			}
			// "-20% en todo" is neutralised too, and the text keeps its words.
			if !bytes.Contains(body, []byte("Novedades de noviembre: -20% en todo")) {
				t.Error("the News text is missing")
			}
		},
	}).Test(t)

	(&tests.ApiScenario{
		Name: "csv of one broadcast, in Spanish, no BOM", Method: http.MethodGet,
		URL:     "/api/pregon/messages/failed?format=csv&lang=es&bom=false&broadcast=" + fx.BPromo,
		Headers: map[string]string{"Authorization": w.Owner}, ExpectedStatus: 200, ExpectedContent: []string{"contact id"},
		TestAppFactory: factory,
		AfterTestFunc: func(t testing.TB, _ *tests.TestApp, res *http.Response) {
			if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="failed-messages-Promo_Buen_Fin-2025-11-22.csv"` {
				t.Errorf("Content-Disposition %q", cd)
			}
			body, _ := io.ReadAll(res.Body)
			recs := readCSV(t, body, false)
			if recs[0][3] != "contact id" || len(recs) != fx.FailedPromo+1 {
				t.Fatalf("%d rows; header %q", len(recs)-1, recs[0])
			}
			errs := map[string]string{}
			for _, r := range recs[1:] {
				errs[r[3]] = r[10]
				if r[0] != "2025-11-21 10:05:00" && !strings.HasPrefix(r[0], "2025-11-21 10:05:0") {
					t.Errorf("local time %q", r[0])
				}
			}
			if !strings.HasPrefix(errs[fx.CtHugo], "No entregable") || !strings.HasSuffix(errs[fx.CtHugo], "(131026)") {
				t.Errorf("Hugo's error %q", errs[fx.CtHugo])
			}
			if !strings.HasPrefix(errs[fx.CtElena], "Límite diario alcanzado") {
				t.Errorf("Elena's error %q", errs[fx.CtElena])
			}
		},
	}).Test(t)

	(&tests.ApiScenario{
		Name: "csv for an agent", Method: http.MethodGet, URL: "/api/pregon/messages/failed?format=csv",
		Headers: map[string]string{"Authorization": w.Agent}, ExpectedStatus: 403,
		ExpectedContent: []string{"Only owners and managers"}, TestAppFactory: factory,
	}).Test(t)
}
