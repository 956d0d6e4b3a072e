package hooks_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tests"

	"pregon/contacts"
	"pregon/deliveries"
	fx "pregon/internal/deliveryfixture"
)

type deliveriesBody struct {
	Contact  map[string]string   `json:"contact"`
	Lang     string              `json:"lang"`
	Timezone string              `json:"timezone"`
	Items    []deliveries.Answer `json:"items"`
}

func getDeliveries(t *testing.T, env failedEnv, contact, query, tok string, status int, check func(t testing.TB, b deliveriesBody, raw []byte)) {
	t.Helper()
	hdr := map[string]string{}
	if tok != "" {
		hdr["Authorization"] = tok
	}
	url := "/api/pregon/contacts/" + contact + "/deliveries"
	if query != "" {
		url += "?" + query
	}
	(&tests.ApiScenario{
		Name: contact + "?" + query, Method: http.MethodGet, URL: url, Headers: hdr, ExpectedStatus: status,
		ExpectedContent: []string{""}, TestAppFactory: env.factory,
		AfterTestFunc: func(t testing.TB, _ *tests.TestApp, res *http.Response) {
			raw, _ := io.ReadAll(res.Body)
			var b deliveriesBody
			if status == http.StatusOK {
				if err := json.Unmarshal(raw, &b); err != nil {
					t.Fatalf("decoding %s: %v", raw, err)
				}
			}
			check(t, b, raw)
		},
	}).Test(t)
}

// want describes one expected answer.
type want struct {
	state, status, code, broadcast string
	retryable                      bool
	en, es                         []string // fragments of the explanations
}

func (w want) check(t testing.TB, what string, a deliveries.Answer) {
	t.Helper()
	bid := ""
	if a.Broadcast != nil {
		bid = a.Broadcast.ID
	}
	if a.State != w.state || a.MessageStatus != w.status || a.Code != w.code || a.Retryable != w.retryable || bid != w.broadcast {
		t.Errorf("%s: got state %q status %q code %q retryable %v broadcast %q; want %+v\n%s",
			what, a.State, a.MessageStatus, a.Code, a.Retryable, bid, w, a.ExplanationEN)
	}
	for _, s := range w.en {
		if !strings.Contains(a.ExplanationEN, s) {
			t.Errorf("%s: English %q lacks %q", what, a.ExplanationEN, s)
		}
	}
	for _, s := range w.es {
		if !strings.Contains(a.ExplanationES, s) {
			t.Errorf("%s: Spanish %q lacks %q", what, a.ExplanationES, s)
		}
	}
}

