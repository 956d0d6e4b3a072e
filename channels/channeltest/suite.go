package channeltest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"pregon/channels"
	"pregon/channels/fakekit"
)

// Text is the inbound text the suite sends: non-ASCII and an emoji, so that
// escaping and signing over raw bytes are exercised.
const Text = "Hola äöå 🎉 ¿qué tal?"

// Run runs the contract suite against h.
func Run(t *testing.T, h Harness) {
	t.Run("SendText", func(t *testing.T) { testSendText(t, h.Start(t)) })
	t.Run("SendTemplate", func(t *testing.T) { testSendTemplate(t, h.Start(t)) })
	t.Run("SendMedia", func(t *testing.T) { testSendMedia(t, h.Start(t)) })
	t.Run("InvalidContent", func(t *testing.T) { testInvalidContent(t, h.Start(t)) })
	t.Run("Permanent", func(t *testing.T) { testPermanent(t, h.Start(t)) })
	t.Run("Throttle", func(t *testing.T) { testThrottle(t, h.Start(t)) })
	t.Run("Config", func(t *testing.T) { testConfig(t, h.Start(t)) })
	t.Run("TransportFailuresRetry", func(t *testing.T) { testTransport(t, h.Start(t)) })
	t.Run("InboundVerifiedAndParsed", func(t *testing.T) { testInbound(t, h.Start(t)) })
	t.Run("WebhookRejections", func(t *testing.T) { testRejections(t, h.Start(t)) })
	t.Run("Statuses", func(t *testing.T) { testStatuses(t, h.Start(t), fakekit.EmitOptions{}) })
	t.Run("DuplicateStatuses", func(t *testing.T) { testStatuses(t, h.Start(t), fakekit.EmitOptions{Duplicate: true}) })
	t.Run("ReorderedStatuses", func(t *testing.T) { testStatuses(t, h.Start(t), fakekit.EmitOptions{Reorder: true}) })
	t.Run("FailedStatus", func(t *testing.T) { testFailedStatus(t, h.Start(t)) })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// send sends c to env.To with a per-message callback on rc (when given).
func send(t *testing.T, env *Env, c channels.Content, rc *receiver) (channels.SendResult, error) {
	t.Helper()
	m := channels.OutMessage{ID: "msg_1", To: env.To, Content: c}
	if rc != nil {
		m.StatusCallbackURL = rc.URL() + "/status?message_id=msg_1"
	}
	return env.Adapter.Send(ctx(t), m)
}

// classOf returns err's classification, failing when it is not an *Error
// or when its text carries a secret.
func classOf(t *testing.T, env *Env, err error) *channels.Error {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got success")
	}
	var e *channels.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *channels.Error", err, err)
	}
	noSecrets(t, env, err.Error())
	return e
}

func noSecrets(t *testing.T, env *Env, text string) {
	t.Helper()
	for _, k := range env.Adapter.Capabilities().SecretKeys {
		if v := env.Config[k]; len(v) >= 4 && strings.Contains(text, v) {
			t.Fatalf("the secret %q leaks in %q", k, text)
		}
	}
}

func testSendText(t *testing.T, env *Env) {
	res, err := send(t, env, channels.Content{Text: "hello"}, nil)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if res.ProviderID == "" {
		t.Fatal("no provider id")
	}
	got := env.Kit.Log.Entries()
	if len(got) != 1 || !got[0].OK() || got[0].Recipient != env.FakeTo {
		t.Fatalf("the fake logged %+v, want one accepted send to %s", got, env.FakeTo)
	}
	res2, err := send(t, env, channels.Content{Text: "again"}, nil)
	if err != nil || res2.ProviderID == res.ProviderID {
		t.Fatalf("second send: %v, id %q after %q (ids must differ)", err, res2.ProviderID, res.ProviderID)
	}
}

func testSendTemplate(t *testing.T, env *Env) {
	caps := env.Adapter.Capabilities()
	if !caps.Supports(channels.ContentTemplate) {
		_, err := send(t, env, channels.Content{Template: &channels.Template{Name: "x", Language: "en"}}, nil)
		if e := classOf(t, env, err); e.Class != channels.ClassPermanent {
			t.Fatalf("a template on a channel without templates: got %s, want permanent", e.Class)
		}
		return
	}
	if env.Template == nil {
		t.Fatal("the channel supports templates but the harness names none")
	}
	res, err := send(t, env, channels.Content{Template: env.Template}, nil)
	if err != nil || res.ProviderID == "" {
		t.Fatalf("template send: %v (%+v)", err, res)
	}
}

func testSendMedia(t *testing.T, env *Env) {
	if !env.Adapter.Capabilities().Supports(channels.ContentMedia) {
		t.Skip("no media on this channel")
	}
	res, err := send(t, env, channels.Content{Media: &channels.Media{URL: "https://example.com/pic.jpg", Caption: "äöå 🎉"}}, nil)
	if err != nil || res.ProviderID == "" {
		t.Fatalf("media send: %v (%+v)", err, res)
	}
	res, err = send(t, env, channels.Content{Media: &channels.Media{URL: "https://example.com/menu.pdf", Kind: "document"}}, nil)
	if err != nil || res.ProviderID == "" {
		t.Fatalf("document send: %v (%+v)", err, res)
	}
}

