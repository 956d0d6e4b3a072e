package whatsapp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"pregon/channels"
	"pregon/channels/fakekit"
	"pregon/channels/whatsapp"
	"pregon/channels/whatsapp/fake"
	"pregon/clock"
)

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func adapterFor(t *testing.T, o fake.Options) (*fake.Fake, channels.Adapter) {
	t.Helper()
	f, _, build := start(t, o)
	a, err := build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return f, a
}

func send(a channels.Adapter, to string, c channels.Content) (channels.SendResult, error) {
	return a.Send(context.Background(), channels.OutMessage{ID: "m", To: to, Content: c})
}

func class(t *testing.T, err error) *channels.Error {
	t.Helper()
	var e *channels.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a *channels.Error", err)
	}
	return e
}

var text = channels.Content{Text: "hola"}
var tmpl = channels.Content{Template: &channels.Template{Name: "promo", Language: "es", Params: []string{"Ana"}}}

// collect receives webhooks and parses them with a.
type collect struct {
	srv *httptest.Server
	ch  chan channels.WebhookBatch
}

func newCollect(t *testing.T, a channels.Adapter) *collect {
	c := &collect{ch: make(chan channels.WebhookBatch, 64)}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := &channels.WebhookRequest{Method: r.Method, Header: r.Header, Body: body}
		if err := a.Verify(req); err != nil {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		b, err := a.Parse(req)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		c.ch <- b
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collect) next(t *testing.T) channels.WebhookBatch {
	t.Helper()
	select {
	case b := <-c.ch:
		return b
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook came")
	}
	return channels.WebhookBatch{}
}

func TestWindowSyncAndAsync(t *testing.T) {
	clk := clock.NewFake(t0)
	f, a := adapterFor(t, fake.Options{Now: clk.Now, Window: fake.WindowSync, PairSpacing: fake.Unlimited,
		Templates: []fake.Template{{Name: "promo", Language: "es", Params: 1}}})
	if e := class(t, errOf(send(a, "+51900000001", text))); e.Code != "131047" || e.Class != channels.ClassPermanent {
		t.Fatalf("free text with a closed window: %+v", e)
	}
	if _, err := send(a, "+51900000001", tmpl); err != nil {
		t.Fatalf("a template needs no window: %v", err)
	}
	if _, err := f.Inbound(fake.Inbound{From: "51900000001", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(23 * time.Hour)
	if _, err := send(a, "+51900000001", text); err != nil {
		t.Fatalf("23 h after the user wrote: %v", err)
	}
	clk.Advance(2 * time.Hour)
	if e := class(t, errOf(send(a, "+51900000001", text))); e.Code != "131047" {
		t.Fatalf("25 h after: %+v", e)
	}

	// Async: accepted, then a failed status.
	f.SetWindowMode(fake.WindowAsync)
	c := newCollect(t, a)
	f.SetCallback(c.srv.URL)
	res, err := send(a, "+51900000001", text)
	if err != nil {
		t.Fatalf("async mode accepts the send: %v", err)
	}
	b := c.next(t)
	if len(b.Statuses) != 1 || b.Statuses[0].ProviderID != res.ProviderID || b.Statuses[0].Err == nil || b.Statuses[0].Err.Code != "131047" {
		t.Fatalf("got %+v", b)
	}
}

func errOf(_ channels.SendResult, err error) error { return err }

func TestTierRollingUniqueRecipients(t *testing.T) {
	clk := clock.NewFake(t0)
	f, a := adapterFor(t, fake.Options{Now: clk.Now, Tier: 2, Templates: []fake.Template{{Name: "promo", Language: "es", Params: 1}}})
	c := newCollect(t, a)
	f.SetCallback(c.srv.URL)
	f.Rules.Set("*", fakekit.Rule{Outcome: fakekit.NeverStatus})
	for _, to := range []string{"+51900000001", "+51900000002", "+51900000001"} {
		if _, err := send(a, to, tmpl); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.TierUsed(); n != 2 {
		t.Fatalf("TierUsed = %d, want 2 (a repeat recipient counts once)", n)
	}
	// A third unique recipient is accepted, then fails with the tier code.
	if _, err := send(a, "+51900000003", tmpl); err != nil {
		t.Fatal(err)
	}
	b := c.next(t)
	if len(b.Statuses) != 1 || b.Statuses[0].Err == nil || b.Statuses[0].Err.Code != "131049" {
		t.Fatalf("over the tier: %+v", b)
	}
	// Replies inside an open window are not business-initiated.
	f.Inbound(fake.Inbound{From: "51900000004", Text: "hi"})
	clk.Advance(time.Minute)
	if _, err := send(a, "+51900000004", tmpl); err != nil || f.TierUsed() != 2 {
		t.Fatalf("a reply inside the window counted: %v, used %d", err, f.TierUsed())
	}
	clk.Advance(24 * time.Hour)
	if n := f.TierUsed(); n != 0 {
		t.Fatalf("after 24 h TierUsed = %d, want 0", n)
	}
}

func TestPairRateAndThroughput(t *testing.T) {
	f, a := adapterFor(t, fake.Options{Window: fake.WindowOff})
	for i := 0; i < 3; i++ {
		if _, err := send(a, "+51900000001", text); err != nil {
			t.Fatalf("burst send %d: %v", i, err)
		}
	}
	e := class(t, errOf(send(a, "+51900000001", text)))
	if e.Code != "131056" || e.Class != channels.ClassThrottle || e.Scope != channels.ScopeRecipient {
		t.Fatalf("4th to one user: %+v", e)
	}
	if gap, _ := f.Log.MinGapPerRecipient(fakekit.OnlyOK); gap < 0 {
		t.Fatal("the log must see repeated recipients")
	}

	f2, a2 := adapterFor(t, fake.Options{Window: fake.WindowOff, Rate: 2})
	throttled := 0
	for i := 0; i < 10; i++ {
		if _, err := send(a2, "+5190000001"+string(rune('0'+i)), text); err != nil {
			if e := class(t, err); e.Code != "130429" || e.Scope != channels.ScopeChannel {
				t.Fatalf("send %d: %+v", i, e)
			}
			throttled++
		}
	}
	if throttled == 0 || f2.Log.MaxInWindow(time.Second, fakekit.OnlyOK) > 3 {
		t.Fatalf("rate 2/s: %d throttled, %d accepted in a second", throttled, f2.Log.MaxInWindow(time.Second, fakekit.OnlyOK))
	}
}

func TestTemplatesValidated(t *testing.T) {
	_, a := adapterFor(t, fake.Options{Templates: []fake.Template{{Name: "promo", Language: "es", Params: 1}}})
	for c, want := range map[*channels.Template]string{
		{Name: "promo", Language: "en_US", Params: []string{"x"}}: "132001",
		{Name: "nope", Language: "es", Params: []string{"x"}}:     "132001",
		{Name: "promo", Language: "es"}:                           "132000",
	} {
		if e := class(t, errOf(send(a, "+51900000009", channels.Content{Template: c}))); e.Code != want || e.Class != channels.ClassPermanent {
			t.Errorf("%+v: got %+v, want %s", c, e, want)
		}
	}
}

func TestBSUIDRecipientAndSender(t *testing.T) {
	f, a := adapterFor(t, fake.Options{Window: fake.WindowOff})
	f.Log.SetBodies(true)
	if _, err := send(a, "US.13491208655302741918", text); err != nil {
		t.Fatal(err)
	}
	e := f.Log.Entries()[0]
	var body map[string]any
	json.Unmarshal(e.Body, &body)
	if body["recipient"] != "US.13491208655302741918" || body["to"] != nil || e.Recipient != "US.13491208655302741918" {
		t.Fatalf("wire body %s", e.Body)
	}
	var wire map[string]any
	f2, a2 := adapterFor(t, fake.Options{Window: fake.WindowOff})
	f2.Log.SetBodies(true)
	send(a2, "+51987654321", text)
	json.Unmarshal(f2.Log.Entries()[0].Body, &wire)
	if wire["to"] != "51987654321" {
		t.Fatalf("E.164 goes on the wire without +: %v", wire["to"])
	}
	c := newCollect(t, a)
	f.SetCallback(c.srv.URL)
	f.Inbound(fake.Inbound{UserID: "US.13491208655302741918", Name: "Uma", Text: "hi"})
	b := c.next(t)
	if len(b.Messages) != 1 || b.Messages[0].From != "US.13491208655302741918" || b.Messages[0].Phone != "" || b.Messages[0].Name != "Uma" {
		t.Fatalf("user-id-only inbound: %+v", b.Messages)
	}
}

func TestInboundMediaResolves(t *testing.T) {
	f, a := adapterFor(t, fake.Options{})
	c := newCollect(t, a)
	f.SetCallback(c.srv.URL)
	f.Inbound(fake.Inbound{From: "51987654321", MediaKind: "image", Caption: "äöå"})
	m := c.next(t).Messages[0]
	if m.Content.Media == nil || m.Content.Media.Caption != "äöå" || !strings.HasPrefix(m.Content.Media.URL, f.URL()+"/v25.0/") {
		t.Fatalf("%+v", m.Content)
	}
	get := func(u string) *http.Response {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+f.Options().AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var obj struct{ URL, MimeType string }
	resp := get(m.Content.Media.URL)
	json.NewDecoder(resp.Body).Decode(&obj)
	resp.Body.Close()
	if obj.URL == "" {
		t.Fatal("the media object has no url")
	}
	resp = get(obj.URL)
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || len(data) == 0 {
		t.Fatalf("media bytes: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), data)
	}
}

func TestHandshakeDriver(t *testing.T) {
	_, a := adapterFor(t, fake.Options{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := url.Parse("http://" + r.Host + r.URL.RequestURI())
		st, body, ok := a.Handshake(&channels.WebhookRequest{Method: r.Method, PublicURL: u})
		if !ok {
			st = http.StatusBadRequest
		}
		w.WriteHeader(st)
		w.Write(body)
	}))
	defer srv.Close()
	ctx := context.Background()
	if err := fake.Handshake(ctx, srv.Client(), srv.URL+"/api/pregon/webhooks/ch1", "verify-token-123"); err != nil {
		t.Fatalf("right token: %v", err)
	}
	if err := fake.Handshake(ctx, srv.Client(), srv.URL+"/api/pregon/webhooks/ch1", "another"); err == nil {
		t.Fatal("the driver must report an app that refuses the right token")
	}
}

func TestUnknownPhoneNumberAndTest(t *testing.T) {
	f, _, build := start(t, fake.Options{})
	a, _ := build(channels.Config{whatsapp.KeyPhoneNumberID: "999"})
	if e := class(t, errOf(send(a, "+51900000001", text))); e.Code != "100" {
		t.Fatalf("unknown phone number id: %+v", e)
	}
	if err := a.Test(context.Background()); err == nil {
		t.Fatal("Test with an unknown phone number id passed")
	}
	good, _ := build(nil)
	if err := good.Test(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.Log.Count(fakekit.OnlyOp("object")); n != 2 {
		t.Fatalf("object lookups logged: %d", n)
	}
}

func TestWebhookBodiesAreEscapedAndSigned(t *testing.T) {
	f, a := adapterFor(t, fake.Options{})
	got := make(chan *channels.WebhookRequest, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- &channels.WebhookRequest{Method: r.Method, Header: r.Header, Body: body}
	}))
	defer srv.Close()
	f.SetCallback(srv.URL)
	f.Inbound(fake.Inbound{From: "51987654321", Name: "Åsa", Text: "äö 🎉"})
	req := <-got
	if !strings.Contains(string(req.Body), `"body":"\u00e4\u00f6 \ud83c\udf89"`) || strings.Contains(string(req.Body), "ä") {
		t.Fatalf("the body is not \\u-escaped with lowercase hex: %s", req.Body)
	}
	if err := a.Verify(req); err != nil {
		t.Fatalf("the escaped body must verify as received: %v", err)
	}
	if b, err := a.Parse(req); err != nil || b.Messages[0].Content.Text != "äö 🎉" || b.Messages[0].Name != "Åsa" {
		t.Fatalf("parse: %v %+v", err, b)
	}
}

// TestFakePreferenceAndAccountErrorWebhooks: the fake's user_preferences
// and account-error webhooks verify and parse as Meta's do.
func TestFakePreferenceAndAccountErrorWebhooks(t *testing.T) {
	f, a := adapterFor(t, fake.Options{Now: func() time.Time { return t0 }})
	read := func(h fakekit.Webhook) channels.WebhookBatch {
		t.Helper()
		req := &channels.WebhookRequest{Method: http.MethodPost, Header: h.Header, Body: h.Body}
		if err := a.Verify(req); err != nil {
			t.Fatalf("%s does not verify: %v", h.Kind, err)
		}
		b, err := a.Parse(req)
		if err != nil {
			t.Fatalf("%s does not parse: %v", h.Kind, err)
		}
		return b
	}
	h, err := f.UserPreference(fake.Preference{From: "+5215512345678", Name: "Åsa", Value: "stop"})
	if err != nil {
		t.Fatal(err)
	}
	b := read(h)
	if len(b.Consents) != 1 || b.Consents[0].OptIn || b.Consents[0].From != "+5215512345678" || !b.Consents[0].At.Equal(t0) ||
		b.Consents[0].Wording != fake.PreferenceDetail("stop") || b.Consents[0].Name != "Åsa" {
		t.Fatalf("stop: %+v", b.Consents)
	}
	if _, err := f.UserPreference(fake.Preference{From: "+5215512345678", Value: "maybe"}); err == nil {
		t.Error("a preference value other than stop or resume was built")
	}
	b = read(f.AccountError(131031, "Business account locked", "The WhatsApp Business Account is locked"))
	if len(b.AccountErrors) != 1 || b.AccountErrors[0].Code != "131031" {
		t.Fatalf("account error: %+v", b.AccountErrors)
	}
}
