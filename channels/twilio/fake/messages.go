package fake

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"pregon/channels/fakekit"
)

// twErr is one Twilio REST error.
type twErr struct {
	status int
	code   int
	msg    string
}

func (e twErr) write(w http.ResponseWriter) {
	fakekit.WriteJSON(w, e.status, map[string]any{
		"code": e.code, "message": e.msg, "status": e.status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", e.code),
	})
}

// statusFor is the HTTP status Twilio pairs with an API error code.
func statusFor(code int) int {
	switch code {
	case 20003:
		return http.StatusUnauthorized
	case 20404:
		return http.StatusNotFound
	case 20429:
		return http.StatusTooManyRequests
	case 20500:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

func newErr(code int, msg string) *twErr {
	return &twErr{status: statusFor(code), code: code, msg: msg}
}

func (f *Fake) basicAuth(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	return ok && u == f.opts.AccountSID && p == f.opts.AuthToken
}

func (f *Fake) handleAccount(w http.ResponseWriter, r *http.Request) {
	if !f.basicAuth(r) {
		newErr(20003, "Authenticate").write(w)
		return
	}
	if r.PathValue("file") != f.opts.AccountSID+".json" {
		newErr(20404, "The requested resource was not found").write(w)
		return
	}
	fakekit.WriteJSON(w, http.StatusOK, map[string]any{
		"sid": f.opts.AccountSID, "friendly_name": "Pregón fake", "status": "active", "type": "Full",
	})
}

// handleCreate is POST Messages.json.
func (f *Fake) handleCreate(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	n := f.InFlight.Inc()
	defer f.InFlight.Dec()
	e := fakekit.Entry{At: start, Method: r.Method, Op: "messages"}
	finish := func(status int, code int) {
		e.Status, e.Duration = status, time.Since(start)
		if code != 0 {
			e.Code = strconv.Itoa(code)
		}
		f.Log.Add(e)
	}
	if f.opts.MaxInFlight > 0 && n > int64(f.opts.MaxInFlight) {
		// Twilio refuses without creating the message.
		err := newErr(20429, "Too Many Requests")
		err.write(w)
		finish(err.status, err.code)
		return
	}
	injected, handled := f.Intercept(w, r)
	if handled {
		finish(0, 0)
		return
	}
	if err := r.ParseForm(); err != nil {
		er := newErr(21602, "Message body is required: the form could not be read")
		er.write(w)
		finish(er.status, er.code)
		return
	}
	p := r.PostForm
	e.Recipient, e.Sender = p.Get("To"), p.Get("From")+p.Get("MessagingServiceSid")
	if f.Log.KeepBodies() {
		e.Body = []byte(p.Encode())
	}
	msg, terr := f.create(r, p, injected)
	if terr != nil {
		terr.write(w)
		finish(terr.status, terr.code)
		return
	}
	fakekit.WriteJSON(w, http.StatusCreated, msg)
	finish(http.StatusCreated, 0)
}

// create validates like Twilio and queues the message.
func (f *Fake) create(r *http.Request, p url.Values, injected string) (map[string]any, *twErr) {
	if !f.basicAuth(r) || r.PathValue("sid") != f.opts.AccountSID {
		return nil, newErr(20003, "Authenticate")
	}
	if injected != "" {
		code, _ := strconv.Atoi(injected)
		return nil, newErr(code, "injected by the test")
	}
	to, from, service := p.Get("To"), p.Get("From"), p.Get("MessagingServiceSid")
	whatsapp := strings.HasPrefix(to, "whatsapp:")
	number := strings.TrimPrefix(to, "whatsapp:")
	if !e164(number) {
		return nil, newErr(21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
	}
	switch {
	case service != "":
		if service != f.opts.MessagingServiceSID {
			return nil, newErr(21606, "The messaging service does not exist on this account.")
		}
	case from == "":
		return nil, newErr(21603, "A 'From' phone number is required.")
	default:
		f.mu.Lock()
		mine := f.owned[strings.TrimPrefix(from, "whatsapp:")]
		f.mu.Unlock()
		if !mine || strings.HasPrefix(from, "whatsapp:") != whatsapp {
			return nil, newErr(21606, fmt.Sprintf("The From phone number %s is not a valid, SMS-capable inbound phone number or short code for your account.", from))
		}
	}
	body, media, content := p.Get("Body"), p["MediaUrl"], p.Get("ContentSid")
	if body == "" && len(media) == 0 && content == "" {
		return nil, newErr(21602, "Message body is required.")
	}
	if utf8.RuneCountInString(body) > 1600 {
		return nil, newErr(21617, "The concatenated message body exceeds the 1600 character limit.")
	}
	for _, pre := range f.opts.BlockedPrefixes {
		if strings.HasPrefix(number, pre) {
			return nil, newErr(21408, fmt.Sprintf("Permission to send an SMS has not been enabled for the region indicated by the 'To' number: %s.", number))
		}
	}
	for _, nm := range f.opts.NonMobile {
		if nm == number {
			return nil, newErr(21614, fmt.Sprintf("'To' number %s is not a valid mobile number", number))
		}
	}
	f.mu.Lock()
	stopped := f.stopped[number]
	f.mu.Unlock()
	if stopped {
		return nil, newErr(21610, "Attempt to send to unsubscribed recipient")
	}
	rule := f.Rules.For(to)
	if rule.Outcome == fakekit.FailSync {
		code, _ := strconv.Atoi(rule.Code)
		return nil, newErr(code, "scripted by the test")
	}
	return f.queue(p, to, whatsapp, number, rule)
}

// queue assigns the sid, computes when the sender's queue reaches the
// message, and schedules its callbacks.
func (f *Fake) queue(p url.Values, to string, whatsapp bool, number string, rule fakekit.Rule) (map[string]any, *twErr) {
	now := f.Now()
	sender := p.Get("From") + p.Get("MessagingServiceSid")
	body := p.Get("Body")
	segments := Segments(body)
	validity := f.opts.ValidityPeriod
	if v, err := strconv.Atoi(p.Get("ValidityPeriod")); err == nil && v > 0 {
		validity = time.Duration(v) * time.Second
	}
	var wait time.Duration
	f.mu.Lock()
	if rate := f.opts.SegmentsPerSecond; rate > 0 {
		free := f.freeAt[sender]
		if free.Before(now) {
			free = now
		}
		if free.Sub(now) > 36000*time.Second {
			f.mu.Unlock()
			return nil, newErr(21611, "This 'From' number has exceeded the maximum number of queued messages")
		}
		wait = free.Sub(now)
		f.freeAt[sender] = free.Add(time.Duration(float64(segments) / rate * float64(time.Second)))
	}
	windowOpen := now.Sub(f.lastIn[number]) < 24*time.Hour
	f.mu.Unlock()

	prefix, seq := "SM", &f.sms
	if len(p["MediaUrl"]) > 0 {
		prefix, seq = "MM", &f.mms
	}
	sid := fmt.Sprintf("%s%032x", prefix, seq.Next())
	failCode := ""
	switch {
	case wait > validity:
		failCode = "30036"
	case whatsapp && !windowOpen && p.Get("ContentSid") == "" && !f.opts.IgnoreWindow:
		failCode = "63016"
	case rule.Outcome == fakekit.FailAsync:
		failCode = rule.Code
	}
	f.scheduleStatuses(callback{
		url: p.Get("StatusCallback"), sid: sid, to: to, from: p.Get("From"), service: p.Get("MessagingServiceSid"),
		whatsapp: whatsapp,
	}, wait, rule, failCode)
	return map[string]any{
		"sid": sid, "account_sid": f.opts.AccountSID, "status": "queued", "to": to, "from": nullable(p.Get("From")),
		"messaging_service_sid": nullable(p.Get("MessagingServiceSid")), "body": body,
		"num_segments": strconv.Itoa(segments), "num_media": strconv.Itoa(len(p["MediaUrl"])),
		"direction": "outbound-api", "api_version": "2010-04-01", "error_code": nil, "error_message": nil,
		"date_created": now.Format(time.RFC1123Z), "date_updated": now.Format(time.RFC1123Z), "date_sent": nil,
		"uri": "/2010-04-01/Accounts/" + f.opts.AccountSID + "/Messages/" + sid + ".json",
	}, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func e164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