func TestDeliveriesForEachBroadcastState(t *testing.T) {
	env := newFailedEnv(t)
	promo := "broadcast=" + fx.BPromo
	for _, c := range []struct {
		contact, query string
		wants          []want
	}{
		{fx.CtBeto, promo, []want{{state: "failed", status: "failed", code: "131047", broadcast: fx.BPromo,
			en: []string{"Failed on 2025-11-21 10:05 (America/Mexico_City)", "only a template", "will not help"},
			es: []string{"Falló el 2025-11-21 10:05", "solo se puede enviar una plantilla"}}}},
		{fx.CtCarla, promo, []want{{state: "failed", status: "failed", code: "131049", broadcast: fx.BPromo, retryable: true,
			en: []string{"marketing message", "Sending again later may work."}}}},
		{fx.CtDiego, promo, []want{{state: "failed", status: "failed", code: "131050", broadcast: fx.BPromo,
			en: []string{"turned off marketing messages"}}}},
		{fx.CtHugo, promo, []want{{state: "failed", status: "failed", code: "131026", broadcast: fx.BPromo,
			es: []string{"No entregable"}}}},
		{fx.CtFer, promo, []want{{state: "failed", status: "failed", code: "window_closed", broadcast: fx.BPromo,
			en: []string{"24-hour window is closed"}}}},
		{fx.CtGaby, promo, []want{{state: "failed", status: "failed", code: "opted_out", broadcast: fx.BPromo,
			en: []string{"opted out"}}}},
		// Failed for the daily limit, then reached by the resend.
		{fx.CtElena, promo, []want{
			{state: "failed", status: "failed", code: "daily_limit", broadcast: fx.BPromo, retryable: true, en: []string{"Daily limit reached"}},
			{state: "delivered", status: "delivered", broadcast: fx.BResend, en: []string{"Delivered on 2025-11-22 09:01"}, es: []string{"Entregado el"}},
		}},
		{fx.CtUrsula, promo, []want{{state: "delivered", status: "delivered", broadcast: fx.BPromo, en: []string{"Delivered on 2025-11-21 10:02"}}}},
		{fx.CtIris, promo, []want{{state: "replied", status: "read", broadcast: fx.BPromo,
			en: []string{"Read on 2025-11-21 10:30", "The contact replied on 2025-11-21 11:30"}, es: []string{"El contacto respondió el"}}}},
		{fx.CtJuan, promo, []want{{state: "sent", status: "sent", broadcast: fx.BPromo, en: []string{"has not confirmed delivery yet"}}}},
		{fx.CtKaren, promo, []want{{state: "unknown", status: "unknown", code: "unknown_outcome", broadcast: fx.BPromo,
			en: []string{"Outcome unknown since 2025-11-21 10:03", "Review before resending"}}}},
		{fx.CtLuis, promo, []want{{state: "excluded", code: "opted_out", broadcast: fx.BPromo,
			en: []string{"Excluded from the broadcast: The contact opted out"}, es: []string{"Excluido de la transmisión"}}}},
		{fx.CtMario, promo, []want{{state: "not_targeted", broadcast: fx.BPromo,
			en: []string{"Not in the audience", "started on 2025-11-21 10:00", "created after that", "it joined after the broadcast started"}}}},
		{fx.CtVale, promo, []want{{state: "not_targeted", broadcast: fx.BPromo, en: []string{"not in the segment now either"}}}},
		{fx.CtVale, "broadcast=" + fx.BDraft, []want{{state: "not_started", broadcast: fx.BDraft,
			en: []string{`"Borrador de Navidad" is a draft`, "not in its segment now"}, es: []string{"es un borrador"}}}},
		{fx.CtMario, "broadcast=" + fx.BDraft, []want{{state: "not_started", broadcast: fx.BDraft, en: []string{"is in its segment now"}}}},
		{fx.CtAna, "broadcast=" + fx.BScheduled, []want{{state: "not_started", broadcast: fx.BScheduled,
			en: []string{"scheduled for 2025-12-20 09:00 (America/Lima)"}}}},
		{fx.CtAna, "broadcast=" + fx.BFailed, []want{{state: "not_sent", code: "broadcast_failed", broadcast: fx.BFailed,
			en: []string{"target segment has no contacts"}}}},
		{fx.CtAna, "broadcast=" + fx.BCancelled, []want{{state: "not_sent", code: "cancelled", broadcast: fx.BCancelled,
			en: []string{"cancelled before it started"}}}},
		{fx.CtQuique, "broadcast=" + fx.BPaused, []want{{state: "held", status: "held", code: "broadcast_paused", broadcast: fx.BPaused,
			en: []string{`"Recordatorio de pago" is paused`}, es: []string{"está en pausa"}}}},
		{fx.CtNora, "broadcast=" + fx.BNews, []want{{state: "failed", status: "failed", code: "21610", broadcast: fx.BNews,
			es: []string{"respondió STOP"}}}},
	} {
		if c.query == promo && c.contact != fx.CtElena {
			// Everyone but Elena, whom it reached, was left out of Promo's resend.
			c.wants = append(c.wants, want{state: "not_targeted", broadcast: fx.BResend,
				en: []string{`Not included in this resend of "Promo Buen Fin"`}, es: []string{"No se incluyó en este reenvío"}})
		}
		getDeliveries(t, env, c.contact, c.query+"&lang=en", env.w.Manager, 200, func(t testing.TB, b deliveriesBody, raw []byte) {
			if len(b.Items) != len(c.wants) {
				t.Fatalf("%s %s: %d answers, want %d: %s", c.contact, c.query, len(b.Items), len(c.wants), raw)
			}
			for i, w := range c.wants {
				w.check(t, c.contact+" "+c.query, b.Items[i])
				if b.Items[i].Explanation != b.Items[i].ExplanationEN {
					t.Errorf("lang=en but explanation is %q", b.Items[i].Explanation)
				}
			}
		})
	}
}

