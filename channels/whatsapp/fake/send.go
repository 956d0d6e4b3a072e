package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"pregon/channels/fakekit"
)

// request is what the fake reads of a send; it decodes independently of
// the adapter so that the two cannot share a mistake.
type request struct {
	MessagingProduct string `json:"messaging_product"`
	To               string `json:"to"`
	Recipient        string `json:"recipient"`
	Type             string `json:"type"`
	Status           string `json:"status"` // "read" marks an inbound message read
	MessageID        string `json:"message_id"`
	Text             *struct {
		Body string `json:"body"`
	} `json:"text"`
	Template *struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []struct {
			Type       string `json:"type"`
			Parameters []struct {
				Type string `json:"type"`
			} `json:"parameters"`
		} `json:"components"`
	} `json:"template"`
	Image    *media `json:"image"`
	Document *media `json:"document"`
	Audio    *media `json:"audio"`
	Video    *media `json:"video"`
}

type media struct {
	Link    string `json:"link"`
	ID      string `json:"id"`
	Caption string `json:"caption"`
}

// maxBody bounds what the fake reads of a request.
const maxBody = 256 << 10

// reply is one answer to a send: a provider error code or a message id.
type reply struct {
	status int
	code   string
	detail string
	id     string
	to     string
}

func (f *Fake) handleMessages(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	f.InFlight.Inc()
	defer f.InFlight.Dec()
	e := fakekit.Entry{At: start, Method: r.Method, Op: "messages", Sender: r.PathValue("pnid")}
	injected, handled := f.Intercept(w, r)
	if handled {
		e.Duration = time.Since(start)
		f.Log.Add(e)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	rep := f.send(r, body, err, injected)
	e.Recipient, e.Status, e.Code = rep.to, rep.status, rep.code
	if f.Log.KeepBodies() {
		e.Body = body
	}
	if rep.code != "" {
		writeError(w, rep.status, rep.code, rep.detail)
	} else {
		writeAccepted(w, rep.to, rep.id)
	}
	e.Duration = time.Since(start)
	f.Log.Add(e)
}

// send decides the answer in the order Meta's checks appear to run: auth,
// phone number, payload, rate limits, recipient rules, window, templates.
func (f *Fake) send(r *http.Request, body []byte, readErr error, injected string) reply {
	if r.Header.Get("Authorization") != "Bearer "+f.opts.AccessToken {
		return fail("190", "Error validating access token: the session is invalid")
	}
	if r.PathValue("pnid") != f.opts.PhoneNumberID {
		return fail("100", fmt.Sprintf("Unsupported post request. Object with ID '%s' does not exist", r.PathValue("pnid")))
	}
	if readErr != nil {
		return fail("100", "could not read the request body")
	}
	var q request
	if err := json.Unmarshal(body, &q); err != nil {
		return fail("100", "Invalid parameter: body is not JSON: "+err.Error())
	}
	if q.MessagingProduct != "whatsapp" {
		return fail("100", `Invalid parameter: messaging_product must be "whatsapp"`)
	}
	if q.Status == "read" {
		return reply{status: http.StatusOK, id: q.MessageID}
	}
	to := q.To
	if to == "" {
		to = q.Recipient
	}
	if to == "" {
		return fail("131008", "Required parameter is missing: to")
	}
	if injected != "" {
		return failTo(injected, "injected by the test", to)
	}
	now := time.Now()
	if ok, _ := f.rate.Take(f.opts.PhoneNumberID, now); !ok {
		return failTo("130429", "Rate limit hit: cloud API message throughput has been reached", to)
	}
	if ok, _ := f.pair.Take(to, now); !ok {
		return failTo("131056", "(Business Account, Consumer Account) pair rate limit hit", to)
	}
	rule := f.Rules.For(to)
	if rule.Outcome == fakekit.FailSync {
		return failTo(rule.Code, "scripted by the test", to)
	}
	if rep, bad := f.validate(&q, to); bad {
		return rep
	}
	clock := f.Now()
	f.mu.Lock()
	open := clock.Sub(f.lastIn[to]) < 24*time.Hour
	mode := f.window
	admitted := open || f.opts.Tier == 0 || f.tier.admit(to, clock, f.opts.Tier)
	f.mu.Unlock()
	asyncCode := ""
	if rule.Outcome == fakekit.FailAsync {
		asyncCode = rule.Code
	}
	if !open && q.Type != "template" && mode != WindowOff {
		if mode == WindowSync {
			return failTo("131047", "Re-engagement message: more than 24 hours have passed since the recipient last replied", to)
		}
		asyncCode = "131047"
	}
	if !admitted {
		asyncCode = f.opts.TierCode
	}
	id := fmt.Sprintf("wamid.FAKE%06d", f.ids.Next())
	f.scheduleStatuses(id, to, rule, asyncCode)
	return reply{status: http.StatusOK, id: id, to: to}
}

// validate checks the payload like Meta does.
func (f *Fake) validate(q *request, to string) (reply, bool) {
	switch q.Type {
	case "text":
		if q.Text == nil || q.Text.Body == "" {
			return failTo("131008", "Required parameter is missing: text.body", to), true
		}
		if utf8.RuneCountInString(q.Text.Body) > 4096 {
			return failTo("100", "Invalid parameter: text.body is longer than 4096 characters", to), true
		}
	case "template":
		return f.validateTemplate(q, to)
	case "image", "document", "audio", "video":
		m := map[string]*media{"image": q.Image, "document": q.Document, "audio": q.Audio, "video": q.Video}[q.Type]
		if m == nil || (m.Link == "" && m.ID == "") {
			return failTo("131008", "Required parameter is missing: "+q.Type+".link or .id", to), true
		}
		if utf8.RuneCountInString(m.Caption) > 1024 {
			return failTo("100", "Invalid parameter: caption is longer than 1024 characters", to), true
		}
	default:
		return failTo("131051", fmt.Sprintf("Unsupported message type %q", q.Type), to), true
	}
	return reply{}, false
}

func (f *Fake) validateTemplate(q *request, to string) (reply, bool) {
	t := q.Template
	if t == nil || t.Name == "" || t.Language.Code == "" {
		return failTo("131008", "Required parameter is missing: template.name or template.language.code", to), true
	}
	f.mu.Lock()
	known, ok := f.templates[t.Name+"/"+t.Language.Code]
	f.mu.Unlock()
	if !ok {
		return failTo("132001", fmt.Sprintf("Template name does not exist in the translation: %s (%s)", t.Name, t.Language.Code), to), true
	}
	n := 0
	for _, c := range t.Components {
		if c.Type != "body" {
			continue
		}
		for _, p := range c.Parameters {
			if p.Type != "text" {
				return failTo("132012", "Parameter format does not match format in the created template", to), true
			}
			n++
		}
	}
	if n != known.Params {
		return failTo("132000", fmt.Sprintf("Number of parameters does not match the expected number of params: got %d, want %d", n, known.Params), to), true
	}
	return reply{}, false
}

func fail(code, detail string) reply { return failTo(code, detail, "") }

func failTo(code, detail, to string) reply {
	return reply{status: httpStatus(code), code: code, detail: detail, to: to}
}

// httpStatus is the HTTP status Meta usually pairs with a code; adapters
// must not rely on it (131056 has been seen as 400, 403 and 429).
func httpStatus(code string) int {
	switch code {
	case "190", "0":
		return http.StatusUnauthorized
	case "10", "200", "368", "131031":
		return http.StatusForbidden
	case "130429", "4", "80007":
		return http.StatusTooManyRequests
	case "1", "2", "131000", "131016":
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// writeAccepted answers a send as §1.3 shows, built by hand because it is
// the hot path of throughput benchmarks.
func writeAccepted(w http.ResponseWriter, to, id string) {
	b := make([]byte, 0, 160)
	b = append(b, `{"messaging_product":"whatsapp","contacts":[{"input":`...)
	b = appendJSONString(b, to)
	b = append(b, `,"wa_id":`...)
	b = appendJSONString(b, to)
	b = append(b, `}],"messages":[{"id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"message_status":"accepted"}]}`...)
	if to == "" { // mark-as-read answers
		b = append(b[:0], `{"success":true}`...)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, code, detail string) {
	n, _ := strconv.Atoi(code)
	fakekit.WriteJSON(w, status, map[string]any{"error": map[string]any{
		"message":    fmt.Sprintf("(#%s) %s", code, detail),
		"type":       "OAuthException",
		"code":       n,
		"error_data": map[string]string{"messaging_product": "whatsapp", "details": detail},
		"fbtrace_id": "AFakeTrace",
	}})
}

// appendJSONString quotes s; plain ASCII (every id and phone) takes the
// fast path, anything else goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