func testInvalidContent(t *testing.T, env *Env) {
	caps := env.Adapter.Capabilities()
	cases := map[string]channels.Content{
		"empty":    {},
		"too long": {Text: strings.Repeat("a", caps.MaxTextLen+1)},
	}
	if caps.Supports(channels.ContentMedia) {
		cases["bad media URL"] = channels.Content{Media: &channels.Media{URL: "file:///etc/passwd"}}
	}
	for name, c := range cases {
		_, err := send(t, env, c, nil)
		e := classOf(t, env, err)
		if e.Class != channels.ClassPermanent || e.Detail == "" {
			t.Errorf("%s: got %s %q, want permanent with what to fix", name, e.Class, e.Detail)
		}
	}
	if n := env.Kit.Log.Count(nil); n != 0 {
		t.Errorf("invalid content reached the provider %d times", n)
	}
}

func testPermanent(t *testing.T, env *Env) {
	if err := env.Kit.Rules.Set(env.FakeTo, fakekit.Rule{Outcome: fakekit.FailSync, Code: env.PermanentCode}); err != nil {
		t.Fatal(err)
	}
	_, err := send(t, env, channels.Content{Text: "hello"}, nil)
	if e := classOf(t, env, err); e.Class != channels.ClassPermanent || e.Code == "" {
		t.Fatalf("got %+v, want permanent with the provider code", e)
	}
}

func testThrottle(t *testing.T, env *Env) {
	if err := env.Kit.Inject.Add(fakekit.Injection{Count: 1, Code: env.ThrottleCode}); err != nil {
		t.Fatal(err)
	}
	_, err := send(t, env, channels.Content{Text: "hello"}, nil)
	if e := classOf(t, env, err); e.Class != channels.ClassThrottle || e.Scope != env.ThrottleScope {
		t.Fatalf("got %+v, want throttle of %s", e, env.ThrottleScope)
	}
	if _, err := send(t, env, channels.Content{Text: "hello"}, nil); err != nil {
		t.Fatalf("the send after the throttle: %v", err)
	}
}

