package twilio_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"pregon/channels"
	"pregon/channels/fakekit"
	"pregon/channels/twilio"
	"pregon/channels/twilio/fake"
	"pregon/clock"
)

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func class(t *testing.T, err error) *channels.Error {
	t.Helper()
	var e *channels.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a *channels.Error", err)
	}
	return e
}

func sendText(a channels.Adapter, to, text, callback string) (channels.SendResult, error) {
	return a.Send(context.Background(), channels.OutMessage{ID: "m1", To: to, Content: channels.Content{Text: text}, StatusCallbackURL: callback})
}

// statuses receives callbacks and parses them with a.
type statuses struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []channels.StatusUpdate
}

func newStatuses(t *testing.T, a channels.Adapter) *statuses {
	s := &statuses{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u, _ := url.Parse("http://" + r.Host + r.URL.RequestURI())
		req := &channels.WebhookRequest{Method: r.Method, PublicURL: u, Header: r.Header, Body: body}
		if err := a.Verify(req); err != nil {
			w.WriteHeader(channels.Classify(err).HTTPStatus)
			return
		}
		b, err := a.Parse(req)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got = append(s.got, b.Statuses...)
		s.mu.Unlock()
		if b.Reply != nil {
			w.Header().Set("Content-Type", b.ReplyContentType)
			w.Write(b.Reply)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *statuses) list() []channels.StatusUpdate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]channels.StatusUpdate(nil), s.got...)
}

func settle(t *testing.T, f *fake.Fake) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := f.Emitter.Settle(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrencyCap(t *testing.T) {
	f, _, build := start(t, channels.TwilioSMS, fake.Options{MaxInFlight: 2})
	a, _ := build(nil)
	f.SetLatency(300 * time.Millisecond)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = sendText(a, "+5198765432"+string(rune('0'+i)), "hi", "")
		}(i)
	}
	wg.Wait()
	throttled := 0
	for _, err := range errs {
		if err != nil {
			if e := class(t, err); e.Code != "20429" || e.Class != channels.ClassThrottle || e.Scope != channels.ScopeAccount {
				t.Fatalf("got %+v", e)
			}
			throttled++
		}
	}
	if throttled == 0 || f.Log.Count(fakekit.OnlyOK) > 8-throttled {
		t.Fatalf("8 concurrent sends over a cap of 2: %d throttled, %d created", throttled, f.Log.Count(fakekit.OnlyOK))
	}
	if f.InFlight.Peak() < 3 {
		t.Fatalf("peak in flight %d: the cap was never exceeded, so nothing was tested", f.InFlight.Peak())
	}
}

func TestStopListAndValidation(t *testing.T) {
	f, _, build := start(t, channels.TwilioSMS, fake.Options{NonMobile: []string{"+15550001111"}, BlockedPrefixes: []string{"+86"}})
	a, _ := build(nil)
	inbox := newStatuses(t, a)
	f.SetInboundURL(inbox.srv.URL + "/in")
	if _, err := f.Inbound(fake.Inbound{From: contact, Body: "STOP"}); err != nil {
		t.Fatal(err)
	}
	settle(t, f)
	res := f.Emitter.Results()
	if len(res) != 1 || res[0].Status != 200 || res[0].ContentType != "text/xml" || res[0].Reply != twilio.EmptyTwiML {
		t.Fatalf("the inbound answer: %+v", res)
	}
	e := class(t, errOf(sendText(a, contact, "promo", "")))
	if e.Code != "21610" || !e.OptOut || e.Class != channels.ClassPermanent {
		t.Fatalf("after STOP: %+v", e)
	}
	f.Inbound(fake.Inbound{From: contact, Body: "start"})
	if _, err := sendText(a, contact, "welcome back", ""); err != nil {
		t.Fatalf("after START: %v", err)
	}
	for to, code := range map[string]string{"+15550001111": "21614", "+8613800000000": "21408"} {
		if e := class(t, errOf(sendText(a, to, "x", ""))); e.Code != code || e.Class != channels.ClassPermanent {
			t.Errorf("%s: %+v, want %s", to, e, code)
		}
	}
	bad, _ := build(channels.Config{twilio.KeyFrom: "+15559999999"})
	if e := class(t, errOf(sendText(bad, contact, "x", ""))); e.Code != "21606" || e.Class != channels.ClassConfig {
		t.Errorf("a From the account does not own: %+v", e)
	}
}