func TestDeliveriesRecentMessages(t *testing.T) {
	env := newFailedEnv(t)
	for _, c := range []struct {
		contact string
		wants   []want
	}{
		{fx.CtRosa, []want{{state: "queued", status: "queued", code: "channel_paused", retryable: true,
			en: []string{`the channel "WhatsApp Soporte" is paused`, "the access token was revoked"}, es: []string{"está en pausa"}}}},
		{fx.CtSofia, []want{{state: "queued", status: "queued", code: "30003", retryable: true,
			en: []string{"Waiting to try again (2 attempts so far)", "handset is unreachable", "Next attempt on 2025-11-22 13:00"}}}},
		{fx.CtTomas, []want{{state: "queued", status: "queued", en: []string{"due to go on 2025-11-22 12:20"}}}},
		{fx.CtVale, []want{{state: "sent", status: "sent", en: []string{"does not report deliveries or reads"}}}},
		// Newest first: the journey's Telegram failure, then the broadcast's.
		{fx.CtBeto, []want{
			{state: "failed", status: "failed", code: "blocked", en: []string{"blocked the bot"}},
			{state: "failed", status: "failed", code: "131047", broadcast: fx.BPromo},
		}},
		{fx.CtLuis, []want{{state: "excluded", code: "opted_out", broadcast: fx.BPromo}}},
		{fx.CtElena, []want{
			{state: "delivered", status: "delivered", broadcast: fx.BResend},
			{state: "failed", status: "failed", code: "daily_limit", broadcast: fx.BPromo, retryable: true},
		}},
	} {
		getDeliveries(t, env, c.contact, "", env.w.Owner, 200, func(t testing.TB, b deliveriesBody, raw []byte) {
			if b.Lang != "es" || b.Timezone != "America/Mexico_City" {
				t.Errorf("lang %q timezone %q", b.Lang, b.Timezone)
			}
			if len(b.Items) != len(c.wants) {
				t.Fatalf("%s: %d answers, want %d: %s", c.contact, len(b.Items), len(c.wants), raw)
			}
			for i, w := range c.wants {
				w.check(t, c.contact, b.Items[i])
				if b.Items[i].Explanation != b.Items[i].ExplanationES {
					t.Errorf("the workspace speaks Spanish but the explanation is %q", b.Items[i].Explanation)
				}
			}
		})
	}
	getDeliveries(t, env, fx.CtBeto, "limit=1", env.w.Owner, 200, func(t testing.TB, b deliveriesBody, _ []byte) {
		if len(b.Items) != 1 || b.Items[0].Code != "blocked" {
			t.Errorf("limit=1: %+v", b.Items)
		}
	})
}

func TestDeliveriesAccessAndErrors(t *testing.T) {
	env := newFailedEnv(t)
	w := env.w
	expect := func(says ...string) func(t testing.TB, _ deliveriesBody, raw []byte) {
		return func(t testing.TB, _ deliveriesBody, raw []byte) {
			for _, s := range says {
				if !strings.Contains(string(raw), s) {
					t.Errorf("%s lacks %s", raw, s)
				}
			}
		}
	}
	// The agent sees the contact assigned to them, and nobody else's.
	getDeliveries(t, env, fx.CtAna, "", w.Agent, 200, func(t testing.TB, b deliveriesBody, _ []byte) {
		if len(b.Items) != 1 || b.Items[0].Source != "agent" || b.Items[0].Code != "131047" || b.Contact["name"] != "Ana López" {
			t.Errorf("agent on Ana: %+v", b)
		}
	})
	getDeliveries(t, env, fx.CtBeto, "", w.Agent, 404, expect("does not exist or is not assigned to you"))
	getDeliveries(t, env, fx.CtBeto, "", "", 401, expect("status"))
	getDeliveries(t, env, fx.CtBeto, "", w.Superuser, 200, func(t testing.TB, b deliveriesBody, _ []byte) {
		if len(b.Items) != 2 {
			t.Errorf("superuser: %+v", b.Items)
		}
	})
	getDeliveries(t, env, "nosuchcontact01", "", w.Manager, 404, expect(`Contact \"nosuchcontact01\" does not exist`))
	getDeliveries(t, env, fx.CtBeto, "broadcast=nosuchbroadcas", w.Manager, 404, expect(`No broadcast has the id \"nosuchbroadcas\"`))
	getDeliveries(t, env, fx.CtBeto, "limit=0", w.Manager, 400, expect(`"limit"`, "from 1 to 100"))
	getDeliveries(t, env, fx.CtBeto, "lang=pt", w.Manager, 400, expect(`"lang"`))
}

// A merge moves the other contact's exclusions to the survivor, so the
// answer survives it.
func TestExclusionsFollowAMerge(t *testing.T) {
	env := newFailedEnv(t)
	app := env.factory(t)
	defer app.Cleanup()
	if _, _, err := contacts.Merge(app, fx.CtVale, fx.CtLuis, "test"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM broadcast_exclusions WHERE contact = {:c} AND broadcast = {:b}").
		Bind(dbx.Params{"c": fx.CtVale, "b": fx.BPromo}).Row(&n); err != nil || n != 1 {
		t.Fatalf("the exclusion did not follow the merge: %d, %v", n, err)
	}
	(&tests.ApiScenario{
		Name: "after the merge", Method: http.MethodGet,
		URL:     "/api/pregon/contacts/" + fx.CtVale + "/deliveries?broadcast=" + fx.BPromo,
		Headers: map[string]string{"Authorization": env.w.Manager}, ExpectedStatus: 200,
		ExpectedContent: []string{`"state":"excluded"`, `"code":"opted_out"`},
		TestAppFactory:  func(testing.TB) *tests.TestApp { return app }, DisableTestAppCleanup: true,
	}).Test(t)
}
