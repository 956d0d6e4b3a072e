package hooks_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"pregon/channels"
	"pregon/channels/sandbox"
	"pregon/channels/webchat"
	"pregon/hooks"
	"pregon/internal/testapp"
)

// echoAdapter is a provider with a handshake, a URL-bound signature (as
// Twilio signs the full URL) and a reply body, to test what the endpoint
// does around an adapter. Real providers are tested in their own packages.
type echoAdapter struct{ cfg channels.Config }

var echoCaps = channels.Capabilities{
	IdentityKind: channels.KindSMS, Receipts: true,
	SecretKeys: []string{"token"}, RequiredKeys: []string{"token"}, ConfigKeys: []string{"token", "mode"},
}

func (a echoAdapter) Type() channels.Type                 { return channels.TwilioSMS }
func (a echoAdapter) Capabilities() channels.Capabilities { return echoCaps }
func (a echoAdapter) Send(context.Context, channels.OutMessage) (channels.SendResult, error) {
	return channels.SendResult{}, nil
}

// Verify accepts a request whose X-Test-Signature is token + " " + the
// public URL it was called at.
func (a echoAdapter) Verify(r *channels.WebhookRequest) error {
	sig := r.Header.Get("X-Test-Signature")
	switch {
	case sig == "":
		return &channels.Error{Class: channels.ClassPermanent, HTTPStatus: 401, Detail: "missing X-Test-Signature"}
	case sig != a.cfg["token"]+" "+r.PublicURL.String():
		return &channels.Error{Class: channels.ClassPermanent, HTTPStatus: 403, Detail: "X-Test-Signature does not match"}
	}
	return nil
}

func (a echoAdapter) Handshake(r *channels.WebhookRequest) (int, []byte, bool) {
	q := r.PublicURL.Query()
	if q.Get("hub.mode") != "subscribe" {
		return 0, nil, false
	}
	if q.Get("hub.verify_token") != a.cfg["token"] {
		return http.StatusForbidden, nil, true
	}
	return http.StatusOK, []byte(q.Get("hub.challenge")), true
}

func (a echoAdapter) Parse(r *channels.WebhookRequest) (channels.WebhookBatch, error) {
	if strings.HasPrefix(string(r.Body), "{") {
		return channels.WebhookBatch{Reply: []byte("<Response/>"), ReplyContentType: "text/xml"}, nil
	}
	return channels.WebhookBatch{}, errors.New("not JSON")
}

// Test fails the way config "mode" says, quoting the token as careless
// provider errors do.
func (a echoAdapter) Test(context.Context) error {
	switch a.cfg["mode"] {
	case "config":
		return &channels.Error{Class: channels.ClassConfig, Code: "20003", Detail: "Authenticate: token " + a.cfg["token"] + " rejected"}
	case "down":
		return errors.New("dial tcp 127.0.0.1:1: connection refused")
	}
	return nil
}

// registrarAdapter also takes its webhook URL by API, as Telegram does.
type registrarAdapter struct {
	echoAdapter
	got *string
}

func (a registrarAdapter) RegisterWebhook(_ context.Context, url string) error {
	*a.got = url
	return nil
}

type inboundFixture struct {
	app        *tests.TestApp
	env        *hooks.Env
	registered *string
	manager    string
	agent      string
}

func newInboundFixture(t *testing.T, opts ...hooks.Options) *inboundFixture {
	t.Helper()
	got := new(string)
	r := channels.NewRegistry()
	r.Register(channels.TwilioSMS, echoCaps, func(cfg channels.Config, _ channels.Deps) (channels.Adapter, error) {
		return echoAdapter{cfg: cfg}, nil
	})
	r.Register(channels.Telegram, echoCaps, func(cfg channels.Config, _ channels.Deps) (channels.Adapter, error) {
		return registrarAdapter{echoAdapter{cfg: cfg}, got}, nil
	})
	sandbox.Register(r)
	webchat.Register(r)
	o := hooks.Options{}
	if len(opts) > 0 {
		o = opts[0]
	}
	o.Registry, o.NoWorkers = r, true
	app, env := testapp.New(t, o)
	f := &inboundFixture{app: app, env: env, registered: got}
	_, f.manager = testapp.User(t, app, "mgr@tienda.mx", "manager")
	_, f.agent = testapp.User(t, app, "agente@tienda.mx", "agent")
	return f
}