func errOf(_ channels.SendResult, err error) error { return err }

func TestSegmentQueueOnClock(t *testing.T) {
	clk := clock.NewFake(t0)
	f, _, build := start(t, channels.TwilioSMS, fake.Options{Now: clk.Now, SegmentsPerSecond: 1, ValidityPeriod: 150 * time.Second})
	a, _ := build(nil)
	st := newStatuses(t, a)
	// 2 GSM-7 segments, then 1 UCS-2 segment, then one that waits too long.
	long := strings.Repeat("a", 170)
	if _, err := sendText(a, contact, long, st.srv.URL+"/s?message_id=m1"); err != nil {
		t.Fatal(err)
	}
	if _, err := sendText(a, contact, "¿Qué tal? 🎉", st.srv.URL+"/s?message_id=m2"); err != nil {
		t.Fatal(err)
	}
	settle(t, f)
	if got := st.list(); len(got) != 2 || got[0].MessageID != "m1" || got[0].Status != channels.StatusSent {
		t.Fatalf("at t0 only m1 is sent and delivered: %+v", got)
	}
	clk.Advance(2 * time.Second)
	settle(t, f)
	if got := st.list(); len(got) != 4 || got[2].MessageID != "m2" || got[2].Status != channels.StatusSent {
		t.Fatalf("after 2 s (m1 took 2 segments) m2 is sent: %+v", got)
	}
	for i := 0; i < 150; i++ {
		sendText(a, contact, "x", "")
	}
	if _, err := sendText(a, contact, "late", st.srv.URL+"/s?message_id=late"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Minute)
	settle(t, f)
	got := st.list()
	last := got[len(got)-1]
	if last.MessageID != "late" || last.Status != channels.StatusFailed || last.Err == nil || last.Err.Code != "30036" {
		t.Fatalf("past the validity period: %+v", last)
	}
	if fake.Segments(long) != 2 || fake.Segments("¿Qué tal? 🎉") != 1 || fake.Segments(string(make([]rune, 71))) != 2 {
		t.Fatal("segment counting")
	}
}

func TestWhatsAppWindow63016(t *testing.T) {
	clk := clock.NewFake(t0)
	f, _, build := start(t, channels.TwilioWhatsApp, fake.Options{Now: clk.Now})
	a, _ := build(nil)
	st := newStatuses(t, a)
	if _, err := sendText(a, contact, "hola", st.srv.URL+"/s?message_id=m1"); err != nil {
		t.Fatalf("free-form outside the window is accepted first: %v", err)
	}
	settle(t, f)
	got := st.list()
	if len(got) != 1 || got[0].Status != channels.StatusFailed || got[0].Err.Code != "63016" || got[0].Err.Class != channels.ClassPermanent {
		t.Fatalf("%+v", got)
	}
	f.Inbound(fake.Inbound{From: contact, Body: "hi", WhatsApp: true})
	if _, err := sendText(a, contact, "hola", st.srv.URL+"/s?message_id=m2"); err != nil {
		t.Fatal(err)
	}
	settle(t, f)
	if got := st.list(); got[len(got)-1].Status != channels.StatusDelivered {
		t.Fatalf("inside the window: %+v", got)
	}
}

func TestAccountTest(t *testing.T) {
	f, _, build := start(t, channels.TwilioSMS, fake.Options{})
	a, _ := build(nil)
	if err := a.Test(context.Background()); err != nil {
		t.Fatal(err)
	}
	wrongSID, _ := build(channels.Config{twilio.KeyAccountSID: "AC99999999999999999999999999999999"})
	if e := class(t, wrongSID.Test(context.Background())); e.Class != channels.ClassConfig {
		t.Fatalf("a wrong account SID: %+v", e)
	}
	if n := f.Log.Count(fakekit.OnlyOp("account")); n != 2 {
		t.Fatalf("account lookups logged: %d", n)
	}
}
