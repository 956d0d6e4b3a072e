package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"pregon/channels/fakekit"
	"pregon/channels/whatsapp"
)

// change is one entry.changes[].value of a webhook.
type change struct {
	MessagingProduct string            `json:"messaging_product"`
	Metadata         map[string]string `json:"metadata"`
	Contacts         []map[string]any  `json:"contacts,omitempty"`
	Messages         []map[string]any  `json:"messages,omitempty"`
	Statuses         []map[string]any  `json:"statuses,omitempty"`
	Errors           []map[string]any  `json:"errors,omitempty"`
	UserPreferences  []map[string]any  `json:"user_preferences,omitempty"`
}

// envelope wraps one messages change the way Meta does, serialises it with
// \u escapes for non-ASCII, and signs it with the app secret.
func (f *Fake) envelope(v change, kind string) fakekit.Webhook {
	return f.envelopeField("messages", v, kind)
}

// envelopeField is envelope for a change of any subscribed field.
func (f *Fake) envelopeField(field string, v change, kind string) fakekit.Webhook {
	v.MessagingProduct = "whatsapp"
	v.Metadata = map[string]string{"display_phone_number": f.opts.DisplayPhone, "phone_number_id": f.opts.PhoneNumberID}
	doc := map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{
			"id":      f.opts.WABAID,
			"changes": []any{map[string]any{"field": field, "value": v}},
		}},
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("fake: encoding a webhook: %v", err)) // only maps of strings: cannot fail
	}
	body := fakekit.EscapeNonASCII(raw)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(whatsapp.SignatureHeader, whatsapp.Sign([]byte(f.opts.AppSecret), body))
	return fakekit.Webhook{URL: f.Callback(), Header: h, Body: body, SigHeader: whatsapp.SignatureHeader, Kind: kind}
}

