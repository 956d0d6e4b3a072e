package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"

	"pregon/channels"
)

// wireMessage is the body of POST /{version}/{phone-number-id}/messages.
type wireMessage struct {
	MessagingProduct string        `json:"messaging_product"`
	RecipientType    string        `json:"recipient_type"`
	To               string        `json:"to,omitempty"`
	Recipient        string        `json:"recipient,omitempty"` // business-scoped user id (BSUID)
	Type             string        `json:"type"`
	Text             *wireText     `json:"text,omitempty"`
	Template         *wireTemplate `json:"template,omitempty"`
	Image            *wireMedia    `json:"image,omitempty"`
	Document         *wireMedia    `json:"document,omitempty"`
	Audio            *wireMedia    `json:"audio,omitempty"`
	Video            *wireMedia    `json:"video,omitempty"`
}

type wireText struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url"`
}

type wireTemplate struct {
	Name       string          `json:"name"`
	Language   wireLanguage    `json:"language"`
	Components []wireComponent `json:"components,omitempty"`
}

type wireLanguage struct {
	Code string `json:"code"`
}

type wireComponent struct {
	Type       string      `json:"type"`
	Parameters []wireParam `json:"parameters"`
}

type wireParam struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type wireMedia struct {
	Link     string `json:"link"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type sendResponse struct {
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
}

// Send posts one message to the Graph API.
func (a *Adapter) Send(ctx context.Context, m channels.OutMessage) (channels.SendResult, error) {
	body, err := buildMessage(m)
	if err != nil {
		return channels.SendResult{}, err
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return channels.SendResult{}, fmt.Errorf("encoding the WhatsApp message: %w", err)
	}
	resp, err := a.call(ctx, http.MethodPost, a.sendURL, raw)
	if err != nil {
		return channels.SendResult{}, err
	}
	var out sendResponse
	if err := json.Unmarshal(resp.Body, &out); err != nil || len(out.Messages) == 0 || out.Messages[0].ID == "" {
		// Meta took the request, so the message may go out: never retry it.
		return channels.SendResult{}, &channels.Error{Class: channels.ClassPermanent, Code: "no_message_id",
			Detail: "WhatsApp answered 200 without a message id", HTTPStatus: resp.Status}
	}
	return channels.SendResult{ProviderID: out.Messages[0].ID}, nil
}

// call performs one authenticated Graph request and turns any non-2xx
// answer into a classified *channels.Error.
func (a *Adapter) call(ctx context.Context, method, u string, body []byte) (channels.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return channels.Response{}, fmt.Errorf("building the WhatsApp request: %s", channels.RedactError(err, a.secrets...))
	}
	req.Header.Set("Authorization", a.auth)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return channels.Call(a.http, req, a.classify, a.secrets...)
}

func (a *Adapter) classify(status int, body []byte) *channels.Error {
	return classifyResponse(status, body, a.secrets)
}

// Recipient returns the wire fields for one of our identifiers: E.164
// phones go in "to" as digits without "+"; business-scoped user ids (users
// known only by a WhatsApp username, e.g. "US.1234") go in "recipient".
func Recipient(id string) (to, recipient string, err error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return "", "", fmt.Errorf("the message has no recipient")
	}
	digits := strings.TrimPrefix(id, "+")
	if isDigits(digits) {
		if len(digits) < 6 || len(digits) > 15 {
			return "", "", fmt.Errorf("recipient %q is not an E.164 phone number", id)
		}
		return digits, "", nil
	}
	if strings.HasPrefix(id, "+") {
		return "", "", fmt.Errorf("recipient %q is not an E.164 phone number", id)
	}
	return "", id, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// buildMessage validates m and shapes it for the wire; what Meta would
// refuse is refused here, permanently, with what to fix.
func buildMessage(m channels.OutMessage) (*wireMessage, error) {
	to, recipient, err := Recipient(m.To)
	if err != nil {
		return nil, channels.InvalidMessage(err.Error())
	}
	w := &wireMessage{MessagingProduct: "whatsapp", RecipientType: "individual", To: to, Recipient: recipient}
	c := m.Content
	switch c.Type() {
	case channels.ContentText:
		if n := utf8.RuneCountInString(c.Text); n > MaxTextLen {
			return nil, channels.InvalidMessage(fmt.Sprintf("text is %d characters; WhatsApp allows %d", n, MaxTextLen))
		}
		w.Type, w.Text = "text", &wireText{Body: c.Text}
	case channels.ContentTemplate:
		t := c.Template
		if t.Name == "" || t.Language == "" {
			return nil, channels.InvalidMessage("a WhatsApp template needs its name and language code (e.g. en_US)")
		}
		w.Type = "template"
		w.Template = &wireTemplate{Name: t.Name, Language: wireLanguage{Code: t.Language}}
		if len(t.Params) > 0 {
			ps := make([]wireParam, len(t.Params))
			for i, p := range t.Params {
				ps[i] = wireParam{Type: "text", Text: p}
			}
			w.Template.Components = []wireComponent{{Type: "body", Parameters: ps}}
		}
	case channels.ContentMedia:
		if err := mediaInto(w, c.Media); err != nil {
			return nil, err
		}
	default:
		return nil, channels.InvalidMessage("the message has no content: set text, a template or media")
	}
	return w, nil
}

func mediaInto(w *wireMessage, md *channels.Media) error {
	u, err := url.Parse(md.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return channels.InvalidMessage(fmt.Sprintf("media URL %q must be a public http(s) link WhatsApp can fetch", md.URL))
	}
	if n := utf8.RuneCountInString(md.Caption); n > MaxCaptionLen {
		return channels.InvalidMessage(fmt.Sprintf("caption is %d characters; WhatsApp allows %d", n, MaxCaptionLen))
	}
	wm := &wireMedia{Link: md.URL, Caption: md.Caption}
	switch md.Kind {
	case "", "image":
		w.Type, w.Image = "image", wm
	case "video":
		w.Type, w.Video = "video", wm
	case "document":
		wm.Filename = path.Base(u.Path)
		w.Type, w.Document = "document", wm
	case "audio":
		if md.Caption != "" {
			return channels.InvalidMessage("WhatsApp audio messages cannot carry a caption")
		}
		w.Type, w.Audio = "audio", wm
	default:
		return channels.InvalidMessage(fmt.Sprintf("media kind %q is not one of image, document, audio, video", md.Kind))
	}
	return nil
}

// Test checks the token and phone number id by reading the phone-number object.
func (a *Adapter) Test(ctx context.Context) error {
	_, err := a.call(ctx, http.MethodGet, a.base+"/"+a.pnid+"?fields=display_phone_number,verified_name", nil)
	if err != nil {
		return fmt.Errorf("checking WhatsApp phone number %s: %w", a.pnid, err)
	}
	return nil
}
