package twilio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"pregon/channels"
)

// Send creates one Message resource.
func (a *Adapter) Send(ctx context.Context, m channels.OutMessage) (channels.SendResult, error) {
	form, err := a.form(m)
	if err != nil {
		return channels.SendResult{}, err
	}
	resp, err := a.call(ctx, http.MethodPost, a.sendURL, form)
	if err != nil {
		return channels.SendResult{}, err
	}
	var out struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil || out.SID == "" {
		// Twilio created something: never retry into a duplicate.
		return channels.SendResult{}, &channels.Error{Class: channels.ClassPermanent, Code: "no_sid",
			Detail: fmt.Sprintf("Twilio answered %d without a message sid", resp.Status), HTTPStatus: resp.Status}
	}
	return channels.SendResult{ProviderID: out.SID}, nil
}

// form builds the Messages API form, refusing what Twilio would refuse.
func (a *Adapter) form(m channels.OutMessage) (url.Values, error) {
	to := strings.TrimPrefix(strings.TrimSpace(m.To), "whatsapp:")
	if !isE164(to) {
		return nil, channels.InvalidMessage(fmt.Sprintf("recipient %q is not an E.164 number such as +51987654321", m.To))
	}
	f := url.Values{"To": {address(a.whatsapp, to)}}
	if a.service != "" {
		f.Set("MessagingServiceSid", a.service)
	} else {
		f.Set("From", a.from)
	}
	if m.StatusCallbackURL != "" {
		f.Set("StatusCallback", m.StatusCallbackURL)
	}
	c := m.Content
	switch c.Type() {
	case channels.ContentText:
		if n := utf8.RuneCountInString(c.Text); n > MaxBodyLen {
			return nil, channels.InvalidMessage(fmt.Sprintf("text is %d characters; Twilio allows %d", n, MaxBodyLen))
		}
		f.Set("Body", c.Text)
	case channels.ContentMedia:
		u, err := url.Parse(c.Media.URL)
		if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
			return nil, channels.InvalidMessage(fmt.Sprintf("media URL %q must be a public http(s) link Twilio can fetch", c.Media.URL))
		}
		if n := utf8.RuneCountInString(c.Media.Caption); n > MaxBodyLen {
			return nil, channels.InvalidMessage(fmt.Sprintf("caption is %d characters; Twilio allows %d", n, MaxBodyLen))
		}
		f.Set("MediaUrl", c.Media.URL)
		if c.Media.Caption != "" {
			f.Set("Body", c.Media.Caption)
		}
	case channels.ContentTemplate:
		if !a.whatsapp {
			return nil, channels.InvalidMessage("twilio_sms sends text or media; templates are for twilio_whatsapp")
		}
		t := c.Template
		if !strings.HasPrefix(t.Name, ContentSIDPrefix) {
			return nil, channels.InvalidMessage(fmt.Sprintf("a Twilio template is a Content SID (HX…), got %q", t.Name))
		}
		f.Set("ContentSid", t.Name)
		if len(t.Params) > 0 {
			vars := make(map[string]string, len(t.Params))
			for i, p := range t.Params {
				vars[strconv.Itoa(i+1)] = p
			}
			raw, _ := json.Marshal(vars)
			f.Set("ContentVariables", string(raw))
		}
	default:
		return nil, channels.InvalidMessage("the message has no content: set text, a template or media")
	}
	return f, nil
}

// call performs one authenticated REST request; non-2xx answers come back
// as classified errors.
func (a *Adapter) call(ctx context.Context, method, u string, form url.Values) (channels.Response, error) {
	body := strings.NewReader("")
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return channels.Response{}, fmt.Errorf("building the Twilio request: %s", channels.RedactError(err, a.secrets...))
	}
	req.SetBasicAuth(a.auth[0], a.auth[1])
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return channels.Call(a.http, req, a.classify, a.secrets...)
}

func (a *Adapter) classify(status int, body []byte) *channels.Error {
	return classifyResponse(status, body, a.secrets)
}

// Test reads the Account resource: it checks the SID and token, and that
// the account is active.
func (a *Adapter) Test(ctx context.Context) error {
	u := strings.TrimSuffix(a.sendURL, "/Messages.json") + ".json"
	resp, err := a.call(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("checking the Twilio account: %w", err)
	}
	var acct struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(resp.Body, &acct); err == nil && acct.Status != "" && acct.Status != "active" {
		return &channels.Error{Class: channels.ClassConfig, Code: "account_" + acct.Status,
			Detail: fmt.Sprintf("the Twilio account is %s", acct.Status)}
	}
	return nil
}
