package fake

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"pregon/channels/fakekit"
	"pregon/channels/twilio"
)

// callback is where one message's statuses go and what they name.
type callback struct {
	url, sid, to, from, service string
	whatsapp                    bool
}

// signed builds a form webhook signed over the exact URL and every parameter.
func (f *Fake) signed(target string, p url.Values, kind string) fakekit.Webhook {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set(twilio.SignatureHeader, twilio.Sign(f.opts.AuthToken, target, p))
	return fakekit.Webhook{URL: target, Header: h, Body: []byte(p.Encode()), SigHeader: twilio.SignatureHeader, Kind: kind}
}

// scheduleStatuses queues sent (when the sender's queue reaches the
// message), then delivered/read or undelivered/failed. Codes 300xx are
// carrier failures after "sent" (undelivered); others fail before it.
func (f *Fake) scheduleStatuses(cb callback, wait time.Duration, rule fakekit.Rule, failCode string) {
	if cb.url == "" || rule.Outcome == fakekit.NeverStatus && failCode == "" {
		return
	}
	after := rule.After
	if after == 0 {
		after = f.opts.DeliverAfter
	}
	type step struct {
		status string
		delay  time.Duration
	}
	var steps []step
	switch {
	case failCode == "30036":
		steps = []step{{"failed", wait}}
	case strings.HasPrefix(failCode, "300"):
		steps = []step{{"sent", wait}, {"undelivered", wait + after}}
	case failCode != "":
		steps = []step{{"failed", wait}}
	default:
		steps = []step{{"sent", wait}, {"delivered", wait + after}}
		if rule.Outcome == fakekit.Read && cb.whatsapp {
			steps = append(steps, step{"read", wait + after})
		}
	}
	delays := make([]time.Duration, len(steps))
	hooks := make([]fakekit.Webhook, len(steps))
	for i, s := range steps {
		p := url.Values{
			"MessageSid": {cb.sid}, "SmsSid": {cb.sid}, "MessageStatus": {s.status}, "SmsStatus": {s.status},
			"AccountSid": {f.opts.AccountSID}, "To": {cb.to}, "ApiVersion": {"2010-04-01"},
		}
		if cb.from != "" {
			p.Set("From", cb.from)
		}
		if cb.service != "" {
			p.Set("MessagingServiceSid", cb.service)
		}
		if s.status == "failed" || s.status == "undelivered" {
			p.Set("ErrorCode", failCode)
		}
		if cb.whatsapp {
			p.Set("ChannelPrefix", "whatsapp")
			p.Set("ChannelToAddress", strings.TrimPrefix(cb.to, "whatsapp:"))
		} else if s.status == "delivered" || s.status == "undelivered" {
			p.Set("RawDlrDoneDate", f.Now().Add(s.delay).UTC().Format("0601021504"))
		}
		delays[i], hooks[i] = s.delay, f.signed(cb.url, p, "status:"+s.status)
	}
	f.Emitter.Schedule(delays, hooks)
}

// Inbound is a message the fake's user sends to one of the account's numbers.
type Inbound struct {
	From     string `json:"from"` // E.164
	To       string `json:"to"`   // default: the first owned number
	Body     string `json:"body"`
	WhatsApp bool   `json:"whatsapp"`
	Name     string `json:"name"` // WhatsApp ProfileName
	MediaURL string `json:"media_url"`
	MediaCT  string `json:"media_content_type"`
}

// Inbound records the message (STOP/START keywords, the WhatsApp window)
// and posts it to the inbound URL. It returns the message sid.
func (f *Fake) Inbound(in Inbound) (string, error) {
	if !e164(in.From) {
		return "", fmt.Errorf("inbound from %q: want an E.164 number", in.From)
	}
	if in.To == "" {
		in.To = f.opts.Numbers[0]
	}
	word := strings.ToUpper(strings.TrimSpace(in.Body))
	f.mu.Lock()
	switch word {
	case "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT":
		if !in.WhatsApp {
			f.stopped[in.From] = true
		}
	case "START", "UNSTOP", "YES":
		delete(f.stopped, in.From)
	}
	if in.WhatsApp {
		f.lastIn[in.From] = f.Now()
	}
	f.mu.Unlock()
	sid := fmt.Sprintf("SMf%031x", f.sms.Next()) // inbound sids differ from outbound ones
	from, to := in.From, in.To
	if in.WhatsApp {
		from, to = "whatsapp:"+from, "whatsapp:"+to
	}
	p := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {f.opts.AccountSID},
		"From": {from}, "To": {to}, "Body": {in.Body}, "NumSegments": {"1"}, "SmsStatus": {"received"},
		"ApiVersion": {"2010-04-01"}, "NumMedia": {"0"},
	}
	if in.MediaURL != "" {
		p.Set("NumMedia", "1")
		p.Set("MediaUrl0", in.MediaURL)
		p.Set("MediaContentType0", in.MediaCT)
	}
	if in.WhatsApp {
		p.Set("ProfileName", in.Name)
		p.Set("WaId", strings.TrimPrefix(in.From, "+"))
	} else {
		p.Set("FromCountry", "US")
		p.Set("ToCountry", "US")
	}
	target := f.inbound.Load().(string)
	if target == "" {
		return sid, nil // state updated; nobody to tell
	}
	f.Emitter.Emit(f.signed(target, p, "inbound"))
	return sid, nil
}

func (f *Fake) controlRoutes(mux *http.ServeMux) {
	fakekit.CallbackRoute(mux, f.SetInboundURL)
	fakekit.InboundRoute(mux, f.Inbound)
}
