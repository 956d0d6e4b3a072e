package e2e

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"pregon/channels/fakekit"
	wafake "pregon/channels/whatsapp/fake"
)

// bcast is a broadcasts record as the API returns it.
type bcast struct {
	ID             string         `json:"id"`
	Status         string         `json:"status"`
	Error          string         `json:"error"`
	Targeted       int            `json:"targeted"`
	Excluded       map[string]int `json:"excluded"`
	Queued         int            `json:"queued"`
	Pending        int            `json:"pending"`
	Sent           int            `json:"sent"`
	Delivered      int            `json:"delivered"`
	Read           int            `json:"read"`
	Replied        int            `json:"replied"`
	Failed         int            `json:"failed"`
	FailedByReason map[string]int `json:"failed_by_reason"`
	Unknown        int            `json:"unknown"`
	ResendOf       string         `json:"resend_of"`
}

// bworld is a running pregon with an owner and a WhatsApp channel pointed at
// an in-process WhatsApp fake that posts statuses and inbound messages back
// as signed webhooks.
type bworld struct {
	t     *testing.T
	srv   *Server
	fk    *wafake.Fake
	token string
	ch    string
}

func newBWorld(t *testing.T, tier int) *bworld {
	fk, err := wafake.Start(wafake.Options{Rate: wafake.Unlimited, PairSpacing: wafake.Unlimited,
		Templates: []wafake.Template{{Name: "promo_enero", Language: "es", Params: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fk.Close)
	w := &bworld{t: t, fk: fk, srv: StartServer(t, "")}
	var setup struct{ Token string }
	w.must(call(t, "POST", w.srv.URL+"/api/pregon/setup", "", map[string]string{
		"email": "duena@tienda.mx", "password": "a-long-password-1", "name": "Dueña"}, &setup), 200, "setup")
	w.token = setup.Token
	o := fk.Options()
	var ch struct{ ID string }
	w.must(call(t, "POST", w.srv.URL+"/api/collections/channels/records", w.token, map[string]any{
		"name": "WhatsApp ventas", "type": "whatsapp_cloud", "daily_limit": tier,
		"config": map[string]any{"base_url": fk.URL(), "phone_number_id": o.PhoneNumberID, "access_token": o.AccessToken,
			"app_secret": o.AppSecret, "verify_token": "verify-123"}}, &ch), 200, "creating the channel")
	w.ch = ch.ID
	fk.SetCallback(w.srv.URL + "/api/pregon/webhooks/" + ch.ID)
	return w
}

func (w *bworld) must(got, want int, what string) {
	w.t.Helper()
	if got != want {
		w.t.Fatalf("%s: status %d, want %d; log:\n%s", what, got, want, w.srv.Log())
	}
}

func (w *bworld) api(method, path string, body, out any) int {
	w.t.Helper()
	return call(w.t, method, w.srv.URL+path, w.token, body, out)
}

func (w *bworld) contact(fields map[string]any) string {
	w.t.Helper()
	var c struct{ ID string }
	w.must(w.api("POST", "/api/collections/contacts/records", fields, &c), 200, "creating a contact")
	return c.ID
}

func (w *bworld) broadcast(id string) bcast {
	w.t.Helper()
	var b bcast
	w.must(w.api("GET", "/api/collections/broadcasts/records/"+id, nil, &b), 200, "reading the broadcast")
	return b
}

// waitFor polls the broadcast until cond holds (an outcome, not a duration).
func (w *bworld) waitFor(id, what string, cond func(b bcast) bool) bcast {
	w.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		b := w.broadcast(id)
		if cond(b) {
			return b
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("waiting for %s: %+v\nlog:\n%s", what, b, w.srv.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *bworld) newBroadcast(name, segment string) string {
	w.t.Helper()
	var b bcast
	w.must(w.api("POST", "/api/collections/broadcasts/records", map[string]any{"name": name, "tags": []string{"promo", "enero"}}, &b),
		200, "creating the draft")
	if b.Status != "draft" {
		w.t.Fatalf("a new broadcast is a draft, got %s", b.Status)
	}
	w.must(w.api("PATCH", "/api/collections/broadcasts/records/"+b.ID, map[string]any{
		"segment": segment, "channel_mode": "specific", "channel": w.ch,
		"content": map[string]any{"whatsapp_cloud": map[string]any{
			"text":     "Hola {{contact.first_name|cliente}}, 20% en toda la tienda hoy",
			"template": map[string]any{"name": "promo_enero", "language": "es", "params": []string{"{{contact.first_name|cliente}}"}}}},
	}, nil), 200, "configuring the draft")
	return b.ID
}

// TestBroadcastSeedFromDraftToResend walks the seed "Envío de una
// transmisión simple" and "Solución de problemas de una transmisión
// fallida" against the real binary and the WhatsApp fake: a draft with name
// and tags; a segment; a specific channel; text for open windows and a
// template for the rest; the audience breakdown; the preview; a test send;
// the send itself on a number whose tier is smaller than the audience, so it
// completes with failures ("daily limit reached"); statuses and a reply
// flowing back as signed webhooks; then the one-click resend of the
// retryable failures once the admin raises the tier, and the manual recovery
// path: the failed-messages CSV exported and imported by contact id with a
// tag, a segment on that tag, and a new broadcast that reaches exactly the
// contacts whose message failed.
func TestBroadcastSeedFromDraftToResend(t *testing.T) {
	w := newBWorld(t, 3)

	// Nine customers: seven with WhatsApp, one who opted out, one with an
	// e-mail only. Two of them wrote to us today (their window is open).
	var people []string
	for i := range 7 {
		people = append(people, w.contact(map[string]any{"first_name": fmt.Sprintf("Cliente%d", i),
			"phone": fmt.Sprintf("+52 55 1000 000%d", i), "tags": []string{"clientes"}}))
	}
	optedOut := w.contact(map[string]any{"first_name": "Olga", "phone": "+52 55 1000 0009", "tags": []string{"clientes"}})
	w.must(w.api("POST", "/api/pregon/contacts/"+optedOut+"/consent", map[string]string{"kind": "whatsapp", "status": "opted_out"}, nil),
		200, "opting Olga out")
	w.contact(map[string]any{"first_name": "Eva", "email": "eva@tienda.mx", "tags": []string{"clientes"}})
	for _, i := range []int{0, 1} {
		if _, err := w.fk.Inbound(wafake.Inbound{From: fmt.Sprintf("52551000000%d", i), Name: fmt.Sprintf("Cliente%d", i), Text: "hola"}); err != nil {
			t.Fatal(err)
		}
	}
	waitMessages(t, w, "direction='in'", 2)

	var seg struct{ ID string }
	w.must(w.api("POST", "/api/collections/segments/records", map[string]any{"name": "Clientes", "conditions": map[string]any{
		"groups": []any{map[string]any{"conditions": []any{map[string]any{"category": "tag", "operator": "has_any", "value": []string{"clientes"}}}}}}},
		&seg), 200, "creating the segment")
	id := w.newBroadcast("Promo enero", seg.ID)

	// The audience: 9 targeted; Olga and Eva left out; of the 5 whose
	// window is closed, 2 are over the tier of 3.
	var aud struct {
		Summary    string         `json:"summary"`
		Targeted   int            `json:"targeted"`
		Recipients int            `json:"recipients"`
		Excluded   map[string]int `json:"excluded"`
	}
	w.must(w.api("GET", "/api/pregon/broadcasts/"+id+"/audience", nil, &aud), 200, "audience")
	if aud.Targeted != 9 || aud.Recipients != 5 || aud.Excluded["opted_out"] != 1 || aud.Excluded["no_identity"] != 1 || aud.Excluded["daily_limit"] != 2 ||
		!strings.HasPrefix(aud.Summary, "Sending a total of 5 messages to 5 recipients") {
		t.Fatalf("audience: %+v", aud)
	}

	// Preview: Cliente0 wrote today (text), Cliente3 did not (template).
	var pv struct {
		Sends map[string]any `json:"sends"`
	}
	w.must(w.api("GET", "/api/pregon/broadcasts/"+id+"/preview?contact="+people[0], nil, &pv), 200, "preview")
	if pv.Sends["text"] != "Hola Cliente0, 20% en toda la tienda hoy" {
		t.Fatalf("preview for an open window: %+v", pv)
	}
	w.must(w.api("GET", "/api/pregon/broadcasts/"+id+"/preview?contact="+people[3], nil, &pv), 200, "preview")
	if pv.Sends["template"] == nil {
		t.Fatalf("preview for a closed window: %+v", pv)
	}

	// A test send reaches the phone and is not counted.
	w.must(w.api("POST", "/api/pregon/broadcasts/"+id+"/test", map[string]string{"contact": people[0]}, nil), 201, "test send")
	waitMessages(t, w, "source='test'&&status!='queued'&&status!='sending'", 1)

	// Send: 5 go out (2 texts, 3 templates on the tier), 2 fail with
	// "daily limit reached"; the fake reports delivered (and read for one).
	if err := w.fk.Rules.Set("525510000001", fakekit.Rule{Outcome: fakekit.Read}); err != nil {
		t.Fatal(err)
	}
	w.must(w.api("POST", "/api/pregon/broadcasts/"+id+"/send", nil, nil), 200, "send")
	b := w.waitFor(id, "completed with failures, statuses in", func(b bcast) bool {
		return b.Status == "completed_with_failures" && b.Delivered == 5 && b.Read == 1
	})
	if b.Targeted != 9 || b.Queued != 7 || b.Sent != 5 || b.Failed != 2 || b.FailedByReason["daily_limit"] != 2 || b.Pending != 0 ||
		b.Excluded["opted_out"] != 1 || b.Excluded["no_identity"] != 1 {
		t.Fatalf("counters: %+v", b)
	}

	// Cliente1 answers: a reply to the broadcast.
	if _, err := w.fk.Inbound(wafake.Inbound{From: "525510000001", Name: "Cliente1", Text: "¿hasta cuándo?"}); err != nil {
		t.Fatal(err)
	}
	w.waitFor(id, "the reply", func(b bcast) bool { return b.Replied == 1 })

	// One click: resend the retryable failures, once the admin raised the tier.
	w.must(w.api("PATCH", "/api/collections/channels/records/"+w.ch, map[string]any{"daily_limit": 1000}, nil), 200, "raising the tier")
	var rs bcast
	w.must(w.api("POST", "/api/pregon/broadcasts/"+id+"/resend", nil, &rs), 201, "resend")
	if rs.ResendOf != id {
		t.Fatalf("the resend must link to %s: %+v", id, rs)
	}
	rs = w.waitFor(rs.ID, "the resend to complete", func(b bcast) bool { return b.Status == "completed" })
	if rs.Targeted != 2 || rs.Sent != 2 {
		t.Fatalf("resend counters: %+v", rs)
	}
	if b := w.broadcast(id); b.Sent != 5 || b.Failed != 2 {
		t.Fatalf("the original keeps its own counters: %+v", b)
	}

	// The manual path (the seed's method 1): export the failed messages as
	// CSV, import that file with "update existing only" by contact id
	// adding a tag, build a segment on that tag and send to it again.
	failed := w.messageContacts("source_id='"+id+"'&&status='failed'", "listing failed messages")
	csv := w.download("/api/pregon/messages/failed?format=csv&lang=es&broadcast=" + id)
	if !bytes.Contains(csv, []byte("contact id")) || bytes.Count(csv, []byte("\n")) != len(failed)+1 {
		t.Fatalf("the failed-messages CSV must have a header and one line per failure (%d):\n%s", len(failed), csv)
	}
	importTagged(t, w, csv, "transmision fallida 110122")
	var seg2 struct{ ID string }
	w.must(w.api("POST", "/api/collections/segments/records", map[string]any{"name": "Transmisión fallida", "conditions": map[string]any{
		"groups": []any{map[string]any{"conditions": []any{map[string]any{"category": "tag", "operator": "has_any", "value": []string{"transmision fallida 110122"}}}}}}},
		&seg2), 200, "creating the segment of failed contacts")
	again := w.newBroadcast("Promo enero (otra vez)", seg2.ID)
	w.must(w.api("POST", "/api/pregon/broadcasts/"+again+"/send", nil, nil), 200, "sending again")
	b2 := w.waitFor(again, "the manual resend to complete", func(b bcast) bool { return b.Status == "completed" })
	if b2.Targeted != 2 || b2.Sent != 2 {
		t.Fatalf("manual path counters: %+v", b2)
	}
	// The new broadcast went to exactly the contacts whose message failed.
	sentAgain := w.messageContacts("source_id='"+again+"'&&status!='failed'", "listing the messages sent again")
	slices.Sort(failed)
	slices.Sort(sentAgain)
	if !slices.Equal(failed, sentAgain) {
		t.Fatalf("sent again to %v, the failed messages were to %v", sentAgain, failed)
	}
}

// messageContacts returns the contact of each message matching filter.
func (w *bworld) messageContacts(filter, what string) []string {
	w.t.Helper()
	var page struct {
		Items []struct {
			Contact string `json:"contact"`
		} `json:"items"`
	}
	w.must(w.api("GET", "/api/collections/messages/records?perPage=100&filter="+url.QueryEscape(filter), nil, &page), 200, what)
	out := make([]string, len(page.Items))
	for i, m := range page.Items {
		out[i] = m.Contact
	}
	return out
}

// download GETs path and returns the body, which must be a 200.
func (w *bworld) download(path string) []byte {
	w.t.Helper()
	req, err := http.NewRequest("GET", w.srv.URL+path, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", w.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	w.must(res.StatusCode, http.StatusOK, "GET "+path+": "+string(raw))
	return raw
}

// waitMessages waits until filter matches n messages.
func waitMessages(t *testing.T, w *bworld, filter string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var page struct {
			TotalItems int `json:"totalItems"`
		}
		w.api("GET", "/api/collections/messages/records?perPage=1&filter="+url.QueryEscape(filter), nil, &page)
		if page.TotalItems >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %d messages matching %s, have %d; log:\n%s", n, filter, page.TotalItems, w.srv.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// importTagged imports csv with "update existing only" by contact id,
// adding tag, and waits for it to finish.
func importTagged(t *testing.T, w *bworld, csv []byte, tag string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("mode", "update_only")
	mw.WriteField("identifier", "id")
	mw.WriteField("tags", tag)
	fw, _ := mw.CreateFormFile("file", "mensajes-fallidos.csv")
	fw.Write(csv)
	mw.Close()
	var imp struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Updated int    `json:"updated_count"`
	}
	if code := postMultipart(t, w.srv.URL+"/api/pregon/contacts/import", w.token, mw.FormDataContentType(), &body, &imp); code != http.StatusAccepted {
		t.Fatalf("import: %d %+v", code, imp)
	}
	deadline := time.Now().Add(60 * time.Second)
	for imp.Status != "done" {
		if imp.Status == "failed" || time.Now().After(deadline) {
			t.Fatalf("import: %+v", imp)
		}
		time.Sleep(100 * time.Millisecond)
		w.api("GET", "/api/pregon/imports/"+imp.ID, nil, &imp)
	}
}
