package twilio

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"pregon/channels"
)

// Verify checks X-Twilio-Signature over the public URL (query included)
// and every POST parameter received: Twilio adds parameters without
// notice, so none is left out.
func (a *Adapter) Verify(r *channels.WebhookRequest) error {
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return channels.MissingCredential("the webhook has no " + SignatureHeader + " header")
	}
	if r.PublicURL == nil {
		return channels.BadCredential("the webhook's public URL is unknown, so its signature cannot be checked")
	}
	var params url.Values
	if r.Method == http.MethodPost {
		var err error
		if params, err = url.ParseQuery(string(r.Body)); err != nil {
			return channels.BadCredential("the webhook body is not a form: " + err.Error())
		}
	}
	if !ValidSignature(a.tokens, sig, r.PublicURL, params) {
		return channels.BadCredential(SignatureHeader + " does not match: check the auth token and that the public URL is the one Twilio calls")
	}
	return nil
}

// Handshake: Twilio has none.
func (a *Adapter) Handshake(*channels.WebhookRequest) (int, []byte, bool) { return 0, nil, false }

// EmptyTwiML tells Twilio "no reply" to an inbound message.
const EmptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// Parse reads a status callback or an inbound message.
func (a *Adapter) Parse(r *channels.WebhookRequest) (channels.WebhookBatch, error) {
	p, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return channels.WebhookBatch{}, fmt.Errorf("reading the Twilio webhook form: %w", err)
	}
	sid := p.Get("MessageSid")
	if sid == "" {
		sid = p.Get("SmsSid")
	}
	if sid == "" {
		return channels.WebhookBatch{}, fmt.Errorf("the Twilio webhook has no MessageSid")
	}
	st := p.Get("MessageStatus")
	if st == "" || st == "received" || p.Get("SmsStatus") == "received" {
		return a.inbound(sid, p)
	}
	return a.status(sid, st, p, r.PublicURL)
}

func (a *Adapter) status(sid, st string, p url.Values, pub *url.URL) (channels.WebhookBatch, error) {
	u := channels.StatusUpdate{ProviderID: sid, Timestamp: a.now()}
	if pub != nil {
		u.MessageID = pub.Query().Get(MessageIDParam)
	}
	switch st {
	case "accepted", "scheduled", "queued", "sending":
		u.Status = channels.StatusQueued
	case "sent":
		u.Status = channels.StatusSent
	case "delivered":
		u.Status = channels.StatusDelivered
	case "read":
		u.Status = channels.StatusRead
	case "undelivered", "failed", "canceled":
		u.Status = channels.StatusFailed
		u.Err = callbackError(st, p)
	default:
		return channels.WebhookBatch{}, nil // a status Twilio added later: nothing to record
	}
	return channels.WebhookBatch{Statuses: []channels.StatusUpdate{u}}, nil
}

func callbackError(st string, p url.Values) *channels.Error {
	detail := "Twilio reports the message " + st
	if m := p.Get("ErrorMessage"); m != "" {
		detail += ": " + m
	}
	code, err := strconv.Atoi(p.Get("ErrorCode"))
	if err != nil || code == 0 {
		return &channels.Error{Class: channels.ClassPermanent, Code: st, Detail: detail}
	}
	return Classify(code, detail, 0)
}

// optOutWords are the keywords Twilio enforces on long codes and toll-free
// numbers; START/UNSTOP undo them (channel-contracts.md §3.5).
var optOutWords = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true}
var optInWords = map[string]bool{"START": true, "UNSTOP": true, "YES": true}

func (a *Adapter) inbound(sid string, p url.Values) (channels.WebhookBatch, error) {
	from := strings.TrimPrefix(p.Get("From"), "whatsapp:")
	if from == "" {
		return channels.WebhookBatch{}, fmt.Errorf("the Twilio inbound message has no From")
	}
	in := channels.Inbound{ProviderID: sid, From: from, Name: p.Get("ProfileName"), Timestamp: a.now()}
	if isE164(from) {
		in.Phone = from
	}
	body := p.Get("Body")
	if n, _ := strconv.Atoi(p.Get("NumMedia")); n > 0 && p.Get("MediaUrl0") != "" {
		in.Content.Media = &channels.Media{URL: p.Get("MediaUrl0"), Kind: mediaKind(p.Get("MediaContentType0")), Caption: body}
	} else if body != "" {
		in.Content.Text = body
	} else if b := p.Get("ButtonText"); b != "" {
		in.Content.Text = b
	}
	b := channels.WebhookBatch{Reply: []byte(EmptyTwiML), ReplyContentType: "text/xml"}
	if in.Content.Type() != "" {
		b.Messages = []channels.Inbound{in}
	}
	if !a.whatsapp {
		// Carrier-enforced keywords: Twilio already blocks the number
		// (21610), so Pregón's consent must follow.
		word := strings.ToUpper(strings.TrimSpace(body))
		if t := strings.ToUpper(p.Get("OptOutType")); t != "" {
			word = t
		}
		switch {
		case optOutWords[word]:
			b.Consents = []channels.ConsentSignal{{From: from, Source: "twilio:" + word}}
		case optInWords[word]:
			b.Consents = []channels.ConsentSignal{{From: from, OptIn: true, Source: "twilio:" + word}}
		}
	}
	return b, nil
}

func mediaKind(contentType string) string {
	switch {
	case strings.HasPrefix(contentType, "image/"):
		return "image"
	case strings.HasPrefix(contentType, "video/"):
		return "video"
	case strings.HasPrefix(contentType, "audio/"):
		return "audio"
	}
	return "document"
}