// SignedBody returns body as Meta would send it to the callback: escaped
// and signed. Tests use it to post hand-made payloads.
func (f *Fake) SignedBody(body []byte) (escaped []byte, signature string) {
	escaped = fakekit.EscapeNonASCII(body)
	return escaped, whatsapp.Sign([]byte(f.opts.AppSecret), escaped)
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// scheduleStatuses queues sent, then delivered/read or failed, per the
// recipient's rule. failCode, when set, overrides the rule (window, tier).
func (f *Fake) scheduleStatuses(id, to string, rule fakekit.Rule, failCode string) {
	if f.opts.NoStatuses || f.Callback() == "" || rule.Outcome == fakekit.NeverStatus && failCode == "" {
		return
	}
	after := rule.After
	if after == 0 {
		after = f.opts.DeliverAfter
	}
	now := f.Now()
	type step struct {
		status string
		delay  time.Duration
		code   string
	}
	steps := []step{{"sent", 0, ""}}
	switch {
	case failCode != "":
		steps = []step{{"failed", after, failCode}}
	case rule.Outcome == fakekit.Read:
		steps = append(steps, step{"delivered", after, ""}, step{"read", after, ""})
	default:
		steps = append(steps, step{"delivered", after, ""})
	}
	delays := make([]time.Duration, len(steps))
	hooks := make([]fakekit.Webhook, len(steps))
	for i, s := range steps {
		delays[i] = s.delay
		st := map[string]any{"id": id, "status": s.status, "timestamp": unix(now.Add(s.delay)), "recipient_id": to}
		if s.code != "" {
			n, _ := strconv.Atoi(s.code)
			title := titles[s.code]
			if title == "" {
				title = "Message failed"
			}
			st["errors"] = []any{map[string]any{"code": n, "title": title, "message": title,
				"error_data": map[string]string{"details": title + " (fake)"}}}
		} else {
			st["conversation"] = map[string]any{"id": "CONV" + id[len("wamid."):], "origin": map[string]string{"type": "marketing"}}
			st["pricing"] = map[string]any{"billable": true, "pricing_model": "PMP", "category": "marketing", "type": "regular"}
		}
		hooks[i] = f.envelope(change{Statuses: []map[string]any{st}}, "status:"+s.status)
	}
	f.Emitter.Schedule(delays, hooks)
}

// titles are Meta's titles for the codes the fake emits asynchronously.
var titles = map[string]string{
	"131047": "Re-engagement message",
	"131049": "This message was not delivered to maintain healthy ecosystem engagement.",
	"131050": "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.",
	"131026": "Message undeliverable",
	"130472": "User's number is part of an experiment",
	"131056": "(Business Account, Consumer Account) pair rate limit hit",
}

// Inbound is a message the fake's user sends to the business.
type Inbound struct {
	// From is the sender's phone (digits, "+" allowed); leave it empty and
	// set UserID for a user known only by a business-scoped user id.
	From   string `json:"from"`
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	Text   string `json:"text"`
	// MediaKind (image, document, audio, video) with Caption sends media
	// instead of text; the bytes are served at the Graph media URL.
	MediaKind string `json:"media_kind"`
	Caption   string `json:"caption"`
	// Button answers a template quick-reply button with this label.
	Button string `json:"button"`
}

// Inbound records the user's message (opening their 24-hour window on the
// fake's clock) and posts it to the callback, when one is set. It returns
// the message id.
func (f *Fake) Inbound(in Inbound) (string, error) {
	who := strings.TrimPrefix(in.From, "+")
	if who == "" {
		who = in.UserID
	}
	if who == "" {
		return "", fmt.Errorf("an inbound message needs from (a phone) or user_id")
	}
	now := f.Now()
	f.mu.Lock()
	f.lastIn[who] = now
	f.mu.Unlock()
	id := fmt.Sprintf("wamid.FAKEIN%06d", f.ids.Next())
	msg := map[string]any{"id": id, "timestamp": unix(now)}
	contact := map[string]any{"profile": map[string]string{"name": in.Name}}
	if in.From != "" {
		msg["from"], contact["wa_id"] = who, who
	} else {
		msg["from_user_id"], contact["user_id"] = who, who
	}
	switch {
	case in.MediaKind != "":
		mid := fmt.Sprintf("%d", 900000000000000+f.media.Next())
		f.mu.Lock()
		f.blobs[mid] = blob{mime: mimeFor(in.MediaKind), data: []byte("fake " + in.MediaKind + " bytes")}
		f.mu.Unlock()
		m := map[string]string{"id": mid, "mime_type": mimeFor(in.MediaKind), "sha256": "fake"}
		if in.Caption != "" {
			m["caption"] = in.Caption
		}
		msg["type"], msg[in.MediaKind] = in.MediaKind, m
	case in.Button != "":
		msg["type"], msg["button"] = "button", map[string]string{"text": in.Button, "payload": in.Button}
	default:
		msg["type"], msg["text"] = "text", map[string]string{"body": in.Text}
	}
	if f.Callback() == "" {
		return id, nil // the window is open; there is just nobody to tell
	}
	f.Emitter.Emit(f.envelope(change{Contacts: []map[string]any{contact}, Messages: []map[string]any{msg}}, "inbound"))
	return id, nil
}

func mimeFor(kind string) string {
	switch kind {
	case "document":
		return "application/pdf"
	case "audio":
		return "audio/ogg"
	case "video":
		return "video/mp4"
	}
	return "image/jpeg"
}

// Preference is a WhatsApp user stopping or resuming the business's
// marketing messages in WhatsApp's own settings.
type Preference struct {
	From  string `json:"from"` // the user's phone (digits, "+" allowed)
	Name  string `json:"name"`
	Value string `json:"value"` // "stop" or "resume"
	// Category defaults to marketing_messages, the only one Meta sends.
	Category string `json:"category"`
	// At defaults to the fake's clock.
	At time.Time `json:"at"`
}

// PreferenceDetail is Meta's wording of a preference value.
func PreferenceDetail(value string) string {
	return "User requested to " + value + " marketing messages"
}

// UserPreference builds the signed user_preferences webhook Meta sends for
// p and posts it to the callback, when one is set. The webhook is returned
// so that tests can post it through their own client.
func (f *Fake) UserPreference(p Preference) (fakekit.Webhook, error) {
	who := strings.TrimPrefix(p.From, "+")
	if who == "" || (p.Value != "stop" && p.Value != "resume") {
		return fakekit.Webhook{}, fmt.Errorf("a preference needs from (a phone) and value stop or resume")
	}
	if p.Category == "" {
		p.Category = "marketing_messages"
	}
	if p.At.IsZero() {
		p.At = f.Now()
	}
	pref := map[string]any{"wa_id": who, "detail": PreferenceDetail(p.Value), "category": p.Category,
		"value": p.Value, "timestamp": p.At.Unix()}
	contact := map[string]any{"profile": map[string]string{"name": p.Name}, "wa_id": who}
	h := f.envelopeField("user_preferences", change{Contacts: []map[string]any{contact},
		UserPreferences: []map[string]any{pref}}, "user_preferences:"+p.Value)
	if f.Callback() != "" {
		f.Emitter.Emit(h)
	}
	return h, nil
}

// AccountError builds the signed messages webhook whose value.errors
// reports a problem with the business account (131031 "Business account
// locked"), and posts it to the callback when one is set.
func (f *Fake) AccountError(code int, title, details string) fakekit.Webhook {
	e := map[string]any{"code": code, "title": title, "message": title, "error_data": map[string]string{"details": details}}
	h := f.envelope(change{Errors: []map[string]any{e}}, "account_error")
	if f.Callback() != "" {
		f.Emitter.Emit(h)
	}
	return h
}