func (f *inboundFixture) channel(t *testing.T, name, typ string, cfg map[string]any) string {
	t.Helper()
	col, _ := f.app.FindCollectionByNameOrId("channels")
	r := core.NewRecord(col)
	r.Set("name", name)
	r.Set("type", typ)
	r.Set("config", cfg)
	if err := f.app.Save(r); err != nil {
		t.Fatal(err)
	}
	return r.Id
}

func (f *inboundFixture) run(t *testing.T, s tests.ApiScenario) {
	t.Helper()
	s.TestAppFactory = func(testing.TB) *tests.TestApp { return f.app }
	s.DisableTestAppCleanup = true
	s.Test(t)
}

func (f *inboundFixture) count(t *testing.T, sql string, p dbx.Params) int {
	t.Helper()
	var n int
	if err := f.app.DB().NewQuery(sql).Bind(p).Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *inboundFixture) drain(t *testing.T) {
	t.Helper()
	if _, err := f.env.Inbox.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestWebhookEndpointVerifiesBeforeStoring(t *testing.T) {
	t.Setenv(hooks.EnvPublicURL, "https://pregon.example.com/base/")
	f := newInboundFixture(t)
	ch := f.channel(t, "SMS", "twilio_sms", map[string]any{"token": "tok-SECRET"})
	url := "/api/pregon/webhooks/" + ch + "?m=abc"
	public := "https://pregon.example.com/base" + url
	stored := func() int { return f.count(t, `SELECT COUNT(*) FROM webhook_inbox`, nil) }

	f.run(t, tests.ApiScenario{Name: "unknown channel", Method: http.MethodPost, URL: "/api/pregon/webhooks/nope", Body: strings.NewReader(`{}`),
		ExpectedStatus: 404, ExpectedContent: []string{"No channel nope exists"}})
	f.run(t, tests.ApiScenario{Name: "unsigned", Method: http.MethodPost, URL: url, Body: strings.NewReader(`{}`),
		ExpectedStatus: 401, ExpectedContent: []string{"missing X-Test-Signature", "nothing was stored"}})
	f.run(t, tests.ApiScenario{Name: "forged", Method: http.MethodPost, URL: url, Body: strings.NewReader(`{}`),
		Headers:        map[string]string{"X-Test-Signature": "tok-WRONG " + public},
		ExpectedStatus: 403, ExpectedContent: []string{"does not match"}, NotExpectedContent: []string{"tok-SECRET"}})
	f.run(t, tests.ApiScenario{Name: "signed for another URL (replayed elsewhere)", Method: http.MethodPost, URL: url,
		Body: strings.NewReader(`{}`), Headers: map[string]string{"X-Test-Signature": "tok-SECRET https://other/x"},
		ExpectedStatus: 403, ExpectedContent: []string{"does not match"}})
	if n := stored(); n != 0 {
		t.Fatalf("refused deliveries stored %d rows", n)
	}
	f.run(t, tests.ApiScenario{Name: "signed: stored, acknowledged with the provider's reply", Method: http.MethodPost, URL: url,
		Body: strings.NewReader(`{"ok":1}`), Headers: map[string]string{"X-Test-Signature": "tok-SECRET " + public},
		ExpectedStatus: 200, ExpectedContent: []string{"<Response/>"},
		AfterTestFunc: func(t testing.TB, _ *tests.TestApp, res *http.Response) {
			if ct := res.Header.Get("Content-Type"); ct != "text/xml" {
				t.Errorf("reply content type %q", ct)
			}
		}})
	f.run(t, tests.ApiScenario{Name: "signed but malformed: stored (parked later), acknowledged", Method: http.MethodPost, URL: url,
		Body: strings.NewReader(`<garbage`), Headers: map[string]string{"X-Test-Signature": "tok-SECRET " + public},
		ExpectedStatus: 200})
	if n := stored(); n != 2 {
		t.Fatalf("%d rows stored, want 2", n)
	}
	var gotURL string
	if err := f.app.DB().NewQuery(`SELECT url FROM webhook_inbox LIMIT 1`).Row(&gotURL); err != nil || gotURL != public {
		t.Fatalf("stored URL %q, want %q (%v)", gotURL, public, err)
	}
	f.drain(t)
	if n := f.count(t, `SELECT COUNT(*) FROM webhook_inbox WHERE status = 'parked' AND error LIKE '%refused this delivery%'`, nil); n != 1 {
		t.Fatalf("the malformed delivery was not parked with its error (%d)", n)
	}
	f.run(t, tests.ApiScenario{Name: "managers see parked deliveries", Method: http.MethodGet,
		URL:            "/api/collections/webhook_inbox/records?filter=(status='parked')",
		Headers:        map[string]string{"Authorization": f.manager},
		ExpectedStatus: 200, ExpectedContent: []string{`"totalItems":1`, "refused this delivery", "garbage"}})
	f.run(t, tests.ApiScenario{Name: "agents do not", Method: http.MethodGet, URL: "/api/collections/webhook_inbox/records",
		Headers: map[string]string{"Authorization": f.agent}, ExpectedStatus: 200, ExpectedContent: []string{`"totalItems":0`}})
}

func TestWebhookHandshake(t *testing.T) {
	f := newInboundFixture(t)
	ch := f.channel(t, "SMS", "twilio_sms", map[string]any{"token": "verify-me"})
	base := "/api/pregon/webhooks/" + ch
	f.run(t, tests.ApiScenario{Name: "good verify token", Method: http.MethodGet,
		URL:            base + "?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444",
		ExpectedStatus: 200, ExpectedContent: []string{"1158201444"}})
	f.run(t, tests.ApiScenario{Name: "wrong verify token", Method: http.MethodGet,
		URL:            base + "?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444",
		ExpectedStatus: 403, NotExpectedContent: []string{"1158201444"}})
	f.run(t, tests.ApiScenario{Name: "a GET that is no handshake must verify", Method: http.MethodGet, URL: base,
		ExpectedStatus: 401, ExpectedContent: []string{"nothing was stored"}})
}

func TestPausedChannelStillTakesWebhooks(t *testing.T) {
	f := newInboundFixture(t)
	ch := f.channel(t, "Sandbox", "sandbox", nil)
	rec, _ := f.app.FindRecordById("channels", ch)
	rec.Set("status", "paused")
	if err := f.app.Save(rec); err != nil {
		t.Fatal(err)
	}
	c, err := f.env.Channels.Get(ch)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"messages":[{"id":"m1","from":"tester-1","text":"hola","ts":1}]}`
	f.run(t, tests.ApiScenario{Name: "paused sandbox", Method: http.MethodPost, URL: "/api/pregon/webhooks/" + ch,
		Body: strings.NewReader(body), Headers: map[string]string{sandbox.SignatureHeader: c.Adapter.(*sandbox.Adapter).Sign([]byte(body))},
		ExpectedStatus: 200})
	f.drain(t)
	if n := f.count(t, `SELECT COUNT(*) FROM messages WHERE direction = 'in'`, nil); n != 1 {
		t.Fatalf("%d inbound messages", n)
	}
}

func TestChannelTestConnection(t *testing.T) {
	f := newInboundFixture(t)
	ok := f.channel(t, "Good", "twilio_sms", map[string]any{"token": "tok-0123456789"})
	bad := f.channel(t, "Bad", "twilio_sms", map[string]any{"token": "tok-0123456789", "mode": "config"})
	down := f.channel(t, "Down", "twilio_sms", map[string]any{"token": "tok-0123456789", "mode": "down"})
	mgr := map[string]string{"Authorization": f.manager}

	f.run(t, tests.ApiScenario{Name: "guest", Method: http.MethodPost, URL: "/api/pregon/channels/" + ok + "/test", ExpectedStatus: 401,
		ExpectedContent: []string{"Sign in"}})
	f.run(t, tests.ApiScenario{Name: "agent", Method: http.MethodPost, URL: "/api/pregon/channels/" + ok + "/test", ExpectedStatus: 403,
		Headers: map[string]string{"Authorization": f.agent}, ExpectedContent: []string{"owners and managers"}})
	f.run(t, tests.ApiScenario{Name: "unknown", Method: http.MethodPost, URL: "/api/pregon/channels/nope/test", ExpectedStatus: 404,
		Headers: mgr, ExpectedContent: []string{"No channel nope"}})
	f.run(t, tests.ApiScenario{Name: "ok", Method: http.MethodPost, URL: "/api/pregon/channels/" + ok + "/test", Headers: mgr,
		ExpectedStatus: 200, ExpectedContent: []string{`{"ok":true}`}})
	f.run(t, tests.ApiScenario{Name: "bad credentials: classified, redacted, channel marked", Method: http.MethodPost,
		URL: "/api/pregon/channels/" + bad + "/test", Headers: mgr, ExpectedStatus: 200,
		ExpectedContent:    []string{`"ok":false`, `"class":"config"`, `"code":"20003"`, `[REDACTED]`},
		NotExpectedContent: []string{"tok-0123456789"}})
	rec, _ := f.app.FindRecordById("channels", bad)
	if rec.GetString("status") != "error" || !strings.Contains(rec.GetString("last_error"), "Authenticate") ||
		strings.Contains(rec.GetString("last_error"), "tok-0123456789") {
		t.Fatalf("channel after a config failure: %s %q", rec.GetString("status"), rec.GetString("last_error"))
	}
	f.run(t, tests.ApiScenario{Name: "provider down: retry class, channel not marked", Method: http.MethodPost,
		URL: "/api/pregon/channels/" + down + "/test", Headers: mgr, ExpectedStatus: 200,
		ExpectedContent: []string{`"ok":false`, `"class":"retry"`, "connection refused"}})
	if rec, _ := f.app.FindRecordById("channels", down); rec.GetString("status") != "active" {
		t.Fatalf("a network failure marked the channel %s", rec.GetString("status"))
	}

	// Fixing the credentials and testing again clears the mark.
	rec.Set("config", map[string]any{"token": "********", "mode": ""})
	if err := f.app.Save(rec); err != nil {
		t.Fatal(err)
	}
	f.run(t, tests.ApiScenario{Name: "fixed", Method: http.MethodPost, URL: "/api/pregon/channels/" + bad + "/test", Headers: mgr,
		ExpectedStatus: 200, ExpectedContent: []string{`{"ok":true}`}})
	if rec, _ := f.app.FindRecordById("channels", bad); rec.GetString("status") != "active" || rec.GetString("last_error") != "" {
		t.Fatalf("after a good test: %s %q", rec.GetString("status"), rec.GetString("last_error"))
	}
}

func TestChannelTestRegistersTheWebhookWhereTheProviderTakesIt(t *testing.T) {
	f := newInboundFixture(t)
	bot := f.channel(t, "Bot", "telegram", map[string]any{"token": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
	mgr := map[string]string{"Authorization": f.manager}
	t.Setenv(hooks.EnvPublicURL, "http://192.168.1.20:8090")
	f.run(t, tests.ApiScenario{Name: "plain HTTP", Method: http.MethodPost, URL: "/api/pregon/channels/" + bot + "/test", Headers: mgr,
		ExpectedStatus: 200, ExpectedContent: []string{`"ok":true`, "not registered", "PREGON_PUBLIC_URL"}})
	if *f.registered != "" {
		t.Fatalf("registered %q over plain HTTP", *f.registered)
	}
	t.Setenv(hooks.EnvPublicURL, "https://chat.tienda.mx")
	f.run(t, tests.ApiScenario{Name: "HTTPS", Method: http.MethodPost, URL: "/api/pregon/channels/" + bot + "/test", Headers: mgr,
		ExpectedStatus: 200, ExpectedContent: []string{`"ok":true`, `registered: https://chat.tienda.mx/api/pregon/webhooks/` + bot}})
	if *f.registered != "https://chat.tienda.mx/api/pregon/webhooks/"+bot {
		t.Fatalf("registered %q", *f.registered)
	}
}