func testConfig(t *testing.T, env *Env) {
	if err := env.Adapter.Test(ctx(t)); err != nil {
		t.Fatalf("Test with good credentials: %v", err)
	}
	bad, err := env.Rebuild(channels.Config{env.CredentialKey: env.Config[env.CredentialKey] + "-revoked"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Send(ctx(t), channels.OutMessage{ID: "m", To: env.To, Content: channels.Content{Text: "hi"}})
	if e := classOf(t, env, err); e.Class != channels.ClassConfig {
		t.Fatalf("send with a bad credential: got %+v, want config", e)
	}
	err = bad.Test(ctx(t))
	if e := classOf(t, env, err); e.Class != channels.ClassConfig {
		t.Fatalf("Test with a bad credential: got %+v, want config", e)
	}
}

func testTransport(t *testing.T, env *Env) {
	for _, f := range []fakekit.Fault{fakekit.FaultClose, fakekit.FaultServerError, fakekit.FaultHang} {
		if err := env.Kit.Inject.Add(fakekit.Injection{Count: 1, Fault: f}); err != nil {
			t.Fatal(err)
		}
		c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		if f != fakekit.FaultHang {
			c, cancel = context.WithTimeout(context.Background(), 20*time.Second)
		}
		_, err := env.Adapter.Send(c, channels.OutMessage{ID: "m", To: env.To, Content: channels.Content{Text: "hi"}})
		cancel()
		if e := classOf(t, env, err); e.Class != channels.ClassRetry {
			t.Errorf("fault %s: got %+v, want retry", f, e)
		}
	}
	if _, err := send(t, env, channels.Content{Text: "after the faults"}, nil); err != nil {
		t.Fatalf("a send after the faults: %v", err)
	}
}

func testInbound(t *testing.T, env *Env) {
	rc := newReceiver(t, env.Adapter)
	env.SetCallback(rc.URL() + "/inbound")
	env.Inbound(t, Text)
	req := rc.waitFor(t, 1)[0]
	if err := env.Adapter.Verify(req); err != nil {
		t.Fatalf("Verify of a genuine inbound webhook: %v", err)
	}
	b, err := env.Adapter.Parse(req)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(b.Messages) != 1 {
		t.Fatalf("got %d messages, want 1: %+v", len(b.Messages), b)
	}
	m := b.Messages[0]
	if m.Content.Text != Text || m.From != env.To || m.ProviderID == "" || m.Timestamp.IsZero() {
		t.Fatalf("got %+v (text %q), want text %q from %s with id and time", m, m.Content.Text, Text, env.To)
	}
	// The receiver answered through the adapter like the app does: 2xx.
	if err := env.Kit.Emitter.Settle(ctx(t)); err != nil {
		t.Fatal(err)
	}
	for _, r := range env.Kit.Emitter.Results() {
		if r.Status < 200 || r.Status > 299 {
			t.Errorf("the receiver answered %+v", r)
		}
	}
}

func testRejections(t *testing.T, env *Env) {
	rc := newReceiver(t, env.Adapter)
	env.SetCallback(rc.URL() + "/inbound")
	env.Inbound(t, Text)
	good := rc.waitFor(t, 1)[0]

	status := func(err error) int {
		if err == nil {
			return http.StatusOK
		}
		return classOf(t, env, err).HTTPStatus
	}
	missing := clone(good)
	missing.Header.Del(env.SignatureHeader)
	if s := status(env.Adapter.Verify(missing)); s != http.StatusUnauthorized {
		t.Errorf("missing %s: got %d, want 401", env.SignatureHeader, s)
	}
	wrong, err := env.Rebuild(channels.Config{env.WebhookSecretKey: env.Config[env.WebhookSecretKey] + "x"})
	if err != nil {
		t.Fatal(err)
	}
	if s := status(wrong.Verify(clone(good))); s != http.StatusForbidden {
		t.Errorf("wrong secret: got %d, want 403", s)
	}
	if env.BodySigned {
		tampered := clone(good)
		i := strings.LastIndex(string(tampered.Body), "a")
		tampered.Body[i] = 'b'
		if s := status(env.Adapter.Verify(tampered)); s != http.StatusForbidden {
			t.Errorf("tampered body: got %d, want 403", s)
		}
	}
	// A corrupted signature, end to end: the receiver must answer 403.
	env.Kit.Emitter.SetOptions(fakekit.EmitOptions{CorruptSignature: true, Attempts: 1})
	env.Inbound(t, Text)
	rc.waitFor(t, 2)
	if err := env.Kit.Emitter.Settle(ctx(t)); err != nil {
		t.Fatal(err)
	}
	res := env.Kit.Emitter.Results()
	if last := res[len(res)-1]; last.Status != http.StatusForbidden {
		t.Errorf("corrupted signature: the receiver answered %d, want 403", last.Status)
	}
}

func testStatuses(t *testing.T, env *Env, opts fakekit.EmitOptions) {
	if !env.Adapter.Capabilities().Receipts {
		t.Skip("the provider sends no receipts")
	}
	rc := newReceiver(t, env.Adapter)
	env.SetCallback(rc.URL() + "/hooks")
	env.Kit.Emitter.SetOptions(opts)
	if err := env.Kit.Rules.Set(env.FakeTo, fakekit.Rule{Outcome: fakekit.Read}); err != nil {
		t.Fatal(err)
	}
	res, err := send(t, env, channels.Content{Text: "hello"}, rc)
	if err != nil {
		t.Fatal(err)
	}
	want := []channels.Status{channels.StatusSent, channels.StatusDelivered}
	if env.ReadReceipts {
		want = append(want, channels.StatusRead)
	}
	if opts.Reorder {
		for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
			want[i], want[j] = want[j], want[i]
		}
	}
	if opts.Duplicate {
		var twice []channels.Status
		for _, s := range want {
			twice = append(twice, s, s)
		}
		want = twice
	}
	var got []channels.Status
	for _, req := range rc.waitFor(t, len(want)) {
		if err := env.Adapter.Verify(req); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		b, err := env.Adapter.Parse(req)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		for _, s := range b.Statuses {
			if s.ProviderID != res.ProviderID {
				t.Errorf("status for %q, want %q", s.ProviderID, res.ProviderID)
			}
			if env.EchoesMessageID && s.MessageID != "msg_1" {
				t.Errorf("status carries message id %q, want msg_1", s.MessageID)
			}
			got = append(got, s.Status)
		}
	}
	if strings.Join(statusStrings(got), ",") != strings.Join(statusStrings(want), ",") {
		t.Fatalf("statuses parsed %v, want %v exactly as sent", got, want)
	}
}

func statusStrings(s []channels.Status) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return out
}

func testFailedStatus(t *testing.T, env *Env) {
	if !env.Adapter.Capabilities().Receipts {
		t.Skip("the provider sends no receipts")
	}
	rc := newReceiver(t, env.Adapter)
	env.SetCallback(rc.URL() + "/hooks")
	if err := env.Kit.Rules.Set(env.FakeTo, fakekit.Rule{Outcome: fakekit.FailAsync, Code: env.AsyncFailCode}); err != nil {
		t.Fatal(err)
	}
	if _, err := send(t, env, channels.Content{Text: "hello"}, rc); err != nil {
		t.Fatalf("an asynchronous failure must be accepted first: %v", err)
	}
	// Some providers report sent before failed: read until failed comes.
	for n := 1; n <= 3; n++ {
		req := rc.waitFor(t, n)[n-1]
		b, err := env.Adapter.Parse(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range b.Statuses {
			if s.Status != channels.StatusFailed {
				continue
			}
			if s.Err == nil || s.Err.Code != env.AsyncFailCode || s.Err.Class == "" {
				t.Fatalf("failed status error %+v, want code %s classified", s.Err, env.AsyncFailCode)
			}
			return
		}
	}
	t.Fatal("no failed status parsed")
}
